package articles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// checkPlain asserts the shape of HTMLToText's output.
func checkPlain(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%s: invalid UTF-8 %q", what, s)
	}
	if s != strings.TrimSpace(s) {
		t.Fatalf("%s: untrimmed %q", what, s)
	}
	for _, bad := range []string{"  ", "\n\n", " \n", "\n ", "\t", "\r"} {
		if strings.Contains(s, bad) {
			t.Fatalf("%s: holds %q: %q", what, bad, s)
		}
	}
	for _, r := range s {
		if r != '\n' && unicode.IsControl(r) {
			t.Fatalf("%s: control character %U in %q", what, r, s)
		}
	}
}

// onlyTags reports whether every '<' of s opens markup (a tag, an end tag, a
// comment, a declaration) and s holds no entity: then no '<' may survive.
func onlyTags(s string) bool {
	if strings.Contains(s, "&") {
		return false
	}
	for i := strings.IndexByte(s, '<'); i >= 0; {
		if i+1 >= len(s) {
			return false
		}
		c := s[i+1]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '!' || c == '?') {
			return false
		}
		j := strings.IndexByte(s[i+1:], '<')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return true
}

func FuzzHTMLToText(f *testing.F) {
	for _, s := range []string{
		"", "plain", "<p>a</p><p>b</p>", "a &amp; b &#x1F389; &bogus; &", "<script>x</script>y",
		"<<b>b>", "x</", "<a href='>'>x</a>", "a\xffb\x00c", "<ul><li>1<li>2</ul>", "<svg><p>x</svg>y",
		"<pre>  code\n  block </pre>", "a&amp;#32;&amp;#32;b", "é\u00a0\u200b\ufeffx", strings.Repeat("<div>", 100) + "deep",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := HTMLToText(s)
		checkPlain(t, "HTMLToText", out)
		if onlyTags(s) {
			for i := 0; i+1 < len(out); i++ {
				if c := out[i+1]; out[i] == '<' && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '!' || c == '?') {
					t.Fatalf("markup remnant in %q from %q", out, s)
				}
			}
		}
		for _, max := range []int{1, 7, ExcerptLen} {
			e := Excerpt(out, max)
			if n := utf8.RuneCountInString(e); n > max || !utf8.ValidString(e) {
				t.Fatalf("Excerpt(%q, %d) = %q (%d runes)", out, max, e, n)
			}
			if e != out && !strings.HasPrefix(out, strings.TrimSuffix(e, "…")) {
				t.Fatalf("Excerpt(%q, %d) = %q is not a prefix", out, max, e)
			}
		}
		title := CleanTitle(s)
		checkPlain(t, "CleanTitle", title)
		if strings.Contains(title, "\n") {
			t.Fatalf("CleanTitle(%q) = %q spans lines", s, title)
		}
		for _, l := range ExtractLinks(s, "https://example.com/post/1") {
			if CleanURL(l) != l || SiteOf(l) != "example.com" {
				t.Fatalf("ExtractLinks(%q) gave %q", s, l)
			}
		}
		if img := FirstImage(s, "https://example.com/post/1"); img != "" && CleanURL(img) != img {
			t.Fatalf("FirstImage(%q) = %q", s, img)
		}
	})
}

func FuzzParseFeed(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(tinyFeed))
	f.Add([]byte(`{"version":"https://jsonfeed.org/version/1","items":[{"id":"1","title":"<b>x</b>","content_html":"<p>y"}]}`))
	f.Add([]byte(`<feed xmlns="http://www.w3.org/2005/Atom"><entry><title type="html">&amp;lt;b&amp;gt;</title><link href="../x"/></entry></feed>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		feed, err := ParseFeed("https://example.com/feed/", body, fixedNow)
		if err != nil {
			if strings.Contains(err.Error(), "panic") {
				t.Fatalf("ParseFeed panicked: %v", err)
			}
			return
		}
		if !utf8.ValidString(feed.Title) || strings.Contains(feed.Title, "\n") {
			t.Fatalf("feed title %q", feed.Title)
		}
		keys := map[string]bool{}
		for _, a := range feed.Items {
			if a.Key == "" || keys[a.Key] {
				t.Fatalf("key %q empty or repeated", a.Key)
			}
			keys[a.Key] = true
			if a.Site != feed.Site || a.Site != "example.com" {
				t.Fatalf("site %q, feed site %q", a.Site, feed.Site)
			}
			checkPlain(t, "title", a.Title)
			checkPlain(t, "text", a.Text)
			checkPlain(t, "author", a.Author)
			checkPlain(t, "summary", a.Summary)
			if strings.Contains(a.Title, "\n") || strings.Contains(a.Summary, "\n") {
				t.Fatalf("title %q or summary %q spans lines", a.Title, a.Summary)
			}
			if n := utf8.RuneCountInString(a.Summary); n > ExcerptLen {
				t.Fatalf("summary of %d runes", n)
			}
			if a.URL != "" && CleanURL(a.URL) != a.URL {
				t.Fatalf("URL %q not clean", a.URL)
			}
			if a.Image != "" && CleanURL(a.Image) != a.Image {
				t.Fatalf("image %q not clean", a.Image)
			}
			for _, l := range a.Links {
				if CleanURL(l) != l || (a.URL != "" && SiteOf(l) != SiteOf(a.URL)) || CanonicalURL(l) == CanonicalURL(a.URL) {
					t.Fatalf("link %q of %q", l, a.URL)
				}
			}
			for _, c := range a.Categories {
				if c == "" || !utf8.ValidString(c) {
					t.Fatalf("category %q", c)
				}
			}
			if a.Published.IsZero() || !a.FirstSeen.Equal(fixedNow) {
				t.Fatalf("published %v, first seen %v", a.Published, a.FirstSeen)
			}
		}
	})
}
