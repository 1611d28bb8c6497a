package archive

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/archive/wptest"
	"github.com/newsbot/newsbot/sqlite"
)

func openDB(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// recordPoll polls the fake site's feed into db as the poller does.
func recordPoll(t *testing.T, db *sqlite.DB, s *wptest.Site, backlog int) articles.PollStats {
	t.Helper()
	feed := pollFeed(t, s.FeedURL())
	st, err := db.RecordPoll(t.Context(), articles.Poll{FeedURL: s.FeedURL(), Site: feed.Site, Title: feed.Title,
		Items: feed.Items, At: time.Now()}, backlog)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func dueIDs(t *testing.T, db *sqlite.DB) map[string]bool {
	t.Helper()
	due, err := db.Due(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, a := range due {
		if m[a.Key] {
			t.Errorf("%q due twice", a.Key)
		}
		m[a.Key] = true
	}
	return m
}

// With the real store: the backfill resumes across a restart (a new DB
// handle on the same file), stores each article once, never makes an old
// article due, and a post it met first is still due once when the feed
// lists it.
func TestSQLiteBackfillAndPosting(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 400})
	path := filepath.Join(t.TempDir(), "newsbot.db")
	db := openDB(t, path)
	if st := recordPoll(t, db, s, 3); st.Pending != 3 {
		t.Fatalf("first poll: %+v", st)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	h := newHarness()
	a := h.newArchive(func(o *Options) {
		o.Store = db
		o.Progress = func(p Progress) {
			if p.Pages == 2 {
				cancel()
			}
		}
	})
	if err := a.Backfill(ctx, []string{s.FeedURL()}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Backfill = %v", err)
	}
	db.Close()

	db = openDB(t, path) // restart
	b := h.newArchive(func(o *Options) { o.Store = db })
	if err := b.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	counts, err := db.CountArticles(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n := counts[articles.SiteOf(s.URL)]; n != 400 {
		t.Fatalf("store holds %d, want 400 (counts %v)", n, counts)
	}
	if n := s.Requests("/wp-json/wp/v2/posts?page=2"); n != 1 {
		t.Errorf("page 2 read %d times across the restart", n)
	}
	cp, err := db.Checkpoint(t.Context(), s.FeedURL())
	if err != nil || !cp.Done || cp.Stored != 400 || cp.Source != SourceWordPress {
		t.Fatalf("checkpoint = %+v, %v", cp, err)
	}
	// Only the feed's backlog is due; no archived article.
	due := dueIDs(t, db)
	if len(due) != 3 {
		t.Errorf("%d articles due after the backfill, want the 3 of the backlog", len(due))
	}
	for id := 400; id > 397; id-- {
		if !due[articles.Identity(s.GUID(id), "", "", time.Time{})] {
			t.Errorf("post %d not due", id)
		}
	}

	// A post published now, met by the backfill first (asked to run again),
	// is due once when the feed lists it.
	newest := s.Publish()
	c := h.newArchive(func(o *Options) { o.Store = db; o.Restart = true; o.Limit = 100 })
	if err := c.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	key := articles.Identity(s.GUID(newest), "", "", time.Time{})
	if dueIDs(t, db)[key] {
		t.Fatal("the backfill made an article due")
	}
	if st := recordPoll(t, db, s, 3); st.New != 1 || st.Pending != 1 || st.Stored != 0 {
		t.Errorf("second poll: %+v (want 1 new, 1 pending, nothing stored anew)", st)
	}
	due = dueIDs(t, db)
	if !due[key] || len(due) != 4 {
		t.Errorf("due = %d articles, newest due %v", len(due), due[key])
	}
	recordPoll(t, db, s, 3)
	if len(dueIDs(t, db)) != 4 {
		t.Error("a third poll changed what is due")
	}
}

// With the real store: a summary-only feed's articles get their page's main
// text and a rebuilt summary; a page read once is not read again.
func TestSQLiteFullText(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 20, SummaryOnly: true})
	db := openDB(t, filepath.Join(t.TempDir(), "newsbot.db"))
	recordPoll(t, db, s, 0)
	h := newHarness()
	a := h.newArchive(func(o *Options) { o.Store = db; o.FullText = true })
	if err := a.FullText(t.Context()); err != nil {
		t.Fatal(err)
	}
	art, err := db.ArticleByURL(t.Context(), s.Link(20))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/fulltext/post-20.txt")
	if err != nil {
		t.Fatal(err)
	}
	if art.Text != string(want) {
		t.Errorf("text = %q\nwant %q", art.Text, want)
	}
	if !strings.Contains(art.Summary, "A second paragraph") {
		t.Errorf("summary = %q", art.Summary)
	}
	left, err := db.NeedFullText(t.Context(), 100)
	if err != nil || len(left) != 0 {
		t.Errorf("still need full text: %d (%v)", len(left), err)
	}
	before := s.TotalRequests()
	if err := a.FullText(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s.TotalRequests() != before {
		t.Error("pages read again")
	}
}
