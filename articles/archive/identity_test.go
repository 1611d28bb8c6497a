package archive

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/archive/wptest"
)

// An article met by the backfill first and listed by the feed later has one
// identity: the REST post and the feed item give the same Key and Site.
func TestRESTAndFeedIdentity(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 40})
	h := newHarness()
	a := h.newArchive(nil)
	if err := a.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	// Decode the REST page directly as well, independently of the store.
	res, err := articles.NewFetcher(nil).Fetch(t.Context(), s.URL+"/wp-json/wp/v2/posts?per_page=100", "", "")
	if err != nil {
		t.Fatal(err)
	}
	var posts []wpPost
	if err := json.Unmarshal(res.Body, &posts); err != nil {
		t.Fatal(err)
	}
	rest := map[string]articles.Article{}
	for i := range posts {
		art, ok := wpArticle(&posts[i], articles.SiteOf(s.FeedURL()), nil, time.Now())
		if !ok {
			t.Fatalf("post %d dropped", posts[i].ID)
		}
		rest[art.Key] = art
	}

	feed := pollFeed(t, s.FeedURL())
	if len(feed.Items) != wptest.FeedSize {
		t.Fatalf("feed has %d items", len(feed.Items))
	}
	for _, it := range feed.Items {
		r, ok := rest[it.Key]
		if !ok {
			t.Errorf("feed item %q (key %q) has no REST twin", it.Title, it.Key)
			continue
		}
		if articles.Identity(r.GUID, r.URL, r.Title, r.Published) != articles.Identity(it.GUID, it.URL, it.Title, it.Published) {
			t.Errorf("identities differ: %q vs %q", r.GUID, it.GUID)
		}
		if r.Site != it.Site || r.URL != it.URL || r.Title != it.Title || !r.Published.Equal(it.Published) {
			t.Errorf("REST %q %q %q %v\nfeed %q %q %q %v", r.Site, r.URL, r.Title, r.Published, it.Site, it.URL, it.Title, it.Published)
		}
		if strings.Join(r.Categories, "|") != "" && strings.Join(r.Categories, "|") != strings.Join(it.Categories, "|") {
			t.Errorf("categories %q vs %q", r.Categories, it.Categories)
		}
		if _, ok := h.store.get(it.Site, it.Key); !ok {
			t.Errorf("backfilled store lacks feed item %q", it.Key)
		}
	}
	// The feed's item, recorded after the backfill, is the same article.
	before := h.store.count()
	for _, it := range feed.Items {
		h.store.add(it)
	}
	if h.store.count() != before {
		t.Errorf("feed items stored twice: %d -> %d", before, h.store.count())
	}
}

// The backfill of a site and the page reads of the same site go one request
// at a time and at the configured pace.
func TestOneRequestAtATimePerSite(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	inFlight, most := 0, 0
	s := wptest.New(t, wptest.Config{Posts: 300, SummaryOnly: true})
	h := newHarness()
	feed := pollFeed(t, s.FeedURL())
	s.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		runtime.Gosched() // give an overlapping request the chance to show
		mu.Lock()
		inFlight--
		mu.Unlock()
		return false
	})
	for _, it := range feed.Items {
		h.store.add(it)
	}
	a := h.newArchive(func(o *Options) { o.FullText = true; o.Rate = 5 })
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() { errs <- a.Backfill(t.Context(), []string{s.FeedURL()}) })
	wg.Go(func() { errs <- a.FullText(t.Context()) })
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if most != 1 {
		t.Errorf("%d requests to one site at once, want 1", most)
	}
	if n := h.store.count(); n != 300 {
		t.Errorf("stored %d", n)
	}
	// Every request after the first waited its turn, 1/5 s after the one
	// before (the fake clock moves only when the archive sleeps).
	reqs := s.TotalRequests() - 1 // pollFeed's own read went around the archive
	if n := h.clock.count(); n != reqs-1 {
		t.Errorf("%d pauses for %d requests, want %d", n, reqs, reqs-1)
	}
	for _, d := range h.clock.sleeps {
		if d != 200*time.Millisecond {
			t.Errorf("paused %v, want 1/Rate", d)
		}
	}
}

// A non-WordPress Atom feed with RFC 5005 prev-archive links is walked to
// its oldest archive document.
func TestBackfillRFC5005(t *testing.T) {
	t.Parallel()
	var srv *httptest.Server
	hits := map[string]int{}
	var mu sync.Mutex
	doc := func(w http.ResponseWriter, n int, prev string) {
		w.Header().Set("Content-Type", "application/atom+xml")
		var b strings.Builder
		fmt.Fprintf(&b, `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:fh="http://purl.org/syndication/history/1.0">
<title>Plain site</title><id>tag:plain,2024:feed</id><updated>2024-01-01T00:00:00Z</updated>
<link rel="alternate" href="%s/"/>`, srv.URL)
		if prev != "" {
			fmt.Fprintf(&b, `<link rel="prev-archive" href="%s"/>`, prev)
		}
		for i := 0; i < 5; i++ {
			id := n*5 + i
			fmt.Fprintf(&b, `<entry><id>tag:plain,2024:%d</id><title>Entry %d</title><link href="%s/entries/%d"/><updated>2024-01-%02dT00:00:00Z</updated><content type="html">&lt;p&gt;Entry %d text.&lt;/p&gt;</content></entry>`,
				id, id, srv.URL, id, id%28+1, id)
		}
		b.WriteString("</feed>")
		_, _ = w.Write([]byte(b.String()))
	}
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/atom.xml": // current: entries 15..19
			doc(w, 3, "/archive/2.xml")
		case "/archive/2.xml":
			doc(w, 2, "/archive/1.xml")
		case "/archive/1.xml":
			doc(w, 1, "/archive/0.xml")
		case "/archive/0.xml":
			doc(w, 0, "")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	h := newHarness()
	a := h.newArchive(nil)
	feedURL := srv.URL + "/atom.xml"
	if err := a.Backfill(t.Context(), []string{feedURL}); err != nil {
		t.Fatal(err)
	}
	if n := h.store.count(); n != 20 {
		t.Errorf("stored %d, want the 20 entries of the feed and its archives", n)
	}
	cp := h.store.cp(feedURL)
	if cp.Source != SourceRFC5005 || !cp.Done || cp.Stored != 20 {
		t.Errorf("checkpoint = %+v", cp)
	}
	for _, p := range []string{"/atom.xml", "/archive/2.xml", "/archive/1.xml", "/archive/0.xml"} {
		if hits[p] != 1 {
			t.Errorf("%s read %d times", p, hits[p])
		}
	}
	if _, ok := h.store.get(articles.SiteOf(feedURL), "guid:tag:plain,2024:0"); !ok {
		t.Error("oldest entry missing")
	}
}
