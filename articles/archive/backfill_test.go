package archive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/archive/wptest"
	"github.com/newsbot/newsbot/internal/testutil"
)

// syncBuffer is safe for a logger's concurrent writes and a reader.
type syncBuffer = testutil.Buffer

type harness struct {
	store *memStore
	clock *fakeClock
	logs  *syncBuffer
}

// newArchive returns an Archive on store with no real pauses, no limit and
// a pace so high that it never matters, after edit has changed the options.
func (h *harness) newArchive(edit func(*Options)) *Archive {
	o := Options{Store: h.store, Limit: -1, Rate: 1e9, Sleep: h.clock.Sleep, Now: h.clock.Now,
		Log: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if edit != nil {
		edit(&o)
	}
	return New(o)
}

func newHarness() *harness {
	return &harness{store: newMemStore(), clock: newFakeClock(), logs: &syncBuffer{}}
}

// assertAllPosts checks that the store holds exactly posts 1..n of site,
// each under the identity its feed item has.
func assertAllPosts(t *testing.T, st *memStore, s *wptest.Site, n int) {
	t.Helper()
	site := articles.SiteOf(s.FeedURL())
	if got := st.count(); got != n {
		t.Fatalf("store holds %d articles, want %d", got, n)
	}
	for id := 1; id <= n; id++ {
		key := articles.Identity(s.GUID(id), s.Link(id), "", wptest.Published(id))
		if _, ok := st.get(site, key); !ok {
			t.Fatalf("post %d (%s) missing", id, key)
		}
	}
}

func TestBackfillWordPressREST(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 1000})
	h := newHarness()
	var events []Progress
	a := h.newArchive(func(o *Options) { o.Progress = func(p Progress) { events = append(events, p) } })
	if err := a.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	assertAllPosts(t, h.store, s, 1000)
	if h.store.handed != 1000 {
		t.Errorf("StoreArchived got %d articles, want each of the 1000 once", h.store.handed)
	}
	cp := h.store.cp(s.FeedURL())
	if cp.Source != SourceWordPress || !cp.Done || cp.Stored != 1000 || cp.LastError != "" {
		t.Errorf("checkpoint = %+v", cp)
	}
	for page := 2; page <= 10; page++ {
		if n := s.Requests(fmt.Sprintf("/wp-json/wp/v2/posts?page=%d", page)); n != 1 {
			t.Errorf("REST page %d read %d times", page, n)
		}
	}
	// Categories and tags are names, not ids; the text and links are there.
	a500, _ := h.store.get(articles.SiteOf(s.URL), articles.Identity(s.GUID(500), "", "", wptest.Published(500)))
	cats, tags := wptest.PostCategories(500)
	want := []string{wptest.CategoryName(cats[0]), wptest.TagName(tags[0]), wptest.TagName(tags[1])}
	if strings.Join(a500.Categories, "|") != strings.Join(want, "|") {
		t.Errorf("categories = %q, want %q", a500.Categories, want)
	}
	if a500.Title != wptest.Title(500) || a500.URL != s.Link(500) || !a500.Published.Equal(wptest.Published(500)) {
		t.Errorf("article = %q %q %v", a500.Title, a500.URL, a500.Published)
	}
	if !strings.Contains(a500.Text, wptest.Paragraphs(500)[1]) || a500.NeedsFullText || a500.State != articles.StateRecorded {
		t.Errorf("text/state wrong: %q needs=%v state=%s", a500.Text, a500.NeedsFullText, a500.State)
	}
	if len(a500.Links) != 1 || a500.Links[0] != s.Link(499) {
		t.Errorf("links = %q, want the previous post", a500.Links)
	}
	last := events[len(events)-1]
	if !last.Done || last.Stored != 1000 || last.Pages != 10 || last.Source != SourceWordPress || last.Errors != 0 {
		t.Errorf("last progress = %+v", last)
	}
	st := a.Status()
	if len(st) != 1 || st[0].State != StateDone || st[0].Stored != 1000 {
		t.Errorf("status = %+v", st)
	}

	// Done is done: a second run (a restart) reads nothing.
	before := s.TotalRequests()
	b := h.newArchive(nil)
	if err := b.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	if s.TotalRequests() != before {
		t.Errorf("a completed backfill sent %d more requests", s.TotalRequests()-before)
	}
}

func TestBackfillRestartRunsAgain(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 200})
	h := newHarness()
	if err := h.newArchive(nil).Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	c := h.newArchive(func(o *Options) { o.Restart = true })
	if err := c.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	if n := s.Requests("/wp-json/wp/v2/posts?page=2"); n != 2 {
		t.Errorf("forced re-run read page 2 %d times in all, want 2", n)
	}
	if h.store.count() != 200 {
		t.Errorf("store holds %d after the re-run", h.store.count())
	}
	if cp := h.store.cp(s.FeedURL()); !cp.Done || cp.Stored != 200 {
		t.Errorf("checkpoint = %+v", cp)
	}
}

