package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/newsbot/newsbot/internal/config"
	"github.com/newsbot/newsbot/internal/discordtest"
	"github.com/newsbot/newsbot/internal/testutil"
)

// syncBuffer is safe for a logger's concurrent writes and a reader.
type syncBuffer = testutil.Buffer

// feedServer serves an RSS feed whose items the test can change.
type feedServer struct {
	mu    sync.Mutex
	items []feedItem
	srv   *httptest.Server
}

type feedItem struct {
	ID    int
	Title string
	Date  time.Time
}

func newFeedServer(t *testing.T, n int) *feedServer {
	t.Helper()
	f := &feedServer{}
	base := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		f.items = append(f.items, feedItem{ID: i, Title: fmt.Sprintf("Story number %d about gophers", i), Date: base.Add(time.Duration(i) * time.Hour)})
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *feedServer) add(title string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	last := f.items[len(f.items)-1]
	f.items = append(f.items, feedItem{ID: last.ID + 1, Title: title, Date: last.Date.Add(time.Hour)})
}

func (f *feedServer) url() string { return f.srv.URL + "/feed/" }

func (f *feedServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Test Site</title><link>` + f.srv.URL + `/</link>`)
	for i := len(f.items) - 1; i >= 0; i-- { // newest first, as feeds do
		it := f.items[i]
		fmt.Fprintf(&b, `<item><title>%s</title><link>%s/story-%d/</link><guid>%s/?p=%d</guid><pubDate>%s</pubDate><description>Body of story %d, about gophers and channels.</description></item>`,
			it.Title, f.srv.URL, it.ID, f.srv.URL, it.ID, it.Date.Format(time.RFC1123Z), it.ID)
	}
	b.WriteString(`</channel></rss>`)
	w.Header().Set("Content-Type", "application/rss+xml")
	fmt.Fprint(w, b.String())
}

// runMain runs Main with env in the background; the returned func cancels
// it and returns its exit code.
func runMain(t *testing.T, env map[string]string, args ...string) (stop func() int, stdout, stderr *syncBuffer) {
	t.Helper()
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, args, IO{Stdout: stdout, Stderr: stderr, Getenv: config.MapEnv(env)})
	}()
	var once sync.Once
	code := 0
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(15 * time.Second):
				t.Fatalf("Main did not return within 15 s of cancel\nstderr:\n%s", stderr.String())
			}
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return stop, stdout, stderr
}

func botEnv(fake *discordtest.Server, dir string, feeds ...string) map[string]string {
	return map[string]string{
		"DISCORD_TOKEN":   discordtest.Token,
		"NEWS_CHANNEL_ID": "400",
		"TEAM_CHANNEL_ID": "401",
		"FEED_URLS":       strings.Join(feeds, ","),
		"DATABASE_URL":    filepath.Join(dir, "newsbot.db"),
		"DISCORD_API_URL": fake.APIURL(),
		"POST_SCHEDULE":   "@every 1h",
		"BACKFILL_LIMIT":  "0",
		"FULL_TEXT":       "off",
		"LOG_LEVEL":       "debug",
	}
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestRunPostsOnceAcrossRestarts runs the bot as main does: the first poll
// posts the newest BACKLOG_LIMIT items oldest first; a restart posts nothing
// again; an item added later is posted once.
func TestRunPostsOnceAcrossRestarts(t *testing.T) {
	fake := discordtest.New(t)
	feed := newFeedServer(t, 6)
	dir := t.TempDir()
	env := botEnv(fake, dir, feed.url())

	stop, _, stderr := runMain(t, env, "run")
	msgs, err := fake.WaitMessages(waitCtx(t), "400", 3)
	if err != nil {
		t.Fatalf("waiting for 3 posts: %v\n%s", err, stderr.String())
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	want := []string{"Story number 4 about gophers", "Story number 5 about gophers", "Story number 6 about gophers"}
	for i, m := range msgs {
		if len(m.Embeds) != 1 || m.Embeds[0].Title != want[i] {
			t.Fatalf("post %d: %+v, want title %q", i, m.Embeds, want[i])
		}
	}
	if strings.Contains(stderr.String(), discordtest.Token) {
		t.Error("the token appears in the log")
	}

	// Restart on the same database with a new item: only that one is posted.
	feed.add("A brand new story")
	code := Main(context.Background(), []string{"run", "--once"}, IO{Stdout: &syncBuffer{}, Stderr: stderr, Getenv: config.MapEnv(env)})
	if code != 0 {
		t.Fatalf("--once exit %d\n%s", code, stderr.String())
	}
	all := fake.Messages("400")
	if len(all) != 4 || all[3].Embeds[0].Title != "A brand new story" {
		titles := []string{}
		for _, m := range all {
			titles = append(titles, m.Embeds[0].Title)
		}
		t.Fatalf("after restart: %q", titles)
	}
	// Once more: nothing new, nothing posted.
	if code := Main(context.Background(), []string{"run", "--once"}, IO{Stdout: &syncBuffer{}, Stderr: stderr, Getenv: config.MapEnv(env)}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if n := len(fake.Messages("400")); n != 4 {
		t.Fatalf("a restart posted again: %d messages", n)
	}
}

// TestDryRunOnceSample is the README's first command.
func TestDryRunOnceSample(t *testing.T) {
	var out, errb syncBuffer
	code := Main(context.Background(), []string{"run", "--dry-run", "--once"}, IO{Stdout: &out, Stderr: &errb, Getenv: config.MapEnv(map[string]string{})})
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	// The sample's three newest items, as the feed lists them.
	for _, title := range []string{"Go 1.27 is released"} {
		if !strings.Contains(out.String(), title) {
			t.Errorf("dry run output lacks %q:\n%s", title, out.String())
		}
	}
	if n := strings.Count(out.String(), "https://go.dev/blog/"); n < 3 {
		t.Errorf("want at least 3 article links in the output, got %d:\n%s", n, out.String())
	}
}

func TestConfigErrorsExit2(t *testing.T) {
	var out, errb syncBuffer
	env := map[string]string{"DISCORD_TOKEN": "secret.token.value", "NEWS_CHANNEL_ID": "abc", "TEAM_CHANNEL_ID": "401", "FEED_URLS": "https://example.com/feed"}
	code := Main(context.Background(), []string{"run"}, IO{Stdout: &out, Stderr: &errb, Getenv: config.MapEnv(env)})
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	msg := strings.TrimSpace(errb.String())
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "NEWS_CHANNEL_ID") {
		t.Errorf("want one line naming NEWS_CHANNEL_ID, got %q", msg)
	}
	if strings.Contains(msg, "secret.token.value") {
		t.Error("token leaked")
	}
}

func TestHealthzServed(t *testing.T) {
	fake := discordtest.New(t)
	feed := newFeedServer(t, 1)
	env := botEnv(fake, t.TempDir(), feed.url())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env["HTTP_ADDR"] = addr
	stop, _, stderr := runMain(t, env, "run")
	if _, err := fake.WaitMessages(waitCtx(t), "400", 1); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	// The listener is up before the first poll: newsbot health asks the running bot.
	var out syncBuffer
	if code := Main(waitCtx(t), []string{"health"}, IO{Stdout: &out, Stderr: &out, Getenv: config.MapEnv(map[string]string{"HTTP_ADDR": addr})}); code != 0 {
		t.Fatalf("health exit %d: %s", code, out.String())
	}
	if !strings.Contains(out.String(), "200") {
		t.Errorf("health output %q", out.String())
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/metrics: %d", resp.StatusCode)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// A stop requested while the bot is still connecting is not a failure.
func TestStopDuringStartExits0(t *testing.T) {
	// discordgo's gateway lookup cannot be cancelled: the stop deadline
	// ends the wait (shortened here; 9 s in production).
	defer func(d time.Duration) { stopDeadline = d }(stopDeadline)
	stopDeadline = 2 * time.Second
	// An API that takes the bot's first request and never answers.
	hang, arrived := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived) })
		<-hang
	}))
	t.Cleanup(func() { close(hang); srv.Close() })
	feed := newFeedServer(t, 1)
	env := map[string]string{
		"DISCORD_TOKEN": "some-token", "NEWS_CHANNEL_ID": "400", "TEAM_CHANNEL_ID": "401",
		"FEED_URLS": feed.url(), "DATABASE_URL": filepath.Join(t.TempDir(), "db"),
		"DISCORD_API_URL": srv.URL + "/api/v9", "BACKFILL_LIMIT": "0", "FULL_TEXT": "off",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan int, 1)
	go func() { done <- Main(ctx, []string{"run"}, IO{Stdout: &out, Stderr: &out, Getenv: config.MapEnv(env)}) }()
	select {
	case <-arrived:
	case <-time.After(15 * time.Second):
		t.Fatal("the bot never called the API")
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d, want 0:\n%s", code, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Main did not return after cancel")
	}
}
