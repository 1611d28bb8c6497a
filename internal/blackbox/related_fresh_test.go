package blackbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/internal/discordtest"
)

// pageSite serves a feed of three stories at /feed/ and one page the feed
// does not list, /archive/harvest-fair/; it counts requests per path.
type pageSite struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newPageSite(t *testing.T) *pageSite {
	s := &pageSite{hits: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.mu.Unlock()
		switch r.URL.Path {
		case "/feed/":
			w.Header().Set("Content-Type", "application/rss+xml")
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Valley News</title><link>`+s.srv.URL+`/</link>`)
			for i := 3; i >= 1; i-- {
				fmt.Fprintf(w, `<item><title>Pumpkin harvest update %d</title><link>%s/news/pumpkin-%d/</link><guid>%s/?p=%d</guid><pubDate>%s</pubDate>`+
					`<description>Pumpkin growers in the valley report a big harvest: pumpkins, squash and the harvest fair, update %d. Farmers expect record pumpkin weights at the fair this year.</description></item>`,
					i, s.srv.URL, i, s.srv.URL, i, time.Date(2026, 9, i, 8, 0, 0, 0, time.UTC).Format(time.RFC1123Z), i)
			}
			fmt.Fprint(w, `</channel></rss>`)
		case "/archive/harvest-fair/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<!doctype html><html><head><title>The harvest fair crowns a giant pumpkin</title></head><body>
<article><h1>The harvest fair crowns a giant pumpkin</h1>
<p>At the valley harvest fair a giant pumpkin won the prize; growers brought pumpkins and squash from every farm of the valley.</p>
<p>The pumpkin harvest was the biggest in years, and the fair drew farmers, families and buyers of squash and pumpkins.</p>
</article></body></html>`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *pageSite) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// relatedAnswer asks /related and returns the final answer's text, deferred
// or not.
func relatedAnswer(ctx context.Context, t *testing.T, fake *discordtest.Server, q string) string {
	t.Helper()
	in, err := fake.Interact(ctx, discordtest.Command("related", discordtest.Opt("query", q)))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := fake.WaitExchange(ctx, in.ID, func(e discordtest.Exchange) bool {
		return e.Response != nil && (e.Response.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || len(e.Edits) > 0 || len(e.Followups) > 0)
	})
	if err != nil {
		t.Fatalf("/related %s: no answer: %v", q, err)
	}
	var b strings.Builder
	add := func(content string, embeds []*discordgo.MessageEmbed) {
		b.WriteString(content + "\n")
		for _, e := range embeds {
			b.WriteString(e.Description + "\n")
		}
	}
	if d := ex.Response.Data; d != nil {
		add(d.Content, d.Embeds)
	}
	for _, raw := range ex.Edits {
		var m discordgo.Message
		if json.Unmarshal(raw, &m) == nil {
			add(m.Content, m.Embeds)
		}
	}
	for _, m := range ex.Followups {
		add(m.Content, m.Embeds)
	}
	return b.String()
}

// TestRelatedFreshAndUnknownLinks runs the binary: stories that `newsbot
// fetch` stores beside it are known to /related at once (its own next poll
// is an hour away); a page of the site that no feed lists is read once and
// answered for; another host's link is refused without a request.
func TestRelatedFreshAndUnknownLinks(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	site := newPageSite(t)
	other := newPageSite(t)
	f := newFeed(t, "fresh", 3)
	env := botEnv(fake, t.TempDir(), f.url(), site.srv.URL+"/feed/")
	env["POST_SCHEDULE"] = "@every 1h"
	env["FULL_TEXT"] = "auto"
	env["BACKFILL_RATE"] = "50"
	p := startBot(t, fake, env)
	ctx := waitCtx(t, 40*time.Second)

	// Another process stores new stories.
	f.add(item{ID: 4, Title: "fresh story 4 about walnut trees", Desc: "Walnut trees and walnut harvests in the hills."})
	verbEnv := map[string]string{"FEED_URLS": f.url(), "DATABASE_URL": env["DATABASE_URL"], "BACKFILL_LIMIT": "0", "FULL_TEXT": "off"}
	if code, out, errs := run(t, verbEnv, "fetch"); code != 0 {
		t.Fatalf("fetch: exit %d\n%s\n%s", code, out, errs)
	}
	if got := relatedAnswer(ctx, t, fake, f.link(4)); !strings.Contains(got, "**fresh story 4 about walnut trees**") {
		t.Errorf("a story fetch stored is unknown to the running bot: %q\n%s", got, p.stderr.String())
	}

	// A page of the site no feed lists: read once.
	page := site.srv.URL + "/archive/harvest-fair/"
	for n := range 2 {
		got := relatedAnswer(ctx, t, fake, page)
		if !strings.Contains(got, "Related to: **The harvest fair crowns a giant pumpkin**") || !strings.Contains(got, "/news/pumpkin-") {
			t.Fatalf("ask %d for a site page: %q\n%s", n+1, got, p.stderr.String())
		}
	}
	if c := site.count("/archive/harvest-fair/"); c != 1 {
		t.Errorf("the page was read %d times, want 1", c)
	}
	// Another host (same machine, another name; or the site's address on
	// another port): nothing requested.
	for _, otherPage := range []string{
		strings.Replace(other.srv.URL, "127.0.0.1", "localhost", 1) + "/archive/harvest-fair/",
		other.srv.URL + "/archive/harvest-fair/",
	} {
		if got := relatedAnswer(ctx, t, fake, otherPage); !strings.Contains(got, "only look up") {
			t.Errorf("another host's link %s: %q", otherPage, got)
		}
	}
	if c := other.count("/archive/harvest-fair/"); c != 0 {
		t.Errorf("another host was requested %d times", c)
	}
	// A word-less slug of the site that is no page: the no-match message.
	if got := relatedAnswer(ctx, t, fake, site.srv.URL+"/?p=999"); !strings.Contains(got, "Nothing in the archive matches") {
		t.Errorf("word-less slug: %q", got)
	}
	p.term()
}

// TestRelatedUnknownLinkOverHTTP: with INTERACTIONS_ADDR, a site page that
// must be read is deferred in the HTTP answer and answered by an edit; a
// page that fails is a no-match follow-up, and the placeholder goes.
func TestRelatedUnknownLinkOverHTTP(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	site := newPageSite(t)
	addr := freeAddr(t)
	fake.SetInteractionsEndpoint("http://" + addr + "/interactions")
	env := botEnv(fake, t.TempDir(), site.srv.URL+"/feed/")
	env["INTERACTIONS_ADDR"] = addr
	env["DISCORD_PUBLIC_KEY"] = fake.PublicKey()
	env["FULL_TEXT"] = "auto"
	env["BACKFILL_RATE"] = "50"
	p := startBot(t, fake, env)
	ctx := waitCtx(t, 40*time.Second)

	got := relatedAnswer(ctx, t, fake, site.srv.URL+"/archive/harvest-fair/")
	if !strings.Contains(got, "Related to: **The harvest fair crowns a giant pumpkin**") {
		t.Fatalf("site page over HTTP: %q\n%s", got, p.stderr.String())
	}
	in, err := fake.Interact(ctx, discordtest.Command("related", discordtest.Opt("query", site.srv.URL+"/archive/gone/")))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := fake.WaitExchange(ctx, in.ID, func(e discordtest.Exchange) bool { return len(e.Followups) > 0 && e.Original == nil })
	if err != nil {
		t.Fatalf("failing page over HTTP: no follow-up, or the placeholder stayed: %v\n%s", err, p.stderr.String())
	}
	if f := ex.Followups[0]; f.Flags&discordgo.MessageFlagsEphemeral == 0 || !strings.Contains(f.Content, "Nothing in the archive matches") {
		t.Errorf("failing page over HTTP: follow-up %q (flags %d)", f.Content, f.Flags)
	}
	p.term()
}