func TestBackfillResumesAfterRestart(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 1000})
	h := newHarness()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	a := h.newArchive(func(o *Options) {
		o.Progress = func(p Progress) {
			if p.Pages == 3 {
				cancel() // "crash" after the third page
			}
		}
	})
	if err := a.Backfill(ctx, []string{s.FeedURL()}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Backfill = %v, want context.Canceled", err)
	}
	cp := h.store.cp(s.FeedURL())
	if cp.Done || cp.Stored != 300 || pageOf(cp.Cursor) != 4 {
		t.Fatalf("checkpoint after the crash = %+v", cp)
	}
	if n := h.store.count(); n != 300 {
		t.Fatalf("stored %d before the crash, want 300", n)
	}

	b := h.newArchive(nil) // restart: a new Archive on the same store
	if err := b.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	assertAllPosts(t, h.store, s, 1000)
	for page := 2; page <= 10; page++ {
		if n := s.Requests(fmt.Sprintf("/wp-json/wp/v2/posts?page=%d", page)); n != 1 {
			t.Errorf("REST page %d read %d times across the restart, want 1", page, n)
		}
	}
	if n := s.Requests("/feed/"); n != 1 {
		t.Errorf("feed read %d times: the source was detected again", n)
	}
	if cp := h.store.cp(s.FeedURL()); !cp.Done || cp.Stored != 1000 {
		t.Errorf("final checkpoint = %+v", cp)
	}
}

// faultOn answers status (with Retry-After retryAfter when set) to the first
// times requests whose path and query match.
func faultOn(path, query string, times, status int, retryAfter string, body string) func(http.ResponseWriter, *http.Request) bool {
	var mu sync.Mutex
	left := times
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path || !strings.Contains(r.URL.RawQuery, query) {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if left == 0 {
			return false
		}
		left--
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		if status == http.StatusOK {
			w.Header().Set("X-WP-Total", "1000")
			w.Header().Set("X-WP-TotalPages", "10")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
		return true
	}
}

func TestBackfillObeysRetryAfter(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			s := wptest.New(t, wptest.Config{Posts: 500,
				Fault: faultOn("/wp-json/wp/v2/posts", "page=4&", 2, status, "7", "slow down")})
			h := newHarness()
			a := h.newArchive(nil)
			if err := a.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
				t.Fatal(err)
			}
			assertAllPosts(t, h.store, s, 500)
			if n := h.clock.longer(7e9); n != 2 {
				t.Errorf("waited Retry-After %d times, want 2 (sleeps %v)", n, h.clock.sleeps)
			}
			if n := s.Requests("/wp-json/wp/v2/posts?page=4"); n != 3 {
				t.Errorf("page 4 requested %d times, want 3", n)
			}
		})
	}
}

func TestBackfillGivesUpAfterBoundedRetries(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 600,
		Fault: faultOn("/wp-json/wp/v2/posts", "page=5&", 100, http.StatusInternalServerError, "", "oops")})
	h := newHarness()
	a := h.newArchive(nil)
	err := a.Backfill(t.Context(), []string{s.FeedURL()})
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("Backfill = %v, want the 500", err)
	}
	if n := s.Requests("/wp-json/wp/v2/posts?page=5"); n != maxAttempts {
		t.Errorf("page 5 requested %d times, want %d", n, maxAttempts)
	}
	cp := h.store.cp(s.FeedURL())
	if cp.Done || cp.Stored != 400 || pageOf(cp.Cursor) != 5 || !strings.Contains(cp.LastError, "500") {
		t.Fatalf("checkpoint = %+v", cp)
	}
	if st := a.Status(); st[0].State != StateError || st[0].LastError == "" {
		t.Errorf("status = %+v", st)
	}
	if h.store.count() != 400 {
		t.Fatalf("stored %d", h.store.count())
	}

	// The next run, once the site has recovered, resumes at page 5.
	s.SetFault(nil)
	b := h.newArchive(nil)
	if err := b.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	assertAllPosts(t, h.store, s, 600)
	if cp := h.store.cp(s.FeedURL()); !cp.Done || cp.LastError != "" {
		t.Errorf("checkpoint after recovery = %+v", cp)
	}
	if n := s.Requests("/wp-json/wp/v2/posts?page=2"); n != 1 {
		t.Errorf("page 2 read %d times", n)
	}
}

