package related

// Benchmark corpora are generated from The Go Blog corpus (CC BY 4.0, the
// Go Authors; see ../../../shared/corpus/goblog/ATTRIBUTION.md).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
)

var benchSizes = []int{1_000, 10_000, 100_000}

// generate returns n articles recombined deterministically from the corpus:
// each takes a post's title (with a variant word) and categories, and
// paragraphs of that post and of two others; links point at other
// generated articles of the linked posts.
func generate(tb testing.TB, n int) []articles.Article {
	tb.Helper()
	posts := loadCorpus(tb)
	base := corpusArticles(tb, posts)
	paras := make([][]string, len(base))
	for i, a := range base {
		paras[i] = strings.Split(a.Text, "\n")
	}
	words := strings.Fields("update notes review guide deep dive recap primer field report explained revisited")
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	out := make([]articles.Article, n)
	start := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		b := i % len(base)
		src := base[b]
		var text []string
		for _, p := range []int{b, rng.IntN(len(base)), rng.IntN(len(base))} {
			ps := paras[p]
			from := rng.IntN(len(ps))
			text = append(text, ps[from:min(len(ps), from+4+rng.IntN(6))]...)
		}
		var links []string
		for _, l := range src.Links {
			links = append(links, fmt.Sprintf("%s-%d", strings.TrimRight(l, "/"), rng.IntN(max(1, n/len(base)))))
		}
		out[i] = articles.Article{
			ID:         int64(i + 1),
			Site:       src.Site,
			URL:        fmt.Sprintf("%s-%d", src.URL, i/len(base)),
			Title:      fmt.Sprintf("%s: %s %d", src.Title, words[rng.IntN(len(words))], i/len(base)),
			Text:       strings.Join(text, "\n"),
			Categories: src.Categories,
			Links:      links,
			Published:  start.Add(time.Duration(i) * 37 * time.Minute),
		}
	}
	return out
}

var (
	benchMu      sync.Mutex
	benchIndexes = map[int]*Index{}
	benchArts    = map[int][]articles.Article{}
)

func benchIndex(b *testing.B, n int) (*Index, []articles.Article) {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if ix, ok := benchIndexes[n]; ok {
		return ix, benchArts[n]
	}
	arts := generate(b, n)
	ix := New()
	for _, a := range arts {
		ix.Add(a)
	}
	ix.Prepare()
	benchIndexes[n], benchArts[n] = ix, arts
	return ix, arts
}

// generateNews returns n short stories without categories or links (a news
// wire), as generate's articles cut to their title and first words: the
// index ranks them by text alone.
func generateNews(tb testing.TB, n int) []articles.Article {
	arts := generate(tb, n)
	for i := range arts {
		a := &arts[i]
		w := strings.Fields(a.Text)
		a.Text = strings.Join(w[:min(len(w), 60)], " ")
		a.Categories, a.Links = nil, nil
	}
	return arts
}

var (
	benchNewsIndexes = map[int]*Index{}
	benchNewsArts    = map[int][]articles.Article{}
)

func benchNewsIndex(b *testing.B, n int) (*Index, []articles.Article) {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if ix, ok := benchNewsIndexes[n]; ok {
		return ix, benchNewsArts[n]
	}
	arts := generateNews(b, n)
	ix := New()
	for _, a := range arts {
		ix.Add(a)
	}
	ix.Prepare()
	if !ix.textAlone() {
		b.Fatal("the news corpus is not ranked by text alone")
	}
	benchNewsIndexes[n], benchNewsArts[n] = ix, arts
	return ix, arts
}

func BenchmarkBuild(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			arts := generate(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			var bytes float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				ix := New()
				for _, a := range arts {
					ix.Add(a)
				}
				ix.Prepare()
				runtime.GC()
				runtime.ReadMemStats(&after)
				bytes = float64(after.HeapAlloc) - float64(before.HeapAlloc)
				runtime.KeepAlive(ix)
			}
			b.ReportMetric(bytes/float64(n), "bytes/article")
		})
	}
}

func BenchmarkRelated(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			ix, arts := benchIndex(b, n)
			b.ReportAllocs()
			i := 0
			var got int
			for b.Loop() {
				got += len(ix.Related(arts[(i*7919)%len(arts)].ID, 5))
				i++
			}
			b.ReportMetric(float64(got)/float64(i), "hits/op")
		})
	}
}

// BenchmarkRelatedNews answers /related for a story's link in a news
// index ranked by text alone (BM25 and feedback: two passes).
func BenchmarkRelatedNews(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			ix, arts := benchNewsIndex(b, n)
			b.ReportAllocs()
			i := 0
			var got int
			for b.Loop() {
				hits, _, _ := ix.Resolve(arts[(i*7919)%len(arts)].URL, 5)
				got += len(hits)
				i++
			}
			b.ReportMetric(float64(got)/float64(i), "hits/op")
		})
	}
}

func BenchmarkQueryFreeText(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			ix, arts := benchIndex(b, n)
			// Queries: two or three words of article titles.
			var qs []string
			for i := 0; i < 256; i++ {
				w := strings.Fields(arts[(i*131)%len(arts)].Title)
				k := min(len(w), 2+i%2)
				qs = append(qs, strings.Join(w[:k], " ")+" performance")
			}
			b.ReportAllocs()
			i := 0
			var got int
			for b.Loop() {
				got += len(ix.Query(qs[i%len(qs)], 5))
				i++
			}
			b.ReportMetric(float64(got)/float64(i), "hits/op")
		})
	}
}

func BenchmarkComplete(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			ix, arts := benchIndex(b, n)
			// Prefixes as typed: the first letters of a title, the start of
			// a later word, two words; upper case and accents.
			var qs []string
			for i := 0; i < 256; i++ {
				t := arts[(i*257)%len(arts)].Title
				w := strings.Fields(t)
				switch i % 4 {
				case 0:
					qs = append(qs, strings.ToUpper(t[:min(len(t), 1+i%7)]))
				case 1:
					qs = append(qs, w[len(w)/2][:min(len(w[len(w)/2]), 3)])
				case 2:
					qs = append(qs, strings.Join(w[:min(2, len(w))], " "))
				default:
					qs = append(qs, "Gé"+w[0][:min(len(w[0]), 2)])
				}
			}
			b.ReportAllocs()
			i := 0
			var got int
			for b.Loop() {
				got += len(ix.Complete(qs[i%len(qs)], 25))
				i++
			}
			b.ReportMetric(float64(got)/float64(i), "choices/op")
		})
	}
}

// BenchmarkSync builds the index as the bot does at start: Sync from a
// store (here in memory), analysing in parallel.
func BenchmarkSync(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			r := &memReader{arts: generate(b, n)}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				ix := New()
				if err := ix.Sync(context.Background(), r); err != nil {
					b.Fatal(err)
				}
				if ix.Len() != n {
					b.Fatalf("%d indexed, want %d", ix.Len(), n)
				}
			}
		})
	}
}
