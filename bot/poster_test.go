package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles"
)

func TestPosterPostsOldestFirst(t *testing.T) {
	st := newMemStore(testArticles(3)...)
	snd := &fakeSender{}
	p, _, _ := newTestPoster(t, st, snd, PosterOptions{RoleID: "77", Also: func(a articles.Article) []articles.Article {
		return []articles.Article{{URL: "https://go.dev/related/" + fmt.Sprint(a.ID), Title: "Related"}}
	}})
	if n := postDue(t, p); n != 3 {
		t.Fatalf("posted %d, want 3", n)
	}
	if got, want := snd.titles(), []string{"Post 1", "Post 2", "Post 3"}; !slices.Equal(got, want) {
		t.Fatalf("sent %v, want %v", got, want)
	}
	want := []string{"sending 1", "posted 1 m1", "sending 2", "posted 2 m2", "sending 3", "posted 3 m3"}
	if got := st.marksCopy(); !slices.Equal(got, want) {
		t.Errorf("marks %v, want %v", got, want)
	}
	for i, s := range snd.sent {
		a := st.get(int64(i + 1))
		if s.nonce != articles.DeliveryNonce(a, "400") || s.channel != "400" || a.MessageID != fmt.Sprintf("m%d", i+1) {
			t.Errorf("send %d: nonce %q channel %q; article %+v", i, s.nonce, s.channel, a)
		}
		if s.m.Content != "<@&77>" || !strings.Contains(s.m.Embeds[0].Fields[0].Value, "/related/"+fmt.Sprint(i+1)) {
			t.Errorf("send %d: %+v", i, s.m)
		}
	}
	if n := postDue(t, p); n != 0 || len(snd.sent) != 3 {
		t.Errorf("second run posted %d (sent %d)", n, len(snd.sent))
	}
}

// Articles refused for good in an earlier run show on /healthz after a
// restart too.
func TestPosterReportFailed(t *testing.T) {
	as := testArticles(2)
	as[0].State, as[0].LastError = articles.StateFailed, "HTTP 400: Invalid Form Body"
	p, pr, _ := newTestPoster(t, newMemStore(as...), &fakeSender{}, PosterOptions{})
	if err := p.ReportFailed(context.Background()); err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("post_failed:%d", as[0].ID)
	if msg := pr.set[key]; !strings.Contains(msg, "Invalid Form Body") || len(pr.set) != 1 {
		t.Errorf("problems %v", pr.set)
	}
}

// A post Discord accepted proves the permissions a stale gateway state
// said were missing: their problems are cleared (Read Message History is
// not proven by a send and stays).
func TestPosterSuccessClearsProvenPermissions(t *testing.T) {
	p, pr, _ := newTestPoster(t, newMemStore(testArticles(1)...), &fakeSender{}, PosterOptions{})
	pr.SetProblem(permissionKey("400", "Embed Links"), "missing permission Embed Links in #news (400)")
	pr.SetProblem(permissionKey("400", "Read Message History"), "missing permission Read Message History in #news (400)")
	if n := postDue(t, p); n != 1 {
		t.Fatalf("posted %d", n)
	}
	if _, ok := pr.set[permissionKey("400", "Embed Links")]; ok {
		t.Error("Embed Links still reported after a post went through")
	}
	if _, ok := pr.set[permissionKey("400", "Read Message History")]; !ok {
		t.Error("Read Message History cleared, though a send does not prove it")
	}
}

// A run takes the due articles a batch at a time until none is left.
func TestPosterDrainsEveryBatch(t *testing.T) {
	st := newMemStore(testArticles(7)...)
	snd := &fakeSender{}
	p, _, _ := newTestPoster(t, st, snd, PosterOptions{Batch: 3})
	if n := postDue(t, p); n != 7 {
		t.Fatalf("posted %d in one run, want 7", n)
	}
	if got := snd.titles(); len(got) != 7 || got[0] != "Post 1" || got[6] != "Post 7" {
		t.Errorf("sent %v", got)
	}
}

