package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles"
	dto "github.com/prometheus/client_model/go"
)

func TestForumPostName(t *testing.T) {
	long := strings.Repeat("gopher ", 20) // 140 characters
	tests := []struct {
		a    articles.Article
		want string
	}{
		{articles.Article{Title: "Go 1.27 is out", URL: "https://go.dev/blog/go1.27"}, "Go 1.27 is out"},
		{articles.Article{Title: "  ", URL: "https://go.dev/blog/x"}, "https://go.dev/blog/x"},
	}
	for _, tt := range tests {
		if got := ForumPostName(tt.a); got != tt.want {
			t.Errorf("ForumPostName(%q) = %q, want %q", tt.a.Title, got, tt.want)
		}
	}
	got := ForumPostName(articles.Article{Title: long})
	if n := len([]rune(got)); n > maxThreadName || n < 80 || strings.Contains(got, "gophe…") {
		t.Errorf("long title cut to %q (%d runes): not at a word within 100", got, n)
	}
}

func TestForumPostTags(t *testing.T) {
	forum := &discordgo.Channel{AvailableTags: []discordgo.ForumTag{
		{ID: "1", Name: "News"}, {ID: "2", Name: "Sécurité", Moderated: true}, {ID: "3", Name: "Go"},
		{ID: "4", Name: "a"}, {ID: "5", Name: "b"}, {ID: "6", Name: "c"}, {ID: "7", Name: "d"},
	}}
	tests := []struct {
		name       string
		categories []string
		fallback   string
		moderator  bool
		want       []string
	}{
		{"category order, folded", []string{"go", "NEWS"}, "", false, []string{"3", "1"}},
		{"moderated tag needs Manage Threads", []string{"securite"}, "news", false, []string{"1"}},
		{"moderated tag with Manage Threads", []string{"securite"}, "news", true, []string{"2"}},
		{"fallback when none matches", []string{"Other"}, "news", false, []string{"1"}},
		{"no fallback, no match", []string{"Other"}, "", false, nil},
		{"at most five", []string{"a", "b", "c", "d", "go", "news"}, "", false, []string{"4", "5", "6", "7", "3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ForumPostTags(forum, tt.categories, tt.fallback, tt.moderator); !slices.Equal(got, tt.want) {
				t.Errorf("tags %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFollowUpResults(t *testing.T) {
	rl := &discordgo.RateLimitError{RateLimit: &discordgo.RateLimit{TooManyRequests: &discordgo.TooManyRequests{RetryAfter: 37 * time.Minute}}}
	tests := []struct {
		name string
		res  followResult
		want followOutcome
		wait time.Duration
	}{
		{"published", publishResult(nil, "460"), followDone, 0},
		{"already crossposted", publishResult(restErr(400, 40033), "460"), followDone, 0},
		{"publish limit", publishResult(rl, "460"), followLater, 37 * time.Minute},
		{"message gone", publishResult(restErr(404, 10008), "460"), followFailed, 0},
		{"publish 5xx", publishResult(restErr(502, 0), "460"), followLater, followRetry},
		{"thread opened", threadResult(nil, "400"), followDone, 0},
		{"thread exists", threadResult(restErr(400, 160004), "400"), followDone, 0},
		{"too many threads", threadResult(restErr(400, 160006), "400"), followLater, 10 * followIdle},
		{"no thread permission", threadResult(restErr(403, 50013), "400"), followLater, 5 * followIdle},
	}
	for _, tt := range tests {
		if tt.res.outcome != tt.want || tt.res.wait != tt.wait {
			t.Errorf("%s: outcome %d wait %v, want %d %v", tt.name, tt.res.outcome, tt.res.wait, tt.want, tt.wait)
		}
	}
}

// memFollowUps is a FollowUpStore in memory.
type memFollowUps struct {
	mu    sync.Mutex
	items []articles.FollowUp
	after map[int64]time.Time
	done  []int64
}

func (m *memFollowUps) DueFollowUps(_ context.Context, _ string, _ articles.FollowUpKind, now time.Time, _ int) ([]articles.FollowUp, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []articles.FollowUp
	for _, f := range m.items {
		if !slices.Contains(m.done, f.ArticleID) && !m.after[f.ArticleID].After(now) {
			out = append(out, f)
		}
	}
	return out, nil
}

func (m *memFollowUps) FollowUpDone(_ context.Context, f articles.FollowUp, _ bool, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done = append(m.done, f.ArticleID)
	return nil
}

func (m *memFollowUps) FollowUpLater(_ context.Context, f articles.FollowUp, after time.Time, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.after[f.ArticleID] = after
	return nil
}

// A 429 holds the whole channel's queue off for retry_after; the next
// drain after it goes on in order.
func TestFollowUpWorkerWaitsOutRateLimit(t *testing.T) {
	store := &memFollowUps{after: map[int64]time.Time{}}
	for i := int64(1); i <= 3; i++ {
		store.items = append(store.items, articles.FollowUp{Kind: articles.FollowPublish, ArticleID: i, ChannelID: "460", MessageID: "m"})
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var calls []int64
	limited := true
	w := newFollowUpWorker(articles.FollowPublish, "460", []string{"ann"}, store, nil, nil,
		func(_ context.Context, f articles.FollowUp) followResult {
			calls = append(calls, f.ArticleID)
			if f.ArticleID == 2 && limited {
				return followResult{outcome: followLater, wait: time.Hour, msg: "429"}
			}
			return followResult{outcome: followDone}
		})
	w.now = func() time.Time { return now }
	if wait := w.drain(context.Background()); wait != time.Hour {
		t.Errorf("wait after a 429 = %v, want its retry_after", wait)
	}
	if !slices.Equal(calls, []int64{1, 2}) {
		t.Errorf("calls %v: the queue went on past a 429", calls)
	}
	now = now.Add(time.Minute) // kicked by a new post within the hold-off
	if wait := w.drain(context.Background()); wait != 59*time.Minute || len(calls) != 2 {
		t.Errorf("a drain within the hold-off did something: wait %v, calls %v", wait, calls)
	}
	now = now.Add(59 * time.Minute)
	limited = false
	if wait := w.drain(context.Background()); wait != followIdle {
		t.Errorf("wait when done = %v", wait)
	}
	if !slices.Equal(calls, []int64{1, 2, 2, 3}) || len(store.done) != 3 {
		t.Errorf("calls %v, done %v", calls, store.done)
	}
}

// A channel whose kind changed under the bot (40058, 50024) holds its posts
// pending and says so on /healthz, naming the route: not a permanent
// failure of the article.
func TestPosterKindChangeHolds(t *testing.T) {
	for _, code := range []int{40058, 50024} {
		st := newMemStore(testArticles(2)...)
		snd := &fakeSender{script: []error{restErr(400, code)}}
		p, pr, _ := newTestPoster(t, st, snd, PosterOptions{Routes: []string{"releases"}})
		if n := postDue(t, p); n != 0 {
			t.Fatalf("%d: posted %d", code, n)
		}
		if a := st.get(1); a.State != articles.StatePending {
			t.Errorf("%d: article 1 is %s, want pending", code, a.State)
		}
		if len(snd.sent) != 0 {
			t.Errorf("%d: article 2 overtook article 1", code)
		}
		pr.mu.Lock()
		msg := pr.set["news_channel:400"]
		pr.mu.Unlock()
		if !strings.Contains(msg, `route "releases"`) || !strings.Contains(msg, fmt.Sprint(code)) {
			t.Errorf("%d: /healthz problem %q", code, msg)
		}
		// Fixed: the next run posts both, oldest first, and clears it.
		if n := postDue(t, p); n != 2 {
			t.Errorf("%d: posted %d after the fix", code, n)
		}
		pr.mu.Lock()
		_, still := pr.set["news_channel:400"]
		pr.mu.Unlock()
		if still {
			t.Errorf("%d: problem not cleared", code)
		}
	}
}

// Posts are counted by route (the routes that led each to its channel).
func TestPostsCountedByRoute(t *testing.T) {
	as := testArticles(2)
	for i := range as {
		as[i].Routes = []string{"sec", "all"}
	}
	before := postsCount(t, "posted", "sec,all")
	p, _, _ := newTestPoster(t, newMemStore(as...), &fakeSender{}, PosterOptions{Routes: []string{"sec", "all"}})
	if n := postDue(t, p); n != 2 {
		t.Fatalf("posted %d", n)
	}
	if got := postsCount(t, "posted", "sec,all") - before; got != 2 {
		t.Errorf("newsbot_posts_total{outcome=posted,route=\"sec,all\"} grew by %v, want 2", got)
	}
}

// postsCount reads newsbot_posts_total{outcome, route}.
func postsCount(t *testing.T, outcome, route string) float64 {
	t.Helper()
	var m dto.Metric
	if err := postsTotal.WithLabelValues(outcome, route).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
