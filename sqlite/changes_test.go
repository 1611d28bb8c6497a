package sqlite

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
)

// changes lists what EachChanged gives after rev: "title@rev", in order.
func changes(t *testing.T, db *DB, after int64) []string {
	t.Helper()
	var out []string
	err := db.EachChanged(context.Background(), after, func(rev int64, a articles.Article) error {
		out = append(out, fmt.Sprintf("%s@%d", a.Title, rev))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func maxRev(t *testing.T, db *DB) int64 {
	t.Helper()
	r, err := db.MaxRev(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRevFollowsEveryWrite: every path that stores an article or changes
// what it says takes the next rev; posting state changes do not.
func TestRevFollowsEveryWrite(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	if got := maxRev(t, db); got != 0 {
		t.Fatalf("empty store: MaxRev = %d, want 0", got)
	}
	a := item("https://ex.com/a", "A", day(1))
	b := item("https://ex.com/b", "B", day(2))
	b.NeedsFullText = true
	record(t, db, poll("https://ex.com/feed", b, a), 5)
	if got, want := changes(t, db, 0), []string{"B@1", "A@2"}; !slices.Equal(got, want) {
		t.Fatalf("after the poll: %v, want %v", got, want)
	}

	// The archive brings a new article, and categories for a known one.
	old := item("https://ex.com/old", "Old", day(0))
	withCats := a
	withCats.Categories = []string{"Go"}
	if _, err := db.StoreArchived(ctx, []articles.Article{old, withCats}); err != nil {
		t.Fatal(err)
	}
	if got, want := changes(t, db, 2), []string{"Old@3", "A@4"}; !slices.Equal(got, want) {
		t.Fatalf("after the archive: %v, want %v", got, want)
	}

	// Posting A changes nothing the index reads: no rev.
	due, err := db.Due(ctx, 0)
	if err != nil || len(due) == 0 {
		t.Fatalf("Due: %v, %v", due, err)
	}
	if err := db.MarkSending(ctx, due[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkPosted(ctx, due[0].ID, "m1"); err != nil {
		t.Fatal(err)
	}
	// The same poll again changes nothing either.
	record(t, db, poll("https://ex.com/feed", b, a), 5)
	if got := maxRev(t, db); got != 4 {
		t.Fatalf("after posting and an identical poll: MaxRev = %d, want 4", got)
	}

	// Full text of B, then a later poll that fills A's missing author.
	bid := idOf(t, db, "https://ex.com/b")
	if err := db.SetFullText(ctx, bid, "The whole text of B.", ""); err != nil {
		t.Fatal(err)
	}
	edited := a
	edited.Summary = "" // a feed that dropped the summary changes nothing
	edited.Links = []string{"https://ex.com/old"}
	record(t, db, poll("https://ex.com/feed", b, edited), 5)
	if got, want := changes(t, db, 4), []string{"B@5", "A@6"}; !slices.Equal(got, want) {
		t.Fatalf("after full text and an edit: %v, want %v", got, want)
	}
	// Each article comes once, at its latest rev.
	if got, want := changes(t, db, 0), []string{"Old@3", "B@5", "A@6"}; !slices.Equal(got, want) {
		t.Fatalf("whole history: %v, want %v", got, want)
	}
	if got := maxRev(t, db); got != 6 {
		t.Fatalf("MaxRev = %d, want 6", got)
	}
}

func idOf(t *testing.T, db *DB, u string) int64 {
	t.Helper()
	a, err := db.ArticleByURL(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// TestRevMigrationBackfills: a database from before 0003 gets a rev for
// each article (in id order) and a counter above them.
func TestRevMigrationBackfills(t *testing.T) {
	path := version1File(t) // one article, schema version 1
	db := mustOpenPath(t, path)
	if got, want := changes(t, db, 0), []string{"Old@1"}; !slices.Equal(got, want) {
		t.Fatalf("after migrating: %v, want %v", got, want)
	}
	record(t, db, poll("https://ex.com/feed", item("https://ex.com/new", "New", day(3))), 3)
	if got, want := changes(t, db, 1), []string{"New@2"}; !slices.Equal(got, want) {
		t.Fatalf("first write after migrating: %v, want %v", got, want)
	}
}

// TestEachChangedPages: more changes than one page come in rev order, each
// once.
func TestEachChangedPages(t *testing.T) {
	db := MustOpen(t)
	items := make([]articles.Article, 600)
	for i := range items {
		items[i] = item(fmt.Sprintf("https://ex.com/p%d", i), fmt.Sprintf("P%d", i), day(i))
	}
	record(t, db, poll("https://ex.com/feed", items...), 0)
	var last int64
	n := 0
	err := db.EachChanged(context.Background(), 0, func(rev int64, a articles.Article) error {
		if rev <= last {
			t.Fatalf("rev %d after %d", rev, last)
		}
		last = rev
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(items) || last != maxRev(t, db) {
		t.Fatalf("walked %d changes up to rev %d, want %d up to %d", n, last, len(items), maxRev(t, db))
	}
}

// TestConcurrentFirstPolls: many feeds' first polls, each a long
// transaction, written at once by one process: none fails with "database is
// locked" however long the queue, and every article gets its own rev.
func TestConcurrentFirstPolls(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	const feeds, perFeed = 12, 400
	var wg sync.WaitGroup
	errs := make(chan error, feeds*2)
	start := make(chan struct{})
	for f := range feeds {
		wg.Add(2)
		go func() {
			defer wg.Done()
			items := make([]articles.Article, perFeed)
			for i := range items {
				items[i] = item(fmt.Sprintf("https://ex.com/f%d/%d", f, i), fmt.Sprintf("F%d item %d", f, i), day(i))
			}
			<-start
			if _, err := db.RecordPoll(ctx, poll(fmt.Sprintf("https://ex.com/feed%d", f), items...), 3); err != nil {
				errs <- err
			}
		}()
		go func() {
			// The archive writes beside the polls.
			defer wg.Done()
			<-start
			if _, err := db.StoreArchived(ctx, []articles.Article{item(fmt.Sprintf("https://ex.com/arch/%d", f), "Arch", day(f))}); err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := int64(feeds*perFeed + feeds)
	if got := maxRev(t, db); got != want {
		t.Fatalf("MaxRev = %d, want %d (one per article)", got, want)
	}
	if got := len(changes(t, db, 0)); int64(got) != want {
		t.Fatalf("%d changes, want %d", got, want)
	}
}

// TestWriteTurnHonoursContext: a writer waiting for its turn gives up when
// its context ends.
func TestWriteTurnHonoursContext(t *testing.T) {
	db := MustOpen(t)
	unlock, err := db.lockWrite(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.RecordPoll(ctx, poll("https://ex.com/feed", item("https://ex.com/x", "X", day(1))), 3); err == nil {
		t.Fatal("RecordPoll with a cancelled context while another write runs: no error")
	}
}

// TestLinkStore: site hosts come from articles stored from feeds (not from
// the archive); a failed page is remembered until its retry time.
func TestLinkStore(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	record(t, db, poll("https://feeds.ex.com/feed", item("https://www.ex.com/a", "A", day(1))), 3)
	if _, err := db.StoreArchived(ctx, []articles.Article{item("https://archive-only.org/b", "B", day(2))}); err != nil {
		t.Fatal(err)
	}
	hosts, err := db.SiteHosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := hosts["ex.com"]; !ok || len(hosts) != 1 {
		t.Errorf("SiteHosts = %v, want only ex.com", hosts)
	}

	const u = "https://ex.com/gone"
	at := day(10)
	if err := db.RecordLinkFailure(ctx, u, "HTTP 404", at, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{{at, true}, {at.Add(59 * time.Minute), true}, {at.Add(time.Hour), false}} {
		got, err := db.LinkFailed(ctx, u, tc.now)
		if err != nil || got != tc.want {
			t.Errorf("LinkFailed at +%v = %v, %v; want %v", tc.now.Sub(at), got, err, tc.want)
		}
	}
	if got, _ := db.LinkFailed(ctx, "https://ex.com/other", at); got {
		t.Error("another link is remembered as failed")
	}
}
