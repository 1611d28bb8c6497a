package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/internal/storetest"
)

// BenchmarkRecordPoll measures one feed poll into the store: "first" is a
// feed's first poll into an empty database (every item inserted), "repoll"
// the steady state (every item matched, nothing new).
func BenchmarkRecordPoll(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{274, 10000} {
		var items []articles.Article
		if n == 274 {
			items = storetest.CorpusItems(b)
		} else {
			items = storetest.ManyItems(b, n)
		}
		p := poll("https://go.dev/blog/feed.atom", items...)
		p.Site = "go.dev"

		b.Run(fmt.Sprintf("first/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			dir := b.TempDir()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db, err := Open(ctx, filepath.Join(dir, fmt.Sprintf("%d.db", i)))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := db.RecordPoll(ctx, p, 3); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				db.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "items/s")
		})

		b.Run(fmt.Sprintf("repoll/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			db := MustOpen(b)
			if _, err := db.RecordPoll(ctx, p, 3); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st, err := db.RecordPoll(ctx, p, 3)
				if err != nil {
					b.Fatal(err)
				}
				if st.New != 0 {
					b.Fatalf("re-poll found %d new", st.New)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkPosting: the store's side of posting (see storetest.BenchPosting),
// beside PostgreSQL's.
func BenchmarkPosting(b *testing.B) {
	storetest.BenchPosting(b, func(tb testing.TB) storetest.Store { return MustOpen(tb) })
}

// BenchmarkRelated: /related from an index kept up to date with the store
// (see storetest.BenchRelated), beside PostgreSQL's.
func BenchmarkRelated(b *testing.B) {
	storetest.BenchRelated(b, func(tb testing.TB) storetest.Store { return MustOpen(tb) })
}
