package articles

import (
	"strings"
	"testing"
	"time"
)

func TestCleanURL(t *testing.T) {
	cases := map[string]string{
		"https://Example.COM/a?utm_source=x&id=3#frag":    "https://example.com/a?id=3",
		"http://example.com:80/":                          "http://example.com/",
		"https://example.com:443":                         "https://example.com/",
		"https://example.com:8443/x":                      "https://example.com:8443/x",
		"https://user:pw@example.com/p":                   "https://example.com/p",
		"  https://example.com/p?fbclid=1&UTM_Medium=2  ": "https://example.com/p",
		"https://example.com/p?":                          "https://example.com/p",
		"HTTPS://example.com/Case/Kept":                   "https://example.com/Case/Kept",
		"/relative":                                       "",
		"mailto:a@example.com":                            "",
		"ftp://example.com/f":                             "",
		"javascript:alert(1)":                             "",
		"":                                                "",
		"http://[::1":                                     "",
	}
	for in, want := range cases {
		if got := CleanURL(in); got != want {
			t.Errorf("CleanURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCanonicalURL(t *testing.T) {
	same := [][]string{
		{"https://example.com/a/", "https://example.com/a", "https://EXAMPLE.com/a?utm_campaign=z#x"},
		{"https://example.com", "https://example.com/"},
		{"https://example.com/p/", "https://www.example.com/p"},
	}
	for _, group := range same {
		want := CanonicalURL(group[0])
		if want == "" {
			t.Fatalf("CanonicalURL(%q) is empty", group[0])
		}
		for _, u := range group[1:] {
			if got := CanonicalURL(u); got != want {
				t.Errorf("CanonicalURL(%q) = %q, want %q (as %q)", u, got, want, group[0])
			}
		}
	}
	if CanonicalURL("https://example.com/a") == CanonicalURL("https://example.com/b") {
		t.Error("different paths compare equal")
	}
	if got := CanonicalURL("https://example.com/a//"); got != "https://example.com/a" {
		t.Errorf("CanonicalURL(a//) = %q", got)
	}
}

func TestHostOf(t *testing.T) {
	cases := map[string]string{
		"https://www.Example.com:8080/feed":      "example.com:8080",
		"https://example.com:443/a":              "example.com",
		"http://example.com:80/a":                "example.com",
		"http://example.com:443/a":               "example.com:443",
		"http://127.0.0.1:5000/story/1":          "127.0.0.1:5000",
		"http://[::1]:5000/x":                    "[::1]:5000",
		"https://news.example.com@evil.test/x":   "evil.test",
		"https://news.example.com:1@evil.test/x": "evil.test",
		"/relative/path":                         "",
		"%zz":                                    "",
	}
	for in, want := range cases {
		if got := HostOf(in); got != want {
			t.Errorf("HostOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSiteOf(t *testing.T) {
	cases := map[string]string{
		"https://www.Example.com:8080/feed": "example.com",
		"http://blog.example.com/":          "blog.example.com",
		"https://example.com":               "example.com",
		"/local/path":                       "",
		"":                                  "",
	}
	for in, want := range cases {
		if got := SiteOf(in); got != want {
			t.Errorf("SiteOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolveURL(t *testing.T) {
	cases := []struct{ base, ref, want string }{
		{"https://example.com/news/feed/", "../post?utm_source=rss", "https://example.com/news/post"},
		{"https://example.com/news/", "/abs", "https://example.com/abs"},
		{"https://example.com/news/", "https://other.org/x#y", "https://other.org/x"},
		{"https://example.com/news/", "//cdn.example.com/i.png", "https://cdn.example.com/i.png"},
		{"", "https://example.com/x", "https://example.com/x"},
		{"", "relative", ""},
		{"https://example.com/", "", ""},
		{"https://example.com/", "mailto:x@example.com", ""},
	}
	for _, c := range cases {
		if got := ResolveURL(c.base, c.ref); got != c.want {
			t.Errorf("ResolveURL(%q, %q) = %q, want %q", c.base, c.ref, got, c.want)
		}
	}
}

func TestIdentity(t *testing.T) {
	day := time.Date(2024, 9, 1, 10, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	cases := []struct {
		guid, link, title string
		published         time.Time
		want              string
	}{
		{" g-1 ", "https://example.com/a", "T", day, "guid:g-1"},
		{"", "https://Example.com/a/?utm_source=x", "T", day, "url:https://example.com/a"},
		{"", "", "  A   Title ", day, "title:a title|2024-09-01T08:00:00Z"},
		{"", "", "Undated", time.Time{}, "title:undated|"},
		{"", "not a url", "T", time.Time{}, "title:t|"},
	}
	for _, c := range cases {
		if got := Identity(c.guid, c.link, c.title, c.published); got != c.want {
			t.Errorf("Identity(%q, %q, %q) = %q, want %q", c.guid, c.link, c.title, got, c.want)
		}
	}
}

func TestDeliveryNonce(t *testing.T) {
	a := Article{Site: "example.com", Key: "guid:1"}
	b := Article{Site: "example.com", Key: "guid:2"}
	if n := DeliveryNonce(a, "400"); len(n) > 25 || !strings.HasPrefix(n, "nd") || n != DeliveryNonce(a, "400") {
		t.Errorf("nonce %q", n)
	}
	if DeliveryNonce(a, "400") == DeliveryNonce(b, "400") {
		t.Error("two articles share a nonce")
	}
	if DeliveryNonce(a, "400") == DeliveryNonce(a, "401") {
		t.Error("one article shares a nonce in two channels (Discord deduplicates per author)")
	}
}
