package related

// Score accumulation per article and the choice of the best.

import (
	"sort"
)

// accum accumulates scores per slot, term-at-a-time. Slots are reset lazily
// with an epoch mark, so a query costs what its postings cost, not the
// index size.
type accum struct {
	epoch   uint32
	slots   []accSlot // per slot; mark and value side by side: one cache line per touch
	touched []uint32
	cands   []cand
	heap    []cand
	qd      []float64 // query term weights by term id (zero elsewhere)
}

type accSlot struct {
	mark uint32
	v    float32
}

type cand struct {
	slot  uint32
	score float64
}

func (ix *Index) getAcc() *accum {
	a, _ := ix.pool.Get().(*accum)
	if a == nil {
		a = &accum{}
	}
	if n := len(ix.docs); len(a.slots) < n {
		a.slots = make([]accSlot, n+n/4)
		a.epoch = 0
	}
	a.reset()
	return a
}

// reset forgets every score (in constant time: a new epoch).
func (a *accum) reset() {
	a.epoch++
	if a.epoch == 0 {
		clear(a.slots)
		a.epoch = 1
	}
	a.touched = a.touched[:0]
	a.cands = a.cands[:0]
}

func (a *accum) add(s uint32, x float32) {
	e := &a.slots[s]
	if e.mark != a.epoch {
		e.mark = a.epoch
		e.v = 0
		a.touched = append(a.touched, s)
	}
	e.v += x
}

func (a *accum) has(s uint32) bool { return a.slots[s].mark == a.epoch }

// best returns the k best candidates, best first (a bounded min-heap).
func (ix *Index) best(cands []cand, k int, buf *[]cand) []cand {
	h := (*buf)[:0]
	less := func(a, b cand) bool { // a worse than b
		if a.score != b.score {
			return a.score < b.score
		}
		return ix.newer(b.slot, a.slot)
	}
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			m := l
			if r := l + 1; r < len(h) && less(h[r], h[l]) {
				m = r
			}
			if !less(h[m], h[i]) {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for _, c := range cands {
		if len(h) < k {
			h = append(h, c)
			for i := len(h) - 1; i > 0; {
				parent := (i - 1) / 2
				if !less(h[i], h[parent]) {
					break
				}
				h[i], h[parent] = h[parent], h[i]
				i = parent
			}
			continue
		}
		if less(h[0], c) {
			h[0] = c
			down(0)
		}
	}
	*buf = h
	out := append([]cand(nil), h...)
	sort.Slice(out, func(i, j int) bool { return less(out[j], out[i]) })
	return out
}

// top returns the n best candidates above the threshold that cut computes
// from the best score, one per URL, none with URL key skip.
func (ix *Index) top(cands []cand, n int, skip string, cut func(best float64) float64) []Hit {
	var buf []cand
	best := ix.best(cands, n+8, &buf)
	if len(best) == 0 {
		return nil
	}
	limit := cut(best[0].score)
	var hits []Hit
	seen := map[string]bool{}
	for _, c := range best {
		if c.score < limit || len(hits) == n {
			break
		}
		d := &ix.docs[c.slot]
		if d.key != "" {
			if d.key == skip || seen[d.key] {
				continue
			}
			seen[d.key] = true
		}
		hits = append(hits, Hit{ID: d.id, Title: d.title, URL: d.url, Published: d.published, Score: c.score})
	}
	return hits
}