func TestPosterTransientEndsRun(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantState articles.State
	}{
		{"500", restErr(500, 0), articles.StateSending},
		{"502 retries exhausted", errors.New("Exceeded Max retries HTTP 502 Bad Gateway"), articles.StateSending},
		{"429", rateErr(time.Second), articles.StatePending},
		{"timeout", &url.Error{Op: "Post", URL: "x", Err: context.DeadlineExceeded}, articles.StateSending},
		{"refused", &url.Error{Op: "Post", URL: "x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, articles.StatePending},
		{"reset after sending", &url.Error{Op: "Post", URL: "x", Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}, articles.StateSending},
		{"rate-limit wait cancelled", fmt.Errorf("x: %w: %w", errNotSent, context.Canceled), articles.StatePending},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemStore(testArticles(3)...)
			snd := &fakeSender{script: []error{nil, tc.err}}
			p, pr, logs := newTestPoster(t, st, snd, PosterOptions{})
			if n := postDue(t, p); n != 1 {
				t.Fatalf("posted %d, want 1", n)
			}
			if a := st.get(2); a.State != tc.wantState || a.Attempts != 1 || a.LastError == "" {
				t.Errorf("article 2: state %s attempts %d error %q", a.State, a.Attempts, a.LastError)
			}
			if a := st.get(3); a.State != articles.StatePending || a.Attempts != 0 {
				t.Errorf("article 3 was touched: %+v", a)
			}
			if logs.count("level=WARN") != 1 || len(pr.set) != 0 {
				t.Errorf("warnings %d, problems %v", logs.count("level=WARN"), pr.set)
			}
			// Next run: a sending article is looked for first (not there), then re-sent.
			if n := postDue(t, p); n != 2 {
				t.Fatalf("second run posted %d, want 2", n)
			}
			wantReads := 0
			if tc.wantState == articles.StateSending {
				wantReads = 1
			}
			if snd.reads != wantReads {
				t.Errorf("recent reads %d, want %d", snd.reads, wantReads)
			}
			if got, want := snd.titles(), []string{"Post 1", "Post 2", "Post 3"}; !slices.Equal(got, want) {
				t.Errorf("sent %v, want %v", got, want)
			}
			if snd.sent[1].nonce != articles.DeliveryNonce(st.get(2), "400") {
				t.Error("the retry does not carry the article's nonce")
			}
		})
	}
}

func TestPosterFindsEarlierAttempt(t *testing.T) {
	as := testArticles(3)
	for i := range as {
		if as[i].ID <= 2 {
			as[i].State, as[i].Attempts = articles.StateSending, 1
		}
	}
	st := newMemStore(as...)
	bot := &discordgo.User{ID: "100", Bot: true}
	snd := &fakeSender{recent: []*discordgo.Message{
		// A member sharing the link (its unfurl has the URL too) is not our post.
		{ID: "u1", Author: &discordgo.User{ID: "500"}, Embeds: []*discordgo.MessageEmbed{{URL: "https://go.dev/blog/2"}}},
		{ID: "old1", Author: bot, Embeds: []*discordgo.MessageEmbed{{URL: "https://go.dev/blog/1/?utm_source=feed"}}},
	}}
	p, _, logs := newTestPoster(t, st, snd, PosterOptions{})
	if n := postDue(t, p); n != 3 {
		t.Fatalf("posted %d, want 3", n)
	}
	if snd.reads != 1 {
		t.Errorf("recent read %d times in one run, want 1", snd.reads)
	}
	if a := st.get(1); a.State != articles.StatePosted || a.MessageID != "old1" || a.Attempts != 1 {
		t.Errorf("article 1: %+v", a)
	}
	if got, want := snd.titles(), []string{"Post 2", "Post 3"}; !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
	if logs.count("news post found in channel") != 1 {
		t.Error("finding the earlier post is not logged")
	}
}

