package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/newsbot/newsbot/internal/config"
	"github.com/newsbot/newsbot/internal/discordtest"
)

// linkSite is a news site: a feed of six stories about orchards and pages
// for links the feed does not list. It counts the requests of each path.
type linkSite struct {
	srv      *httptest.Server
	mu       sync.Mutex
	hits     map[string]int
	redirect string // where /moved sends
}

func newLinkSite(t *testing.T) *linkSite {
	s := &linkSite{hits: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *linkSite) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *linkSite) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	s.mu.Unlock()
	base := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	switch {
	case r.URL.Path == "/feed/":
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Orchard News</title><link>` + s.srv.URL + `/</link>`)
		for i := 6; i >= 1; i-- {
			fmt.Fprintf(&b, `<item><title>Apple orchard report %d</title><link>%s/news/apple-report-%d/</link><guid>%s/?p=%d</guid><pubDate>%s</pubDate>`+
				`<description>Apple growers in the orchard valley expect a strong harvest this autumn; pickers, cider presses and frost on the blossoms, report %d of the season. Prices for apples and pears held steady at the market.</description></item>`,
				i, s.srv.URL, i, s.srv.URL, i, base.Add(time.Duration(i)*time.Hour).Format(time.RFC1123Z), i)
		}
		b.WriteString(`</channel></rss>`)
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, b.String())
	case r.URL.Path == "/old/cider-festival/":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><head><title>Cider festival fills the orchard valley</title>
<meta property="article:published_time" content="2025-10-04T10:00:00Z"></head><body>
<nav>Home · News · About</nav>
<article><h1>Cider festival fills the orchard valley</h1>
<p>Thousands came to the orchard valley for the cider festival, where apple growers poured this year's cider and pressed apples from the harvest.</p>
<p>The growers said the apple harvest was strong despite frost on the blossoms in spring; pickers worked late, and the cider presses ran all week.</p>
<p>Next year the festival moves to the pear orchards on the hill, with more presses and a market for apples and pears.</p>
</article><footer>© Orchard News</footer></body></html>`)
	case r.URL.Path == "/moved":
		http.Redirect(w, r, s.redirect, http.StatusFound)
	default:
		http.NotFound(w, r)
	}
}

