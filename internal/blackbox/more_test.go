package blackbox

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/newsbot/newsbot/internal/discordtest"
)

// TestRepeatedCrashes: SIGKILL at whatever point the posting has reached,
// twice, then a clean run: every article once, in order. With Discord's
// nonce window long gone, newsbot must rely on the channel's recent messages.
func TestRepeatedCrashes(t *testing.T) {
	t.Parallel()
	skipShort(t)
	for _, window := range []time.Duration{5 * time.Minute, time.Nanosecond} {
		t.Run(fmt.Sprint("nonce window ", window), func(t *testing.T) {
			// Two posts a second: the kills land in the middle of a batch.
			fake := discordtest.New(t, discordtest.WithNonceWindow(window),
				discordtest.WithRateLimit("POST", "/channels/*/messages", 2, time.Second))
			f := newFeed(t, "repeat", 8)
			env := botEnv(fake, t.TempDir(), f.url())
			env["BACKLOG_LIMIT"] = "8"
			ctx := waitCtx(t, 40*time.Second)
			var logs strings.Builder
			for _, k := range []int{2, 5} {
				p := start(t, env, "run")
				if _, err := fake.WaitMessages(ctx, "400", k); err != nil {
					t.Fatalf("%v\n%s", err, p.stderr.String())
				}
				p.kill()
				logs.WriteString(p.stderr.String() + "\n---\n")
			}
			p := start(t, env, "run")
			if _, err := fake.WaitMessages(ctx, "400", 8); err != nil {
				t.Fatalf("%v: %q\n%s", err, titles(fake.Messages("400")), p.stderr.String())
			}
			p.term()
			exactlyOnce(t, fake, f.titles(0), logs.String()+p.stderr.String())
		})
	}
}

// TestBadRequestFailsOnlyThatArticle: a 400 marks that article failed (shown
// on /healthz) and the others are still posted, in order.
func TestBadRequestFailsOnlyThatArticle(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "bad400", 4)
	env := botEnv(fake, t.TempDir(), f.url())
	env["BACKLOG_LIMIT"] = "4"
	addr := freeAddr(t)
	env["HTTP_ADDR"] = addr
	fake.FailNext("POST", postRoute, 1, http.StatusBadRequest, 50035)
	p := start(t, env, "run")
	ctx := waitCtx(t, 20*time.Second)
	if _, err := fake.WaitMessages(ctx, "400", 3); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	status, body, err := waitHealthz(ctx, addr, func(_ int, body string) bool { return strings.Contains(body, "fail") })
	if err != nil || status != 200 {
		t.Errorf("/healthz does not show the failed post with status 200: %v %d %s", err, status, body)
	}
	// Two more runs: the failed article is not retried.
	before := f.hitCount()
	if err := f.waitHits(ctx, before+2); err != nil {
		t.Fatal(err)
	}
	p.term()
	exactlyOnce(t, fake, f.titles(1), p.stderr.String())
}

// TestSameArticleTwiceAndEdited: the same items from two feed URLs of one
// site are posted once; an edited title is not a new article.
func TestSameArticleTwiceAndEdited(t *testing.T) {
	t.Parallel()
	skipShort(t)
	fake := discordtest.New(t)
	f := newFeed(t, "dup", 3)
	env := botEnv(fake, t.TempDir(), f.url(), f.srv.URL+"/feed/atom/", f.srv.URL+"/?feed=rss2")
	env["BACKLOG_LIMIT"] = "3"
	p := start(t, env, "run")
	ctx := waitCtx(t, 20*time.Second)
	if _, err := fake.WaitMessages(ctx, "400", 3); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	f.mu.Lock()
	f.items[2].Title = "dup story 3 (updated)"
	f.mu.Unlock()
	f.add(item{})
	if _, err := fake.WaitMessages(ctx, "400", 4); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	// Two full runs after the new item: nothing else comes.
	before := f.hitCount()
	if err := f.waitHits(ctx, before+6); err != nil {
		t.Fatal(err)
	}
	p.term()
	exactlyOnce(t, fake, []string{"dup story 1", "dup story 2", "dup story 3", "dup story 4"}, p.stderr.String())
}

