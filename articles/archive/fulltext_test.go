package archive

import (
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/archive/wptest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// pollFeed reads and parses a feed as the poller does.
func pollFeed(t *testing.T, feedURL string) *articles.Feed {
	t.Helper()
	res, err := articles.NewFetcher(nil).Fetch(t.Context(), feedURL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	feed, err := articles.ParseFeed(feedURL, res.Body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return feed
}

func TestFullTextSummaryOnlyFeed(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 20, SummaryOnly: true})
	h := newHarness()
	feed := pollFeed(t, s.FeedURL())
	ids := map[int]int64{}
	for i, it := range feed.Items {
		if !it.NeedsFullText {
			t.Fatalf("item %q from a summary-only feed does not need its page", it.Title)
		}
		ids[20-i] = h.store.add(it)
	}
	// One page is gone: its failure is recorded, not retried.
	gone := s.Link(13)
	s.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == strings.TrimPrefix(gone, s.URL) {
			http.NotFound(w, r)
			return true
		}
		return false
	})

	off := h.newArchive(func(o *Options) { o.FullText = false })
	if err := off.FullText(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := s.Requests(pathOf(s.Link(20))); n != 0 {
		t.Fatalf("FULL_TEXT=off read %d pages", n)
	}

	var told []int64 // OnText runs in FullText's goroutine
	a := h.newArchive(func(o *Options) {
		o.FullText = true
		o.OnText = func(id int64) { told = append(told, id) }
	})
	if err := a.FullText(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(told) != 9 || slices.Contains(told, ids[13]) {
		t.Errorf("OnText told %v: want the 9 articles whose page was read, not the gone one", told)
	}
	for id := 11; id <= 20; id++ {
		if n := s.Requests(pathOf(s.Link(id))); n != 1 {
			t.Errorf("page of post %d read %d times, want once", id, n)
		}
	}
	if txt := h.store.texts[ids[13]]; txt != "" || !h.store.tried[ids[13]] {
		t.Errorf("missing page: text %q tried %v", txt, h.store.tried[ids[13]])
	}

	got, _ := h.store.byID[ids[20]], 0
	golden(t, "fulltext/post-20.txt", got.Text)
	for _, chrome := range []string{"Contact the newsroom", "Reader One", "Leave a Reply", "Recent Posts",
		"Newsletter", "Privacy policy", "Previous post", "Share on social media", "gtag"} {
		if strings.Contains(got.Text, chrome) {
			t.Errorf("main text holds page chrome %q:\n%s", chrome, got.Text)
		}
	}
	for _, p := range wptest.Paragraphs(20) {
		if !strings.Contains(got.Text, p) {
			t.Errorf("main text lacks %q", p)
		}
	}
	if !strings.HasPrefix(got.Summary, wptest.Paragraphs(20)[0]) || !strings.Contains(got.Summary, "A second paragraph") ||
		len([]rune(got.Summary)) > articles.ExcerptLen {
		t.Errorf("summary not rebuilt from the text: %q", got.Summary)
	}

	// Nothing is read twice.
	before := s.TotalRequests()
	if err := a.FullText(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s.TotalRequests() != before {
		t.Errorf("second FullText sent %d requests", s.TotalRequests()-before)
	}
}

func TestFullTextKeepsFullSummary(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 3})
	h := newHarness()
	id := h.store.add(articles.Article{Site: articles.SiteOf(s.URL), Key: "guid:x", URL: s.Link(2),
		Summary: "A summary the editor wrote, whole.", NeedsFullText: true, Published: time.Now()})
	a := h.newArchive(func(o *Options) { o.FullText = true })
	if err := a.FullText(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := h.store.byID[id]
	if got.Summary != "A summary the editor wrote, whole." {
		t.Errorf("a summary that was no stub was replaced: %q", got.Summary)
	}
	if !strings.Contains(got.Text, wptest.Paragraphs(2)[1]) {
		t.Errorf("text = %q", got.Text)
	}
}

// A page that is down (503 after the retries) is read again on a later run
// instead of being recorded as failed.
func TestFullTextRetriesUnavailablePages(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 3})
	down := true
	var mu sync.Mutex
	s.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if down && r.URL.Path == strings.TrimPrefix(s.Link(2), s.URL) {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	h := newHarness()
	id := h.store.add(articles.Article{Site: articles.SiteOf(s.URL), Key: "guid:y", URL: s.Link(2),
		Summary: "Short…", NeedsFullText: true, Published: time.Now()})
	a := h.newArchive(func(o *Options) { o.FullText = true })
	if err := a.FullText(t.Context()); err != nil {
		t.Fatal(err)
	}
	if h.store.tried[id] {
		t.Fatal("a page that was only unavailable was recorded as tried")
	}
	mu.Lock()
	down = false
	mu.Unlock()
	if err := a.FullText(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := h.store.byID[id]; !strings.Contains(got.Text, wptest.Paragraphs(2)[1]) {
		t.Errorf("text after the site came back = %q", got.Text)
	}
}

func TestMainTextGolden(t *testing.T) {
	t.Parallel()
	pages, _ := filepath.Glob("testdata/pages/*.html")
	if len(pages) == 0 {
		t.Skip("no pages in testdata/pages")
	}
	for _, p := range pages {
		name := strings.TrimSuffix(filepath.Base(p), ".html")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			text, err := MainText(body, "https://example.com/"+name+"/")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "pages/"+name+".txt", text)

			// Independent of the golden file: every line of the body as
			// written is in the extracted text, and none of the page's chrome.
			page := string(body)
			start := strings.Index(page, `<div class="entry-content">`)
			end := strings.Index(page, `<div class="sharedaddy">`)
			if start < 0 || end < start {
				t.Fatal("page without entry-content")
			}
			missing := 0
			lines := strings.Split(articles.HTMLToText(page[start:end]), "\n")
			for _, l := range lines {
				if !strings.Contains(text, l) {
					missing++
					t.Logf("missing line: %q", l)
				}
			}
			if missing > len(lines)/20 {
				t.Errorf("%d of %d body lines missing from the main text", missing, len(lines))
			}
			for _, chrome := range []string{"cookies", "Get Started", "Share on Twitter", "Some other post",
				"Comments", "Thanks, this was", "Leave a comment", "Popular post", "newsletter", "Privacy Policy", "_paq"} {
				if strings.Contains(text, chrome) {
					t.Errorf("main text holds page chrome %q", chrome)
				}
			}
		})
	}
}

func pathOf(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return link
	}
	return u.Path
}

// golden compares got with testdata/name, or writes it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
