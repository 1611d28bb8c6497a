package articles

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseFeedErrors(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := map[string]struct {
		body    []byte
		notFeed bool
	}{
		"html page":    {read("notfeed.html"), true},
		"empty":        {nil, true},
		"blank":        {[]byte(" \n\t "), true},
		"plain text":   {[]byte("hello, world"), true},
		"malformed":    {read("malformed.xml"), false},
		"bad json":     {[]byte(`{"version": "https://jsonfeed.org/version/1.1", "items": [`), false},
		"other xml":    {[]byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>`), true},
		"truncated":    {read("rss2.xml")[:700], false},
		"unknown enc.": {[]byte(`<?xml version="1.0" encoding="x-unknown-42"?><rss version="2.0"><channel><title>t</title></channel></rss>`), false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f, err := ParseFeed("https://example.com/feed", c.body, fixedNow)
			if err == nil {
				t.Fatalf("no error; feed %+v", f)
			}
			if errors.Is(err, ErrNotFeed) != c.notFeed {
				t.Errorf("err = %v; ErrNotFeed = %v, want %v", err, errors.Is(err, ErrNotFeed), c.notFeed)
			}
			if !strings.HasPrefix(err.Error(), "feed: ") {
				t.Errorf("error does not name its package: %v", err)
			}
		})
	}
}

func TestParseFeedSite(t *testing.T) {
	withLink := []byte(`<rss version="2.0"><channel><title>t</title><link>https://www.site.example/</link><item><title>a</title></item></channel></rss>`)
	noLink := []byte(`<rss version="2.0"><channel><title>t</title><item><title>a</title></item></channel></rss>`)
	abs, _ := filepath.Abs("feed.xml")
	cases := []struct {
		feedURL string
		body    []byte
		want    string
	}{
		{"https://feeds.example.net/site", withLink, "feeds.example.net"},
		{"feed.xml", withLink, "site.example"},
		{"file://" + filepath.ToSlash(abs), withLink, "site.example"},
		{"feed.xml", noLink, "file:" + filepath.ToSlash(abs)},
	}
	for _, c := range cases {
		f, err := ParseFeed(c.feedURL, c.body, fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		if f.Site != c.want || f.Items[0].Site != c.want {
			t.Errorf("ParseFeed(%q): site %q (item %q), want %q", c.feedURL, f.Site, f.Items[0].Site, c.want)
		}
	}
}

func TestParseFeedIdentityStable(t *testing.T) {
	// Items without GUID, link or date keep their key from poll to poll.
	body := []byte(`<rss version="2.0"><channel><title>t</title><item><title>Undated</title></item></channel></rss>`)
	a, err := ParseFeed("https://example.com/feed", body, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseFeed("https://example.com/feed", body, fixedNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if a.Items[0].Key != b.Items[0].Key {
		t.Errorf("key changed: %q then %q", a.Items[0].Key, b.Items[0].Key)
	}
	if !a.Items[0].Published.Equal(fixedNow) || !b.Items[0].FirstSeen.Equal(fixedNow.Add(time.Hour)) {
		t.Errorf("published %v, first seen %v", a.Items[0].Published, b.Items[0].FirstSeen)
	}
}

func TestParseFeedLongSummary(t *testing.T) {
	long := strings.Repeat("word ", 200)
	body := []byte(`<rss version="2.0"><channel><title>t</title><item><title>x</title><link>https://e.example/x</link><description><![CDATA[<p>` + long + `</p>]]></description></item></channel></rss>`)
	f, err := ParseFeed("https://e.example/feed", body, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	a := f.Items[0]
	if n := utf8.RuneCountInString(a.Summary); n > ExcerptLen || n < ExcerptLen-10 || !strings.HasSuffix(a.Summary, "word…") {
		t.Errorf("summary of %d runes: %q", n, a.Summary)
	}
	if a.NeedsFullText {
		t.Errorf("a 1000-character description is the article, not a teaser")
	}
}

// TestParseFeedGoblogCorpus checks the normalised corpus feed against the
// corpus's own record of each post: titles, links and tags.
func TestParseFeedGoblogCorpus(t *testing.T) {
	body, err := os.ReadFile(goblogFeed)
	if err != nil {
		t.Skipf("corpus absent: %v", err)
	}
	jf, err := os.Open(filepath.Join(filepath.Dir(goblogFeed), "articles.jsonl"))
	if err != nil {
		t.Skipf("corpus absent: %v", err)
	}
	defer jf.Close()
	f, err := ParseFeed("https://go.dev/blog/feed.atom", body, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	byURL := map[string]Article{}
	for _, a := range f.Items {
		byURL[CanonicalURL(a.URL)] = a
		if strings.ContainsAny(a.Summary, "<>") && strings.Contains(a.Summary, "</") {
			t.Errorf("%s: markup in summary %q", a.URL, a.Summary)
		}
		if utf8.RuneCountInString(a.Summary) > ExcerptLen || a.Text == "" || a.Title == "" {
			t.Errorf("%s: summary %d runes, text %d bytes, title %q", a.URL, utf8.RuneCountInString(a.Summary), len(a.Text), a.Title)
		}
	}
	sc := bufio.NewScanner(jf)
	sc.Buffer(nil, 4<<20)
	n, linked, found := 0, 0, 0
	for sc.Scan() {
		var post struct {
			Slug, URL, Title string
			Tags, Links      []string
		}
		if err := json.Unmarshal(sc.Bytes(), &post); err != nil {
			t.Fatal(err)
		}
		n++
		a, ok := byURL[CanonicalURL(post.URL)]
		if !ok {
			t.Errorf("post %s not in the feed", post.URL)
			continue
		}
		if a.Title != CleanTitle(post.Title) {
			t.Errorf("%s: title %q, corpus %q", post.Slug, a.Title, post.Title)
		}
		if len(a.Categories) != len(post.Tags) {
			t.Errorf("%s: categories %q, tags %q", post.Slug, a.Categories, post.Tags)
		}
		links := map[string]bool{}
		for _, l := range a.Links {
			links[CanonicalURL(l)] = true
		}
		for _, slug := range post.Links {
			linked++
			if links[CanonicalURL("https://go.dev/blog/"+slug)] {
				found++
			} else {
				// The corpus also counts Markdown links left inside code blocks
				// by its conversion: they are no links in the HTML.
				t.Logf("%s: link to %s not an HTML link", post.Slug, slug)
			}
		}
	}
	if n != len(f.Items) || linked == 0 {
		t.Errorf("corpus posts %d, feed items %d, links checked %d", n, len(f.Items), linked)
	}
	if recall := float64(found) / float64(linked); recall < 0.95 {
		t.Errorf("found %d of the corpus's %d inter-post links (%.1f%%)", found, linked, 100*recall)
	} else {
		t.Logf("found %d of the corpus's %d inter-post links (%.1f%%)", found, linked, 100*recall)
	}
}

func TestParseFeedWrongDeclaredCharset(t *testing.T) {
	// Declared UTF-8, written in Latin-1: read as Windows-1252 rather than refused.
	body := []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>t</title>" +
		"<item><title>Cr\xe8me br\xfbl\xe9e</title><link>https://e.example/c</link></item></channel></rss>")
	f, err := ParseFeed("https://e.example/feed", body, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Items[0].Title; got != "Crème brûlée" {
		t.Errorf("title %q", got)
	}
}

func TestToUTF8(t *testing.T) {
	cp1251 := []byte("\xcf\xf0\xe8\xe2\xe5\xf2") // "Привет"
	if got := string(toUTF8(cp1251, "text/xml; charset=windows-1251")); got != "Привет" {
		t.Errorf("windows-1251 by header: %q", got)
	}
	for _, c := range []struct {
		body []byte
		ct   string
	}{
		{[]byte("héllo"), "text/xml; charset=windows-1251"}, // already UTF-8
		{cp1251, "text/xml"}, // nothing said
		{append([]byte(`<?xml version="1.0" encoding="koi8-r"?>`), cp1251...), "text/xml; charset=windows-1251"}, // the body says
		{cp1251, "text/xml; charset=x-unknown"},
	} {
		if got := toUTF8(c.body, c.ct); !bytes.Equal(got, c.body) {
			t.Errorf("toUTF8(%q, %q) changed the body to %q", c.body, c.ct, got)
		}
	}
}

func TestNeedsFullText(t *testing.T) {
	long := strings.Repeat("A sentence of the whole article. ", 40)
	cases := []struct {
		name, desc, content string
		want                bool
	}{
		{"full content", "A summary.", "<p>" + long + "</p>", false},
		{"short content, teaser description", "Start of the story [&#8230;]", "<p>Start of the story.</p>", true},
		{"content ends with a read-on link", "", "<p>" + long + `</p><p><a href="/x">Continue reading →</a></p>`, true},
		{"no content, short description", "Just a line.", "", true},
		{"no content, long description", long, "", false},
		{"no content, long teaser", long + " [...]", "", true},
		{"short content, plain description", "A summary.", "<p>A short note.</p>", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			item := `<item><title>x</title><link>https://e.example/x</link>`
			if c.desc != "" {
				item += "<description><![CDATA[" + c.desc + "]]></description>"
			}
			if c.content != "" {
				item += "<content:encoded><![CDATA[" + c.content + "]]></content:encoded>"
			}
			body := `<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title>` + item + `</item></channel></rss>`
			f, err := ParseFeed("https://e.example/feed", []byte(body), fixedNow)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Items[0].NeedsFullText; got != c.want {
				t.Errorf("NeedsFullText = %v, want %v (summary %q)", got, c.want, f.Items[0].Summary)
			}
		})
	}
}

func TestParseFeedItemRules(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "rss2.xml"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFeed("https://www.example.com/news/feed/", body, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	byTitle := map[string]Article{}
	for _, a := range f.Items {
		byTitle[a.Title] = a
	}
	if len(f.Items) != 6 {
		t.Errorf("%d items, want 6 (one duplicate GUID and one item without GUID, link or title dropped)", len(f.Items))
	}
	if _, ok := byTitle["Duplicate GUID, second"]; ok {
		t.Error("the second item with a known GUID was kept")
	}
	if a := byTitle["Duplicate GUID, first"]; a.URL != "https://www.example.com/news/dup-first" {
		t.Errorf("first duplicate: %+v", a)
	}
	if a := byTitle["No GUID, only a link"]; a.Key != "url:"+CanonicalURL(a.URL) || a.URL != "https://www.example.com/news/news/relative-no-guid" {
		t.Errorf("relative link without GUID: key %q url %q", a.Key, a.URL)
	}
	if a := byTitle["Only a media:title"]; a.URL != "https://www.example.com/news/permalink-guid" {
		t.Errorf("permalink GUID as link: %q", a.URL)
	}
	if a := byTitle["Neither GUID nor link"]; !strings.HasPrefix(a.Key, "title:neither guid nor link|2024-08-31") {
		t.Errorf("title identity: %q", a.Key)
	}
	first := f.Items[0]
	if first.Title != "Café & crème: bold news — “quoted” 日本語 🎉" || first.URL != "https://www.example.com/news/cafe-creme/" {
		t.Errorf("first item: %q %q", first.Title, first.URL)
	}
	if strings.Contains(first.Text, "alert") || strings.Contains(first.Text, "color") {
		t.Errorf("script or style in text: %q", first.Text)
	}
}
