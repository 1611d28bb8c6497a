package related

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/newsbot/newsbot/articles"
)

// ranker returns the indices (into the corpus) of the articles related to
// corpus article q, best first, at most k.
type ranker func(q, k int) []int

// quality is what one ranker achieves on the corpus.
type quality struct {
	linkRecall   float64 // mean of found links / min(5, links), posts with links
	tagPrecision float64 // mean share of 5 slots that share a tag, posts with tags
	tagReturned  float64 // share of returned articles that share a tag
	avgReturned  float64 // mean number returned (posts with tags)
}

const atK = 5

func measureLinks(posts []corpusPost, rank ranker) float64 {
	idx := map[string]int{}
	for i, p := range posts {
		idx[p.Slug] = i
	}
	var sum float64
	var n int
	for q, p := range posts {
		if len(p.Links) == 0 {
			continue
		}
		want := map[int]bool{}
		for _, s := range p.Links {
			if i, ok := idx[s]; ok && i != q {
				want[i] = true
			}
		}
		if len(want) == 0 {
			continue
		}
		found := 0
		for _, i := range rank(q, atK) {
			if want[i] {
				found++
			}
		}
		sum += float64(found) / float64(min(atK, len(want)))
		n++
	}
	return sum / float64(n)
}

func measureTags(posts []corpusPost, rank ranker) (precision, ofReturned, avgReturned float64) {
	var sum float64
	var n, shared, returned int
	for q, p := range posts {
		if len(p.Tags) == 0 {
			continue
		}
		tags := map[string]bool{}
		for _, t := range p.Tags {
			tags[t] = true
		}
		got := rank(q, atK)
		hit := 0
		for _, i := range got {
			for _, t := range posts[i].Tags {
				if tags[t] {
					hit++
					break
				}
			}
		}
		sum += float64(hit) / atK
		shared += hit
		returned += len(got)
		n++
	}
	return sum / float64(n), float64(shared) / math.Max(1, float64(returned)), float64(returned) / float64(n)
}

// engineRanker ranks with an Index over arts.
func engineRanker(arts []articles.Article) ranker {
	ix := New()
	for _, a := range arts {
		ix.Add(a)
	}
	return func(q, k int) []int {
		var out []int
		for _, h := range ix.Related(arts[q].ID, k) {
			out = append(out, int(h.ID-1))
		}
		return out
	}
}

// baselineTokens: title twice and body, lowercased, split on
// non-alphanumerics, English stop words and one-letter tokens dropped, no
// stemming.
func baselineTokens(a articles.Article) map[string]int {
	tf := map[string]int{}
	s := strings.ToLower(a.Title + " " + a.Title + " " + a.Text)
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len([]rune(w)) < 2 || stopWords[w] {
			continue
		}
		tf[w]++
	}
	return tf
}

type baseline struct {
	tfs   []map[string]int
	df    map[string]int
	lens  []float64
	avgdl float64
	post  map[string][]posting // term -> articles with it and their tf
}

type posting struct {
	doc int
	tf  float64
}

func newBaseline(arts []articles.Article) *baseline {
	b := &baseline{df: map[string]int{}, post: map[string][]posting{}}
	for i, a := range arts {
		tf := baselineTokens(a)
		b.tfs = append(b.tfs, tf)
		var l float64
		for t, n := range tf {
			b.df[t]++
			b.post[t] = append(b.post[t], posting{i, float64(n)})
			l += float64(n)
		}
		b.lens = append(b.lens, l)
		b.avgdl += l
	}
	b.avgdl /= float64(len(arts))
	return b
}

func (b *baseline) idf(t string) float64 {
	return math.Log(float64(len(b.tfs)) / float64(b.df[t]))
}

func (b *baseline) vector(i int) (map[string]float64, float64) {
	v := map[string]float64{}
	var n float64
	for t, c := range b.tfs[i] {
		w := (1 + math.Log(float64(c))) * b.idf(t)
		v[t] = w
		n += w * w
	}
	return v, math.Sqrt(n)
}