// TestRelatedUnknownLinks: a link that names no stored article. On the
// site's host its page is read once, stored and answered for; a page that
// cannot be read is remembered; another host, and a redirect to it, are
// never requested; no link is ever searched by its slug.
func TestRelatedUnknownLinks(t *testing.T) {
	fake := discordtest.New(t)
	site := newLinkSite(t)
	other := newLinkSite(t)
	// Same machine, another host name: not one of the sites' hosts.
	otherURL := strings.Replace(other.srv.URL, "127.0.0.1", "localhost", 1)
	site.redirect = otherURL + "/old/cider-festival/"
	env := botEnv(fake, t.TempDir(), site.srv.URL+"/feed/")
	env["FULL_TEXT"] = "auto"
	env["BACKFILL_RATE"] = "100"
	stderr := startBot(t, fake, env)
	ctx := waitCtx(t)
	ask := func(q string) string {
		t.Helper()
		in, err := fake.Interact(ctx, discordtest.Command("related", discordtest.Opt("query", q)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := finalAnswer(ctx, fake, in.ID)
		if err != nil {
			t.Fatalf("%s: %v\n%s", q, err, stderr.String())
		}
		return got
	}

	// A site page: read, stored, answered for; asked again, not read again.
	page := site.srv.URL + "/old/cider-festival/"
	for n := range 2 {
		got := ask(page)
		if !strings.Contains(got, "Related to: **Cider festival fills the orchard valley**") || !strings.Contains(got, "/news/apple-report-") {
			t.Fatalf("ask %d for a site page: %q\n%s", n+1, got, stderr.String())
		}
		if c := site.count("/old/cider-festival/"); c != 1 {
			t.Fatalf("after ask %d the page was read %d times, want 1", n+1, c)
		}
	}
	// It is an archive article now: autocomplete knows it, and it is
	// never posted.
	for _, m := range fake.Messages("400") {
		if strings.Contains(fmt.Sprint(m.Embeds[0].Title), "Cider festival") {
			t.Errorf("the looked-up page was posted: %+v", m.Embeds[0])
		}
	}

	// Another host: no request, a clear answer.
	got := ask(otherURL + "/old/cider-festival/")
	if !strings.Contains(got, "only look up") {
		t.Errorf("other host answered %q", got)
	}
	// A site page that redirects to another host: that host is not asked.
	if got := ask(site.srv.URL + "/moved"); !strings.Contains(got, "Nothing in the archive matches") {
		t.Errorf("redirect off the site answered %q", got)
	}
	if c := other.count("/old/cider-festival/"); c != 0 {
		t.Errorf("the other host was requested %d times", c)
	}

	// The front page is no article: not read.
	if got := ask(site.srv.URL + "/"); !strings.Contains(got, "Nothing in the archive matches") {
		t.Errorf("front page answered %q", got)
	}
	if c := site.count("/"); c != 0 {
		t.Errorf("the front page was read %d times", c)
	}

	// A failing page (and word-less slugs): the no-match message, never
	// junk; the failure is remembered, so a second ask reads nothing.
	for _, path := range []string{"/story/1", "/?p=123"} {
		for n := range 2 {
			got := ask(site.srv.URL + path)
			if !strings.Contains(got, "Nothing in the archive matches") || strings.Contains(got, "apple-report") {
				t.Errorf("ask %d for %s: %q", n+1, path, got)
			}
		}
	}
	if c := site.count("/story/1"); c != 1 {
		t.Errorf("failing page read %d times, want 1 (remembered)", c)
	}
	if c := site.count("/moved"); c != 1 {
		t.Errorf("redirecting page read %d times, want 1 (remembered)", c)
	}
}

// TestRelatedUnknownLinkFullTextOff: with FULL_TEXT=off no page is read;
// a site link gets the no-match message, another host's the refusal.
func TestRelatedUnknownLinkFullTextOff(t *testing.T) {
	fake := discordtest.New(t)
	site := newLinkSite(t)
	env := botEnv(fake, t.TempDir(), site.srv.URL+"/feed/") // FULL_TEXT=off
	stderr := startBot(t, fake, env)
	ctx := waitCtx(t)
	for _, tc := range []struct{ q, want string }{
		{site.srv.URL + "/old/cider-festival/", "Nothing in the archive matches"},
		{site.srv.URL + "/story/1", "Nothing in the archive matches"},
		{"https://elsewhere.example/news/apple-report-1/", "only look up"},
	} {
		in, err := fake.Interact(ctx, discordtest.Command("related", discordtest.Opt("query", tc.q)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := finalAnswer(ctx, fake, in.ID)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
		if !strings.Contains(got, tc.want) || strings.Contains(got, "apple-report-") && tc.want != "only look up" {
			t.Errorf("%s: %q, want %q", tc.q, got, tc.want)
		}
	}
	if c := site.count("/old/cider-festival/") + site.count("/story/1"); c != 0 {
		t.Errorf("FULL_TEXT=off read %d pages", c)
	}
}

// TestRelatedVerbUnknownLink: `newsbot related` answers a stored link, and
// a link that names no stored article with nothing (never its slug's
// search, never a page read).
func TestRelatedVerbUnknownLink(t *testing.T) {
	site := newLinkSite(t)
	env := map[string]string{
		"FEED_URLS":      site.srv.URL + "/feed/",
		"DATABASE_URL":   filepath.Join(t.TempDir(), "newsbot.db"),
		"BACKFILL_LIMIT": "0",
		"FULL_TEXT":      "off",
	}
	var out, errb syncBuffer
	if code := Main(context.Background(), []string{"fetch"}, IO{Stdout: &out, Stderr: &errb, Getenv: config.MapEnv(env)}); code != 0 {
		t.Fatalf("fetch exit %d:\n%s", code, errb.String())
	}
	for _, tc := range []struct {
		q    string
		hits bool
	}{
		{site.srv.URL + "/news/apple-report-2/", true},
		{site.srv.URL + "/news/apple-report-9/", false}, // words, but no such article
		{site.srv.URL + "/?p=123", false},
	} {
		out, errb = syncBuffer{}, syncBuffer{}
		if code := Main(context.Background(), []string{"related", "--json", tc.q}, IO{Stdout: &out, Stderr: &errb, Getenv: config.MapEnv(env)}); code != 0 {
			t.Fatalf("related %s: exit %d\n%s", tc.q, code, errb.String())
		}
		var hits []map[string]any
		if err := json.Unmarshal([]byte(out.String()), &hits); err != nil {
			t.Fatalf("related %s: %v\n%s", tc.q, err, out.String())
		}
		if (len(hits) > 0) != tc.hits {
			t.Errorf("related %s: %d hits, want hits %v", tc.q, len(hits), tc.hits)
		}
	}
	if c := site.count("/news/apple-report-9/") + site.count("/"); c != 0 {
		t.Errorf("the verb read %d pages", c)
	}
}
