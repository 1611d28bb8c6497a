package archive

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/archive/wptest"
	"github.com/newsbot/newsbot/sqlite"
)

// countStore keeps nothing but counts and checkpoints: the benchmark measures
// the archive, not a database.
type countStore struct {
	stored atomic.Int64
	cps    map[string]articles.Checkpoint
}

func (s *countStore) StoreArchived(_ context.Context, items []articles.Article) (int, error) {
	s.stored.Add(int64(len(items)))
	return len(items), nil
}
func (s *countStore) Checkpoint(_ context.Context, u string) (articles.Checkpoint, error) {
	return s.cps[u], nil
}
func (s *countStore) SaveCheckpoint(_ context.Context, c articles.Checkpoint) error {
	s.cps[c.FeedURL] = c
	return nil
}
func (s *countStore) NeedFullText(context.Context, int) ([]articles.Article, error) { return nil, nil }
func (s *countStore) SetFullText(context.Context, int64, string, string) error      { return nil }

// BenchmarkBackfill pulls a fake WordPress site's whole archive through the
// REST API with no pause, into a store that only counts (the archive alone)
// or into SQLite (end to end). Peak heap stays flat as the archive grows:
// pages are streamed, not held.
//
//	go test -run '^$' -bench Backfill -benchtime 3x ./articles/archive/
func BenchmarkBackfill(b *testing.B) {
	for _, c := range []struct {
		posts  int
		sqlite bool
	}{{1000, false}, {10000, false}, {10000, true}} {
		posts := c.posts
		name := fmt.Sprintf("posts=%d", posts)
		if c.sqlite {
			name += "/store=sqlite"
		}
		b.Run(name, func(b *testing.B) {
			s := wptest.New(b, wptest.Config{Posts: posts})
			// One untimed run measures the live heap after each page (a GC
			// first, so it is what is held, not garbage): it must not grow
			// with the archive.
			var peak uint64
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base := ms.HeapAlloc
			backfillOnce(b, c.sqlite, s, posts, func(Progress) {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			})

			b.ReportAllocs()
			var elapsed time.Duration
			total := 0
			runtime.ReadMemStats(&ms)
			m0 := ms.Mallocs
			for b.Loop() {
				start := time.Now()
				backfillOnce(b, c.sqlite, s, posts, nil)
				elapsed += time.Since(start)
				total += posts
			}
			b.ReportMetric(float64(total)/elapsed.Seconds(), "articles/s")
			b.ReportMetric(float64(peak-min(base, peak))/(1<<20), "live-heap-MB")
			runtime.ReadMemStats(&ms)
			// Both ends of the loopback connection allocate in this process.
			b.ReportMetric(float64(ms.Mallocs-m0)/float64(total), "allocs/article")
		})
	}
}

// backfillOnce pulls the whole site into a fresh store.
func backfillOnce(b *testing.B, useSQLite bool, s *wptest.Site, posts int, progress func(Progress)) {
	st := &countStore{cps: map[string]articles.Checkpoint{}}
	var store articles.ArchiveStore = st
	if useSQLite {
		db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		store = db
	}
	a := New(Options{Store: store, Limit: -1, Rate: 1e12, Progress: progress})
	if err := a.Backfill(b.Context(), []string{s.FeedURL()}); err != nil {
		b.Fatal(err)
	}
	if n := int(st.stored.Load()); n != posts && !useSQLite {
		b.Fatalf("stored %d of %d", n, posts)
	}
	if cp, err := store.Checkpoint(b.Context(), s.FeedURL()); err != nil || cp.Stored != posts || !cp.Done {
		b.Fatalf("checkpoint %+v %v", cp, err)
	}
}
