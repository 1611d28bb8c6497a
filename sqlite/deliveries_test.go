package sqlite

import (
	"context"
	"testing"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/internal/storetest"
)

// A database of a version before routes: its posting states become
// deliveries without a channel, which the first start gives to the news
// channel; nothing is posted again, and the feeds it polled count as seen
// by that channel.
func TestMigrateGivesOldPostsToNewsChannel(t *testing.T) {
	ctx := context.Background()
	path := version1File(t)
	raw := mustOpenPath(t, path)
	raw.Close()
	db := mustOpenPath(t, path)
	if n, err := db.UnadoptedDeliveries(ctx); err != nil || n != 1 {
		t.Fatalf("unadopted after migrating: %d %v", n, err)
	}
	if n, err := db.AdoptDeliveries(ctx, "400"); err != nil || n != 1 {
		t.Fatalf("adopted %d %v", n, err)
	}
	old, err := db.ArticleByURL(ctx, "https://ex.com/old")
	if err != nil {
		t.Fatal(err)
	}
	// The news channel posted it: posting it again is refused as a no-op.
	if err := db.ChannelPosts("400", articles.FollowUps{}).MarkSending(ctx, old.ID); err == nil {
		t.Error("an old posted delivery went back to sending")
	}
	p := storetest.RoutedPoll([]articles.Article{{Site: "ex.com", GUID: "old", URL: "https://ex.com/old", Title: "Old", Published: day(1)}},
		articles.Route{Name: "news", Feeds: []string{storetest.FeedA}, ChannelID: "400"})
	p.Site = "ex.com"
	record(t, db, p, 3)
	if got := storetest.ChannelTitles(t, db, "400"); len(got) != 0 {
		t.Errorf("old post due again: %q", got)
	}
}
