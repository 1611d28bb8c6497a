package postgres

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/internal/pgtest"
	"github.com/newsbot/newsbot/internal/storetest"
)

// openDB opens a migrated store on a fresh database, closed by cleanup.
func openDB(tb testing.TB) *DB {
	tb.Helper()
	url := pgtest.NewDatabase(tb)
	db, err := Open(context.Background(), url)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// leadingDB opens a store whose instance leads (its Leader holds the lock
// until the test ends), so that its claims pass the fence.
func leadingDB(tb testing.TB) *DB {
	tb.Helper()
	db := openDB(tb)
	lead(tb, db, "test")
	return db
}

// lead runs a Leader for db until the test ends and waits until it leads.
func lead(tb testing.TB, db *DB, holder string) *Leader {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	leading := make(chan struct{}, 1)
	l := db.NewLeader(LeaderOptions{
		Holder: holder,
		Log:    slog.New(slog.DiscardHandler),
		Lead: func(ctx context.Context, epoch int64) {
			select {
			case leading <- struct{}{}:
			default:
			}
			<-ctx.Done()
		},
	})
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	select {
	case <-leading:
	case <-time.After(20 * time.Second):
		tb.Fatal("the leader did not take the lock")
	}
	return l
}

// TestContract runs the store contract suite (shared with SQLite).
func TestContract(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(tb testing.TB) storetest.Store { return leadingDB(tb) },
		SetState: func(tb testing.TB, s storetest.Store, id int64, st articles.State) {
			tb.Helper()
			if _, err := s.(*DB).Pool().Exec(context.Background(),
				"UPDATE articles SET state = $1, message_id = CASE WHEN $1 = 'posted' THEN 'orig' ELSE '' END WHERE id = $2",
				string(st), id); err != nil {
				tb.Fatal(err)
			}
		},
		SetClock: func(s storetest.Store, now func() time.Time) { s.(*DB).now = now },
	})
}

// A poll or an archive batch that fails midway leaves nothing behind.
func TestRecordPollRollsBack(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	if _, err := db.Pool().Exec(ctx, `CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.title = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END; $$;
		CREATE TRIGGER boom BEFORE INSERT ON articles FOR EACH ROW EXECUTE FUNCTION boom()`); err != nil {
		t.Fatal(err)
	}
	items := storetest.TenItems()
	items[2].Title = "boom"
	if _, err := db.RecordPoll(ctx, storetest.Poll("https://ex.com/feed", items...), 3); err == nil {
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
	if rev, _ := db.MaxRev(ctx); rev != 0 {
		t.Fatalf("a failed batch used revs: %d", rev)
	}
}