// TestHostileLinks: links that are no valid embed URL, an item without a
// title, and no NEWS_ROLE_ID: every item is still posted within Discord's
// limits, and no post can ping anyone.
func TestHostileLinks(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	srv := newRawFeed(t, func(base string) string {
		return `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>@everyone &lt;@&amp;320&gt; site</title><link>` + base + `/</link>
<item><title>Relative link</title><link>/relative/story/</link><guid isPermaLink="false">r1</guid><pubDate>Mon, 05 Jan 2026 09:00:00 +0000</pubDate><description>relative</description></item>
<item><title>Javascript link</title><link>javascript:alert(1)</link><guid isPermaLink="false">r2</guid><pubDate>Mon, 05 Jan 2026 10:00:00 +0000</pubDate><description>js</description></item>
<item><title></title><media:title>Only a media title</media:title><link>` + base + `/media/</link><guid isPermaLink="false">r3</guid><pubDate>Mon, 05 Jan 2026 11:00:00 +0000</pubDate><description>media</description></item>
<item><title>Long link</title><link>` + base + `/` + strings.Repeat("a", 3000) + `/</link><guid isPermaLink="false">r4</guid><pubDate>Mon, 05 Jan 2026 12:00:00 +0000</pubDate><description>long</description><author>@everyone &lt;@&amp;320&gt; ` + strings.Repeat("x", 400) + `</author></item>
<item><title>Weird image</title><link>` + base + `/img/</link><guid isPermaLink="false">r5</guid><pubDate>Mon, 05 Jan 2026 13:00:00 +0000</pubDate><description>&lt;img src="data:image/png;base64,AAAA"&gt; text</description></item>
</channel></rss>`
	})
	env := botEnv(fake, t.TempDir(), srv.URL+"/feed/")
	env["BACKLOG_LIMIT"] = "5"
	p := start(t, env, "run")
	ctx := waitCtx(t, 20*time.Second)
	if _, err := fake.WaitMessages(ctx, "400", 5); err != nil {
		var refused []string
		for _, r := range fake.Requests() {
			if r.Path == postRoute && r.Status >= 400 {
				refused = append(refused, fmt.Sprintf("%d %d %s", r.Status, r.Code, r.Body))
			}
		}
		t.Fatalf("%v: posted %q; refused: %q\n%s", err, titles(fake.Messages("400")), refused, p.stderr.String())
	}
	p.term()
	for i, m := range fake.Messages("400") {
		if m.MentionEveryone || len(m.MentionRoles) > 0 || len(m.Mentions) > 0 {
			t.Errorf("post %d pings: everyone %v roles %v users %v", i, m.MentionEveryone, m.MentionRoles, m.Mentions)
		}
		if string(m.AllowedMentionsRaw) == "" || !strings.Contains(strings.ReplaceAll(string(m.AllowedMentionsRaw), " ", ""), `"parse":[]`) {
			t.Errorf("post %d allowed_mentions %s", i, m.AllowedMentionsRaw)
		}
		if len(m.Embeds) > 0 && strings.HasPrefix(m.Embeds[0].URL, "javascript:") {
			t.Errorf("post %d links to %q", i, m.Embeds[0].URL)
		}
	}
	if got := titles(fake.Messages("400")); len(got) == 5 && got[2] != "Only a media title" {
		t.Errorf("media:title item posted as %q", got[2])
	}
}

