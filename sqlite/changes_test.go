package sqlite

import (
	"context"
	"slices"
	"testing"

	"github.com/newsbot/newsbot/internal/storetest"
)

// TestRevMigrationBackfills: a database from before 0003 gets a rev for
// each article (in id order) and a counter above them.
func TestRevMigrationBackfills(t *testing.T) {
	path := version1File(t) // one article, schema version 1
	db := mustOpenPath(t, path)
	if got, want := storetest.Changes(t, db, 0), []string{"Old@1"}; !slices.Equal(got, want) {
		t.Fatalf("after migrating: %v, want %v", got, want)
	}
	record(t, db, poll("https://ex.com/feed", item("https://ex.com/new", "New", day(3))), 3)
	if got, want := storetest.Changes(t, db, 1), []string{"New@2"}; !slices.Equal(got, want) {
		t.Fatalf("first write after migrating: %v, want %v", got, want)
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