func TestPosterCannotReadChannel(t *testing.T) {
	as := testArticles(2)
	as[1].State = articles.StateSending // ID 1 (oldest) is listed last
	st := newMemStore(as...)
	snd := &fakeSender{recentE: restErr(403, 50001)}
	p, pr, logs := newTestPoster(t, st, snd, PosterOptions{})
	for range 3 {
		if n := postDue(t, p); n != 0 {
			t.Fatalf("posted %d, want 0", n)
		}
	}
	if len(snd.sent) != 0 || len(st.marksCopy()) != 0 {
		t.Errorf("sent %d, marks %v: nothing may be sent before the channel is read", len(snd.sent), st.marksCopy())
	}
	if logs.count("level=ERROR") != 1 || !strings.Contains(pr.set[problemChannel], "Read Message History") {
		t.Errorf("errors logged %d, problem %q", logs.count("level=ERROR"), pr.set[problemChannel])
	}
}

func TestPosterBadRequestGoesOn(t *testing.T) {
	st := newMemStore(testArticles(3)...)
	snd := &fakeSender{script: []error{restErr(400, 50035)}}
	p, pr, logs := newTestPoster(t, st, snd, PosterOptions{})
	if n := postDue(t, p); n != 2 {
		t.Fatalf("posted %d, want 2", n)
	}
	if a := st.get(1); a.State != articles.StateFailed || !strings.Contains(a.LastError, "50035") {
		t.Errorf("article 1: %+v", a)
	}
	if got, want := snd.titles(), []string{"Post 2", "Post 3"}; !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
	if _, ok := pr.set["post_failed:1"]; !ok || logs.count("level=ERROR") != 1 {
		t.Errorf("problems %v, errors logged %d", pr.set, logs.count("level=ERROR"))
	}
	postDue(t, p)
	if logs.count("level=ERROR") != 1 {
		t.Error("the refusal is logged again")
	}
}

func TestPosterAccessProblem(t *testing.T) {
	tests := []struct {
		status, code int
		want         string
	}{
		{403, 50013, "missing permission Send Messages or Embed Links in news channel 400"},
		{403, 50001, "missing permission View Channel in news channel 400"},
		{404, 10003, "news channel 400 not found"},
		{401, 0, "DISCORD_TOKEN"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status, tc.code), func(t *testing.T) {
			st := newMemStore(testArticles(2)...)
			snd := &fakeSender{script: []error{restErr(tc.status, tc.code), restErr(tc.status, tc.code), restErr(tc.status, tc.code)}}
			p, pr, logs := newTestPoster(t, st, snd, PosterOptions{})
			for range 3 {
				if n := postDue(t, p); n != 0 {
					t.Fatalf("posted %d while refused", n)
				}
				if a := st.get(1); a.State != articles.StatePending {
					t.Fatalf("article 1 is %s, want pending", a.State)
				}
				if a := st.get(2); a.Attempts != 0 {
					t.Fatalf("article 2 was tried behind a refused one")
				}
			}
			if got := pr.set[problemChannel]; !strings.Contains(got, tc.want) {
				t.Errorf("problem %q, want it to say %q", got, tc.want)
			}
			if logs.count("level=ERROR") != 1 || !slices.Equal(pr.calls, []string{"set " + problemChannel}) {
				t.Errorf("errors logged %d, problem calls %v: want each once", logs.count("level=ERROR"), pr.calls)
			}
			// Fixed: posted, and the problem cleared.
			if n := postDue(t, p); n != 2 {
				t.Fatalf("posted %d after the fix, want 2", n)
			}
			if _, ok := pr.set[problemChannel]; ok {
				t.Error("problem not cleared after a success")
			}
		})
	}
}

func TestPosterRetryProblemAfterThreeAttempts(t *testing.T) {
	st := newMemStore(testArticles(1)...)
	snd := &fakeSender{script: []error{restErr(500, 0), restErr(503, 0), restErr(502, 0)}}
	p, pr, _ := newTestPoster(t, st, snd, PosterOptions{})
	for i := range 3 {
		postDue(t, p)
		if _, ok := pr.set[problemRetry]; ok != (i == 2) {
			t.Fatalf("after %d failures problem set = %v", i+1, ok)
		}
	}
	if n := postDue(t, p); n != 1 {
		t.Fatalf("posted %d", n)
	}
	if _, ok := pr.set[problemRetry]; ok {
		t.Error("retry problem not cleared")
	}
	if a := st.get(1); a.Attempts != 4 || a.State != articles.StatePosted {
		t.Errorf("article: %+v", a)
	}
}