func TestBackfillSkipsMalformedPage(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 1000,
		Fault: faultOn("/wp-json/wp/v2/posts", "page=3&", 100, http.StatusOK, "", `[{"id": 1, "title": {"rendered": "cut`)})
	h := newHarness()
	var last Progress
	a := h.newArchive(func(o *Options) { o.Progress = func(p Progress) { last = p } })
	if err := a.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	if n := h.store.count(); n != 900 {
		t.Errorf("stored %d, want 900 (all but the malformed page)", n)
	}
	cp := h.store.cp(s.FeedURL())
	if !cp.Done || !strings.Contains(cp.LastError, "malformed JSON") {
		t.Errorf("checkpoint = %+v", cp)
	}
	if last.Errors != 1 || !last.Done {
		t.Errorf("progress = %+v", last)
	}
	if n := s.Requests("/wp-json/wp/v2/posts?page=3"); n != 1 {
		t.Errorf("malformed page read %d times, want 1 (retrying does not mend it)", n)
	}
}

func TestBackfillLimit(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 1000})
	h := newHarness()
	a := h.newArchive(func(o *Options) { o.Limit = 250 })
	if err := a.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	if n := h.store.count(); n != 250 {
		t.Errorf("stored %d, want the limit 250", n)
	}
	if cp := h.store.cp(s.FeedURL()); !cp.Done || cp.Stored != 250 {
		t.Errorf("checkpoint = %+v", cp)
	}
	if n := s.Requests("/wp-json/wp/v2/posts?page=4"); n != 0 {
		t.Errorf("page 4 read although the limit was reached on page 3")
	}
	// The newest are the ones kept.
	if _, ok := h.store.get(articles.SiteOf(s.URL), articles.Identity(s.GUID(1000), "", "", wptest.Published(1000))); !ok {
		t.Error("newest post missing")
	}

	// Limit 0 turns backfill off.
	s2 := wptest.New(t, wptest.Config{Posts: 10})
	off := h.newArchive(func(o *Options) { o.Limit = 0 })
	if err := off.Backfill(t.Context(), []string{s2.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	if s2.TotalRequests() != 0 {
		t.Errorf("Limit 0 sent %d requests", s2.TotalRequests())
	}
}

func TestBackfillPagedFeed(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 400, NoREST: true})
	h := newHarness()
	a := h.newArchive(nil)
	if err := a.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	assertAllPosts(t, h.store, s, 400)
	cp := h.store.cp(s.FeedURL())
	if cp.Source != SourcePaged || !cp.Done || cp.Stored != 400 {
		t.Errorf("checkpoint = %+v", cp)
	}
	if n := s.Requests("/feed/?paged=41"); n != 1 {
		t.Errorf("walk did not stop at the 404 of page 41 (%d)", n)
	}
	if n := s.Requests("/feed/?paged=42"); n != 0 {
		t.Errorf("walk went past the 404")
	}
	a1, _ := h.store.get(articles.SiteOf(s.URL), articles.Identity(s.GUID(1), "", "", wptest.Published(1)))
	if a1.FeedURL != "" || a1.Site != articles.SiteOf(s.URL) || len(a1.Categories) != 3 {
		t.Errorf("archived item = %+v", a1)
	}
}

func TestBackfillPagedFeedIgnoringPaged(t *testing.T) {
	t.Parallel()
	// A WordPress feed that ignores ?paged=N: page 2 is page 1 again, which
	// brings nothing new, so the walk stops there.
	s := wptest.New(t, wptest.Config{Posts: 1000, NoREST: true, NoPaged: true})
	h := newHarness()
	a := h.newArchive(nil)
	if err := a.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	if n := h.store.count(); n != wptest.FeedSize {
		t.Errorf("stored %d, want the feed's %d", n, wptest.FeedSize)
	}
	if n := s.Requests("/feed/?paged=3"); n != 0 {
		t.Errorf("walk went on after a page with nothing new")
	}
	if cp := h.store.cp(s.FeedURL()); !cp.Done {
		t.Errorf("checkpoint = %+v", cp)
	}
}

func TestBackfillNoSource(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 30, NoREST: true, NotWP: true})
	h := newHarness()
	var events []Progress
	a := h.newArchive(func(o *Options) { o.Progress = func(p Progress) { events = append(events, p) } })
	for range 3 {
		if err := a.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
			t.Fatal(err)
		}
	}
	cp := h.store.cp(s.FeedURL())
	if cp.Source != SourceNone || !cp.Done {
		t.Errorf("checkpoint = %+v", cp)
	}
	if n := s.Requests("/feed/"); n != 1 {
		t.Errorf("feed read %d times: retried in a loop", n)
	}
	if n := strings.Count(h.logs.String(), "no archive source"); n != 1 {
		t.Errorf("said %d times in the log, want once:\n%s", n, h.logs.String())
	}
	if len(events) != 1 || !events[0].Done || events[0].Source != SourceNone {
		t.Errorf("progress = %+v", events)
	}
	if st := a.Status(); st[0].State != StateNone {
		t.Errorf("status = %+v", st)
	}
	if h.store.count() != 0 {
		t.Errorf("stored %d", h.store.count())
	}
}

