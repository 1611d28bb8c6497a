package articles

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// logRecorder keeps the records logged through it.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// warnings returns "msg feed_url=... error=..." for each warning.
func (l *logRecorder) warnings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.records {
		if r.Level != slog.LevelWarn {
			continue
		}
		s := r.Message
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "feed_url" || a.Key == "error" {
				s += " " + a.Key + "=" + a.Value.String()
			}
			return true
		})
		out = append(out, s)
	}
	return out
}

// feedServer serves the fixture feeds and the failure cases.
type feedServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests map[string][]http.Header
}

func newFeedServer(t *testing.T) *feedServer {
	t.Helper()
	rss2, err := os.ReadFile(filepath.Join("testdata", "rss2.xml"))
	if err != nil {
		t.Fatal(err)
	}
	malformed, _ := os.ReadFile(filepath.Join("testdata", "malformed.xml"))
	notFeed, _ := os.ReadFile(filepath.Join("testdata", "notfeed.html"))
	latin1, _ := os.ReadFile(filepath.Join("testdata", "latin1.xml"))
	cp1251, _ := os.ReadFile(filepath.Join("testdata", "cp1251.xml"))
	cp1251NoDecl := cp1251[bytes.Index(cp1251, []byte("?>"))+2:] // the charset only in the HTTP header
	release := make(chan struct{})
	fs := &feedServer{requests: map[string][]http.Header{}}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		fs.requests[r.URL.Path] = append(fs.requests[r.URL.Path], r.Header.Clone())
		fs.mu.Unlock()
		switch r.URL.Path {
		case "/good.xml":
			if r.Header.Get("If-None-Match") == `"rss2"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"rss2"`)
			w.Write(rss2)
		case "/cp1251-nodecl.xml":
			w.Header().Set("Content-Type", "text/xml; charset=windows-1251")
			w.Write(cp1251NoDecl)
		case "/latin1.xml":
			w.Header().Set("Content-Type", "application/rss+xml; charset=ISO-8859-1")
			w.Write(latin1)
		case "/500.xml":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/busy.xml":
			w.Header().Set("Retry-After", "7200")
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/malformed.xml":
			w.Write(malformed)
		case "/page.html":
			w.Header().Set("Content-Type", "text/html")
			w.Write(notFeed)
		case "/huge.xml":
			w.Write([]byte("<rss>" + strings.Repeat(" ", 20<<10) + "</rss>"))
		case "/hang.xml":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(fs.Close)
	t.Cleanup(func() { close(release) })
	return fs
}

func (fs *feedServer) headers(path string) []http.Header {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]http.Header(nil), fs.requests[path]...)
}

