package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
)

// FeedA is the feed of the routing tests.
const FeedA = "https://ex.com/feed"

// ChannelTitles lists the channel's due deliveries as "title@role+role".
func ChannelTitles(t *testing.T, db Store, channel string) []string {
	t.Helper()
	due, err := db.ChannelPosts(channel, articles.FollowUps{}).Due(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range due {
		out = append(out, a.Title+"@"+strings.Join(a.Roles, "+"))
	}
	return out
}

// RoutedPoll is a poll of FeedA with routes.
func RoutedPoll(items []articles.Article, routes ...articles.Route) articles.Poll {
	p := Poll(FeedA, items...)
	p.Routes = routes
	return p
}

func (s suite) TestDeliveriesFollowRoutes(t *testing.T) {
	db := s.open(t)
	odd := articles.Filter{Include: &articles.Match{Words: []string{"1", "3", "5", "7", "9"}}}
	routes := []articles.Route{
		{Name: "odd", Feeds: []string{FeedA}, ChannelID: "10", RoleID: "r1", Filter: odd},
		{Name: "all", Feeds: []string{FeedA}, ChannelID: "11"},
		{Name: "also-odd", Feeds: []string{FeedA}, ChannelID: "10", RoleID: "r2", Filter: odd},
		{Name: "other-feed", Feeds: []string{"https://ex.com/other"}, ChannelID: "12"},
	}
	Record(t, db, RoutedPoll(TenItems(), routes...), 2)
	// First sight of the feed: the newest 2 accepted, oldest first, one
	// delivery per channel mentioning every accepting route's role.
	if got := ChannelTitles(t, db, "10"); !slices.Equal(got, []string{"Post 7@r1+r2", "Post 9@r1+r2"}) {
		t.Errorf("channel 10: %q", got)
	}
	if got := ChannelTitles(t, db, "11"); !slices.Equal(got, []string{"Post 8@", "Post 9@"}) {
		t.Errorf("channel 11: %q", got)
	}
	if got := ChannelTitles(t, db, "12"); len(got) != 0 {
		t.Errorf("channel 12 got %q", got)
	}

	// Later: every new item each route accepts.
	items := append([]articles.Article{Item("https://ex.com/post11", "Post 11", Day(11)), Item("https://ex.com/post10", "Post 10", Day(10))}, TenItems()...)
	Record(t, db, RoutedPoll(items, routes...), 2)
	if got := ChannelTitles(t, db, "10"); !slices.Equal(got, []string{"Post 7@r1+r2", "Post 9@r1+r2"}) {
		t.Errorf("channel 10 after: %q", got) // "11" is not the word "1"
	}
	if got := ChannelTitles(t, db, "11"); !slices.Equal(got, []string{"Post 8@", "Post 9@", "Post 10@", "Post 11@"}) {
		t.Errorf("channel 11 after: %q", got)
	}

	// A route added later: only the newest 2 of what the feed lists now.
	routes = append(routes, articles.Route{Name: "late", Feeds: []string{FeedA}, ChannelID: "13"})
	Record(t, db, RoutedPoll(items, routes...), 2)
	if got := ChannelTitles(t, db, "13"); !slices.Equal(got, []string{"Post 10@", "Post 11@"}) {
		t.Errorf("late channel: %q", got)
	}
}

// The backlog rule counts what the channel gets, however many routes lead
// there.
func (s suite) TestBacklogPerChannelNotPerRoute(t *testing.T) {
	db := s.open(t)
	odd := articles.Filter{Include: &articles.Match{Words: []string{"1", "3", "5", "7", "9"}}}
	Record(t, db, RoutedPoll(TenItems(),
		articles.Route{Name: "odd", Feeds: []string{FeedA}, ChannelID: "10", RoleID: "r1", Filter: odd},
		articles.Route{Name: "all", Feeds: []string{FeedA}, ChannelID: "10", RoleID: "r2"}), 2)
	if got := ChannelTitles(t, db, "10"); !slices.Equal(got, []string{"Post 8@r2", "Post 9@r1+r2"}) {
		t.Errorf("channel 10: %q", got)
	}
}

func (s suite) TestDeliveryStateMachinePerChannel(t *testing.T) {
	db := s.open(t)
	ctx := context.Background()
	routes := []articles.Route{{Name: "a", Feeds: []string{FeedA}, ChannelID: "10"}, {Name: "b", Feeds: []string{FeedA}, ChannelID: "11"}}
	Record(t, db, RoutedPoll(TenItems()[:1], routes...), 1)
	a, b := db.ChannelPosts("10", articles.FollowUps{Publish: true}), db.ChannelPosts("11", articles.FollowUps{})
	due, _ := a.Due(ctx, 0)
	id := due[0].ID
	if err := a.MarkSending(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := a.MarkPosted(ctx, id, "m1"); err != nil {
		t.Fatal(err)
	}
	if err := a.MarkSending(ctx, id); err == nil {
		t.Error("a posted delivery went back to sending")
	}
	// Posting queued the publish (asked for channel 10), not a thread.
	now := Epoch.AddDate(2, 0, 0)
	pubs, err := db.DueFollowUps(ctx, "10", articles.FollowPublish, now, 0)
	if err != nil || len(pubs) != 1 || pubs[0].MessageID != "m1" || pubs[0].Title != "Post 9" {
		t.Fatalf("due publishes %+v %v", pubs, err)
	}
	if th, _ := db.DueFollowUps(ctx, "10", articles.FollowThread, now, 0); len(th) != 0 {
		t.Errorf("thread queued though not asked: %+v", th)
	}
	if err := db.FollowUpLater(ctx, pubs[0], now.Add(time.Hour), "429"); err != nil {
		t.Fatal(err)
	}
	if p, _ := db.DueFollowUps(ctx, "10", articles.FollowPublish, now.Add(time.Minute), 0); len(p) != 0 {
		t.Errorf("held-off publish is due: %+v", p)
	}
	if p, _ := db.DueFollowUps(ctx, "10", articles.FollowPublish, now.Add(time.Hour), 0); len(p) != 1 || p[0].Error != "429" {
		t.Errorf("publish not due after its hold-off: %+v", p)
	}
	if err := db.FollowUpDone(ctx, pubs[0], false, ""); err != nil {
		t.Fatal(err)
	}
	if p, _ := db.DueFollowUps(ctx, "10", articles.FollowPublish, now.Add(time.Hour), 0); len(p) != 0 {
		t.Errorf("done publish still due: %+v", p)
	}
	if due, _ := b.Due(ctx, 0); len(due) != 1 || due[0].State != articles.StatePending {
		t.Errorf("the other channel's delivery moved: %+v", due)
	}
	if err := b.MarkFailed(ctx, id, "400"); err != nil {
		t.Fatal(err)
	}
	if f, _ := b.Failed(ctx, 0); len(f) != 1 || f[0].LastError != "400" {
		t.Errorf("failed: %+v", f)
	}
	if err := db.ChannelPosts("12", articles.FollowUps{}).MarkSending(ctx, id); err == nil {
		t.Error("no delivery to channel 12, yet it was marked")
	}
}

func (s suite) TestAdoptAndDropDeliveries(t *testing.T) {
	db := s.open(t)
	ctx := context.Background()
	// A database written before routes: the migration gives its posting
	// states to channel "" (simulated by an implicit route without channel).
	Record(t, db, RoutedPoll(TenItems(), articles.Route{Name: "news", Feeds: []string{FeedA}}), 3)
	if n, err := db.UnadoptedDeliveries(ctx); err != nil || n != 3 {
		t.Fatalf("unadopted %d %v", n, err)
	}
	if n, err := db.AdoptDeliveries(ctx, "400"); err != nil || n != 3 {
		t.Fatalf("adopted %d %v", n, err)
	}
	if n, _ := db.UnadoptedDeliveries(ctx); n != 0 {
		t.Errorf("still %d unadopted", n)
	}
	// The channel has seen the feed: a later poll posts only what is new.
	routes := []articles.Route{{Name: "news", Feeds: []string{FeedA}, ChannelID: "400"}}
	items := append([]articles.Article{Item("https://ex.com/post10", "Post 10", Day(10))}, TenItems()...)
	Record(t, db, RoutedPoll(items, routes...), 3)
	if got := ChannelTitles(t, db, "400"); !slices.Equal(got, []string{"Post 7@", "Post 8@", "Post 9@", "Post 10@"}) {
		t.Errorf("channel 400: %q", got)
	}
	// A role given to the route later is mentioned by what it has pending.
	if _, err := db.DropStaleDeliveries(ctx, []articles.Route{{Name: "news", Feeds: []string{FeedA}, ChannelID: "400", RoleID: "77"}}); err != nil {
		t.Fatal(err)
	}
	if got := ChannelTitles(t, db, "400"); !slices.Equal(got, []string{"Post 7@77", "Post 8@77", "Post 9@77", "Post 10@77"}) {
		t.Errorf("channel 400 with the route's new role: %q", got)
	}
	// The route now points elsewhere: its pending deliveries are dropped.
	if n, err := db.DropStaleDeliveries(ctx, []articles.Route{{Name: "news", Feeds: []string{FeedA}, ChannelID: "401"}}); err != nil || n != 4 {
		t.Errorf("dropped %d %v", n, err)
	}
	if got := ChannelTitles(t, db, "400"); len(got) != 0 {
		t.Errorf("channel 400 after drop: %q", got)
	}
}
