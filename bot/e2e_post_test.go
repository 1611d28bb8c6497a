package bot

// End-to-end tests of news posting: the real sqlite store, the real feed
// poller against an httptest feed, the real discordgo REST path, and the
// in-repo fake Discord. The fake's endpoints are discordgo globals, so none
// of these tests runs in parallel.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/internal/discordtest"
	"github.com/newsbot/newsbot/sqlite"
)

const newsPath = "/channels/" + discordtest.NewsChannelID + "/messages"

// env is one bot process: a database, a session and a poster over them.
type env struct {
	t      testing.TB
	fake   *discordtest.Server
	dbPath string
	db     *sqlite.DB
	poster *Poster
	health *Health
	logs   *logBuf
}

func newFake(t testing.TB, opts ...discordtest.Option) *discordtest.Server {
	fake := discordtest.New(t, opts...)
	SetAPIBase(fake.APIURL())
	t.Cleanup(func() { SetAPIBase("") })
	return fake
}

// start opens the database and a new session and poster, as a (re)started
// process would.
func start(t testing.TB, fake *discordtest.Server, dbPath string) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := NewSession(discordtest.Token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeIdle(s) })
	e := &env{t: t, fake: fake, dbPath: dbPath, db: db, health: NewHealth(), logs: &logBuf{}}
	e.poster = NewPoster(PosterOptions{
		Store: db, Sender: NewDiscordSender(s), ChannelID: discordtest.NewsChannelID,
		Problems: e.health, Log: slog.New(slog.NewTextHandler(e.logs, nil)),
	})
	return e
}

// seed stores n articles of a feed's first poll, all due.
func (e *env) seed(n int) []articles.Article {
	e.t.Helper()
	items := feedItems(0, n)
	_, err := e.db.RecordPoll(context.Background(), articles.Poll{
		FeedURL: "https://go.dev/blog/feed.atom", Site: "go.dev", Title: "The Go Blog", Items: items, At: time.Now(),
	}, n)
	if err != nil {
		e.t.Fatal(err)
	}
	return items
}

func feedItems(from, to int) []articles.Article {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var as []articles.Article
	for i := to - 1; i >= from; i-- { // newest first, as feeds list them
		u := fmt.Sprintf("https://go.dev/blog/post-%02d", i)
		as = append(as, articles.Article{
			Site: "go.dev", Key: "url:" + u, URL: u, Title: fmt.Sprintf("Post %02d", i), Summary: "Summary.",
			Published: t0.Add(time.Duration(i) * time.Hour), FeedURL: "https://go.dev/blog/feed.atom", FeedTitle: "The Go Blog",
		})
	}
	return as
}

func (e *env) postDue() int {
	e.t.Helper()
	n, err := e.poster.PostDue(context.Background())
	if err != nil {
		e.t.Fatalf("PostDue: %v", err)
	}
	return n
}

// channelTitles lists the embed titles of the news channel, oldest first.
func channelTitles(fake *discordtest.Server) []string {
	var ts []string
	for _, m := range fake.Messages(discordtest.NewsChannelID) {
		for _, e := range m.Embeds {
			ts = append(ts, e.Title)
		}
	}
	return ts
}

func titles(from, to int) []string {
	var ts []string
	for i := from; i < to; i++ {
		ts = append(ts, fmt.Sprintf("Post %02d", i))
	}
	return ts
}

func postRequests(fake *discordtest.Server) []discordtest.Request {
	var rs []discordtest.Request
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPost && r.Path == newsPath {
			rs = append(rs, r)
		}
	}
	return rs
}

// rssFeed serves an RSS 2.0 feed whose items can grow.
type rssFeed struct {
	mu sync.Mutex
	n  int
}

func (f *rssFeed) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	n := f.n
	f.mu.Unlock()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>Feed &amp; News</title><link>https://news.example/</link>`)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, `<item><title>Post %02d</title><link>https://news.example/p/%d</link><guid>https://news.example/p/%d</guid>`+
			`<pubDate>%s</pubDate><description>&lt;p&gt;Body of **post** %d @everyone&lt;/p&gt;</description></item>`,
			i, i, i, t0.Add(time.Duration(i)*time.Hour).Format(time.RFC1123Z), i)
	}
	b.WriteString(`</channel></rss>`)
	w.Header().Set("Content-Type", "application/rss+xml")
	_, _ = w.Write([]byte(b.String()))
}

