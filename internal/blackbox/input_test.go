package blackbox

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/newsbot/newsbot/internal/discordtest"
)

// TestFeedFaults: failing feeds (500, garbage, over 10 MB, hanging) never
// stop a good one; /healthz lists each failing feed and stays 200.
func TestFeedFaults(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	good := newFeed(t, "good", 2)
	bad := map[string]*feed{}
	for name, m := range map[string]feedMode{"err500": mode500, "garbage": modeGarbage, "huge": modeHuge} {
		f := newFeed(t, name, 1)
		f.setMode(m)
		bad[name] = f
	}
	env := botEnv(fake, t.TempDir(), bad["err500"].url(), bad["garbage"].url(), good.url(), bad["huge"].url())
	env["BACKLOG_LIMIT"] = "2"
	addr := freeAddr(t)
	env["HTTP_ADDR"] = addr
	p := start(t, env, "run")
	ctx := waitCtx(t, 15*time.Second)
	if _, err := fake.WaitMessages(ctx, "400", 2); err != nil {
		t.Fatalf("the good feed's articles were not posted while others fail: %v\n%s", err, p.stderr.String())
	}
	status, body, err := waitHealthz(ctx, addr, func(_ int, body string) bool {
		for _, name := range []string{"err500", "garbage", "huge"} {
			if !strings.Contains(body, bad[name].url()) {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Errorf("/healthz does not list every failing feed: %v\n%d %s", err, status, body)
	} else if status != 200 {
		t.Errorf("/healthz status %d, want 200: %s", status, body)
	}
	if strings.Contains(body, good.url()) {
		t.Errorf("/healthz lists the good feed: %s", body)
	}
	p.term()
	exactlyOnce(t, fake, good.titles(0), p.stderr.String())
}

// TestHangingFeed: a feed that never finishes its answer must not hold back
// the posts of a good feed (design.md: a failing feed never stops the others).
func TestHangingFeed(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	good := newFeed(t, "good", 2)
	hang := newFeed(t, "hang", 1)
	hang.setMode(modeHang)
	env := botEnv(fake, t.TempDir(), hang.url(), good.url())
	env["BACKLOG_LIMIT"] = "2"
	p := start(t, env, "run")
	// Well under the 20 s fetch timeout: the good feed's posts wait only for
	// the poll's patience (5 s), not for the hanging feed.
	ctx := waitCtx(t, 10*time.Second)
	if _, err := fake.WaitMessages(ctx, "400", 2); err != nil {
		t.Fatalf("the good feed's articles wait for the hanging feed: %v\n%s", err, p.stderr.String())
	}
	p.term()
	exactlyOnce(t, fake, good.titles(0), p.stderr.String())
}

// TestSlowFeedPostedWhenItEnds: a feed slower than the run's patience is
// posted as soon as it answers, not one schedule tick later.
func TestSlowFeedPostedWhenItEnds(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	good := newFeed(t, "good", 1)
	slow := newFeed(t, "slow", 1)
	slow.setMode(modeHold)
	env := botEnv(fake, t.TempDir(), slow.url(), good.url())
	env["POST_SCHEDULE"] = "0 0 1 1 *" // no second run during the test
	p := start(t, env, "run")
	ctx := waitCtx(t, 20*time.Second)
	if _, err := fake.WaitMessages(ctx, "400", 1); err != nil {
		t.Fatalf("the good feed's article: %v\n%s", err, p.stderr.String())
	}
	close(slow.release)
	if _, err := fake.WaitMessages(ctx, "400", 2); err != nil {
		t.Fatalf("the slow feed's article after it answered: %v\n%s", err, p.stderr.String())
	}
	p.term()
	exactlyOnce(t, fake, append(good.titles(0), slow.titles(0)...), p.stderr.String())
}

// TestHostileFeedInput: mentions, long titles, markdown and HTML in a feed
// never break a post or ping anyone but the news role.
func TestHostileFeedInput(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "hostile", 0)
	long := strings.Repeat("Gopher ", 150) // 1,050 characters
	items := []struct {
		raw, want string
	}{
		{"@everyone look at this @here", ""},
		{"Ping &lt;@&amp;123&gt; and &lt;@500&gt; and &lt;@!600&gt;", ""},
		{long, ""},
		{"**Bold** _it_ [link](https://evil.example/) `code` ||spoiler||", ""},
		{"&lt;b&gt;Bold&lt;/b&gt; &amp;amp; Co &lt;script&gt;alert(1)&lt;/script&gt;", "Bold & Co"},
		{"<![CDATA[<i>Caf&eacute;</i> &amp; cr&egrave;me]]>", "Café & crème"},
	}
	for _, it := range items {
		desc := "&lt;p&gt;@everyone " + strings.Repeat("&lt;b&gt;word&lt;/b&gt; &amp;amp; ", 2000) + "&lt;/p&gt;"
		f.add(item{Title: it.raw, Desc: desc})
	}
	env := botEnv(fake, t.TempDir(), f.url())
	env["BACKLOG_LIMIT"] = fmt.Sprint(len(items))
	env["NEWS_ROLE_ID"] = discordtest.TeamRoleID
	p := start(t, env, "run")
	ctx := waitCtx(t, 20*time.Second)
	msgs, err := fake.WaitMessages(ctx, "400", len(items))
	if err != nil {
		var refused []string
		for _, r := range fake.Requests() {
			if r.Path == postRoute && r.Status >= 400 {
				refused = append(refused, fmt.Sprintf("%d %d %s", r.Status, r.Code, r.Body))
			}
		}
		t.Fatalf("%v: %d posts; refused: %q\n%s", err, len(fake.Messages("400")), refused, p.stderr.String())
	}
	p.term()
	for i, m := range msgs {
		if m.MentionEveryone || len(m.Mentions) > 0 {
			t.Errorf("post %d pings everyone=%v users=%v", i, m.MentionEveryone, m.Mentions)
		}
		for _, r := range m.MentionRoles {
			if r != discordtest.TeamRoleID {
				t.Errorf("post %d pings role %s", i, r)
			}
		}
		var am struct {
			Parse *[]string `json:"parse"`
			Roles []string  `json:"roles"`
			Users []string  `json:"users"`
		}
		if err := json.Unmarshal(m.AllowedMentionsRaw, &am); err != nil || am.Parse == nil || len(*am.Parse) != 0 || len(am.Users) != 0 ||
			(len(am.Roles) > 0 && (len(am.Roles) != 1 || am.Roles[0] != discordtest.TeamRoleID)) {
			t.Errorf("post %d allowed_mentions %s, want parse [] and at most the news role", i, m.AllowedMentionsRaw)
		}
		if len(m.Embeds) != 1 {
			t.Fatalf("post %d: %d embeds", i, len(m.Embeds))
		}
		e := m.Embeds[0]
		if n := utf8.RuneCountInString(e.Title); n == 0 || n > 256 {
			t.Errorf("post %d title of %d characters", i, n)
		}
		if n := utf8.RuneCountInString(e.Description); n > 300 {
			t.Errorf("post %d excerpt of %d characters, want <= 300", i, n)
		}
		if strings.ContainsAny(e.Title, "<>") && !strings.Contains(items[i].raw, "&lt;@") {
			t.Errorf("post %d title keeps markup: %q", i, e.Title)
		}
		if strings.Contains(e.Description, "<b>") || strings.Contains(e.Description, "&amp;") {
			t.Errorf("post %d excerpt is not plain text: %q", i, e.Description)
		}
		if w := items[i].want; w != "" && e.Title != w {
			t.Errorf("post %d title %q, want %q", i, e.Title, w)
		}
	}
}

// TestAlsoReadInjection: a title with markdown link syntax, shown in
// another post's "Also Read" list, cannot turn into a link of its own or
// break the list's link.
func TestAlsoReadInjection(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "inject", 0)
	body := "Gophers and channels and goroutines: a long story about gophers, channels and goroutines."
	f.add(item{Title: "Gophers [click me](https://evil.example/phish) and channels", Desc: body})
	f.add(item{Title: "Gophers ]) [x](https://evil.example/2) channels", Desc: body})
	f.add(item{Title: "Gophers, channels and goroutines", Desc: body})
	env := botEnv(fake, t.TempDir(), f.url())
	env["BACKLOG_LIMIT"] = "3"
	p := start(t, env, "run")
	if _, err := fake.WaitMessages(waitCtx(t, 20*time.Second), "400", 3); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	p.term()
	last := fake.Messages("400")[2]
	var also string
	for _, fl := range last.Embeds[0].Fields {
		also += fl.Value
	}
	if !strings.Contains(also, "inject/story-1/") {
		t.Skipf("story 1 not in the Also Read list of story 3: %q", also)
	}
	for _, bad := range []string{"](https://evil.example/phish)", "](https://evil.example/2)"} {
		if strings.Contains(also, bad) {
			t.Errorf("a title's markdown link survives in Also Read: %q", also)
		}
	}
}

// TestRelatedCLI: `newsbot fetch` then `newsbot related --json QUERY`.
func TestRelatedCLI(t *testing.T) {
	t.Parallel()
	f := newFeed(t, "rel", 0)
	topics := []struct{ title, desc string }{
		{"Generics in Go: type parameters explained", "Type parameters and constraints let functions work on many types. Generics generics constraints."},
		{"More on generics: constraints and type inference", "Type inference and constraints for generic functions with type parameters."},
		{"Profiling Go programs with pprof", "CPU and memory profiles with pprof, flame graphs and the profiler."},
		{"Garbage collector tuning with GOGC", "The garbage collector, GOGC and memory limits, profiles of heap memory."},
		{"Generic data structures with type parameters", "Building generic trees and lists with type parameters and constraints."},
	}
	for _, tp := range topics {
		f.add(item{Title: tp.title, Desc: tp.desc})
	}
	env := botEnv(nil, t.TempDir(), f.url())
	delete(env, "DISCORD_TOKEN")
	delete(env, "NEWS_CHANNEL_ID")
	delete(env, "TEAM_CHANNEL_ID")
	if code, out, errs := run(t, env, "fetch"); code != 0 {
		t.Fatalf("fetch exit %d\n%s\n%s", code, out, errs)
	}
	type hit struct {
		Title     string    `json:"title"`
		URL       string    `json:"url"`
		Published time.Time `json:"published"`
		Score     float64   `json:"score"`
	}
	query := func(q string) ([]hit, string) {
		t.Helper()
		code, out, errs := run(t, env, "related", "--json", q)
		if code != 0 {
			t.Fatalf("related %q exit %d\n%s\n%s", q, code, out, errs)
		}
		var hits []hit
		if err := json.Unmarshal([]byte(out), &hits); err != nil {
			t.Fatalf("related %q: not a JSON array: %v\n%s", q, err, out)
		}
		if hits == nil {
			t.Fatalf("related %q printed %q, want an array", q, out)
		}
		for i, h := range hits {
			if h.Title == "" || !strings.HasPrefix(h.URL, "http") || h.Published.IsZero() {
				t.Errorf("related %q hit %d incomplete: %+v", q, i, h)
			}
			if i > 0 && h.Score > hits[i-1].Score {
				t.Errorf("related %q not best first: %v", q, hits)
			}
		}
		return hits, out
	}
	// An article by its URL (with tracking parameters): never itself, and the
	// other generics articles first.
	self := f.link(1)
	hits, out := query(self + "?utm_source=newsletter#top")
	if len(hits) == 0 {
		t.Fatalf("no related articles for %s: %s", self, out)
	}
	for _, h := range hits {
		if strings.TrimSuffix(h.URL, "/") == strings.TrimSuffix(self, "/") {
			t.Errorf("the article is in its own list: %s", out)
		}
	}
	if !strings.Contains(strings.ToLower(hits[0].Title), "generic") {
		t.Errorf("best hit for the generics article is %q: %s", hits[0].Title, out)
	}
	// Free text.
	hits, out = query("memory profiles pprof")
	if len(hits) == 0 || !strings.Contains(hits[0].Title, "pprof") && !strings.Contains(hits[0].Title, "GOGC") {
		t.Errorf("free text: %s", out)
	}
	// Nothing matches: [].
	_, out = query("zzxqv quixotic xylophones")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("no match printed %q, want []", out)
	}
}

