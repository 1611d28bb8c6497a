package related

// Relatedness of two articles (see the package comment): candidates from the
// postings of the query's heaviest terms, then every signal (text and
// title cosines, categories, links, freshness) for the best of them.

import (
	"math"
)

// params are the scoring weights: round values chosen on principle (see
// the package comment), checked against the baselines of quality_test.go,
// not fitted to a corpus.
type params struct {
	queryTerms  int     // heaviest terms of an article it is compared on
	seedTerms   int     // heaviest terms whose postings find candidates
	candidates  int     // candidates re-scored on every signal
	catWeight   float64 // shared categories raise a score by up to this share
	titleWeight float64 // weight of the title cosine
	linkWeight  float64 // links raise a score by up to this share: a direct link (either way) fully, links to or from the same pages by their cosine
	couple      bool    // use links to the same page
	cocite      bool    // use links from the same page
	freshWeight float64 // freshness adds at most this share to a score
	freshDays   float64 // freshness decays over this many days
	ratio       float64 // a hit must score at least ratio * the best
	floor       float64 // ... and at least floor (related articles)
	textFloor   float64 // free text: at least this share of the ideal score
	k1, b       float64 // BM25
}

var defaultParams = params{
	queryTerms:  queryTerms,
	seedTerms:   seedTerms,
	candidates:  candidates,
	catWeight:   0.1,
	titleWeight: 0.2,
	linkWeight:  0.125,
	couple:      true,
	cocite:      true,
	freshWeight: 0.05,
	freshDays:   365,
	ratio:       0.2,
	floor:       0.05,
	textFloor:   0.15,
	k1:          1.2,
	b:           0.75,
}

const (
	seedTerms  = 40     // heaviest query terms whose postings find candidates
	seedBudget = 40_000 // postings read to find candidates, at most (but one term)
	candidates = 100    // candidates re-scored on every signal (see params.candidates)
)

// related scores articles against q in two phases. Candidates: the
// articles that share the query's heaviest terms (term-at-a-time over
// their postings, normalised by article length), plus the articles it links
// with. Re-scoring: for each candidate, the full text cosine (the query's
// weights laid out by term id, so one costs the candidate's length), the
// title and category cosines, and the link signals, from the articles' own
// sorted feature lists, so the cost does not grow with the postings of
// common words.
func (ix *Index) related(q *query, n int) []Hit {
	if n <= 0 || ix.live == 0 {
		return nil
	}
	n = min(n, MaxResults)
	if ix.textAlone() {
		return ix.relatedText(q, n)
	}
	p := &defaultParams
	acc := ix.getAcc()
	defer ix.pool.Put(acc)

	// The query's terms, heaviest first by the current idf, then by id for
	// the merge with candidates.
	terms := ix.heaviest(append([]termTF(nil), q.terms...), p.queryTerms)
	qw := make([]qterm, len(terms))
	for i, t := range terms {
		idf := ix.idf(t.term)
		qw[i] = qterm{t.term, logTF(t.tf) * idf * idf}
	}
	common := int32(ix.live / 10)
	budget := seedBudget
	for i, t := range qw[:min(len(qw), p.seedTerms)] {
		df := int(ix.df[t.term])
		if i > 0 && (df > int(common) && ix.live >= 1000 || df > budget) {
			continue // weak or costly: scored in phase 2 only
		}
		budget -= df
		pl := &ix.post[t.term]
		w := float32(t.w)
		for i, s := range pl.docs {
			acc.add(s, w*float32(logTF(pl.tfs[i])))
		}
	}
	// The query's weights by term id, for the phase 2 dot products: the
	// cost of one is the candidate's length, whatever the query's.
	if len(acc.qd) < len(ix.post) {
		acc.qd = make([]float64, len(ix.post)+len(ix.post)/4)
	}
	for _, t := range qw {
		acc.qd[t.term] = t.w
	}
	defer func() {
		for _, t := range qw {
			acc.qd[t.term] = 0
		}
	}()

	// Phase 1: the best candidates by partial cosine.
	for _, s := range acc.touched {
		if ix.dead[s] || int32(s) == q.slot || ix.norm[s] == 0 {
			continue
		}
		acc.cands = append(acc.cands, cand{s, float64(acc.slots[s].v) / float64(ix.norm[s])})
	}
	cands := ix.best(acc.cands, p.candidates, &acc.heap)

	// Linked articles are candidates too.
	linked := map[uint32]float64{} // slot -> link similarity
	qOut := q.out
	var qlink float64
	for _, t := range qOut {
		li := ix.linkIDF(t)
		qlink += li * li
		if o := ix.targetOwner[t]; o >= 0 {
			linked[uint32(o)] = 1
		}
	}
	qlink = math.Sqrt(qlink)
	cocite := map[uint32]int{}
	qin := 0
	if q.self >= 0 {
		qin = len(ix.inlinks[q.self])
		for _, s := range ix.inlinks[q.self] {
			linked[s] = 1
			if p.cocite {
				for _, t := range ix.docs[s].out {
					if o := ix.targetOwner[t]; o >= 0 {
						cocite[uint32(o)]++
					}
				}
			}
		}
	}
	inCands := func(s uint32) bool {
		for _, c := range cands {
			if c.slot == s {
				return true
			}
		}
		return false
	}
	for s := range linked {
		if !ix.dead[s] && int32(s) != q.slot && !inCands(s) {
			cands = append(cands, cand{slot: s})
		}
	}

	// Phase 2: every signal for each candidate.
	var qcat, qtitle float64
	for _, c := range q.cats {
		ci := ix.catIDF(c)
		qcat += ci * ci
	}
	qcat = math.Sqrt(qcat)
	for _, t := range q.tterms {
		idf := ix.idf(t)
		qtitle += idf * idf
	}
	qtitle = math.Sqrt(qtitle)
	out := acc.cands[:0]
	for _, c := range cands {
		s := c.slot
		d := &ix.docs[s]
		if q.id != 0 && d.id == q.id {
			continue
		}
		var score float64
		if q.qnorm > 0 && ix.norm[s] > 0 {
			score = dot(acc.qd, d.vec) / (q.qnorm * float64(ix.norm[s]))
		}
		if len(q.tterms) > 0 && len(d.tterms) > 0 {
			score += p.titleWeight * ix.titleDot(q.tterms, d.tterms) / (qtitle * ix.titleNorm(s))
		}
		if score <= 0 {
			continue
		}
		if len(q.cats) > 0 && len(d.cats) > 0 {
			if shared := ix.catDot(q.cats, d.cats); shared > 0 {
				score *= 1 + p.catWeight*shared/(qcat*ix.catNorm(s))
			}
		}
		link := linked[s]
		if p.couple && len(qOut) > 0 && len(d.out) > 0 {
			if shared := ix.linkDot(qOut, d.out); shared > 0 {
				link = max(link, shared/(qlink*ix.linkNorm(s)))
			}
		}
		if k := cocite[s]; k > 0 && d.self >= 0 {
			in := len(ix.inlinks[d.self])
			link = max(link, float64(k)/math.Sqrt(float64(qin*in)))
		}
		// Links and categories confirm what the text says rather than
		// stand alone: a linked article that says nothing alike is not what
		// a reader wants next (measured: additive scores lowered precision).
		score *= 1 + p.linkWeight*link
		days := math.Abs(float64(ix.pubs[s]-q.pub)) / 86400
		score *= 1 + p.freshWeight*math.Exp(-days/p.freshDays)
		out = append(out, cand{s, score})
	}
	acc.cands = out
	return ix.top(out, n, q.key, func(best float64) float64 { return max(p.floor, p.ratio*best) })
}

