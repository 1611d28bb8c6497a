package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/internal/config"
	"github.com/newsbot/newsbot/internal/discordtest"
	"github.com/newsbot/newsbot/sqlite"
)

// wireServer is a news wire: feeds /feed/0 .. /feed/F-1, each listing
// perFeed stories (summary only, so that the archive reads every page), and
// the stories' pages. Each story is about one of a few dozen topics.
type wireServer struct {
	srv          *httptest.Server
	feeds, per   int
	pageRequests atomic.Int64
	feedRequests atomic.Int64
	base         time.Time
	hold         map[int]chan struct{} // a feed answers once its channel is closed
}

func newWireServer(t testing.TB, feeds, perFeed int) *wireServer {
	w := &wireServer{feeds: feeds, per: perFeed, base: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	w.srv = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *wireServer) feedURLs() []string {
	var out []string
	for f := range w.feeds {
		out = append(out, fmt.Sprintf("%s/feed/%d", w.srv.URL, f))
	}
	return out
}

// topicWord is a made-up word, the w-th of topic t: topics share no word.
func topicWord(t, w int) string {
	const cons, vows = "bdfgklmnprstvz", "aeiou"
	n := t*8 + w + 1
	var b strings.Builder
	for n > 0 {
		b.WriteByte(cons[n%len(cons)])
		n /= len(cons)
		b.WriteByte(vows[n%len(vows)])
		n /= len(vows)
	}
	return b.String() + "ex"
}

func (w *wireServer) story(f, i int) (title, link, summary string, published time.Time) {
	topic := (f*w.per + i) % 40
	words := make([]string, 6)
	for k := range words {
		words[k] = topicWord(topic, (i+k)%8)
	}
	title = fmt.Sprintf("Wire %d story %d on %s and %s", f, i, words[0], words[1])
	link = fmt.Sprintf("%s/f%d/story/%d", w.srv.URL, f, i)
	summary = "Markets: " + strings.Join(words[2:], " ") + "."
	published = w.base.Add(time.Duration(f*w.per+i) * time.Minute)
	return
}

func (w *wireServer) serve(rw http.ResponseWriter, r *http.Request) {
	var f, i int
	if n, _ := fmt.Sscanf(r.URL.Path, "/feed/%d", &f); n == 1 {
		w.feedRequests.Add(1)
		if h := w.hold[f]; h != nil {
			select {
			case <-h:
			case <-r.Context().Done():
				return
			}
		}
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Wire ` + strconv.Itoa(f) + `</title><link>` + w.srv.URL + `/</link>`)
		for i := w.per - 1; i >= 0; i-- {
			title, link, summary, pub := w.story(f, i)
			fmt.Fprintf(&b, `<item><title>%s</title><link>%s</link><guid>%s</guid><pubDate>%s</pubDate><description>%s</description></item>`,
				title, link, link, pub.Format(time.RFC1123Z), summary)
		}
		b.WriteString(`</channel></rss>`)
		rw.Header().Set("Content-Type", "application/rss+xml")
		rw.Write([]byte(b.String()))
		return
	}
	if n, _ := fmt.Sscanf(r.URL.Path, "/f%d/story/%d", &f, &i); n == 2 {
		w.pageRequests.Add(1)
		title, _, summary, _ := w.story(f, i)
		topic := (f*w.per + i) % 40
		var body strings.Builder
		for k := range 8 {
			fmt.Fprintf(&body, "<p>%s. The %s and the %s moved again today, said traders of %s.</p>", summary,
				topicWord(topic, k), topicWord(topic, (k+3)%8), topicWord(topic, (k+5)%8))
		}
		fmt.Fprintf(rw, `<!doctype html><html><head><title>%s</title></head><body><article><h1>%s</h1>%s</article></body></html>`, title, title, body.String())
		return
	}
	http.NotFound(rw, r)
}

// finalAnswer waits for the interaction's answer, deferred or not, and
// returns its text (content and embed descriptions, follow-ups included).
func finalAnswer(ctx context.Context, fake *discordtest.Server, id string) (string, error) {
	ex, err := fake.WaitExchange(ctx, id, func(e discordtest.Exchange) bool {
		if e.Response == nil {
			return false
		}
		if e.Response.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
			return true
		}
		return len(e.Edits) > 0 || len(e.Followups) > 0
	})
	if err != nil {
		return "", err
	}
	var parts []string
	add := func(content string, embeds []*discordgo.MessageEmbed) {
		parts = append(parts, content)
		for _, e := range embeds {
			parts = append(parts, e.Description)
		}
	}
	if ex.Response.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		if d := ex.Response.Data; d != nil {
			add(d.Content, d.Embeds)
		}
	}
	for _, raw := range ex.Edits {
		var m discordgo.Message
		if err := json.Unmarshal(raw, &m); err != nil {
			return "", err
		}
		add(m.Content, m.Embeds)
	}
	for _, m := range ex.Followups {
		add(m.Content, m.Embeds)
	}
	return strings.Join(parts, "\n"), nil
}

// TestEveryStoryKnownRightAfterThePoll is issue 14's first case: seven
// feeds of 1,000 stories arrive on the first poll while the archive reads
// their pages; right after the poll's posts are out, /related knows every
// one of them by its link ("Related to: its title").
func TestEveryStoryKnownRightAfterThePoll(t *testing.T) {
	if testing.Short() {
		t.Skip("7,000 stories")
	}
	const feeds, perFeed = 7, 1000
	fake := discordtest.New(t)
	wire := newWireServer(t, feeds, perFeed)
	env := botEnv(fake, t.TempDir(), wire.feedURLs()...)
	env["FULL_TEXT"] = "auto" // the archive reads the pages meanwhile
	env["BACKFILL_RATE"] = "50"
	env["LOG_LEVEL"] = "info"
	_, _, stderr := runMain(t, env, "run")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// The poll has ended when each feed's backlog is posted.
	posts, err := fake.WaitMessages(ctx, "400", 3*feeds)
	if err != nil {
		t.Fatalf("waiting for the first posts: %v\n%s", err, stderr.String())
	}
	// Each post chose its "Also Read" from the whole poll: stories of its
	// topic, from this very poll.
	for _, m := range posts {
		also := ""
		for _, f := range m.Embeds[0].Fields {
			if f.Name == "Also Read" {
				also = f.Value
			}
		}
		if strings.Count(also, wire.srv.URL) < 3 {
			t.Errorf("post %q: Also Read %q, want three stories of the poll", m.Embeds[0].Title, also)
		}
	}

	type ask struct{ f, i int }
	asks := make(chan ask)
	var wrong atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range asks {
				title, link, _, _ := wire.story(a.f, a.i)
				in, err := fake.Interact(ctx, discordtest.Command("related", discordtest.Opt("query", link)))
				if err != nil {
					t.Error(err)
					continue
				}
				got, err := finalAnswer(ctx, fake, in.ID)
				if err != nil {
					t.Errorf("%s: %v", link, err)
					continue
				}
				if !strings.Contains(got, "**"+title+"**") || strings.Contains(got, "Matching") {
					if wrong.Add(1) <= 5 {
						t.Errorf("%s: answer does not name %q:\n%s", link, title, got)
					}
				}
			}
		}()
	}
	for f := range feeds {
		for i := range perFeed {
			asks <- ask{f, i}
		}
	}
	close(asks)
	wg.Wait()
	if n := wrong.Load(); n > 0 {
		t.Fatalf("%d of %d stories unknown to /related right after the poll\n%s", n, feeds*perFeed, tail(stderr.String(), 3000))
	}
	if wire.pageRequests.Load() == 0 {
		t.Log("note: the archive read no page during the queries")
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestRelatedKnowsWhatAnotherProcessStored: `newsbot fetch` (another
// process on the same database) stores a wire's stories while the bot runs
// with its next poll an hour away; /related knows them at once.
func TestRelatedKnowsWhatAnotherProcessStored(t *testing.T) {
	fake := discordtest.New(t)
	feed := newFeedServer(t, 6)
	dir := t.TempDir()
	env := botEnv(fake, dir, feed.url())
	stderr := startBot(t, fake, env)
	ctx := waitCtx(t)

	wire := newWireServer(t, 1, 40)
	fetchEnv := botEnv(fake, dir, wire.feedURLs()...)
	var out, errb syncBuffer
	if code := Main(ctx, []string{"fetch"}, IO{Stdout: &out, Stderr: &errb, Getenv: config.MapEnv(fetchEnv)}); code != 0 {
		t.Fatalf("fetch exit %d:\n%s", code, errb.String())
	}
	for _, i := range []int{0, 17, 39} {
		title, link, _, _ := wire.story(0, i)
		in, err := fake.Interact(ctx, discordtest.Command("related", discordtest.Opt("query", link)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := finalAnswer(ctx, fake, in.ID)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
		if !strings.Contains(got, "Related to: **"+title+"**") {
			t.Errorf("%s: answer does not name %q:\n%s", link, title, got)
		}
	}
}

// storedCount opens the bot's database beside it and waits until it holds
// n articles.
func waitStored(ctx context.Context, t *testing.T, path string, n int, logs fmt.Stringer) {
	t.Helper()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		counts, err := db.CountArticles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, c := range counts {
			total += c
		}
		if total >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the database holds %d articles, want %d\n%s", total, n, logs)
		case <-tick.C:
		}
	}
}

// TestLateFeedKnownWithoutPosts: a feed that answers after the run stopped
// waiting for it (a slow site) on its first poll, with nothing to post
// (BACKLOG_LIMIT=0): its stories are known to /related as soon as they are
// stored, not at the next scheduled run an hour later.
func TestLateFeedKnownWithoutPosts(t *testing.T) {
	defer func(p time.Duration) { pollPatience = p }(pollPatience)
	pollPatience = 50 * time.Millisecond
	fake := discordtest.New(t)
	wire := newWireServer(t, 2, 100)
	release := make(chan struct{})
	wire.hold = map[int]chan struct{}{1: release}
	dir := t.TempDir()
	env := botEnv(fake, dir, wire.feedURLs()...)
	env["BACKLOG_LIMIT"] = "0"
	_, _, stderr := runMain(t, env, "run")
	ctx := waitCtx(t)
	waitStored(ctx, t, env["DATABASE_URL"], 100, stderr) // feed 0, in time
	if err := fake.WaitFor(ctx, func() bool { return len(fake.Commands("")) == 2 }); err != nil {
		t.Fatal(err)
	}
	close(release)
	waitStored(ctx, t, env["DATABASE_URL"], 200, stderr) // feed 1, late
	for _, st := range [][2]int{{1, 0}, {1, 57}, {0, 3}} {
		title, link, _, _ := wire.story(st[0], st[1])
		in, err := fake.Interact(ctx, discordtest.Command("related", discordtest.Opt("query", link)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := finalAnswer(ctx, fake, in.ID)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
		if !strings.Contains(got, "**"+title+"**") {
			t.Errorf("%s: answer does not name %q:\n%s", link, title, got)
		}
	}
}