func topK(scores []float64, self, k int) []int {
	var idx []int
	for i, s := range scores {
		if i != self && s > 0 {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(x, y int) bool { return scores[idx[x]] > scores[idx[y]] })
	if len(idx) > k {
		idx = idx[:k]
	}
	return idx
}

// tfidfRanker: cosine of log-tf·idf vectors.
func tfidfRanker(arts []articles.Article) ranker {
	b := newBaseline(arts)
	vecs := make([]map[string]float64, len(arts))
	norms := make([]float64, len(arts))
	for i := range arts {
		vecs[i], norms[i] = b.vector(i)
	}
	return func(q, k int) []int {
		scores := make([]float64, len(arts))
		for t, w := range vecs[q] {
			idf := b.idf(t)
			for _, p := range b.post[t] {
				scores[p.doc] += w * (1 + math.Log(p.tf)) * idf
			}
		}
		for i := range scores {
			if norms[i] > 0 && norms[q] > 0 {
				scores[i] /= norms[q] * norms[i]
			}
		}
		return topK(scores, q, k)
	}
}

// bm25Ranker: BM25 (k1 1.2, b 0.75) with the query article's 30 heaviest
// (log-tf·idf) terms.
func bm25Ranker(arts []articles.Article) ranker {
	b := newBaseline(arts)
	n := float64(len(arts))
	return func(q, k int) []int {
		v, _ := b.vector(q)
		terms := make([]string, 0, len(v))
		for t := range v {
			terms = append(terms, t)
		}
		sort.Slice(terms, func(i, j int) bool {
			if v[terms[i]] != v[terms[j]] {
				return v[terms[i]] > v[terms[j]]
			}
			return terms[i] < terms[j]
		})
		if len(terms) > 30 {
			terms = terms[:30]
		}
		scores := make([]float64, len(arts))
		for _, t := range terms {
			df := float64(b.df[t])
			idf := math.Log(1 + (n-df+0.5)/(df+0.5))
			for _, p := range b.post[t] {
				scores[p.doc] += idf * p.tf * 2.2 / (p.tf + 1.2*(0.25+0.75*b.lens[p.doc]/b.avgdl))
			}
		}
		return topK(scores, q, k)
	}
}

func evaluate(t *testing.T, posts []corpusPost, name string, mk func([]articles.Article) ranker, modes ...evalMode) quality {
	t.Helper()
	var q quality
	for _, m := range modes {
		arts := corpusArticles(t, posts, m)
		r := mk(arts)
		if m == hideLinks || m == textOnly {
			q.linkRecall = measureLinks(posts, r)
		}
		if m == hideTags || m == textOnly || m == noSignals {
			q.tagPrecision, q.tagReturned, q.avgReturned = measureTags(posts, r)
		}
	}
	link := "  -  "
	for _, m := range modes {
		if m == hideLinks || m == textOnly {
			link = fmt.Sprintf("%.3f", q.linkRecall)
		}
	}
	t.Logf("%-22s link-recall@5 %s  tag-precision@5 %.3f  (of returned %.3f, avg returned %.2f)",
		name, link, q.tagPrecision, q.tagReturned, q.avgReturned)
	return q
}

// TestQualityGoblog measures relatedness on The Go Blog corpus, each measure
// with the signal it judges hidden from the index (see issue 8), against
// TF-IDF and BM25 baselines computed in the same run.
func TestQualityGoblog(t *testing.T) {
	posts := loadCorpus(t)
	withLinks, withTags := 0, 0
	for _, p := range posts {
		if len(p.Links) > 0 {
			withLinks++
		}
		if len(p.Tags) > 0 {
			withTags++
		}
	}
	t.Logf("corpus: %d posts, %d with links, %d with tags", len(posts), withLinks, withTags)

	tfidf := evaluate(t, posts, "baseline TF-IDF", tfidfRanker, hideLinks, hideTags)
	bm25 := evaluate(t, posts, "baseline BM25", bm25Ranker, hideLinks, hideTags)
	eng := evaluate(t, posts, "engine", engineRanker, hideLinks, hideTags)
	text := evaluate(t, posts, "engine, text only", engineRanker, textOnly)
	// The same text as the tag-precision run of "engine" (anchor text
	// kept) but no links: what the links add to tag-precision.
	noLinks := evaluate(t, posts, "engine, no tags/links", engineRanker, noSignals)

	for _, b := range []struct {
		name string
		q    quality
	}{{"TF-IDF", tfidf}, {"BM25", bm25}} {
		if eng.linkRecall <= b.q.linkRecall {
			t.Errorf("engine link-recall@5 %.3f does not beat %s %.3f", eng.linkRecall, b.name, b.q.linkRecall)
		}
		if eng.tagPrecision <= b.q.tagPrecision {
			t.Errorf("engine tag-precision@5 %.3f does not beat %s %.3f", eng.tagPrecision, b.name, b.q.tagPrecision)
		}
	}
	for _, b := range []struct {
		name string
		q    quality
	}{{"TF-IDF", tfidf}, {"BM25", bm25}} {
		if text.linkRecall <= b.q.linkRecall {
			t.Errorf("text-only engine link-recall@5 %.3f does not beat %s %.3f", text.linkRecall, b.name, b.q.linkRecall)
		}
		if text.tagPrecision <= b.q.tagPrecision {
			t.Errorf("text-only engine tag-precision@5 %.3f does not beat %s %.3f", text.tagPrecision, b.name, b.q.tagPrecision)
		}
	}
	// Each signal helps or is neutral: categories must not lower
	// link-recall (same text, tags present vs absent), links must not lower
	// tag-precision (same text, links present vs absent).
	if eng.linkRecall < text.linkRecall {
		t.Errorf("categories lower link-recall@5: %.3f with, %.3f without", eng.linkRecall, text.linkRecall)
	}
	if eng.tagPrecision < noLinks.tagPrecision {
		t.Errorf("links lower tag-precision@5: %.3f with, %.3f without", eng.tagPrecision, noLinks.tagPrecision)
	}
}