func (f *rssFeed) set(n int) {
	f.mu.Lock()
	f.n = n
	f.mu.Unlock()
}

func TestE2EBacklogThenNewItemsThenRestart(t *testing.T) {
	fake := newFake(t)
	feed := &rssFeed{n: 5}
	srv := httptest.NewServer(feed)
	t.Cleanup(srv.Close)
	dbPath := filepath.Join(t.TempDir(), "db")
	e := start(t, fake, dbPath)
	poller := articles.NewPoller(e.db, articles.NewFetcher(srv.Client()), []string{srv.URL + "/feed"}, 3, slog.New(slog.DiscardHandler))
	tick := func(e *env) int {
		for _, r := range poller.PollAll(context.Background()) {
			if r.Err != nil {
				t.Fatalf("poll: %v", r.Err)
			}
		}
		return e.postDue()
	}

	// First poll: only the newest three of the backlog, oldest first.
	if n := tick(e); n != 3 {
		t.Fatalf("first tick posted %d, want 3", n)
	}
	if got, want := channelTitles(fake), titles(2, 5); !slices.Equal(got, want) {
		t.Fatalf("channel %v, want %v", got, want)
	}
	// What was sent: nonce enforced, nothing can ping, feed text escaped.
	for _, m := range fake.Messages(discordtest.NewsChannelID) {
		if !m.EnforceNonce || len(m.Nonce) == 0 || len(m.Nonce) > 25 {
			t.Errorf("nonce %q enforce %v", m.Nonce, m.EnforceNonce)
		}
		var am struct {
			Parse []string `json:"parse"`
			Roles []string `json:"roles"`
			Users []string `json:"users"`
		}
		if err := json.Unmarshal(m.AllowedMentionsRaw, &am); err != nil || am.Parse == nil || len(am.Parse)+len(am.Roles)+len(am.Users) != 0 ||
			m.MentionEveryone || len(m.MentionRoles) != 0 {
			t.Errorf("allowed_mentions %s, everyone %v", m.AllowedMentionsRaw, m.MentionEveryone)
		}
		e0 := m.Embeds[0]
		if e0.Footer == nil || e0.Footer.Text != "Feed & News" || !strings.Contains(e0.Description, `Body of \*\*post\*\*`) || strings.Contains(e0.Description, "@everyone") {
			t.Errorf("embed %+v", e0)
		}
	}

	// New items appear: posted on the next tick, oldest first, each once.
	feed.set(8)
	if n := tick(e); n != 3 {
		t.Fatalf("second tick posted %d, want 3", n)
	}
	if n := tick(e); n != 0 {
		t.Fatalf("third tick posted %d, want 0", n)
	}
	if got, want := channelTitles(fake), titles(2, 8); !slices.Equal(got, want) {
		t.Fatalf("channel %v, want %v", got, want)
	}

	// Restart on the same database: nothing is posted again.
	e.db.Close()
	e2 := start(t, fake, dbPath)
	poller = articles.NewPoller(e2.db, articles.NewFetcher(srv.Client()), []string{srv.URL + "/feed"}, 3, slog.New(slog.DiscardHandler))
	if n := tick(e2); n != 0 {
		t.Fatalf("after restart posted %d, want 0", n)
	}
	if got := len(postRequests(fake)); got != 6 {
		t.Errorf("%d message creates, want 6", got)
	}
}