// TestConfigErrors: each malformed variable stops the start with one stderr
// line naming it; the token is never printed.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	const secret = "MTIzNDU2Nzg5.secret-token.value"
	cases := map[string]string{
		"NEWS_CHANNEL_ID":  "news",
		"TEAM_CHANNEL_ID":  "-401",
		"FEED_URLS":        "ftp://example.com/feed",
		"POST_SCHEDULE":    "every tuesday",
		"DATABASE_URL":     "mysql://user@db/newsbot",
		"BACKLOG_LIMIT":    "-1",
		"DISCORD_GUILD_ID": "guild",
		"NEWS_ROLE_ID":     "12ab",
		"DISCORD_API_URL":  "discord dot com",
		"HTTP_ADDR":        "not an address",
		"BACKFILL_LIMIT":   "lots",
		"BACKFILL_RATE":    "fast",
		"FULL_TEXT":        "sometimes",
		"ASK_LIMIT":        "3 per day",
		"LOG_LEVEL":        "loud",
		"DISCORD_TOKEN":    "",
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := botEnv(fake, t.TempDir(), "http://127.0.0.1:1/feed/")
			env["DISCORD_TOKEN"] = secret
			env[name] = value
			if value == "" {
				delete(env, name)
			}
			code, out, errs := run(t, env, "run")
			if code == 0 {
				t.Fatalf("exit 0 with %s=%q\n%s", name, value, errs)
			}
			line := strings.TrimSpace(errs)
			if strings.Count(line, "\n") != 0 || !strings.Contains(line, name) {
				t.Errorf("stderr %q, want one line naming %s", errs, name)
			}
			if strings.Contains(out+errs, secret) || strings.Contains(out+errs, "secret-token") {
				t.Errorf("the token was printed: %q %q", out, errs)
			}
		})
	}
}

// TestConfigAccepted: valid spellings design.md allows: a token with its
// "Bot " prefix, a 6-field cron spec with CRON_TZ, a file: URI database.
func TestConfigAccepted(t *testing.T) {
	t.Parallel()
	for name, set := range map[string]func(env map[string]string){
		"token with Bot prefix": func(env map[string]string) { env["DISCORD_TOKEN"] = "Bot " + discordtest.Token },
		"6-field cron with TZ":  func(env map[string]string) { env["POST_SCHEDULE"] = "CRON_TZ=Europe/Paris */1 * * * * *" },
		"file: URI database":    func(env map[string]string) { env["DATABASE_URL"] = "file:" + env["DATABASE_URL"] + "?cache=private" },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fake := discordtest.New(t)
			f := newFeed(t, "cfg", 1)
			env := botEnv(fake, t.TempDir(), f.url())
			set(env)
			p := start(t, env, "run")
			if _, err := fake.WaitMessages(waitCtx(t, 20*time.Second), "400", 1); err != nil {
				t.Fatalf("%v\n%s", err, p.dump())
			}
			p.term()
		})
	}
}
