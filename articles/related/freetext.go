package related

// Free-text search: BM25 over the words of the query.

import (
	"math"
	"sort"
)

// search scores free text with BM25 (title words count titleBoost times).
// Terms are taken rarest first; the postings of common terms (in more than
// a tenth of the articles) only add to articles a rarer term found, unless
// every term is common.
func (ix *Index) search(text string, n int) []Hit {
	if n <= 0 || ix.live == 0 {
		return nil
	}
	n = min(n, MaxResults)
	p := &defaultParams
	qtf := map[uint32]int{}
	tokens(text, func(t string) {
		if id, ok := ix.terms[t]; ok && ix.df[id] > 0 {
			qtf[id]++
		}
	})
	if len(qtf) == 0 {
		return nil
	}
	type qt struct {
		term uint32
		w    float64
	}
	var qs []qt
	var ideal float64
	for t, c := range qtf {
		w := ix.bm25IDF(t) * float64(c)
		qs = append(qs, qt{t, w})
		ideal += w * (p.k1 + 1)
	}
	sort.Slice(qs, func(i, j int) bool {
		if ix.df[qs[i].term] != ix.df[qs[j].term] {
			return ix.df[qs[i].term] < ix.df[qs[j].term]
		}
		return qs[i].term < qs[j].term
	})
	if len(qs) > p.queryTerms {
		qs = qs[:p.queryTerms]
	}
	acc := ix.getAcc()
	defer ix.pool.Put(acc)
	avgdl := float32(ix.totalLen / float64(ix.live))
	k1, b := float32(p.k1), float32(p.b)
	common := int32(ix.live / 10)
	for i, q := range qs {
		pl := &ix.post[q.term]
		w := float32(q.w * (p.k1 + 1))
		if i == 0 || ix.df[q.term] <= common {
			for j, s := range pl.docs {
				tf := float32(pl.tfs[j])
				acc.add(s, w*tf/(tf+k1*(1-b+b*ix.dl[s]/avgdl)))
			}
			continue
		}
		for j, s := range pl.docs {
			if acc.has(s) {
				tf := float32(pl.tfs[j])
				acc.slots[s].v += w * tf / (tf + k1*(1-b+b*ix.dl[s]/avgdl))
			}
		}
	}
	var newest int64
	if ix.newest >= 0 {
		newest = ix.pubs[ix.newest]
	}
	for _, s := range acc.touched {
		if ix.dead[s] {
			continue
		}
		score := float64(acc.slots[s].v)
		days := math.Max(0, float64(newest-ix.pubs[s])/86400)
		score *= 1 + p.freshWeight*math.Exp(-days/p.freshDays)
		acc.cands = append(acc.cands, cand{s, score})
	}
	return ix.top(acc.cands, n, "", func(best float64) float64 { return max(p.textFloor*ideal, p.ratio*best) })
}

func (ix *Index) bm25IDF(t uint32) float64 {
	df := float64(ix.df[t])
	return math.Log(1 + (float64(ix.live)-df+0.5)/(df+0.5))
}