func TestE2ECrashAfterAccept(t *testing.T) {
	t.Run("found among recent messages", func(t *testing.T) {
		fake := newFake(t, discordtest.WithNonceWindow(time.Nanosecond)) // the nonce cannot help here
		dbPath := filepath.Join(t.TempDir(), "db")
		e := start(t, fake, dbPath)
		e.seed(3)
		// Discord creates the first message, then the connection drops before
		// the answer: the process "dies" with the article in state sending.
		fake.AcceptThenFail(http.MethodPost, newsPath, 0)
		if n := e.postDue(); n != 0 {
			t.Fatalf("posted %d, want 0", n)
		}
		due, _ := e.db.Due(context.Background(), 10)
		if len(due) != 3 || due[0].State != articles.StateSending || due[1].Attempts != 0 {
			t.Fatalf("due after the crash: %+v", due)
		}
		e.db.Close()

		e2 := start(t, fake, dbPath) // restarted process
		if n := e2.postDue(); n != 3 {
			t.Fatalf("posted %d after restart, want 3", n)
		}
		if got, want := channelTitles(fake), titles(0, 3); !slices.Equal(got, want) {
			t.Fatalf("channel %v, want %v (each once)", got, want)
		}
		if got := len(postRequests(fake)); got != 3 {
			t.Errorf("%d message creates, want 3 (the first not re-sent)", got)
		}
		a, err := e2.db.ArticleByURL(context.Background(), "https://go.dev/blog/post-00")
		if err != nil || a.State != articles.StatePosted || a.MessageID != fake.Messages(discordtest.NewsChannelID)[0].ID {
			t.Errorf("article %+v, %v", a, err)
		}
	})
	t.Run("out of sight, deduplicated by nonce", func(t *testing.T) {
		fake := newFake(t)
		dbPath := filepath.Join(t.TempDir(), "db")
		e := start(t, fake, dbPath)
		e.seed(2)
		fake.AcceptThenFail(http.MethodPost, newsPath, http.StatusInternalServerError)
		if n := e.postDue(); n != 0 {
			t.Fatalf("posted %d, want 0", n)
		}
		// Busy channel: the post is no longer among the newest 50 messages.
		for i := range 60 {
			fake.AddMessage(discordtest.NewsChannelID, discordgo.Message{Content: fmt.Sprint("chat ", i),
				Author: &discordgo.User{ID: discordtest.MemberUserID, Username: discordtest.MemberUsername}})
		}
		e.db.Close()
		e2 := start(t, fake, dbPath)
		if n := e2.postDue(); n != 2 {
			t.Fatalf("posted %d after restart, want 2", n)
		}
		if got, want := channelTitles(fake), titles(0, 2); !slices.Equal(got, want) {
			t.Fatalf("channel %v, want %v (each once)", got, want)
		}
		if got := len(postRequests(fake)); got != 3 {
			t.Errorf("%d message creates, want 3 (one re-send answered from the nonce)", got)
		}
	})
}

func TestE2E500sThen429(t *testing.T) {
	fake := newFake(t)
	e := start(t, fake, filepath.Join(t.TempDir(), "db"))
	e.seed(4)
	fake.FailNext(http.MethodPost, newsPath, 3, http.StatusInternalServerError, 0)
	fake.RateLimitNext(http.MethodPost, newsPath, 1, 20*time.Millisecond)
	runs := 0
	for ; runs < 10; runs++ {
		e.postDue()
		if due, _ := e.db.Due(context.Background(), 10); len(due) == 0 {
			break
		}
	}
	if runs != 4 {
		t.Errorf("done after %d runs, want 4 (three 500s, one 429, then all)", runs+1)
	}
	if got, want := channelTitles(fake), titles(0, 4); !slices.Equal(got, want) {
		t.Fatalf("channel %v, want %v", got, want)
	}
	if fake.RateLimited() != 1 {
		t.Errorf("%d 429s, want the injected one", fake.RateLimited())
	}
	if n := e.logs.count("level=WARN"); n != 4 {
		t.Errorf("%d warnings, want one per failed run", n)
	}
}

func TestE2EMissingPermission(t *testing.T) {
	fake := newFake(t)
	e := start(t, fake, filepath.Join(t.TempDir(), "db"))
	e.seed(2)
	// The bot's role may not embed links in the news channel.
	fake.SetOverwrites(discordtest.NewsChannelID, &discordgo.PermissionOverwrite{
		ID: discordtest.BotRoleID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionEmbedLinks,
	})
	for range 3 {
		if n := e.postDue(); n != 0 {
			t.Fatalf("posted %d without permission", n)
		}
	}
	probs := e.health.Problems()
	if len(probs) != 1 || !strings.Contains(fmt.Sprint(probs), "missing permission Send Messages or Embed Links in news channel 400") {
		t.Errorf("problems %+v", probs)
	}
	if n := e.logs.count("level=ERROR"); n != 1 {
		t.Errorf("logged %d times, want once", n)
	}
	due, _ := e.db.Due(context.Background(), 10)
	if len(due) != 2 || due[0].State != articles.StatePending || due[1].Attempts != 0 {
		t.Errorf("due %+v", due)
	}
	// Fixed: both posted, the problem gone.
	fake.SetOverwrites(discordtest.NewsChannelID)
	if n := e.postDue(); n != 2 {
		t.Fatalf("posted %d after the fix", n)
	}
	if probs := e.health.Problems(); len(probs) != 0 {
		t.Errorf("problems %+v after the fix", probs)
	}
	if got, want := channelTitles(fake), titles(0, 2); !slices.Equal(got, want) {
		t.Errorf("channel %v, want %v", got, want)
	}
}

