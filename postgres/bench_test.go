package postgres

import (
	"testing"

	"github.com/newsbot/newsbot/internal/storetest"
)

// BenchmarkPosting: the store's side of posting (see storetest.BenchPosting),
// beside SQLite's; every claim carries the fencing epoch.
func BenchmarkPosting(b *testing.B) {
	storetest.BenchPosting(b, func(tb testing.TB) storetest.Store { return leadingDB(tb) })
}

// BenchmarkRelated: /related from an index kept up to date with the store
// (see storetest.BenchRelated), beside SQLite's.
func BenchmarkRelated(b *testing.B) {
	storetest.BenchRelated(b, func(tb testing.TB) storetest.Store { return openDB(tb) })
}

// BenchmarkIndexSyncBurst: see storetest.BenchIndexSyncBurst (beside
// SQLite's).
func BenchmarkIndexSyncBurst(b *testing.B) {
	storetest.BenchIndexSyncBurst(b, func(tb testing.TB) storetest.Store { return openDB(tb) })
}
