package bot

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles"
)

// Fakes for the poster tests: a store, a sender, a problem reporter and a
// log buffer that tests can wait on.

// memStore is an in-memory articles.PostStore with the state machine of
// articles/store.go.
type memStore struct {
	mu    sync.Mutex
	arts  map[int64]*articles.Article
	marks []string // "sending 1", "posted 1 m1", "retry 1 sent", "failed 1", ...
}

func newMemStore(as ...articles.Article) *memStore {
	s := &memStore{arts: map[int64]*articles.Article{}}
	for _, a := range as {
		a := a
		if a.State == "" {
			a.State = articles.StatePending
		}
		s.arts[a.ID] = &a
	}
	return s
}

// testArticles returns n pending articles, published an hour apart, listed
// newest first (the store must sort).
func testArticles(n int) []articles.Article {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var as []articles.Article
	for i := n; i >= 1; i-- {
		as = append(as, articles.Article{
			ID: int64(i), Site: "go.dev", Key: fmt.Sprintf("url:https://go.dev/blog/%d", i),
			URL: fmt.Sprintf("https://go.dev/blog/%d", i), Title: fmt.Sprintf("Post %d", i),
			Summary: "About post " + fmt.Sprint(i), Published: t0.Add(time.Duration(i) * time.Hour),
			FeedTitle: "The Go Blog", FirstSeen: t0, State: articles.StatePending,
		})
	}
	return as
}

func (s *memStore) Due(_ context.Context, limit int) ([]articles.Article, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []articles.Article
	for _, a := range s.arts {
		if a.State == articles.StatePending || a.State == articles.StateSending {
			out = append(out, *a)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Published.Equal(b.Published) {
			return a.Published.Before(b.Published)
		}
		if !a.FirstSeen.Equal(b.FirstSeen) {
			return a.FirstSeen.Before(b.FirstSeen)
		}
		return a.ID < b.ID
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *memStore) move(id int64, mark string, from []articles.State, fn func(a *articles.Article)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marks = append(s.marks, mark)
	a, ok := s.arts[id]
	if !ok {
		return articles.ErrNotFound
	}
	if !slices.Contains(from, a.State) {
		return fmt.Errorf("memstore: %s: article is %s", mark, a.State)
	}
	fn(a)
	return nil
}

var live = []articles.State{articles.StatePending, articles.StateSending}

func (s *memStore) MarkSending(_ context.Context, id int64) error {
	return s.move(id, fmt.Sprintf("sending %d", id), live, func(a *articles.Article) {
		a.State = articles.StateSending
		a.Attempts++
	})
}

func (s *memStore) MarkPosted(_ context.Context, id int64, messageID string) error {
	return s.move(id, fmt.Sprintf("posted %d %s", id, messageID), append(live, articles.StateFailed), func(a *articles.Article) {
		a.State, a.MessageID, a.LastError = articles.StatePosted, messageID, ""
	})
}

func (s *memStore) MarkRetry(_ context.Context, id int64, msg string, sent bool) error {
	return s.move(id, fmt.Sprintf("retry %d sent=%v", id, sent), live, func(a *articles.Article) {
		a.State, a.LastError = articles.StatePending, msg
		if sent {
			a.State = articles.StateSending
		}
	})
}

func (s *memStore) MarkFailed(_ context.Context, id int64, msg string) error {
	return s.move(id, fmt.Sprintf("failed %d", id), live, func(a *articles.Article) {
		a.State, a.LastError = articles.StateFailed, msg
	})
}

func (s *memStore) Failed(_ context.Context, limit int) ([]articles.Article, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []articles.Article
	for _, a := range s.arts {
		if a.State == articles.StateFailed && len(out) < limit {
			out = append(out, *a)
		}
	}
	return out, nil
}

func (s *memStore) get(id int64) articles.Article {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.arts[id]
}

func (s *memStore) marksCopy() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.marks)
}

// fakeSender records sends and answers them from a script.
type fakeSender struct {
	mu      sync.Mutex
	script  []error // answer of the next sends (nil: success); then success
	sent    []sentMsg
	recent  []*discordgo.Message
	recentE error
	reads   int
}

type sentMsg struct {
	channel, nonce string
	m              *discordgo.MessageSend
}

func (f *fakeSender) Send(_ context.Context, channelID string, m *discordgo.MessageSend, nonce string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.script) > 0 {
		err := f.script[0]
		f.script = f.script[1:]
		if err != nil {
			return "", err
		}
	}
	f.sent = append(f.sent, sentMsg{channelID, nonce, m})
	return fmt.Sprintf("m%d", len(f.sent)), nil
}

func (f *fakeSender) Recent(context.Context, string, int) ([]*discordgo.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.recent, f.recentE
}

func (f *fakeSender) titles() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ts []string
	for _, s := range f.sent {
		ts = append(ts, s.m.Embeds[0].Title)
	}
	return ts
}

// problems records SetProblem/ClearProblem calls.
type problems struct {
	mu    sync.Mutex
	set   map[string]string
	calls []string
}

func (p *problems) SetProblem(key, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.set == nil {
		p.set = map[string]string{}
	}
	p.set[key] = msg
	p.calls = append(p.calls, "set "+key)
}

func (p *problems) ClearProblem(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.set, key)
	p.calls = append(p.calls, "clear "+key)
}

func restErr(status, code int) error {
	return fmt.Errorf("bot: send to channel 400: %w", &discordgo.RESTError{
		Response: &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status))},
		Message:  &discordgo.APIErrorMessage{Code: code, Message: http.StatusText(status)},
	})
}

func rateErr(after time.Duration) error {
	return &discordgo.RateLimitError{RateLimit: &discordgo.RateLimit{TooManyRequests: &discordgo.TooManyRequests{RetryAfter: after}}}
}

type logBuf struct {
	mu      sync.Mutex
	b       bytes.Buffer
	watches []logWatch
}

type logWatch struct {
	substr string
	hit    chan struct{}
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.b.Write(p)
	kept := l.watches[:0]
	for _, w := range l.watches {
		if bytes.Contains(p, []byte(w.substr)) {
			close(w.hit)
		} else {
			kept = append(kept, w)
		}
	}
	l.watches = kept
	return n, err
}

// logged returns a channel closed when a line holding substr is written
// (after this call).
func (l *logBuf) logged(substr string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := logWatch{substr, make(chan struct{})}
	l.watches = append(l.watches, w)
	return w.hit
}

func (l *logBuf) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

func newTestPoster(t *testing.T, st *memStore, snd Sender, o PosterOptions) (*Poster, *problems, *logBuf) {
	t.Helper()
	logs := &logBuf{}
	pr := &problems{}
	o.Store, o.Sender, o.Problems = st, snd, pr
	if o.ChannelID == "" {
		o.ChannelID = "400"
	}
	o.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return NewPoster(o), pr, logs
}

func postDue(t *testing.T, p *Poster) int {
	t.Helper()
	n, err := p.PostDue(context.Background())
	if err != nil {
		t.Fatalf("PostDue: %v", err)
	}
	return n
}