func TestE2EChannelGone(t *testing.T) {
	fake := newFake(t)
	e := start(t, fake, filepath.Join(t.TempDir(), "db"))
	e.seed(1)
	fake.RemoveChannel(discordtest.NewsChannelID)
	e.postDue()
	e.postDue()
	if probs := e.health.Problems(); len(probs) != 1 || !strings.Contains(probs[0].Message, "news channel 400 not found") {
		t.Errorf("problems %+v", probs)
	}
	if n := e.logs.count("level=ERROR"); n != 1 {
		t.Errorf("logged %d times, want once", n)
	}
}

func TestE2EBadRequestGoesOn(t *testing.T) {
	fake := newFake(t)
	e := start(t, fake, filepath.Join(t.TempDir(), "db"))
	e.seed(3)
	fake.FailNext(http.MethodPost, newsPath, 1, http.StatusBadRequest, 50035)
	if n := e.postDue(); n != 2 {
		t.Fatalf("posted %d, want 2", n)
	}
	if got, want := channelTitles(fake), titles(1, 3); !slices.Equal(got, want) {
		t.Errorf("channel %v, want %v", got, want)
	}
	failed, _ := e.db.Failed(context.Background(), 10)
	if len(failed) != 1 || failed[0].Title != "Post 00" {
		t.Fatalf("failed %+v", failed)
	}
	probs := e.health.Problems()
	if len(probs) != 1 || !strings.Contains(fmt.Sprint(probs), fmt.Sprintf("post_failed:%d", failed[0].ID)) {
		t.Errorf("problems %+v", probs)
	}
	e.postDue()
	if n := e.logs.count("level=ERROR"); n != 1 {
		t.Errorf("logged %d times, want once", n)
	}
}

// burst posts n articles against a per-channel limit of 5 per window and
// returns posts per second and the 429s the fake answered.
func burst(tb testing.TB, n int, window time.Duration) (float64, int) {
	fake := newFake(tb, discordtest.WithRateLimit(http.MethodPost, "/channels/*/messages", 5, window))
	e := start(tb, fake, filepath.Join(tb.TempDir(), "db"))
	e.seed(n)
	begin := time.Now()
	if got := e.postDue(); got != n {
		tb.Fatalf("posted %d of %d", got, n)
	}
	rate := float64(n) / time.Since(begin).Seconds()
	if got, want := channelTitles(fake), titles(0, n); !slices.Equal(got, want) {
		tb.Fatalf("channel %v, want %v", got, want)
	}
	return rate, fake.RateLimited()
}

func TestE2EBurstFollowsRateLimit(t *testing.T) {
	const window = 200 * time.Millisecond
	rate, n429 := burst(t, 30, window)
	t.Logf("30 posts at 5 per %v: %.1f posts/s (limit %.1f), %d 429s", window, rate, 5/window.Seconds(), n429)
	if n429 != 0 {
		t.Errorf("%d 429s, want none", n429)
	}
}

// BenchmarkPostBurst is the burst: 30 articles against Discord's
// per-channel limit of 5 per 5 s (about 25 s per op).
func BenchmarkPostBurst(b *testing.B) {
	for _, window := range []time.Duration{5 * time.Second, 500 * time.Millisecond} {
		b.Run(fmt.Sprintf("5per%v", window), func(b *testing.B) {
			b.ReportAllocs()
			var rate float64
			total429 := 0
			for range b.N {
				r, n := burst(b, 30, window)
				rate += r
				total429 += n
			}
			b.ReportMetric(rate/float64(b.N), "posts/s")
			b.ReportMetric(float64(total429)/float64(b.N), "429s/op")
		})
	}
}

