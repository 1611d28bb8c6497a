package storetest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/related"
)

// CorpusPath is the goblog corpus (The Go Blog, CC BY 4.0; see its
// ATTRIBUTION.md) seen from a package directory one level below the
// repository (sqlite/, postgres/).
const CorpusPath = "../../shared/corpus/goblog/articles.jsonl"

// CorpusItems reads the corpus posts as feed items (HTML bodies stand in
// for their text: the size is what matters here), or skips.
func CorpusItems(tb testing.TB) []articles.Article {
	tb.Helper()
	f, err := os.Open(CorpusPath)
	if err != nil {
		tb.Skipf("goblog corpus not available: %v", err)
	}
	defer f.Close()
	var items []articles.Article
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		var p struct {
			URL, Title, Date, Summary, HTML string
			Authors, Tags                   []string
		}
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			tb.Fatal(err)
		}
		pub, _ := time.Parse(time.RFC3339, p.Date)
		a := Item(p.URL, p.Title, pub)
		a.Summary, a.Text, a.Categories = p.Summary, p.HTML, p.Tags
		if len(p.Authors) > 0 {
			a.Author = p.Authors[0]
		}
		items = append(items, a)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return items
}

// ManyItems makes n distinct items from the corpus posts.
func ManyItems(tb testing.TB, n int) []articles.Article {
	base := CorpusItems(tb)
	items := make([]articles.Article, n)
	for i := range items {
		a := base[i%len(base)]
		a.URL = fmt.Sprintf("%s-%d", a.URL, i)
		a.Published = a.Published.Add(time.Duration(i) * time.Minute)
		items[i] = a
	}
	return items
}

// BenchPosting measures the store's side of posting: each op takes the
// oldest due article and moves it through sending to posted, as the
// poster does around each send (Discord itself left out). It reports
// posts/s.
func BenchPosting(b *testing.B, open func(testing.TB) Store) {
	ctx := context.Background()
	db := open(b)
	const batch = 500
	items := ManyItems(b, batch)
	round := 0
	fill := func() {
		// A new feed's first poll with a backlog limit of batch makes
		// every item pending.
		p := Poll(fmt.Sprintf("https://go.dev/blog/feed-%d.atom", round), items...)
		for i := range p.Items {
			p.Items[i].URL = fmt.Sprintf("%s/r%d", items[i].URL, round)
		}
		round++
		if _, err := db.RecordPoll(ctx, p, batch); err != nil {
			b.Fatal(err)
		}
	}
	fill()
	b.ReportAllocs()
	b.ResetTimer()
	var due []articles.Article
	for i := 0; i < b.N; i++ {
		if len(due) == 0 {
			var err error
			if due, err = db.Due(ctx, 10); err != nil {
				b.Fatal(err)
			}
			if len(due) == 0 {
				b.StopTimer()
				fill()
				b.StartTimer()
				if due, err = db.Due(ctx, 10); err != nil {
					b.Fatal(err)
				}
			}
		}
		a := due[0]
		due = due[1:]
		if err := db.MarkSending(ctx, a.ID); err != nil {
			b.Fatal(err)
		}
		if err := db.MarkPosted(ctx, a.ID, fmt.Sprint("m", a.ID)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
}

// relatedQueries are /related questions about the corpus.
var relatedQueries = []string{"generics", "error handling", "garbage collector", "modules", "fuzzing",
	"concurrency patterns", "go 1.21 release", "profile guided optimization", "context cancellation", "slices"}

// BenchRelated measures /related as an instance answers it from a store:
// the index brought up to date with what the store holds (the running
// bot's related.Syncer: one MaxRev query that finds nothing new) and the
// query itself. It reports the p50 and p99 latency and how long the first,
// whole sync took.
func BenchRelated(b *testing.B, open func(testing.TB) Store) {
	ctx := context.Background()
	db := open(b)
	if _, err := db.StoreArchived(ctx, CorpusItems(b)); err != nil {
		b.Fatal(err)
	}
	s := related.NewSyncer(related.New(), db)
	start := time.Now()
	if _, err := s.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	whole := time.Since(start)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := s.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		if hits := s.Index().Query(relatedQueries[i%len(relatedQueries)], 5); len(hits) == 0 {
			b.Fatalf("no hit for %q", relatedQueries[i%len(relatedQueries)])
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
	b.ReportMetric(float64(whole.Microseconds())/1000, "first_sync_ms")
}

// BenchIndexSyncBurst: seven feeds' first polls of 1,000 corpus items each
// are stored at once (concurrently, as the poller does), then the running
// bot's index sync (related.Syncer) reads and indexes all 7,000 from the
// store; after it, each article is asked for by its URL and the latency of
// those lookups is reported (p50, p99).
func BenchIndexSyncBurst(b *testing.B, open func(testing.TB) Store) {
	const feeds, per = 7, 1_000
	items := ManyItems(b, feeds*per)
	var lat []time.Duration
	for b.Loop() {
		b.StopTimer()
		ctx := context.Background()
		db := open(b)
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
		b.StartTimer()
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us/query")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us/query")
}
