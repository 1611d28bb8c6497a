package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
)

// Record is db.RecordPoll, failing t on error.
func Record(t *testing.T, db Store, p articles.Poll, limit int) articles.PollStats {
	t.Helper()
	st, err := db.RecordPoll(context.Background(), p, limit)
	if err != nil {
		t.Fatalf("RecordPoll(%s): %v", p.FeedURL, err)
	}
	return st
}

// dueTitles lists the titles of the due articles, in Due order.
func dueTitles(t *testing.T, db Store) []string {
	t.Helper()
	due, err := db.Due(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, a := range due {
		titles = append(titles, a.Title)
	}
	return titles
}

func (s suite) TestBacklogRule(t *testing.T) {
	for _, tc := range []struct {
		limit int
		want  []string
	}{
		{3, []string{"Post 7", "Post 8", "Post 9"}},
		{1, []string{"Post 9"}},
		{0, nil},
		{-1, nil},
		{20, []string{"Post 0", "Post 1", "Post 2", "Post 3", "Post 4", "Post 5", "Post 6", "Post 7", "Post 8", "Post 9"}},
	} {
		t.Run(fmt.Sprint(tc.limit), func(t *testing.T) {
			db := s.open(t)
			items := TenItems()
			// The feed's order must not matter, only Published.
			items[0], items[5] = items[5], items[0]
			st := Record(t, db, Poll("https://ex.com/feed", items...), tc.limit)
			want := articles.PollStats{Seen: 10, New: 10, Pending: len(tc.want), Stored: 10}
			if st != want {
				t.Errorf("stats = %+v, want %+v", st, want)
			}
			if got := dueTitles(t, db); !slices.Equal(got, tc.want) {
				t.Errorf("due = %q, want %q", got, tc.want)
			}
			// The rest are recorded.
			n := 0
			db.EachArticle(context.Background(), 0, func(a articles.Article) error {
				if a.State == articles.StateRecorded {
					n++
				}
				return nil
			})
			if n != 10-len(tc.want) {
				t.Errorf("recorded = %d, want %d", n, 10-len(tc.want))
			}
		})
	}
}

func (s suite) TestBacklogTiesFollowFeedOrder(t *testing.T) {
	db := s.open(t)
	// Same date: the one listed first counts as newer.
	items := []articles.Article{
		Item("https://ex.com/a", "A", Day(1)),
		Item("https://ex.com/b", "B", Day(1)),
		Item("https://ex.com/c", "C", Day(1)),
	}
	Record(t, db, Poll("https://ex.com/feed", items...), 2)
	got := dueTitles(t, db)
	slices.Sort(got)
	if !slices.Equal(got, []string{"A", "B"}) {
		t.Fatalf("due = %q, want A and B", got)
	}
}

func (s suite) TestReseenAndEditedItemsAreNotNew(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	feed := "https://ex.com/feed"
	Record(t, db, Poll(feed, TenItems()...), 3)
	before := dueTitles(t, db)

	edited := TenItems()
	for i := range edited {
		edited[i].Title += " (updated)"
		edited[i].Summary = "new summary"
		edited[i].Published = edited[i].Published.Add(time.Hour)
		edited[i].Author = "Ann" // was empty: filled
	}
	// A link variant (tracking parameters, fragment, trailing slash) is
	// still the same article.
	edited[9].URL = "https://ex.com/post0/?utm_source=x#top"
	st := Record(t, db, Poll(feed, edited...), 3)
	if want := (articles.PollStats{Seen: 10}); st != want {
		t.Fatalf("re-poll stats = %+v, want %+v", st, want)
	}
	if got := dueTitles(t, db); !slices.Equal(got, before) {
		t.Fatalf("due after re-poll = %q, want %q", got, before)
	}
	a, err := db.ArticleByURL(ctx, "https://ex.com/post9")
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "Post 9" || a.Summary != "Post 9 summary" || !a.Published.Equal(Day(9)) {
		t.Errorf("an edit changed stored fields: %+v", a)
	}
	if a.Author != "Ann" {
		t.Errorf("author not filled: %q", a.Author)
	}
	if n, _ := db.CountArticles(ctx); n["ex.com"] != 10 {
		t.Errorf("articles = %v, want 10", n)
	}
}

func (s suite) TestNewItemOnLaterPollIsPending(t *testing.T) {
	db := s.open(t)
	feed := "https://ex.com/feed"
	Record(t, db, Poll(feed, TenItems()...), 0)
	items := append([]articles.Article{Item("https://ex.com/post10", "Post 10", Day(10)), Item("https://ex.com/post11", "Post 11", Day(11))}, TenItems()...)
	st := Record(t, db, Poll(feed, items...), 0)
	if want := (articles.PollStats{Seen: 12, New: 2, Pending: 2, Stored: 2}); st != want {
		t.Fatalf("stats = %+v, want %+v", st, want)
	}
	if got, want := dueTitles(t, db), []string{"Post 10", "Post 11"}; !slices.Equal(got, want) {
		t.Fatalf("due = %q, want %q", got, want)
	}
	// An older item that shows up later (a feed that lists more) is new too.
	st = Record(t, db, Poll(feed, Item("https://ex.com/old", "Old", Day(-100))), 0)
	if st.New != 1 || st.Pending != 1 {
		t.Fatalf("late old item: %+v", st)
	}
}

func (s suite) TestEmptyFirstPoll(t *testing.T) {
	db := s.open(t)
	feed := "https://ex.com/feed"
	Record(t, db, Poll(feed), 3)
	st := Record(t, db, Poll(feed, TenItems()...), 3)
	if st.Pending != 10 {
		t.Fatalf("after an empty first poll every item is new: %+v", st)
	}
}

func (s suite) TestArchivedThenListedIsPending(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	feed := "https://ex.com/feed"
	Record(t, db, Poll(feed, TenItems()...), 0)

	arch := Item("https://ex.com/post10", "Post 10", Day(10))
	arch.Categories = []string{"go"}
	arch.Text = "full text from the archive"
	arch.FeedURL = ""
	if n, err := db.StoreArchived(ctx, []articles.Article{arch}); err != nil || n != 1 {
		t.Fatalf("StoreArchived = %d, %v", n, err)
	}
	if got := dueTitles(t, db); len(got) != 0 {
		t.Fatalf("archive made something due: %q", got)
	}

	listed := Item("https://ex.com/post10/?utm_medium=rss", "Post 10", Day(10))
	listed.GUID = "https://ex.com/?p=10" // the feed has a GUID, the archive had none
	listed.Image = "https://ex.com/p10.png"
	st := Record(t, db, Poll(feed, append([]articles.Article{listed}, TenItems()...)...), 0)
	if want := (articles.PollStats{Seen: 11, New: 1, Pending: 1, Stored: 0}); st != want {
		t.Fatalf("stats = %+v, want %+v", st, want)
	}
	a, err := db.ArticleByURL(ctx, "https://ex.com/post10")
	if err != nil {
		t.Fatal(err)
	}
	if a.State != articles.StatePending || a.FeedURL != feed || a.FeedTitle != "Feed "+feed ||
		a.Image != "https://ex.com/p10.png" || a.Text != "full text from the archive" ||
		!slices.Equal(a.Categories, []string{"go"}) || a.GUID != "https://ex.com/?p=10" {
		t.Fatalf("archived then listed: %+v", a)
	}
	if !a.Published.Equal(Day(10)) {
		t.Fatalf("published = %v", a.Published)
	}
}

func (s suite) TestSameArticleFromTwoFeeds(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	main, cat := "https://ex.com/feed", "https://ex.com/category/go/feed"
	Record(t, db, Poll(main, TenItems()...), 3)
	Record(t, db, Poll(cat, TenItems()[:5]...), 3)
	if n, _ := db.CountArticles(ctx); n["ex.com"] != 10 {
		t.Fatalf("articles = %v, want 10", n)
	}
	if got := dueTitles(t, db); len(got) != 3 {
		t.Fatalf("due = %q, want 3 once each", got)
	}

	// A new article appears in both feeds, under different GUIDs: stored
	// once (same link), pending once.
	a := Item("https://ex.com/post10", "Post 10", Day(10))
	a.GUID = "main-10"
	b := Item("https://ex.com/post10?utm_source=cat", "Post 10", Day(10))
	b.GUID = "cat-10"
	st1 := Record(t, db, Poll(main, append([]articles.Article{a}, TenItems()...)...), 3)
	st2 := Record(t, db, Poll(cat, append([]articles.Article{b}, TenItems()[:5]...)...), 3)
	if st1.Pending != 1 || st1.Stored != 1 || st2.New != 1 || st2.Pending != 0 || st2.Stored != 0 {
		t.Fatalf("stats = %+v / %+v", st1, st2)
	}
	if n, _ := db.CountArticles(ctx); n["ex.com"] != 11 {
		t.Fatalf("articles = %v, want 11", n)
	}
	due := dueTitles(t, db)
	if len(due) != 4 || due[3] != "Post 10" {
		t.Fatalf("due = %q", due)
	}

	// Posted by the first feed, then listed by a third feed: stays posted.
	art, _ := db.ArticleByURL(ctx, "https://ex.com/post10")
	if err := db.MarkSending(ctx, art.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkPosted(ctx, art.ID, "msg"); err != nil {
		t.Fatal(err)
	}
	if st := Record(t, db, Poll("https://ex.com/tag/x/feed", b), 3); st.Pending != 0 {
		t.Fatalf("a posted article became pending on a feed's first poll: %+v", st)
	}
	st := Record(t, db, Poll("https://ex.com/tag/x/feed", b, Item("https://ex.com/post11", "Post 11", Day(11))), 3)
	if st.New != 1 || st.Pending != 1 {
		t.Fatalf("third feed stats = %+v", st)
	}
	if art, _ = db.ArticleByID(ctx, art.ID); art.State != articles.StatePosted || art.MessageID != "msg" {
		t.Fatalf("posted article after another feed listed it: %+v", art)
	}
}

// A second feed's first poll must not post older backlog when its newest
// items were already posted through another feed.
func (s suite) TestSecondFeedFirstPollBacklog(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	Record(t, db, Poll("https://ex.com/feed", TenItems()...), 3)
	due, _ := db.Due(ctx, 0)
	for _, a := range due {
		db.MarkSending(ctx, a.ID)
		db.MarkPosted(ctx, a.ID, "m")
	}
	st := Record(t, db, Poll("https://ex.com/other/feed", TenItems()...), 3)
	if st.Pending != 0 || st.New != 10 {
		t.Fatalf("stats = %+v", st)
	}
	if got := dueTitles(t, db); len(got) != 0 {
		t.Fatalf("due = %q", got)
	}
}

func (s suite) TestDuplicateItemsInOnePoll(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	feed := "https://ex.com/feed"
	x1 := Item("https://ex.com/x", "X", Day(1))
	x1.GUID = "dup"
	x2 := Item("https://ex.com/x-again", "X again", Day(2))
	x2.GUID = "dup"
	y := Item("https://ex.com/y", "Y", Day(3))
	y2 := y // same link, no GUID
	y2.Title = "Y copy"
	st := Record(t, db, Poll(feed, x1, y, x2, y2), 5)
	if want := (articles.PollStats{Seen: 2, New: 2, Pending: 2, Stored: 2}); st != want {
		t.Fatalf("first poll stats = %+v, want %+v", st, want)
	}
	if n, _ := db.CountArticles(ctx); n["ex.com"] != 2 {
		t.Fatalf("articles = %v", n)
	}
	// On a later poll a duplicated new item is pending once.
	z := Item("https://ex.com/z", "Z", Day(4))
	st = Record(t, db, Poll(feed, z, z, x1, x2, y), 5)
	if want := (articles.PollStats{Seen: 3, New: 1, Pending: 1, Stored: 1}); st != want {
		t.Fatalf("second poll stats = %+v, want %+v", st, want)
	}
	if got, want := dueTitles(t, db), []string{"X", "Y", "Z"}; !slices.Equal(got, want) {
		t.Fatalf("due = %q, want %q", got, want)
	}
	// The first-listed fields win: x2's title never replaces x1's.
	a, _ := db.ArticleByURL(ctx, "https://ex.com/x")
	if a.Title != "X" || a.Key != "guid:dup" {
		t.Fatalf("duplicate: %+v", a)
	}
}

func (s suite) TestIdentityFallbacks(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	feed := "https://ex.com/feed"
	// No GUID and no link: title and date identify it (the store computes
	// the key when the parser left it empty); site comes from the poll.
	noLink := articles.Article{Title: "  Only   a Title ", Published: Day(1)}
	st := Record(t, db, Poll(feed, noLink), 3)
	st2 := Record(t, db, Poll(feed, articles.Article{Title: "only a title", Published: Day(1)}), 3)
	if st.Stored != 1 || st2.Stored != 0 || st2.New != 0 {
		t.Fatalf("stats = %+v / %+v", st, st2)
	}
	due, _ := db.Due(ctx, 0)
	if len(due) != 1 || due[0].Site != "ex.com" || due[0].Key != "title:only a title|"+Day(1).Format(time.RFC3339) {
		t.Fatalf("due = %+v", due)
	}
}

func (s suite) TestFeedStateLifecycle(t *testing.T) {
	ctx := context.Background()
	db := s.open(t)
	feed := "https://ex.com/feed"
	f, err := db.FeedState(ctx, feed)
	if err != nil || f != (articles.FeedState{URL: feed}) {
		t.Fatalf("unknown feed = %+v, %v", f, err)
	}
	next := Epoch.Add(time.Minute)
	for want := 1; want <= 2; want++ {
		n, err := db.RecordFeedError(ctx, feed, fmt.Sprintf("boom %d", want), next)
		if err != nil || n != want {
			t.Fatalf("RecordFeedError = %d, %v; want %d", n, err, want)
		}
	}
	f, _ = db.FeedState(ctx, feed)
	if f.Failures != 2 || f.LastError != "boom 2" || !f.NextAttempt.Equal(next) || !f.FirstPollAt.IsZero() {
		t.Fatalf("after errors: %+v", f)
	}

	p := Poll(feed, TenItems()...)
	p.ETag, p.LastModified, p.Title = `"v1"`, "Wed, 01 Jan 2025 00:00:00 GMT", "Example"
	if st := Record(t, db, p, 3); st.Pending != 3 {
		t.Fatalf("first poll after errors is still the first: %+v", st)
	}
	f, _ = db.FeedState(ctx, feed)
	want := articles.FeedState{URL: feed, Site: "ex.com", Title: "Example", ETag: `"v1"`,
		LastModified: "Wed, 01 Jan 2025 00:00:00 GMT", FirstPollAt: p.At, LastPollAt: p.At}
	if f != want {
		t.Fatalf("after poll:\n%+v\nwant\n%+v", f, want)
	}

	db.RecordFeedError(ctx, feed, "again", next)
	later := p.At.Add(time.Hour)
	if err := db.RecordNotModified(ctx, feed, later); err != nil {
		t.Fatal(err)
	}
	f, _ = db.FeedState(ctx, feed)
	want.LastPollAt = later
	if f != want {
		t.Fatalf("after 304:\n%+v\nwant\n%+v", f, want)
	}

	// A second poll keeps the first poll time and saves new validators.
	p2 := p
	p2.At, p2.ETag = later.Add(time.Hour), `"v2"`
	Record(t, db, p2, 3)
	f, _ = db.FeedState(ctx, feed)
	if !f.FirstPollAt.Equal(p.At) || !f.LastPollAt.Equal(p2.At) || f.ETag != `"v2"` {
		t.Fatalf("after second poll: %+v", f)
	}

	fs, err := db.Feeds(ctx)
	if err != nil || len(fs) != 1 || fs[0] != f {
		t.Fatalf("Feeds = %+v, %v", fs, err)
	}
}