// The body the fake receives is flat: MessageSend's fields beside nonce.
func TestE2EBodyShape(t *testing.T) {
	fake := newFake(t)
	e := start(t, fake, filepath.Join(t.TempDir(), "db"))
	e.seed(1)
	e.postDue()
	rs := postRequests(fake)
	if len(rs) != 1 {
		t.Fatalf("%d creates", len(rs))
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(rs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"embeds", "allowed_mentions", "nonce", "enforce_nonce"} {
		if _, ok := body[k]; !ok {
			t.Errorf("body lacks %q: %s", k, rs[0].Body)
		}
	}
	if _, ok := body["MessageSend"]; ok {
		t.Errorf("body is not flat: %s", rs[0].Body)
	}
}

// A shutdown while a burst waits for the rate limit ends the run at once;
// the waiting article was not sent and stays pending.
func TestE2EShutdownWhileRateLimited(t *testing.T) {
	fake := newFake(t, discordtest.WithRateLimit(http.MethodPost, "/channels/*/messages", 5, time.Hour))
	e := start(t, fake, filepath.Join(t.TempDir(), "db"))
	e.seed(6)
	fifth := e.logs.logged("url=https://go.dev/blog/post-04") // "news posted" of the fifth
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := e.poster.PostDue(ctx)
		done <- err
	}()
	<-fifth
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("PostDue: %v, want context.Canceled", err)
	}
	due, _ := e.db.Due(context.Background(), 10)
	if len(due) != 1 || due[0].State != articles.StatePending || due[0].Title != "Post 05" {
		t.Errorf("due %+v", due)
	}
	if fake.RateLimited() != 0 || len(postRequests(fake)) != 5 {
		t.Errorf("%d 429s, %d creates", fake.RateLimited(), len(postRequests(fake)))
	}
}

// The configured news role is the only mention a post makes, whatever the
// feed says.
func TestE2ENewsRole(t *testing.T) {
	fake := newFake(t)
	fake.AddRole(discordtest.GuildID, discordgo.Role{ID: "330", Name: "news", Mentionable: true})
	e := start(t, fake, filepath.Join(t.TempDir(), "db"))
	e.poster.o.RoleID = "330"
	items := feedItems(0, 1)
	items[0].Summary = "@everyone <@&" + discordtest.TeamRoleID + "> <@" + discordtest.MemberUserID + ">"
	items[0].Title = "@here"
	if _, err := e.db.RecordPoll(context.Background(), articles.Poll{FeedURL: "https://go.dev/f", Site: "go.dev", Title: "x", Items: items}, 1); err != nil {
		t.Fatal(err)
	}
	e.postDue()
	ms := fake.Messages(discordtest.NewsChannelID)
	if len(ms) != 1 {
		t.Fatalf("%d messages", len(ms))
	}
	m := ms[0]
	if m.Content != "<@&330>" || !slices.Equal(m.MentionRoles, []string{"330"}) || m.MentionEveryone || len(m.Mentions) != 0 {
		t.Errorf("content %q roles %v everyone %v users %v", m.Content, m.MentionRoles, m.MentionEveryone, m.Mentions)
	}
}

