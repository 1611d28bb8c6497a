package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/internal/config"
	"github.com/newsbot/newsbot/sqlite"
)

// oldDatabase holds one pending post recorded without a channel, as a
// database of a version before routes does after migrating.
func oldDatabase(t *testing.T) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "newsbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const feed = "https://ex.com/feed"
	_, err = db.RecordPoll(ctx, articles.Poll{FeedURL: feed, Site: "ex.com", At: time.Now(),
		Items:  []articles.Article{{Site: "ex.com", URL: "https://ex.com/a", Title: "A", Published: time.Now()}},
		Routes: []articles.Route{{Name: config.NewsRoute, Feeds: []string{feed}}}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestPrepareDeliveriesUpgrade(t *testing.T) {
	ctx := context.Background()

	db := oldDatabase(t)
	_, err := prepareDeliveries(ctx, db, []articles.Route{{Name: "other", ChannelID: "460"}})
	if err == nil || !strings.Contains(err.Error(), `ROUTES_FILE names no route "news"`) {
		t.Fatalf("without a news route: %v", err)
	}
	if n, _ := db.UnadoptedDeliveries(ctx); n != 1 {
		t.Errorf("a refused start changed the database: %d unadopted", n)
	}

	if _, err := prepareDeliveries(ctx, db, []articles.Route{{Name: "news", ChannelID: "400"}, {Name: "other", ChannelID: "460"}}); err != nil {
		t.Fatal(err)
	}
	due, err := db.ChannelPosts("400", articles.FollowUps{}).Due(ctx, 0)
	if err != nil || len(due) != 1 || due[0].Title != "A" {
		t.Errorf("news channel due %+v %v", due, err)
	}

	// Without ROUTES_FILE, NEWS_CHANNEL_ID takes them.
	db = oldDatabase(t)
	if _, err := prepareDeliveries(ctx, db, routesOf(config.Config{NewsChannelID: "400"}, nil)); err != nil {
		t.Fatal(err)
	}
	if due, _ := db.ChannelPosts("400", articles.FollowUps{}).Due(ctx, 0); len(due) != 1 {
		t.Errorf("NEWS_CHANNEL_ID due %+v", due)
	}
}

// The dry run prints each post with its route: a channel reached by two
// routes gets an article once, naming both.
func TestDryRunShowsRoutes(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "feed.xml")
	if err := os.WriteFile(feed, sampleFeed, 0o600); err != nil {
		t.Fatal(err)
	}
	routes := filepath.Join(dir, "routes.yaml")
	body := fmt.Sprintf(`routes:
  - name: everything
    feeds: [%[1]s]
    channel: "400"
  - name: also-everything
    feeds: [%[1]s]
    channel: "400"
  - name: nothing
    feeds: [%[1]s]
    channel: "401"
    include: {words: [no-such-word-anywhere]}
`, feed)
	if err := os.WriteFile(routes, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb syncBuffer
	env := config.MapEnv(map[string]string{"ROUTES_FILE": routes, "BACKFILL_LIMIT": "0", "FULL_TEXT": "off"})
	if code := Main(context.Background(), []string{"run", "--dry-run", "--once"}, IO{Stdout: &out, Stderr: &errb, Getenv: env}); code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	if n := strings.Count(out.String(), "route:       everything, also-everything\n"); n != 3 {
		t.Errorf("%d posts name both routes, want the 3 of the backlog:\n%s", n, out.String())
	}
	if strings.Contains(out.String(), "nothing") || strings.Count(out.String(), "──── post") != 3 {
		t.Errorf("posts beyond the accepting routes':\n%s", out.String())
	}
}