// counterValue reads newsbot_feed_polls_total{result}.
func counterValue(t *testing.T, result string) float64 {
	t.Helper()
	var m dto.Metric
	if err := feedPolls.WithLabelValues(result).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestPoller(t *testing.T, store FeedStore, feeds []string) (*Poller, *testClock, *logRecorder) {
	t.Helper()
	f := NewFetcher(&http.Client{Timeout: 200 * time.Millisecond})
	f.MaxBody = 8 << 10 // rss2.xml fits, huge.xml does not
	rec := &logRecorder{}
	p := NewPoller(store, f, feeds, 2, slog.New(rec))
	clock := &testClock{t: time.Date(2024, 9, 10, 12, 0, 0, 0, time.UTC)}
	p.Now = clock.Now
	return p, clock, rec
}

func TestPollAllGoodAndNotModified(t *testing.T) {
	srv := newFeedServer(t)
	store := newMemStore()
	good := srv.URL + "/good.xml"
	p, clock, rec := newTestPoller(t, store, []string{good, srv.URL + "/latin1.xml", srv.URL + "/cp1251-nodecl.xml"})

	res := p.PollAll(context.Background())
	if len(res) != 3 {
		t.Fatalf("results = %d", len(res))
	}
	r := res[0]
	if r.Err != nil || r.URL != good || r.Title != "Example & Co News" || r.Seen != 6 || r.New != 6 || r.Pending != 2 || r.NotModified || r.Skipped {
		t.Errorf("first poll: %+v", r)
	}
	if res[1].Err != nil || res[1].Seen != 1 || res[1].Title != "Café français" {
		t.Errorf("latin1: %+v", res[1])
	}
	if res[2].Err != nil || res[2].Seen != 1 || res[2].Title != "Новости" {
		t.Errorf("windows-1251 named by Content-Type only: %+v", res[2])
	}
	if st := store.state(good); st.ETag != `"rss2"` || st.Site != SiteOf(good) || st.FirstPollAt.IsZero() {
		t.Errorf("state after first poll: %+v", st)
	}

	clock.Add(10 * time.Minute)
	res = p.PollAll(context.Background())
	if r := res[0]; !r.NotModified || r.Err != nil || r.New != 0 {
		t.Errorf("second poll: %+v", r)
	}
	h := srv.headers("/good.xml")
	if len(h) != 2 || h[0].Get("If-None-Match") != "" || h[1].Get("If-None-Match") != `"rss2"` {
		t.Errorf("validators sent: %v", h)
	}
	if st := store.state(good); !st.LastPollAt.Equal(clock.Now()) {
		t.Errorf("304 not recorded: %+v", st)
	}
	if w := rec.warnings(); len(w) != 0 {
		t.Errorf("warnings: %q", w)
	}
}

func TestPollAllFailures(t *testing.T) {
	srv := newFeedServer(t)
	store := newMemStore()
	paths := []string{"/500.xml", "/good.xml", "/malformed.xml", "/page.html", "/huge.xml", "/hang.xml", "/busy.xml", "/missing.xml"}
	var feeds []string
	for _, p := range paths {
		feeds = append(feeds, srv.URL+p)
	}
	p, clock, rec := newTestPoller(t, store, feeds)
	start := clock.Now()
	res := p.PollAll(context.Background())
	for i, r := range res {
		if r.URL != feeds[i] {
			t.Fatalf("result %d is for %s, want %s (configured order)", i, r.URL, feeds[i])
		}
	}
	if r := res[1]; r.Err != nil || r.Seen != 6 {
		t.Errorf("good feed among failing ones: %+v", r)
	}
	checks := map[string]func(error) bool{
		"/500.xml":       func(err error) bool { var he *HTTPError; return errors.As(err, &he) && he.Status == 500 },
		"/malformed.xml": func(err error) bool { return err != nil && !errors.Is(err, ErrNotFeed) },
		"/page.html":     func(err error) bool { return errors.Is(err, ErrNotFeed) },
		"/huge.xml":      func(err error) bool { return errors.Is(err, ErrTooLarge) },
		"/hang.xml":      func(err error) bool { return err != nil && strings.Contains(err.Error(), "Timeout") },
		"/busy.xml":      func(err error) bool { var he *HTTPError; return errors.As(err, &he) && he.Status == 503 },
		"/missing.xml":   func(err error) bool { var he *HTTPError; return errors.As(err, &he) && he.Status == 404 },
	}
	for i, r := range res {
		check, ok := checks[paths[i]]
		if !ok {
			continue
		}
		if !check(r.Err) || r.Failures != 1 {
			t.Errorf("%s: err = %v, failures = %d", paths[i], r.Err, r.Failures)
		}
		st := store.state(r.URL)
		want := start.Add(time.Minute)
		if paths[i] == "/busy.xml" {
			want = start.Add(2 * time.Hour) // Retry-After beats the back-off
		}
		if st.Failures != 1 || !st.NextAttempt.Equal(want) || st.LastError != r.Err.Error() {
			t.Errorf("%s: state %+v, want next attempt %v", paths[i], st, want)
		}
	}
	// One warning per failure, naming the feed and the error.
	w := rec.warnings()
	if len(w) != len(checks) {
		t.Errorf("warnings = %d, want %d: %q", len(w), len(checks), w)
	}
	for _, s := range w {
		if !strings.HasPrefix(s, "feed poll failed feed_url="+srv.URL) || !strings.Contains(s, " error=") {
			t.Errorf("warning %q", s)
		}
	}

	// Within the back-off the failing feeds are skipped.
	clock.Add(30 * time.Second)
	res = p.PollAll(context.Background())
	for i, r := range res {
		if _, failing := checks[paths[i]]; failing != r.Skipped {
			t.Errorf("%s after 30 s: skipped = %v", paths[i], r.Skipped)
		}
	}
	// After it they are tried again and back off longer; busy.xml still waits.
	clock.Add(31 * time.Second)
	now := clock.Now()
	res = p.PollAll(context.Background())
	for i, r := range res {
		if _, failing := checks[paths[i]]; !failing {
			continue
		}
		st := store.state(r.URL)
		if paths[i] == "/busy.xml" {
			if !r.Skipped {
				t.Errorf("busy.xml retried before its Retry-After")
			}
			continue
		}
		if r.Skipped || r.Failures != 2 || !st.NextAttempt.Equal(now.Add(2*time.Minute)) {
			t.Errorf("%s second failure: %+v, next %v", paths[i], r, st.NextAttempt)
		}
	}
}

func TestPollRecoversAndResetsFailures(t *testing.T) {
	var mu sync.Mutex
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		fmt.Fprint(w, tinyFeed)
	}))
	defer srv.Close()
	store := newMemStore()
	p, clock, _ := newTestPoller(t, store, []string{srv.URL})
	errorsBefore := counterValue(t, "error")
	var delays []int
	p.Backoff = func(n int) time.Duration { delays = append(delays, n); return time.Duration(n) * time.Second }
	for i := 1; i <= 3; i++ {
		r := p.PollAll(context.Background())[0]
		if r.Failures != i {
			t.Fatalf("poll %d: %+v", i, r)
		}
		clock.Add(time.Hour)
	}
	if fmt.Sprint(delays) != "[1 2 3]" {
		t.Errorf("back-off asked for %v", delays)
	}
	if d := counterValue(t, "error") - errorsBefore; d != 3 {
		t.Errorf("newsbot_feed_polls_total{result=error} grew by %v, want 3", d)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	r := p.PollAll(context.Background())[0]
	if r.Err != nil || r.Failures != 0 || r.New != 2 || r.Pending != 2 {
		t.Errorf("recovered poll: %+v", r)
	}
	if st := store.state(srv.URL); st.Failures != 0 || !st.NextAttempt.IsZero() {
		t.Errorf("state after recovery: %+v", st)
	}
}