// Broken feeds do not keep a good one's articles from being posted.
func TestE2EBrokenFeedsDoNotStopOthers(t *testing.T) {
	fake := newFake(t)
	good := httptest.NewServer(&rssFeed{n: 2})
	t.Cleanup(good.Close)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/500":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/garbage":
			_, _ = w.Write([]byte("<html><body>not a feed</body></html>"))
		case "/empty":
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/truncated":
			_, _ = w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><title>half`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(broken.Close)
	feeds := []string{broken.URL + "/500", broken.URL + "/garbage", broken.URL + "/empty", broken.URL + "/loop",
		broken.URL + "/truncated", broken.URL + "/404", good.URL + "/feed"}
	e := start(t, fake, filepath.Join(t.TempDir(), "db"))
	poller := articles.NewPoller(e.db, articles.NewFetcher(nil), feeds, 3, slog.New(slog.DiscardHandler))
	failed := 0
	for _, r := range poller.PollAll(context.Background()) {
		if r.Err != nil {
			failed++
		}
		t.Logf("%s: err %v", r.URL, r.Err)
	}
	if n := e.postDue(); n != 2 {
		t.Fatalf("posted %d, want the good feed's 2 (%d feeds failed)", n, failed)
	}
	if got, want := channelTitles(fake), titles(0, 2); !slices.Equal(got, want) {
		t.Errorf("channel %v, want %v", got, want)
	}
	if failed != len(feeds)-1 {
		t.Errorf("%d of the %d broken feeds failed", failed, len(feeds)-1)
	}
}

// Only the bot's own messages count as its earlier posts: another bot
// sharing the same link does not make an article "already posted".
func TestE2ERecentOnlyOwnMessages(t *testing.T) {
	fake := newFake(t)
	link := "https://go.dev/blog/post-00"
	fake.AddMessage(discordtest.NewsChannelID, discordgo.Message{
		Author: &discordgo.User{ID: "999", Username: "otherbot", Bot: true},
		Embeds: []*discordgo.MessageEmbed{{URL: link, Title: "Post 00"}},
	})
	fake.AddMessage(discordtest.NewsChannelID, discordgo.Message{
		Author: &discordgo.User{ID: discordtest.BotUserID, Username: "newsbot", Bot: true},
		Embeds: []*discordgo.MessageEmbed{{URL: link + "-mine", Title: "Mine"}},
	})
	s, err := NewSession(discordtest.Token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeIdle(s) })
	s.State.User = &discordgo.User{ID: discordtest.BotUserID} // as READY sets it
	ms, err := NewDiscordSender(s).Recent(context.Background(), discordtest.NewsChannelID, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Embeds[0].URL != link+"-mine" {
		t.Fatalf("recent own messages: %d (%+v)", len(ms), ms)
	}
}

// Guild commands carry no contexts (Discord keeps those for global ones):
// a guild whose commands match the code, without contexts, is not
// overwritten on start.
func TestRegisterGuildCommandsWithoutContexts(t *testing.T) {
	fake := newFake(t)
	s, err := NewSession(discordtest.Token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeIdle(s) })
	dm := false
	defs := []*discordgo.ApplicationCommand{{
		Name: "ping", Description: "Ping", DMPermission: &dm,
		Contexts: &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild},
	}}
	ctx := context.Background()
	if changed, err := RegisterCommands(ctx, s, discordtest.ApplicationID, discordtest.GuildID, defs); err != nil || !changed {
		t.Fatalf("first registration: changed %v, %v", changed, err)
	}
	for _, c := range fake.Commands(discordtest.GuildID) {
		if c.Contexts != nil {
			t.Errorf("guild command %q registered with contexts", c.Name)
		}
	}
	// As Discord answers for guild commands: no contexts at all.
	fake.SetCommands(discordtest.GuildID, []*discordgo.ApplicationCommand{{Name: "ping", Description: "Ping"}})
	writes := fake.CommandWrites(discordtest.GuildID)
	if changed, err := RegisterCommands(ctx, s, discordtest.ApplicationID, discordtest.GuildID, defs); err != nil || changed {
		t.Fatalf("second registration: changed %v, %v", changed, err)
	}
	if fake.CommandWrites(discordtest.GuildID) != writes {
		t.Error("the matching guild commands were overwritten")
	}
}

// An API that cannot list the commands (a proxy without the route) still
// gets them registered: the bulk overwrite is idempotent.
func TestRegisterCommandsWhenListingFails(t *testing.T) {
	fake := newFake(t)
	s, err := NewSession(discordtest.Token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeIdle(s) })
	fake.FailNext("GET", "/applications/200/commands", 1, http.StatusNotFound, 0)
	defs := []*discordgo.ApplicationCommand{{Name: "ping", Description: "Ping"}}
	changed, err := RegisterCommands(context.Background(), s, discordtest.ApplicationID, "", defs)
	if err != nil || !changed {
		t.Fatalf("changed %v, %v", changed, err)
	}
	if cs := fake.Commands(""); len(cs) != 1 || cs[0].Name != "ping" {
		t.Errorf("registered %+v", cs)
	}
}