// newRawFeed serves body(base URL) as an RSS feed.
func newRawFeed(t *testing.T, body func(base string) string) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(nil)
	s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, body(s.URL))
	})
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// TestAskBurstRateLimit: 100 /ask from 20 members (5 each) with ASK_LIMIT
// 3/10m: each answered once; exactly 3 accepted per member, with distinct
// numbers; 60 questions in the team channel.
func TestAskBurstRateLimit(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "askburst", 1)
	env := botEnv(fake, t.TempDir(), f.url())
	env["ASK_LIMIT"] = "3/10m"
	p := startBot(t, fake, env)
	ctx := waitCtx(t, 40*time.Second)
	const members, each = 20, 5
	type res struct {
		user string
		id   string
	}
	out := make(chan res, members*each)
	var wg sync.WaitGroup
	for m := range members {
		for q := range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				user := fmt.Sprint(2000 + m)
				in, err := fake.Interact(ctx, discordtest.Command("ask", discordtest.Opt("question", fmt.Sprintf("Question %d from %s @everyone", q, user))),
					discordtest.FromUser(user, "user"+user))
				if err != nil {
					t.Error(err)
					return
				}
				out <- res{user, in.ID}
			}()
		}
	}
	wg.Wait()
	close(out)
	accepted := map[string]int{}
	numbers := map[string]bool{}
	for r := range out {
		resp, err := fake.WaitResponse(ctx, r.id)
		if err != nil {
			t.Fatalf("/ask %s not answered in time: %v\n%s", r.id, err, p.stderr.String())
		}
		if !resp.Ephemeral() {
			t.Errorf("answer not ephemeral: %q", resp.Content())
		}
		c := resp.Content()
		if i := strings.Index(c, "#"); i >= 0 && (strings.Contains(c, "sent to the team") || strings.Contains(c, "queued")) {
			n := strings.TrimRight(strings.Fields(c[i:])[0], ".,:;!")
			if numbers[n] {
				t.Errorf("number %s given twice", n)
			}
			numbers[n] = true
			accepted[r.user]++
		}
	}
	for m := range members {
		user := fmt.Sprint(2000 + m)
		if accepted[user] != 3 {
			t.Errorf("member %s: %d questions accepted, want 3", user, accepted[user])
		}
	}
	if _, err := fake.WaitMessages(ctx, "401", members*3); err != nil {
		t.Fatalf("%v: %d team messages", err, len(fake.Messages("401")))
	}
	p.term()
	team := fake.Messages("401")
	if len(team) != members*3 {
		t.Errorf("%d team messages, want %d", len(team), members*3)
	}
	for _, m := range team {
		if m.MentionEveryone || len(m.MentionRoles) > 0 {
			t.Errorf("a question pinged: %s", m.Raw)
		}
	}
	for _, ex := range fake.Interactions() {
		if len(ex.Refused) > 0 {
			t.Errorf("interaction %s: refused callbacks %+v", ex.Interaction.ID, ex.Refused)
		}
	}
}

