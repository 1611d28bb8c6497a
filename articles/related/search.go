package related

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/newsbot/newsbot/articles"
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

// MaxResults caps n in Related, RelatedTo and Query.
const MaxResults = 50

// query is what an article is compared on.
type query struct {
	terms  []termTF
	tterms []uint32
	qnorm  float64
	cats   []uint32
	out    []uint32
	unseen []uint16 // tf of each of its terms the index does not hold
	self   int32    // target id of its URL, -1
	slot   int32    // its slot when indexed, -1
	id     int64
	key    string
	pub    int64
}

// Related returns up to n articles related to the indexed article id, best
// first, never the article itself; nil when id is unknown.
func (ix *Index) Related(id int64, n int) []Hit {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s, ok := ix.byID[id]
	if !ok {
		return nil
	}
	return ix.relatedSlot(s, n)
}

// RelatedTo returns up to n indexed articles related to a, which need not be
// indexed (a new post about to be sent); a itself (same ID or URL) is never
// returned.
func (ix *Index) RelatedTo(a articles.Article, n int) []Hit {
	an := analyse(a)
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if s, ok := ix.byID[a.ID]; ok && a.ID != 0 {
		return ix.relatedSlot(s, n)
	}
	q := query{self: -1, slot: -1, id: a.ID, key: an.key, pub: a.Published.Unix()}
	var norm float64
	for t, tf := range an.tf {
		tf16 := uint16(min(tf, maxTF))
		id, ok := ix.terms[t]
		idf := math.Log(1 + float64(ix.live+1))
		if ok {
			idf = ix.idf(id)
			q.terms = append(q.terms, termTF{id, tf16})
		} else {
			q.unseen = append(q.unseen, tf16)
		}
		w := logTF(tf16) * idf
		norm += w * w
	}
	q.qnorm = math.Sqrt(norm)
	for _, t := range an.title {
		if id, ok := ix.terms[t]; ok {
			q.tterms = append(q.tterms, id)
		}
	}
	for _, c := range an.cats {
		if id, ok := ix.cats[c]; ok {
			q.cats = append(q.cats, id)
		}
	}
	for _, k := range an.links {
		if t, ok := ix.targets[k]; ok {
			q.out = append(q.out, t)
		}
	}
	sortIDs(q.tterms)
	sortIDs(q.cats)
	sortIDs(q.out)
	if t, ok := ix.targets[an.key]; ok && an.key != "" {
		q.self = int32(t)
	}
	return ix.related(&q, n)
}

func (ix *Index) relatedSlot(s uint32, n int) []Hit {
	d := &ix.docs[s]
	q := query{
		terms: d.vec, tterms: d.tterms, qnorm: float64(ix.norm[s]), cats: d.cats, out: d.out,
		self: d.self, slot: int32(s), id: d.id, key: d.key, pub: ix.pubs[s],
	}
	return ix.related(&q, n)
}

// Query answers /related: an article URL (any variant) or "id:N" or an
// exact title (case- and accent-insensitive) gives the articles related to
// that article; "" those related to the newest article; anything else is a
// free-text search. A URL of an article not indexed is searched by the
// words of its path.
func (ix *Index) Query(q string, n int) []Hit {
	hits, _, _ := ix.Resolve(q, n)
	return hits
}

// Resolve is Query that also returns the article the query named (URL,
// id, title or the newest article); ok is false for a free-text search.
func (ix *Index) Resolve(q string, n int) (hits []Hit, named Hit, ok bool) {
	q = strings.TrimSpace(q)
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	slot, found, text := ix.lookup(q)
	if found {
		d := &ix.docs[slot]
		return ix.relatedSlot(slot, n), Hit{ID: d.id, Title: d.title, URL: d.url, Published: d.published}, true
	}
	return ix.search(text, n), Hit{}, false
}

// lookup finds the article q names; otherwise it returns the text to search.
func (ix *Index) lookup(q string) (slot uint32, found bool, text string) {
	if q == "" {
		if ix.newest < 0 {
			return 0, false, ""
		}
		return uint32(ix.newest), true, ""
	}
	if rest, ok := cutPrefixFold(q, "id:"); ok {
		if id, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64); err == nil {
			if s, ok := ix.byID[id]; ok {
				return s, true, ""
			}
			return 0, false, ""
		}
	}
	if raw, ok := asURL(q); ok {
		if s, ok := ix.byURL[urlKey(raw)]; ok {
			return s, true, ""
		}
		// An article the index does not hold: its slug still says what it
		// is about.
		path := raw
		if i := strings.Index(raw, "://"); i >= 0 {
			path = raw[i+3:]
		}
		if i := strings.IndexByte(path, '/'); i >= 0 {
			path = path[i:]
		} else {
			path = ""
		}
		if i := strings.IndexAny(path, "?#"); i >= 0 {
			path = path[:i]
		}
		return 0, false, path
	}
	if slots := ix.title[fold(q)]; len(slots) > 0 {
		best := slots[0]
		for _, s := range slots[1:] {
			if ix.newer(s, best) {
				best = s
			}
		}
		return best, true, ""
	}
	return 0, false, q
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// asURL reports whether q is meant as a link: an http(s) URL, or a host with
// a dot followed by a path ("example.com/post").
func asURL(q string) (string, bool) {
	if strings.ContainsAny(q, " \t\n") {
		return "", false
	}
	l := strings.ToLower(q)
	if strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
		return q, true
	}
	host, _, hasPath := strings.Cut(q, "/")
	if hasPath && strings.Contains(host, ".") && !strings.Contains(host, ":") {
		return "https://" + q, true
	}
	return "", false
}

// Newest returns the newest indexed article.
func (ix *Index) Newest() (Hit, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.newest < 0 {
		return Hit{}, false
	}
	d := &ix.docs[ix.newest]
	return Hit{ID: d.id, Title: d.title, URL: d.url, Published: d.published}, true
}

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
	a.epoch++
	if a.epoch == 0 {
		clear(a.slots)
		a.epoch = 1
	}
	a.touched = a.touched[:0]
	a.cands = a.cands[:0]
	return a
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

func (ix *Index) bm25IDF(t uint32) float64 {
	df := float64(ix.df[t])
	return math.Log(1 + (float64(ix.live)-df+0.5)/(df+0.5))
}