func TestBackfillSkipsLocalFeeds(t *testing.T) {
	t.Parallel()
	h := newHarness()
	a := h.newArchive(nil)
	if err := a.Backfill(t.Context(), []string{"testdata/feed.xml", "file:///tmp/feed.xml"}); err != nil {
		t.Fatal(err)
	}
	if len(h.store.cps) != 0 || len(a.Status()) != 0 {
		t.Errorf("local feeds were considered: %+v", h.store.cps)
	}
}

func TestBackfillOneAPIForSeveralFeeds(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 300})
	h := newHarness()
	a := h.newArchive(nil)
	feeds := []string{s.FeedURL(), s.URL + "/category/category-1/feed/"}
	if err := a.Backfill(t.Context(), feeds); err != nil {
		t.Fatal(err)
	}
	assertAllPosts(t, h.store, s, 300)
	if n := s.Requests("/wp-json/wp/v2/posts?page=2"); n != 1 {
		t.Errorf("the API was pulled %d times", n)
	}
	for _, f := range feeds {
		if cp := h.store.cp(f); !cp.Done || cp.Source != SourceWordPress {
			t.Errorf("%s: checkpoint = %+v", f, cp)
		}
	}
}

func TestBackfillSeveralSites(t *testing.T) {
	t.Parallel()
	s1 := wptest.New(t, wptest.Config{Posts: 250})
	s2 := wptest.New(t, wptest.Config{Posts: 120, NoREST: true})
	h := newHarness()
	a := h.newArchive(nil)
	if err := a.Backfill(t.Context(), []string{s1.FeedURL(), s2.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	// Both fake sites are on 127.0.0.1: one site for SiteOf, so the feeds
	// ran one after the other and the store holds both archives under
	// distinct keys (GUIDs carry the port).
	if n := h.store.count(); n != 370 {
		t.Errorf("stored %d, want 370", n)
	}
}

func TestBackfillPostPublishedDuringBackfill(t *testing.T) {
	t.Parallel()
	// A post published while the backfill walks the pages shifts them by one:
	// the walk then meets one post twice but loses none.
	s := wptest.New(t, wptest.Config{Posts: 400})
	h := newHarness()
	published := false
	a := h.newArchive(func(o *Options) {
		o.Progress = func(p Progress) {
			if p.Pages == 2 && !published {
				published = true
				s.Publish()
			}
		}
	})
	if err := a.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	for id := 1; id <= 400; id++ {
		if _, ok := h.store.get(articles.SiteOf(s.URL), articles.Identity(s.GUID(id), "", "", wptest.Published(id))); !ok {
			t.Fatalf("post %d lost", id)
		}
	}
}

func TestBackfillFeedUnreachable(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 10, Fault: faultOn("/feed/", "", 100, http.StatusForbidden, "", "no")})
	h := newHarness()
	a := h.newArchive(nil)
	if err := a.Backfill(t.Context(), []string{s.FeedURL()}); err == nil {
		t.Fatal("no error for a feed that cannot be read")
	}
	cp := h.store.cp(s.FeedURL())
	if cp.Done || cp.Source != "" || !strings.Contains(cp.LastError, "403") {
		t.Errorf("checkpoint = %+v (must be tried again later)", cp)
	}
}

func TestBackfillCheckpointFailureStopsSite(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 300})
	h := newHarness()
	h.store.failCPs = 1
	a := h.newArchive(nil)
	if err := a.Backfill(t.Context(), []string{s.FeedURL()}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Backfill = %v", err)
	}
	b := h.newArchive(nil)
	if err := b.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	assertAllPosts(t, h.store, s, 300)
}

// What the poller already read of the feed tells where the archive is: the
// feed itself is not fetched again.
func TestBackfillUsesWhatThePollerKnows(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 150})
	h := newHarness()
	a := h.newArchive(func(o *Options) {
		o.Known = func(feedURL string) (articles.FeedMeta, bool) {
			if feedURL != s.FeedURL() {
				return articles.FeedMeta{}, false
			}
			return articles.FeedMeta{Link: s.URL + "/", Generator: "https://wordpress.org/?v=6.5"}, true
		}
	})
	if err := a.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	assertAllPosts(t, h.store, s, 150)
	if n := s.Requests("/feed/"); n != 0 {
		t.Errorf("the feed was fetched %d times though the poller had read it", n)
	}
}