// TestAskEmptyAndQueued: an empty question is refused; while the team
// channel refuses, a question is "queued as #N" and forwarded once it works.
func TestAskEmptyAndQueued(t *testing.T) {
	t.Parallel()
	skipShort(t)
	fake := discordtest.New(t)
	f := newFeed(t, "askq", 1)
	env := botEnv(fake, t.TempDir(), f.url())
	p := startBot(t, fake, env)
	ctx := waitCtx(t, 30*time.Second)

	in, err := fake.Interact(ctx, discordtest.Command("ask", discordtest.Opt("question", "   ")))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := fake.WaitResponse(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(resp.Content(), "#") || !resp.Ephemeral() {
		t.Errorf("empty question answered %q", resp.Content())
	}

	fake.Fail("POST", "/channels/401/messages", discordtest.Fault{Status: 500, Times: 1000})
	in, err = fake.Interact(ctx, discordtest.Command("ask", discordtest.Opt("question", "Queued question?")))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = fake.WaitResponse(ctx, in.ID)
	if err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	if !strings.Contains(resp.Content(), "queued as #1") {
		t.Errorf("answer %q, want queued as #1", resp.Content())
	}
	fake.ClearFaults()
	team, err := fake.WaitMessages(ctx, "401", 1)
	if err != nil {
		var reqs []string
		for _, r := range fake.Requests() {
			if strings.Contains(r.Path, "401") {
				reqs = append(reqs, fmt.Sprintf("%s %s %d %s", r.Method, r.Path, r.Status, r.At.Format("15:04:05.000")))
			}
		}
		t.Fatalf("queued question never forwarded: %v\nrequests: %q\n%s", err, reqs, p.dump())
	}
	p.term()
	if n := len(fake.Messages("401")); n != 1 || !strings.Contains(string(team[0].Raw), "Queued question?") {
		t.Errorf("team channel: %d messages, first %s", n, team[0].Raw)
	}
}

// TestHealthzFollowsGateway: 200 while connected, 503 when the gateway is
// lost, 200 again after it is back; /related is answered after.
func TestHealthzFollowsGateway(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "gw", 2)
	env := botEnv(fake, t.TempDir(), f.url())
	addr := freeAddr(t)
	env["HTTP_ADDR"] = addr
	p := startBot(t, fake, env)
	ctx := waitCtx(t, 40*time.Second)
	if status, body, err := waitHealthz(ctx, addr, func(s int, _ string) bool { return s == 200 }); err != nil {
		t.Fatalf("/healthz %d %s: %v", status, body, err)
	}
	if err := fake.WaitHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	fake.SetGatewayDown(true)
	fake.DropGateway()
	if status, body, err := waitHealthz(ctx, addr, func(s int, _ string) bool { return s == 503 }); err != nil {
		t.Errorf("/healthz without a gateway: %d %s: %v", status, body, err)
	}
	fake.SetGatewayDown(false)
	if status, body, err := waitHealthz(ctx, addr, func(s int, _ string) bool { return s == 200 }); err != nil {
		t.Fatalf("/healthz after the gateway is back: %d %s: %v\n%s", status, body, err, p.stderr.String())
	}
	in, err := fake.Interact(ctx, discordtest.Command("related", discordtest.Opt("query", "gw story 1")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitResponse(ctx, in.ID); err != nil {
		t.Fatalf("/related after a reconnect: %v\n%s", err, p.stderr.String())
	}
	p.term()
}

// TestWrongTokenNeverPrinted: Discord refuses the token: the start stops
// (non-zero) naming DISCORD_TOKEN, and the token is never printed.
func TestWrongTokenNeverPrinted(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "tok", 1)
	env := botEnv(fake, t.TempDir(), f.url())
	const secret = "MTIz.wrong-secret.token"
	env["DISCORD_TOKEN"] = secret
	p := start(t, env, "run")
	code, ok := p.wait(20 * time.Second)
	if !ok {
		p.kill()
		t.Errorf("still running 20 s after Discord refused the token")
	} else if code == 0 {
		t.Errorf("exit 0 with a refused token")
	}
	out := p.stdout.String() + p.stderr.String()
	if strings.Contains(out, secret) || strings.Contains(out, "wrong-secret") {
		t.Errorf("the token was printed:\n%s", out)
	}
	if ok && !strings.Contains(out, "DISCORD_TOKEN") {
		t.Errorf("the error does not name DISCORD_TOKEN:\n%s", out)
	}
}

// TestDotEnv: a .env in the working directory is read; real variables win.
func TestDotEnv(t *testing.T) {
	t.Parallel()
	f := newFeed(t, "dotenv", 2)
	dir := t.TempDir()
	dotenv := "FEED_URLS=" + f.url() + "\nDATABASE_URL=" + filepath.Join(dir, "env.db") + "\nLOG_LEVEL=loud\nBACKFILL_LIMIT=0\nFULL_TEXT=off\n"
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(dotenv), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startIn(t, dir, map[string]string{}, "fetch")
	if code, _ := p.wait(20 * time.Second); code == 0 || !strings.Contains(p.stderr.String(), "LOG_LEVEL") {
		t.Errorf("the .env's LOG_LEVEL=loud was not read: exit %d %s", code, p.stderr.String())
	}
	p = startIn(t, dir, map[string]string{"LOG_LEVEL": "info"}, "fetch")
	if code, _ := p.wait(20 * time.Second); code != 0 {
		t.Errorf("a real LOG_LEVEL did not win over .env: exit %d %s", code, p.stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "env.db")); err != nil {
		t.Errorf("DATABASE_URL from .env not used: %v", err)
	}
}

// TestVerbsBesideRunningBot: fetch and related run beside a running bot on
// the same database; the bot goes on posting.
func TestVerbsBesideRunningBot(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "beside", 4)
	env := botEnv(fake, t.TempDir(), f.url())
	p := start(t, env, "run")
	ctx := waitCtx(t, 30*time.Second)
	if _, err := fake.WaitMessages(ctx, "400", 3); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	verbEnv := map[string]string{"FEED_URLS": env["FEED_URLS"], "DATABASE_URL": env["DATABASE_URL"], "BACKFILL_LIMIT": "0", "FULL_TEXT": "off"}
	f.add(item{})
	for range 3 {
		if code, out, errs := run(t, verbEnv, "fetch"); code != 0 {
			t.Fatalf("fetch beside the bot: exit %d\n%s\n%s", code, out, errs)
		}
		code, out, errs := run(t, verbEnv, "related", "--json", "beside story 2")
		if code != 0 || !strings.HasPrefix(strings.TrimSpace(out), "[") {
			t.Fatalf("related beside the bot: exit %d\n%s\n%s", code, out, errs)
		}
	}
	// The item that fetch recorded first is still new to the bot: posted once.
	if _, err := fake.WaitMessages(ctx, "400", 4); err != nil {
		t.Fatalf("the bot did not post the item that fetch saw first: %v: %q\n%s", err, titles(fake.Messages("400")), p.stderr.String())
	}
	p.term()
	exactlyOnce(t, fake, f.titles(1), p.stderr.String())
}
