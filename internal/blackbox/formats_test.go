package blackbox

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/newsbot/newsbot/internal/discordtest"
)

// serveBytes serves body with contentType.
func serveBytes(t *testing.T, contentType string, body func(base string) []byte) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(nil)
	s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(body(s.URL))
	})
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// TestFeedFormats: Atom with HTML and XHTML titles, Atom 0.3 with a base64
// title, JSON Feed, a Latin-1
// RSS feed, and an RSS feed without dates (posted in feed order, oldest =
// last listed first) are all posted with plain-text titles.
func TestFeedFormats(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	atom := serveBytes(t, "application/atom+xml", func(base string) []byte {
		return []byte(`<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Atom site</title><link href="` + base + `/"/><id>` + base + `/</id><updated>2026-01-02T00:00:00Z</updated>
<entry><title type="html">&lt;em&gt;Atom&lt;/em&gt; &amp;amp; HTML title</title><link href="` + base + `/a1/"/><id>tag:a1</id><updated>2026-01-02T01:00:00Z</updated><summary>one</summary></entry>
<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Atom <b>xhtml</b> title</div></title><link href="` + base + `/a2/"/><id>tag:a2</id><updated>2026-01-02T02:00:00Z</updated><summary>two</summary></entry>
</feed>`)
	})
	json := serveBytes(t, "application/feed+json", func(base string) []byte {
		return []byte(`{"version":"https://jsonfeed.org/version/1.1","title":"JSON site","home_page_url":"` + base + `/","items":[
{"id":"j2","url":"` + base + `/j2/","title":"JSON &amp; second","content_text":"two","date_published":"2026-01-03T02:00:00Z"},
{"id":"j1","url":"` + base + `/j1/","title":"JSON first","content_html":"<p>one</p>","date_published":"2026-01-03T01:00:00Z"}]}`)
	})
	latin1 := serveBytes(t, "application/rss+xml", func(base string) []byte {
		s := `<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>Latin site</title><link>` + base + `/</link>
<item><title>Caf` + "\xe9" + ` cr` + "\xe8" + `me br` + "\xfb" + `l` + "\xe9" + `e</title><link>` + base + `/l1/</link><guid>` + base + `/l1/</guid><pubDate>Sun, 04 Jan 2026 01:00:00 +0000</pubDate><description>d</description></item>
</channel></rss>`
		return []byte(s)
	})
	nodate := serveBytes(t, "application/rss+xml", func(base string) []byte {
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>No dates</title><link>` + base + `/</link>`)
		for i := 3; i >= 1; i-- { // newest first
			fmt.Fprintf(&b, `<item><title>Undated %d</title><link>%s/u%d/</link><guid>%s/u%d/</guid><description>d</description></item>`, i, base, i, base, i)
		}
		b.WriteString(`</channel></rss>`)
		return []byte(b.String())
	})
	atom03 := serveBytes(t, "application/atom+xml", func(base string) []byte {
		return []byte(`<?xml version="1.0" encoding="utf-8"?><feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old Atom</title><link rel="alternate" type="text/html" href="` + base + `/"/><modified>2026-01-05T00:00:00Z</modified>
<entry><title type="text/html" mode="base64">PGI+QmFzZTY0PC9iPiAmYW1wOyB0aXRsZQ==</title><link rel="alternate" type="text/html" href="` + base + `/b1/"/><id>tag:b1</id><issued>2026-01-05T01:00:00Z</issued><modified>2026-01-05T01:00:00Z</modified><summary>b</summary></entry>
</feed>`)
	})
	env := botEnv(fake, t.TempDir(), atom.URL+"/feed/", json.URL+"/feed.json", latin1.URL+"/feed/", nodate.URL+"/feed/", atom03.URL+"/feed/")
	env["BACKLOG_LIMIT"] = "3"
	p := start(t, env, "run")
	ctx := waitCtx(t, 20*time.Second)
	const total = 2 + 2 + 1 + 3 + 1
	if _, err := fake.WaitMessages(ctx, "400", total); err != nil {
		t.Fatalf("%v: posted %q\n%s", err, titles(fake.Messages("400")), p.stderr.String())
	}
	p.term()
	got := titles(fake.Messages("400"))
	for _, want := range []string{"Atom & HTML title", "Atom xhtml title", "JSON first", "Café crème brûlée", "Undated 1", "Undated 2", "Undated 3", "Base64 & title"} {
		if !slices.Contains(got, want) {
			t.Errorf("no post titled %q in %q", want, got)
		}
	}
	if i, j := slices.Index(got, "JSON first"), slices.Index(got, "JSON & second"); i < 0 || j < 0 || i > j {
		t.Errorf("JSON feed posts out of order or missing (%q): %q", "JSON & second", got)
	}
	var undated []string
	for _, s := range got {
		if strings.HasPrefix(s, "Undated") {
			undated = append(undated, s)
		}
	}
	if !slices.Equal(undated, []string{"Undated 1", "Undated 2", "Undated 3"}) {
		t.Errorf("undated items posted as %q, want oldest (last listed) first", undated)
	}
	if len(got) != total {
		t.Errorf("%d posts, want %d: %q", len(got), total, got)
	}
}
