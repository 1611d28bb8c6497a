package related

// Articles are generated from The Go Blog corpus (CC BY 4.0, the Go
// Authors; see ../../../shared/corpus/goblog/ATTRIBUTION.md).

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
)

// BenchmarkSyncerBurst: an index holding 1,000 articles learns 7,000 that
// arrive at once (a first poll of seven full feeds), as the running bot
// does (Syncer, from a store in memory here); then every one of the 7,000
// is asked for by its URL, as /related does right after, and the latency
// of those queries is reported (p50, p99).
func BenchmarkSyncerBurst(b *testing.B) { syncerBurst(b, generate) }

// BenchmarkSyncerBurstNews is BenchmarkSyncerBurst on a news wire (short
// stories, no categories, no links: ranked by text alone).
func BenchmarkSyncerBurstNews(b *testing.B) { syncerBurst(b, generateNews) }

func syncerBurst(b *testing.B, gen func(testing.TB, int) []articles.Article) {
	const before, burst = 1_000, 7_000
	arts := gen(b, before+burst)
	var lat []time.Duration
	for b.Loop() {
		b.StopTimer()
		store := newMemChanges()
		store.put(arts[:before]...)
		s := NewSyncer(New(), store)
		if _, err := s.Sync(context.Background()); err != nil {
			b.Fatal(err)
		}
		store.put(arts[before:]...)
		b.StartTimer()
		n, err := s.Sync(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n != burst {
			b.Fatalf("synced %d, want %d", n, burst)
		}
		lat = lat[:0]
		for _, a := range arts[before:] {
			t0 := time.Now()
			_, named, ok := s.Index().Resolve(a.URL, 5)
			lat = append(lat, time.Since(t0))
			if !ok || named.ID != a.ID {
				b.Fatalf("%s unknown after the sync", a.URL)
			}
		}
		b.StartTimer()
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us/query")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us/query")
}
