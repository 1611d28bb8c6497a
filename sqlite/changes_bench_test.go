package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/related"
)

// BenchmarkIndexSyncBurst: seven feeds' first polls of 1,000 corpus items
// each are stored at once (concurrently, as the poller does), then the
// running bot's index sync (related.Syncer) reads and indexes all 7,000
// from this store; after it, each article is asked for by its URL and the
// latency of those lookups is reported (p50, p99).
func BenchmarkIndexSyncBurst(b *testing.B) {
	const feeds, per = 7, 1_000
	items := manyItems(b, feeds*per)
	var lat []time.Duration
	for b.Loop() {
		b.StopTimer()
		ctx := context.Background()
		db, err := Open(ctx, filepath.Join(b.TempDir(), "newsbot.db"))
		if err != nil {
			b.Fatal(err)
		}
		errs := make(chan error, feeds)
		for f := range feeds {
			go func() {
				_, err := db.RecordPoll(ctx, articles.Poll{FeedURL: fmt.Sprintf("https://go.dev/feed%d.xml", f), Site: "go.dev",
					Items: items[f*per : (f+1)*per], At: time.Now()}, 3)
				errs <- err
			}()
		}
		for range feeds {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		s := related.NewSyncer(related.New(), db)
		b.StartTimer()
		n, err := s.Sync(ctx)
		b.StopTimer()
		if err != nil || n != feeds*per {
			b.Fatalf("synced %d, %v; want %d", n, err, feeds*per)
		}
		lat = lat[:0]
		for _, a := range items {
			t0 := time.Now()
			_, _, ok := s.Index().Resolve(a.URL, 5)
			lat = append(lat, time.Since(t0))
			if !ok {
				b.Fatalf("%s unknown after the sync", a.URL)
			}
		}
		db.Close()
		b.StartTimer()
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us/query")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us/query")
}