type qterm struct {
	term uint32
	w    float64 // query weight times idf
}

// dot is the text vectors' dot product: the query's weights by term id
// and the candidate's vector.
func dot(qd []float64, d []termTF) float64 {
	var sum float64
	for _, t := range d {
		if w := qd[t.term]; w != 0 {
			sum += w * logTF(t.tf)
		}
	}
	return sum
}

// intersect calls fn for each value in both sorted lists.
func intersect(a, b []uint32, fn func(uint32)) {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			fn(a[i])
			i++
			j++
		}
	}
}

func (ix *Index) titleDot(a, b []uint32) float64 {
	var sum float64
	intersect(a, b, func(t uint32) { idf := ix.idf(t); sum += idf * idf })
	return sum
}

func (ix *Index) catDot(a, b []uint32) float64 {
	var sum float64
	intersect(a, b, func(c uint32) { ci := ix.catIDF(c); sum += ci * ci })
	return sum
}

func (ix *Index) linkDot(a, b []uint32) float64 {
	var sum float64
	intersect(a, b, func(t uint32) { li := ix.linkIDF(t); sum += li * li })
	return sum
}

func (ix *Index) titleNorm(s uint32) float64 {
	var n float64
	for _, t := range ix.docs[s].tterms {
		idf := ix.idf(t)
		n += idf * idf
	}
	return math.Sqrt(n)
}

func (ix *Index) catIDF(c uint32) float64 {
	return math.Log(1 + float64(ix.live)/max(float64(ix.catDF[c]), 1))
}

func (ix *Index) catNorm(s uint32) float64 {
	var n float64
	for _, c := range ix.docs[s].cats {
		ci := ix.catIDF(c)
		n += ci * ci
	}
	return math.Sqrt(n)
}

func (ix *Index) linkIDF(t uint32) float64 {
	return math.Log(1 + float64(ix.live)/max(float64(len(ix.inlinks[t])), 1))
}

func (ix *Index) linkNorm(s uint32) float64 {
	var n float64
	for _, t := range ix.docs[s].out {
		li := ix.linkIDF(t)
		n += li * li
	}
	return math.Sqrt(n)
}
