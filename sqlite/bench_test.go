package sqlite

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
)

// corpusPath is the goblog corpus (The Go Blog, CC BY 4.0; see its
// ATTRIBUTION.md) seen from this package.
const corpusPath = "../../shared/corpus/goblog/articles.jsonl"

// corpusItems reads the corpus posts as feed items (HTML bodies stand in
// for their text: the size is what matters here), or skips.
func corpusItems(tb testing.TB) []articles.Article {
	tb.Helper()
	f, err := os.Open(corpusPath)
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
		a := item(p.URL, p.Title, pub)
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

// manyItems makes n distinct items from the corpus posts.
func manyItems(tb testing.TB, n int) []articles.Article {
	base := corpusItems(tb)
	items := make([]articles.Article, n)
	for i := range items {
		a := base[i%len(base)]
		a.URL = fmt.Sprintf("%s-%d", a.URL, i)
		a.Published = a.Published.Add(time.Duration(i) * time.Minute)
		items[i] = a
	}
	return items
}

// BenchmarkRecordPoll measures one feed poll into the store: "first" is a
// feed's first poll into an empty database (every item inserted), "repoll"
// the steady state (every item matched, nothing new).
func BenchmarkRecordPoll(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{274, 10000} {
		var items []articles.Article
		if n == 274 {
			items = corpusItems(b)
		} else {
			items = manyItems(b, n)
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
