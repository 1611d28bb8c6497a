package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
)

// Changes lists what EachChanged gives after rev: "title@rev", in order.
func Changes(t *testing.T, db Store, after int64) []string {
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

// MaxRev is db.MaxRev, failing t on error.
func MaxRev(t *testing.T, db Store) int64 {
	t.Helper()
	r, err := db.MaxRev(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRevFollowsEveryWrite: every path that stores an article or changes
// what it says takes the next rev; posting state changes do not.
func (s suite) TestRevFollowsEveryWrite(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	if got := MaxRev(t, db); got != 0 {
		t.Fatalf("empty store: MaxRev = %d, want 0", got)
	}
	a := Item("https://ex.com/a", "A", Day(1))
	b := Item("https://ex.com/b", "B", Day(2))
	b.NeedsFullText = true
	Record(t, db, Poll("https://ex.com/feed", b, a), 5)
	if got, want := Changes(t, db, 0), []string{"B@1", "A@2"}; !slices.Equal(got, want) {
		t.Fatalf("after the poll: %v, want %v", got, want)
	}

	// The archive brings a new article, and categories for a known one.
	old := Item("https://ex.com/old", "Old", Day(0))
	withCats := a
	withCats.Categories = []string{"Go"}
	if _, err := db.StoreArchived(ctx, []articles.Article{old, withCats}); err != nil {
		t.Fatal(err)
	}
	if got, want := Changes(t, db, 2), []string{"Old@3", "A@4"}; !slices.Equal(got, want) {
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
	Record(t, db, Poll("https://ex.com/feed", b, a), 5)
	if got := MaxRev(t, db); got != 4 {
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
	Record(t, db, Poll("https://ex.com/feed", b, edited), 5)
	if got, want := Changes(t, db, 4), []string{"B@5", "A@6"}; !slices.Equal(got, want) {
		t.Fatalf("after full text and an edit: %v, want %v", got, want)
	}
	// Each article comes once, at its latest rev.
	if got, want := Changes(t, db, 0), []string{"Old@3", "B@5", "A@6"}; !slices.Equal(got, want) {
		t.Fatalf("whole history: %v, want %v", got, want)
	}
	if got := MaxRev(t, db); got != 6 {
		t.Fatalf("MaxRev = %d, want 6", got)
	}
}

func idOf(t *testing.T, db Store, u string) int64 {
	t.Helper()
	a, err := db.ArticleByURL(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// TestEachChangedPages: more changes than one page come in rev order, each
// once.
func (s suite) TestEachChangedPages(t *testing.T) {
	db := s.open(t)
	items := make([]articles.Article, 600)
	for i := range items {
		items[i] = Item(fmt.Sprintf("https://ex.com/p%d", i), fmt.Sprintf("P%d", i), Day(i))
	}
	Record(t, db, Poll("https://ex.com/feed", items...), 0)
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
	if n != len(items) || last != MaxRev(t, db) {
		t.Fatalf("walked %d changes up to rev %d, want %d up to %d", n, last, len(items), MaxRev(t, db))
	}
}

// TestConcurrentFirstPolls: many feeds' first polls, each a long
// transaction, written at once by one process: none fails with "database is
// locked" however long the queue, and every article gets its own rev.
func (s suite) TestConcurrentFirstPolls(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
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
				items[i] = Item(fmt.Sprintf("https://ex.com/f%d/%d", f, i), fmt.Sprintf("F%d item %d", f, i), Day(i))
			}
			<-start
			if _, err := db.RecordPoll(ctx, Poll(fmt.Sprintf("https://ex.com/feed%d", f), items...), 3); err != nil {
				errs <- err
			}
		}()
		go func() {
			// The archive writes beside the polls.
			defer wg.Done()
			<-start
			if _, err := db.StoreArchived(ctx, []articles.Article{Item(fmt.Sprintf("https://ex.com/arch/%d", f), "Arch", Day(f))}); err != nil {
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
	if got := MaxRev(t, db); got != want {
		t.Fatalf("MaxRev = %d, want %d (one per article)", got, want)
	}
	if got := len(Changes(t, db, 0)); int64(got) != want {
		t.Fatalf("%d changes, want %d", got, want)
	}
}

// TestLinkStore: site hosts come from articles stored from feeds (not from
// the archive); a failed page is remembered until its retry time.
func (s suite) TestLinkStore(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	Record(t, db, Poll("https://feeds.ex.com/feed", Item("https://www.ex.com/a", "A", Day(1))), 3)
	if _, err := db.StoreArchived(ctx, []articles.Article{Item("https://archive-only.org/b", "B", Day(2))}); err != nil {
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
	at := Day(10)
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
