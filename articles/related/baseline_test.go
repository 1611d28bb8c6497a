package related_test

import (
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/related"
)

// The text baselines rank the stored articles (title twice and text,
// lowercased, split on non-alphanumerics, English stop words and
// one-letter tokens dropped, no stemming) against each other.

type baseline struct {
	urls  []string // canonical URL per article
	vecs  [][]termCount
	df    []int
	post  [][]termCount // term -> (article, tf)
	lens  []float64
	avgdl float64
}

type termCount struct {
	id int // a term (in vecs) or an article (in post)
	tf float64
}

func newBaseline(arts []articles.Article) *baseline {
	b := &baseline{}
	ids := map[string]int{}
	for i, a := range arts {
		b.urls = append(b.urls, articles.CanonicalURL(a.URL))
		tf := map[int]int{}
		var l float64
		s := strings.ToLower(a.Title + " " + a.Title + " " + a.Text)
		for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if len([]rune(w)) < 2 || related.StopWords[w] {
				continue
			}
			id, ok := ids[w]
			if !ok {
				id = len(ids)
				ids[w] = id
				b.df = append(b.df, 0)
				b.post = append(b.post, nil)
			}
			tf[id]++
			l++
		}
		var vec []termCount
		for t, n := range tf {
			b.df[t]++
			b.post[t] = append(b.post[t], termCount{i, float64(n)})
			vec = append(vec, termCount{t, float64(n)})
		}
		slices.SortFunc(vec, func(x, y termCount) int { return x.id - y.id })
		b.vecs = append(b.vecs, vec)
		b.lens = append(b.lens, l)
		b.avgdl += l
	}
	b.avgdl /= float64(max(1, len(arts)))
	return b
}

func (b *baseline) idf(t int) float64 {
	return math.Log(float64(len(b.vecs)) / float64(b.df[t]))
}

func (b *baseline) top(scores []float64, self, k int) []string {
	var idx []int
	for i, s := range scores {
		if i != self && s > 0 {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(x, y int) int {
		switch {
		case scores[x] > scores[y]:
			return -1
		case scores[x] < scores[y]:
			return 1
		}
		return 0
	})
	out := make([]string, 0, k)
	for _, i := range idx[:min(k, len(idx))] {
		out = append(out, b.urls[i])
	}
	return out
}

// tfidf ranks by the cosine of log-tf·idf vectors.
func (b *baseline) tfidf() ranker {
	norms := make([]float64, len(b.vecs))
	for i, v := range b.vecs {
		for _, t := range v {
			w := (1 + math.Log(t.tf)) * b.idf(t.id)
			norms[i] += w * w
		}
		norms[i] = math.Sqrt(norms[i])
	}
	scores := make([]float64, len(b.vecs))
	return func(q, k int) []string {
		clear(scores)
		for _, t := range b.vecs[q] {
			idf := b.idf(t.id)
			w := (1 + math.Log(t.tf)) * idf
			for _, p := range b.post[t.id] {
				scores[p.id] += w * (1 + math.Log(p.tf)) * idf
			}
		}
		for i := range scores {
			if norms[i] > 0 && norms[q] > 0 {
				scores[i] /= norms[q] * norms[i]
			}
		}
		return b.top(scores, q, k)
	}
}

// bm25 ranks by BM25 (k1 1.2, b 0.75) with the query article's heaviest
// (log-tf·idf) terms, at most terms of them (0: all).
func (b *baseline) bm25(terms int) ranker {
	scores := make([]float64, len(b.vecs))
	return func(q, k int) []string {
		v := slices.Clone(b.vecs[q])
		w := func(t termCount) float64 { return (1 + math.Log(t.tf)) * b.idf(t.id) }
		slices.SortFunc(v, func(x, y termCount) int {
			switch wx, wy := w(x), w(y); {
			case wx > wy:
				return -1
			case wx < wy:
				return 1
			}
			return x.id - y.id
		})
		if terms > 0 && len(v) > terms {
			v = v[:terms]
		}
		b.bm25Scores(scores, v, false)
		return b.top(scores, q, k)
	}
}

// bm25Scores sets scores to each article's BM25 (k1 1.2, b 0.75) for the
// query terms v, each counted once or, with counts, as often as it occurs.
func (b *baseline) bm25Scores(scores []float64, v []termCount, counts bool) {
	const k1, bb = 1.2, 0.75
	n := float64(len(b.vecs))
	clear(scores)
	for _, t := range v {
		df := float64(b.df[t.id])
		w := math.Log(1 + (n-df+0.5)/(df+0.5))
		if counts {
			w *= t.tf
		}
		for _, p := range b.post[t.id] {
			scores[p.id] += w * p.tf * (k1 + 1) / (p.tf + k1*(1-bb+bb*b.lens[p.id]/b.avgdl))
		}
	}
}

// bm25Counts ranks by BM25 with all of the query article's terms, each as
// often as it occurs (the article's whole text as the query, as a BM25
// library does with a token list).
func (b *baseline) bm25Counts() ranker {
	scores := make([]float64, len(b.vecs))
	return func(q, k int) []string {
		b.bm25Scores(scores, b.vecs[q], true)
		return b.top(scores, q, k)
	}
}