// cancelSender cancels the run's context while "sending" and reports the
// request as cut off.
type cancelSender struct {
	fakeSender
	cancel context.CancelFunc
}

func (c *cancelSender) Send(ctx context.Context, _ string, _ *discordgo.MessageSend, _ string) (string, error) {
	c.cancel()
	<-ctx.Done()
	return "", &url.Error{Op: "Post", URL: "x", Err: ctx.Err()}
}

func TestPosterShutdownDuringSend(t *testing.T) {
	st := newMemStore(testArticles(2)...)
	ctx, cancel := context.WithCancel(context.Background())
	snd := &cancelSender{cancel: cancel}
	p, _, _ := newTestPoster(t, st, snd, PosterOptions{})
	n, err := p.PostDue(ctx)
	if n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("PostDue = %d, %v; want 0, context.Canceled", n, err)
	}
	if a := st.get(1); a.State != articles.StateSending || a.LastError == "" {
		t.Errorf("article 1 (cut off in flight) = %s %q, want sending with the error", a.State, a.LastError)
	}
	if a := st.get(2); a.Attempts != 0 {
		t.Error("article 2 was tried after shutdown")
	}
}

func TestPosterDryRun(t *testing.T) {
	st := newMemStore(testArticles(2)...)
	var out bytes.Buffer
	p, _, _ := newTestPoster(t, st, NewPrintSender(&out), PosterOptions{DryRun: true, RoleID: "77"})
	if n := postDue(t, p); n != 2 {
		t.Fatalf("printed %d, want 2", n)
	}
	if n := postDue(t, p); n != 0 {
		t.Fatalf("printed %d again", n)
	}
	if marks := st.marksCopy(); len(marks) != 0 {
		t.Errorf("dry run changed the store: %v", marks)
	}
	got := out.String()
	for _, want := range []string{"post 1 (dry run)", "channel:     400", "content:     <@&77>", "title:       Post 1", "url:         https://go.dev/blog/1",
		"description: About post 1", "time:        2024-01-01T01:00:00Z", "footer:      The Go Blog", "post 2", "Post 2"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "Post 1") > strings.Index(got, "Post 2") {
		t.Error("printed out of order")
	}
	// A new article that becomes due is printed on the next run.
	st.mu.Lock()
	a := testArticles(3)[0]
	st.arts[3] = &a
	st.mu.Unlock()
	if n := postDue(t, p); n != 1 || strings.Count(out.String(), "Post 3") != 1 {
		t.Errorf("printed %d; output:\n%s", n, out.String())
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		kind failKind
		sent bool
	}{
		{"400", restErr(400, 50035), failPermanent, false},
		{"401", restErr(401, 0), failAccess, false},
		{"403", restErr(403, 50013), failAccess, false},
		{"404", restErr(404, 10003), failAccess, false},
		{"500", restErr(500, 0), failTransient, true},
		{"503", restErr(503, 0), failTransient, true},
		{"429 rest", restErr(429, 0), failTransient, false},
		{"429", rateErr(2 * time.Second), failTransient, false},
		{"deadline", &url.Error{Op: "Post", Err: context.DeadlineExceeded}, failTransient, true},
		{"refused", &url.Error{Op: "Post", Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, failTransient, false},
		{"dns", &url.Error{Op: "Post", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host"}}}, failTransient, false},
		{"unreadable answer", fmt.Errorf("x: %w", errMaybeSent), failTransient, true},
		{"unknown", errors.New("boom"), failTransient, true},
	}
	for _, tc := range tests {
		f := classify(tc.err)
		if f.kind != tc.kind || f.sent != tc.sent {
			t.Errorf("%s: kind %d sent %v, want %d %v", tc.name, f.kind, f.sent, tc.kind, tc.sent)
		}
	}
	if f := classify(rateErr(2 * time.Second)); f.retryAfter != 2*time.Second {
		t.Errorf("retry_after %v", f.retryAfter)
	}
}