func TestDefaultBackoff(t *testing.T) {
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := DefaultBackoff(i + 1); got != w {
			t.Errorf("DefaultBackoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := DefaultBackoff(1000); got != time.Hour {
		t.Errorf("DefaultBackoff(1000) = %v", got)
	}
}

func TestPollAllConcurrencyBound(t *testing.T) {
	var mu sync.Mutex
	inflight, peak := 0, 0
	arrived := make(chan struct{}, 16)
	gate := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inflight++
		peak = max(peak, inflight)
		mu.Unlock()
		arrived <- struct{}{}
		<-gate
		mu.Lock()
		inflight--
		mu.Unlock()
		fmt.Fprint(w, tinyFeed)
	}))
	defer srv.Close()
	var feeds []string
	for i := 0; i < 9; i++ {
		feeds = append(feeds, fmt.Sprintf("%s/feed%d.xml", srv.URL, i))
	}
	feeds = append(feeds, feeds[0]) // listed twice, polled once
	p := NewPoller(newMemStore(), NewFetcher(nil), feeds, 0, slog.New(&logRecorder{}))
	done := make(chan []FeedResult)
	go func() { done <- p.PollAll(context.Background()) }()
	for i := 0; i < DefaultPollConcurrency; i++ {
		<-arrived
	}
	close(gate)
	res := <-done
	for _, r := range res {
		if r.Err != nil || r.Seen != 2 || r.Pending != 0 {
			t.Errorf("%+v", r)
		}
	}
	if peak > DefaultPollConcurrency {
		t.Errorf("peak concurrency %d > %d", peak, DefaultPollConcurrency)
	}
	if len(res) != len(feeds) || res[len(res)-1].URL != feeds[0] || len(arrived) != 9-DefaultPollConcurrency {
		t.Errorf("results %d for %d feeds; requests %d", len(res), len(feeds), DefaultPollConcurrency+len(arrived))
	}
}

func TestPollStoreFailure(t *testing.T) {
	store := newMemStore()
	store.failState = errors.New("database is locked")
	p, _, rec := newTestPoller(t, store, []string{"https://unused.example/feed"})
	r := p.PollAll(context.Background())[0]
	if r.Err == nil || len(rec.warnings()) != 1 {
		t.Errorf("store failure: %+v, warnings %q", r, rec.warnings())
	}
}

func TestPollLocalFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "local.xml")
	if err := os.WriteFile(path, []byte(`<rss version="2.0"><channel><title>Local</title>
<item><title>Only a title</title><pubDate>Mon, 02 Sep 2024 09:00:00 GMT</pubDate></item></channel></rss>`), 0o644); err != nil {
		t.Fatal(err)
	}
	store := newMemStore()
	p, _, _ := newTestPoller(t, store, []string{path})
	r := p.PollAll(context.Background())[0]
	if r.Err != nil || r.Seen != 1 {
		t.Fatalf("%+v", r)
	}
	if st := store.state(path); st.Site != "file:"+filepath.ToSlash(path) {
		t.Errorf("site = %q", st.Site)
	}
	if r := p.PollAll(context.Background())[0]; !r.NotModified {
		t.Errorf("unchanged file: %+v", r)
	}
}

func TestPollCancelledNoBackoff(t *testing.T) {
	srv := newFeedServer(t)
	store := newMemStore()
	p, _, _ := newTestPoller(t, store, []string{srv.URL + "/good.xml"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := p.PollAll(ctx)[0]
	if r.Err == nil {
		t.Fatalf("cancelled poll succeeded: %+v", r)
	}
	if st := store.state(srv.URL + "/good.xml"); st.Failures != 0 || !st.NextAttempt.IsZero() {
		t.Errorf("shutdown counted as a feed failure: %+v", st)
	}
}

func TestPollIgnoreBackoff(t *testing.T) {
	srv := newFeedServer(t)
	store := newMemStore()
	p, _, _ := newTestPoller(t, store, []string{srv.URL + "/500.xml"})
	if r := p.PollAll(context.Background())[0]; r.Failures != 1 {
		t.Fatalf("%+v", r)
	}
	if r := p.PollAll(context.Background())[0]; !r.Skipped {
		t.Fatalf("in back-off, not skipped: %+v", r)
	}
	p.IgnoreBackoff = true
	if r := p.PollAll(context.Background())[0]; r.Skipped || r.Failures != 2 {
		t.Errorf("IgnoreBackoff: %+v", r)
	}
	if n := len(srv.headers("/500.xml")); n != 2 {
		t.Errorf("requests = %d, want 2", n)
	}
}

// A feed that hangs does not hold back the others: after Patience, PollAll
// returns what has finished; the slow feed goes on in the background and is
// not fetched twice at once.
func TestPollAllPatience(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	hits := 0
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		http.Error(w, "gone", http.StatusServiceUnavailable)
	}))
	t.Cleanup(slow.Close)
	srv := newFeedServer(t)
	store := newMemStore()
	good := srv.URL + "/good.xml"
	p, _, _ := newTestPoller(t, store, []string{slow.URL + "/feed", good})
	p.Fetcher = NewFetcher(&http.Client{}) // no client timeout: the slow feed ends only when released
	p.Patience = time.Second               // ample for the good feed; the slow one never ends by itself
	late := make(chan FeedResult, 2)
	p.Late = func(r FeedResult) { late <- r }

	res := p.PollAll(context.Background())
	if !res[0].InProgress || res[0].Err != nil {
		t.Fatalf("slow feed: %+v", res[0])
	}
	if res[1].Err != nil || res[1].Seen != 6 {
		t.Fatalf("good feed: %+v", res[1])
	}
	// Still hanging: not fetched again.
	if res := p.PollAll(context.Background()); !res[0].InProgress {
		t.Fatalf("second poll of the slow feed: %+v", res[0])
	}
	mu.Lock()
	n := hits
	mu.Unlock()
	if n != 1 {
		t.Fatalf("the slow feed was fetched %d times at once", n)
	}
	close(release)
	p.Wait()
	// Late hears of the slow feed, once; never of the good one.
	if r := <-late; r.URL != slow.URL+"/feed" || r.Err == nil || r.InProgress {
		t.Errorf("Late got %+v", r)
	}
	if len(late) != 0 {
		t.Errorf("Late called %d more times", len(late))
	}
	if st := store.state(slow.URL + "/feed"); st.Failures != 1 {
		t.Errorf("the slow feed's failure was not recorded after it ended: %+v", st)
	}
}

// The poller remembers what each feed said of itself, for the archive.
func TestPollerRemembersFeedMeta(t *testing.T) {
	srv := newFeedServer(t)
	good := srv.URL + "/good.xml"
	p, _, _ := newTestPoller(t, newMemStore(), []string{good})
	if _, ok := p.Meta(good); ok {
		t.Fatal("meta before any poll")
	}
	if res := p.PollAll(context.Background()); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	m, ok := p.Meta(good)
	if !ok || m.Link == "" {
		t.Errorf("meta after a poll: %+v, %v", m, ok)
	}
}
