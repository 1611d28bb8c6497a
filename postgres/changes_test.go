package postgres

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/internal/storetest"
)

// Revs become visible in commit order: while a transaction that took rev 1
// is open, a second writer waits for it (it cannot commit rev 2 first), and
// a reader sees neither; then both, in order.
func TestRevsCommitInOrder(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := lockRevs(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if _, err := insertNew(ctx, tx, normalise(storetest.Item("https://ex.com/first", "First", storetest.Day(1)), ""), time.Now()); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() {
		_, err := db.StoreArchived(ctx, []articles.Article{storetest.Item("https://ex.com/second", "Second", storetest.Day(2))})
		second <- err
	}()
	// The second writer waits on the counter row (the server says so).
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting bool
		if err := db.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second writer never waited")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := storetest.MaxRev(t, db); got != 0 {
		t.Fatalf("MaxRev while rev 1 is uncommitted = %d", got)
	}
	if got := storetest.Changes(t, db, 0); len(got) != 0 {
		t.Fatalf("changes visible before any commit: %v", got)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if got, want := storetest.Changes(t, db, 0), []string{"First@1", "Second@2"}; !slices.Equal(got, want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
}
