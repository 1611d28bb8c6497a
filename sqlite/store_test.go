package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/commands"
	"github.com/newsbot/newsbot/internal/storetest"
)

// Shorthands of the contract suite's fixtures, for this package's own tests.
var (
	epoch    = storetest.Epoch
	day      = storetest.Day
	item     = storetest.Item
	poll     = storetest.Poll
	tenItems = storetest.TenItems
	record   = storetest.Record
)

// TestContract runs the store contract suite (shared with PostgreSQL).
func TestContract(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(tb testing.TB) storetest.Store { return MustOpen(tb) },
		SetState: func(tb testing.TB, s storetest.Store, id int64, st articles.State) {
			tb.Helper()
			if _, err := s.(*DB).SQL().Exec("UPDATE articles SET state = ?, message_id = CASE WHEN ? = 'posted' THEN 'orig' ELSE '' END WHERE id = ?", string(st), string(st), id); err != nil {
				tb.Fatal(err)
			}
		},
		SetClock: func(s storetest.Store, now func() time.Time) { s.(*DB).now = now },
	})
}

func TestRecordPollRollsBack(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	// A failure in the middle of the poll (the third item cannot be stored).
	if _, err := db.SQL().Exec(`CREATE TRIGGER boom BEFORE INSERT ON articles WHEN NEW.title = 'boom'
		BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	items := tenItems()
	items[2].Title = "boom"
	if _, err := db.RecordPoll(ctx, poll("https://ex.com/feed", items...), 3); err == nil {
		t.Fatal("RecordPoll succeeded")
	}
	if n, _ := db.CountArticles(ctx); len(n) != 0 {
		t.Fatalf("a failed poll left articles: %v", n)
	}
	if f, _ := db.FeedState(ctx, "https://ex.com/feed"); !f.FirstPollAt.IsZero() {
		t.Fatalf("a failed poll counted as the first: %+v", f)
	}
	if n, _ := db.StoreArchived(ctx, items); n != 0 {
		t.Fatalf("StoreArchived of a failing batch stored %d", n)
	}
	if n, _ := db.CountArticles(ctx); len(n) != 0 {
		t.Fatalf("a failed archive batch left articles: %v", n)
	}
}

// Question numbers are never reused, and state survives reopening.
func TestQuestionsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	id, err := db.CreateQuestion(ctx, &commands.Question{UserID: "500", Text: "q", AskedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if q, err := db.Question(ctx, id); err != nil || q.Text != "q" {
		t.Fatalf("after reopen: %v, %v", q, err)
	}
	if times, _ := db.QuestionTimes(ctx, "500", t0.Add(-time.Minute)); len(times) != 1 {
		t.Fatalf("times after reopen = %v", times)
	}
}
