package archive

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/archive/wptest"
)

func TestSiteRoots(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, feed, link string
		want             []string
	}{
		{"main feed", "https://site.example/feed/", "https://site.example", []string{"https://site.example/"}},
		{"category feed", "https://site.example/category/news/feed/", "https://site.example/", []string{"https://site.example/"}},
		{"subdirectory", "https://example.com/blog/feed/atom/", "", []string{"https://example.com/blog/"}},
		{"query feed", "https://example.com/?feed=rss2", "", []string{"https://example.com/"}},
		{"link elsewhere", "https://feeds.example.net/site", "https://www.site.example/news/", []string{"https://www.site.example/news/", "https://feeds.example.net/site/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := siteRoots(tt.feed, tt.link)
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestAPILink(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Add("Link", `<https://site.example/wp-json/wp/v2/pages/2>; rel="alternate"; type="application/json"`)
	h.Add("Link", `<https://site.example/?p=2>; rel=shortlink, <https://site.example/wp-json/>; rel="https://api.w.org/"`)
	if got := apiLink(h, "https://site.example/"); got != "https://site.example/wp-json/" {
		t.Errorf("apiLink = %q", got)
	}
	page := []byte(`<html><head><link rel='stylesheet' href='/x.css'><link rel="https://api.w.org/" href="/index.php?rest_route=/"></head><body></body></html>`)
	api := apiLinkHTML(page, "https://site.example/")
	if api != "https://site.example/index.php?rest_route=/" {
		t.Fatalf("apiLinkHTML = %q", api)
	}
	if got := postsURL(api, 3); got != "https://site.example/index.php?_fields="+urlEscape(restFields)+"&page=3&per_page=100&rest_route=%2Fwp%2Fv2%2Fposts" {
		t.Errorf("postsURL = %q", got)
	}
	if got := termsURL(postsURL(api, 3), "tags", 1); got != "https://site.example/index.php?_fields=id%2Cname&page=1&per_page=100&rest_route=%2Fwp%2Fv2%2Ftags" {
		t.Errorf("termsURL = %q", got)
	}
	if got := termsURL(postsURL("https://s.example/wp-json/", 7), "categories", 2); got != "https://s.example/wp-json/wp/v2/categories?_fields=id%2Cname&page=2&per_page=100" {
		t.Errorf("termsURL = %q", got)
	}
	if apiLinkHTML([]byte(`<html><body><link rel="https://api.w.org/" href="/wp-json/"></body></html>`), "https://s.example/") != "" {
		t.Error("a link in the body was taken for the head's")
	}
}

func urlEscape(s string) string {
	out := ""
	for _, r := range s {
		if r == ',' {
			out += "%2C"
		} else {
			out += string(r)
		}
	}
	return out
}

func TestRetryPause(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		err   error
		retry bool
		pause time.Duration
	}{
		{"429 with Retry-After", &articles.HTTPError{Status: 429, RetryAfter: 9 * time.Second}, true, 9 * time.Second},
		{"503 without", &articles.HTTPError{Status: 503}, true, defaultBusyWait},
		{"429 asking too much", &articles.HTTPError{Status: 429, RetryAfter: time.Hour}, false, 0},
		{"500", &articles.HTTPError{Status: 500}, true, serverErrorWait},
		{"404", &articles.HTTPError{Status: 404}, false, 0},
		{"too large", articles.ErrTooLarge, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := retryPause(tt.err, 1)
			if ok != tt.retry || p != tt.pause {
				t.Errorf("retryPause = %v, %v; want %v, %v", p, ok, tt.pause, tt.retry)
			}
		})
	}
}

func FuzzDiscovery(f *testing.F) {
	f.Add(`<https://s.example/wp-json/>; rel="https://api.w.org/"`, []byte(`<link rel="https://api.w.org/" href="/wp-json/">`))
	f.Add(`<>; rel=`, []byte(`<html><head><link rel`))
	f.Add(`<a>;rel="https://api.w.org/", <b`, []byte(`<head><link href=x rel="https://api.w.org/"/>`))
	f.Fuzz(func(t *testing.T, header string, page []byte) {
		h := http.Header{"Link": {header}}
		if got := apiLink(h, "https://s.example/"); got != "" && articles.CleanURL(got) != got {
			t.Errorf("apiLink returned an unclean URL %q", got)
		}
		if got := apiLinkHTML(page, "https://s.example/"); got != "" && articles.CleanURL(got) != got {
			t.Errorf("apiLinkHTML returned an unclean URL %q", got)
		}
		_, _ = MainText(page, "https://s.example/a/")
	})
}

func FuzzWPArticle(f *testing.F) {
	f.Add("https://s.example/?p=1", "https://s.example/a/", "A &amp; B", "<p>x</p>", "2024-01-02T03:04:05")
	f.Add("", "", "", "", "")
	f.Add(" ", "/relative", "<b>t</b>", "<p>[&hellip;]", "garbage")
	f.Fuzz(func(t *testing.T, guid, link, title, content, date string) {
		p := wpPost{GUID: wpRendered{guid}, Link: link, Title: wpRendered{title}, Content: wpRendered{content}, DateGMT: date}
		a, ok := wpArticle(&p, "s.example", nil, time.Unix(0, 0))
		if !ok {
			return
		}
		if a.Key == "" || a.Site != "s.example" || a.Published.IsZero() {
			t.Errorf("article %+v", a)
		}
		if n := len([]rune(a.Summary)); n > articles.ExcerptLen {
			t.Errorf("summary of %d runes", n)
		}
	})
}

func TestLongRetryAfterIsObeyedWithoutWaiting(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 300,
		Fault: faultOn("/wp-json/wp/v2/posts", "page=2&", 1, http.StatusTooManyRequests, "3600", "later")})
	h := newHarness()
	a := h.newArchive(nil)
	if err := a.Backfill(t.Context(), []string{s.FeedURL()}); err == nil {
		t.Fatal("no error for a site that asked for an hour's pause")
	}
	if h.clock.longer(maxRetryAfter) != 0 {
		t.Errorf("waited an hour: %v", h.clock.sleeps)
	}
	// Within the hour, nothing more is sent to the site (page reads neither).
	before := s.TotalRequests()
	err := a.Backfill(t.Context(), []string{s.FeedURL()})
	if err == nil || !strings.Contains(err.Error(), "left alone") || s.TotalRequests() != before {
		t.Errorf("second run: %v, %d requests", err, s.TotalRequests()-before)
	}
	if cp := h.store.cp(s.FeedURL()); cp.Done || cp.Stored != 100 {
		t.Errorf("checkpoint = %+v", cp)
	}
}

func TestDetectionFailingProbeIsRetriedLater(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 30, NoREST: true, NotWP: true,
		Fault: faultOn("/wp-json/wp/v2/posts", "", maxAttempts, http.StatusBadGateway, "", "down")})
	h := newHarness()
	if err := h.newArchive(nil).Backfill(t.Context(), []string{s.FeedURL()}); err == nil {
		t.Fatal("no error while the probe failed")
	}
	if cp := h.store.cp(s.FeedURL()); cp.Done || cp.Source != "" {
		t.Fatalf("settled on %+v while the site was failing", cp)
	}
	if err := h.newArchive(nil).Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	if cp := h.store.cp(s.FeedURL()); !cp.Done || cp.Source != SourceNone {
		t.Errorf("checkpoint = %+v", cp)
	}
}
