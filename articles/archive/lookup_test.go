package archive

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/newsbot/newsbot/articles"
)

const lookupPage = `<!doctype html><html><head><title>Harvest fair</title>
<meta property="article:published_time" content="2025-10-04T10:00:00Z"></head><body><nav>Home</nav>
<article><h1>The harvest fair crowns a giant pumpkin</h1>
<p>At the valley harvest fair a giant pumpkin won the prize; growers brought pumpkins and squash from every farm.</p>
<p>The pumpkin harvest was the biggest in years, and the fair drew farmers, families and buyers.</p></article></body></html>`

// TestReadPage: a site page is read with readability (title, text, date);
// a redirect within the sites is followed, one to another host is refused
// before any request reaches it; a link off the sites is never requested.
func TestReadPage(t *testing.T) {
	t.Parallel()
	var otherHits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		fmt.Fprint(w, lookupPage)
	}))
	t.Cleanup(other.Close)
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fair/":
			fmt.Fprint(w, lookupPage)
		case "/old-fair":
			http.Redirect(w, r, "/fair/", http.StatusMovedPermanently)
		case "/away":
			http.Redirect(w, r, otherURL+"/fair/", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(site.Close)
	onSite := func(h string) bool { return h == articles.HostOf(site.URL) }
	a := newHarness().newArchive(nil)

	got, err := a.ReadPage(t.Context(), site.URL+"/old-fair", onSite)
	if err != nil {
		t.Fatal(err)
	}
	if got.URL != site.URL+"/fair/" || !strings.Contains(strings.ToLower(got.Title), "harvest fair") ||
		!strings.Contains(got.Text, "giant pumpkin won the prize") || got.Published.Year() != 2025 || got.Summary == "" {
		t.Errorf("read %+v", got)
	}
	if _, err := a.ReadPage(t.Context(), site.URL+"/away", onSite); !errors.Is(err, ErrOffSite) {
		t.Errorf("redirect off the site: %v, want ErrOffSite", err)
	}
	if _, err := a.ReadPage(t.Context(), otherURL+"/fair/", onSite); !errors.Is(err, ErrOffSite) {
		t.Errorf("another host: %v, want ErrOffSite", err)
	}
	// The site's address on another port is another server.
	if _, err := a.ReadPage(t.Context(), other.URL+"/fair/", onSite); !errors.Is(err, ErrOffSite) {
		t.Errorf("the site's address on another port: %v, want ErrOffSite", err)
	}
	if n := otherHits.Load(); n != 0 {
		t.Errorf("the other host was requested %d times", n)
	}
	var he *articles.HTTPError
	if _, err := a.ReadPage(t.Context(), site.URL+"/story/1", onSite); !errors.As(err, &he) || he.Status != http.StatusNotFound {
		t.Errorf("missing page: %v, want a 404", err)
	}
}
