package sqlite

import (
	"testing"

	"github.com/newsbot/newsbot/internal/storetest"
)

// BenchmarkIndexSyncBurst: see storetest.BenchIndexSyncBurst (beside
// PostgreSQL's).
func BenchmarkIndexSyncBurst(b *testing.B) {
	storetest.BenchIndexSyncBurst(b, func(tb testing.TB) storetest.Store { return MustOpen(tb) })
}
