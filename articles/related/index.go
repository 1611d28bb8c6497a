// Package related finds the articles related to an article, a title or a
// free-text query: the "Also Read" lists of news posts and of /related.
//
// The index is in memory. Each article contributes its text (title words
// count three times, folded, stop words dropped, Porter2-stemmed) to
// postings lists and to its own sparse vector, its title words, its
// categories and the links it makes.
//
// Relatedness of two articles: the cosine of their full log-tf·idf text
// vectors (every term of both, not a truncated profile: measured better),
// plus a fifth of the cosine of their titles; then shared categories
// (IDF-weighted cosine) raise it by up to a tenth, links by up to an
// eighth (a direct link either way fully, links to the same pages or from
// the same pages by their cosine), and closeness in time by up to 5%.
// Categories and links confirm the text rather than stand alone, and
// mildly: measured on the goblog corpus with the judged signal hidden,
// additive scores or larger weights lowered the other measure (tags are not
// what articles link to, links are not what shares a tag). It is computed
// in two phases: candidates from the postings of the query article's
// heaviest terms (bounded work), then every signal for the best hundred
// candidates from their own vectors.
//
// A corpus that offers text alone (hardly any article with categories or
// links, most articles short: a news wire) is ranked differently: BM25 over
// all of the query article's terms, then again with the query expanded by
// the strong terms of its best results (textrank.go; measured better than
// the cosine there, and worse on long blog posts).
//
// Free text is scored with BM25 (k1 1.2, b 0.75) and the same freshness
// factor relative to the newest article.
//
// A hit must score at least a fifth of the best hit, and an absolute floor
// (cosine 0.05; for free text 15% of the score of an ideal match), so weak
// matches are left out rather than filling five slots.
//
// Query understands, in order: "" (the newest article), "id:N" (the article
// with store ID N, as autocomplete values use it), an http(s) URL or
// "host/path" (any variant: tracking parameters, trailing slash, http or
// https, www), an exact title (case- and accent-insensitive), and otherwise
// free text.
package related

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/newsbot/newsbot/articles"
)

// Hit is one related article, best first in a result.
type Hit struct {
	ID        int64
	Title     string
	URL       string
	Published time.Time
	Score     float64
}

// Suggestion is one autocomplete choice: Name is shown, Value is what Query
// receives when it is picked (both at most 100 characters).
type Suggestion struct {
	Name  string
	Value string
}

const (
	titleBoost   = 3    // a title word counts as this many body words
	summaryBoost = 2    // a word of a written summary (not the text's own start)
	queryTerms   = 1000 // heaviest terms of an article it is compared on (in practice all)
	maxTF        = math.MaxUint16
)

// doc is one indexed article (a slot; a replaced article leaves a dead slot
// that the next refresh compacts out of the postings).
type doc struct {
	id        int64
	title     string
	url       string
	key       string // urlKey of url
	titleKey  string // fold(title)
	published time.Time
	vec       []termTF // text vector, sorted by term
	tterms    []uint32 // distinct terms of the title
	cats      []uint32
	out       []uint32 // link targets, deduplicated
	self      int32    // target id of the article's own URL, -1 without URL
}

type termTF struct {
	term uint32
	tf   uint16
}

type postings struct {
	docs []uint32
	tfs  []uint16
}

// Index is an in-memory relatedness index. It is safe for concurrent use.
type Index struct {
	mu sync.RWMutex

	docs  []doc
	norm  []float32 // cosine norm of the text vector, per slot
	dl    []float32 // weighted text length, per slot
	dead  []bool
	pubs  []int64 // unix seconds, per slot
	byID  map[int64]uint32
	byURL map[string]uint32   // urlKey -> newest live slot
	title map[string][]uint32 // titleKey -> live slots

	terms    map[string]uint32
	post     []postings
	tpost    [][]uint32 // term -> slots with it in the title
	df       []int32
	idfs     []float64 // idf per term as of the last refresh (see idf)
	totalLen float64
	live     int
	normN    int // live count at the last refresh
	deadN    int // dead slots not yet compacted out of the postings
	maxID    int64
	newest   int32 // slot of the newest live article, -1 when empty

	cats    map[string]uint32
	catPost [][]uint32
	catDF   []int32

	targets     map[string]uint32 // urlKey -> target id
	inlinks     [][]uint32        // target -> slots linking to it
	targetOwner []int32           // target -> slot whose URL it is, -1

	offers offers // what the corpus offers besides text (see textrank.go)

	version uint64 // bumped by every change, for the completion snapshot
	comp    compState
	pool    sync.Pool
}

// New returns an empty index.
func New() *Index {
	return &Index{
		byID:    map[int64]uint32{},
		byURL:   map[string]uint32{},
		title:   map[string][]uint32{},
		terms:   map[string]uint32{},
		cats:    map[string]uint32{},
		targets: map[string]uint32{},
		newest:  -1,
	}
}

// Len returns the number of articles indexed.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.live
}

// MaxID returns the highest article ID indexed (0 when empty).
func (ix *Index) MaxID() int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.maxID
}

// Sync adds the stored articles whose ID is above the highest one indexed.
// Articles are analysed (tokenised, stemmed) in parallel batches and added
// in ID order.
func (ix *Index) Sync(ctx context.Context, r articles.ArticleReader) error {
	batch := make([]articles.Article, 0, syncBatch)
	err := r.EachArticle(ctx, ix.MaxID(), func(a articles.Article) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch = append(batch, a)
		if len(batch) == syncBatch {
			ix.addBatch(batch)
			batch = batch[:0]
		}
		return nil
	})
	if err == nil {
		ix.addBatch(batch)
	}
	if err != nil {
		return fmt.Errorf("related: sync: %w", err)
	}
	ix.Prepare()
	return nil
}

const syncBatch = 256

func (ix *Index) addBatch(batch []articles.Article) {
	ans := make([]analysed, len(batch))
	workers := min(runtime.GOMAXPROCS(0), len(batch))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(batch); i += workers {
				ans[i] = analyse(batch[i])
			}
		}(w)
	}
	wg.Wait()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for i, a := range batch {
		ix.add(a, ans[i])
	}
}

// Add indexes a; an article with the same ID replaces the earlier one.
// Articles with ID 0 get no ID lookup but are otherwise indexed.
func (ix *Index) Add(a articles.Article) {
	an := analyse(a)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.add(a, an)
}

// add indexes a, analysed as an; ix.mu must be locked.
func (ix *Index) add(a articles.Article, an analysed) {
	ix.version++
	if a.ID != 0 {
		if old, ok := ix.byID[a.ID]; ok {
			ix.remove(old)
		}
	}
	slot := uint32(len(ix.docs))
	d := doc{
		id: a.ID, title: a.Title, url: a.URL, key: an.key, titleKey: an.titleKey,
		published: a.Published, self: -1,
	}
	ix.live++
	ix.offers.add(an)
	for t, n := range an.tf {
		id, ok := ix.terms[t]
		if !ok {
			id = uint32(len(ix.post))
			ix.terms[t] = id
			ix.post = append(ix.post, postings{})
			ix.tpost = append(ix.tpost, nil)
			ix.df = append(ix.df, 0)
		}
		p := &ix.post[id]
		p.docs = append(p.docs, slot)
		p.tfs = append(p.tfs, uint16(min(n, maxTF)))
		ix.df[id]++
		d.vec = append(d.vec, termTF{id, uint16(min(n, maxTF))})
	}
	ix.totalLen += an.length
	for _, t := range an.title {
		id := ix.terms[t]
		d.tterms = append(d.tterms, id)
		ix.tpost[id] = append(ix.tpost[id], slot)
	}
	var norm float64
	for _, t := range d.vec {
		w := logTF(t.tf) * ix.idf(t.term)
		norm += w * w
	}
	d.vec = byTerm(d.vec)
	for _, c := range an.cats {
		id, ok := ix.cats[c]
		if !ok {
			id = uint32(len(ix.catPost))
			ix.cats[c] = id
			ix.catPost = append(ix.catPost, nil)
			ix.catDF = append(ix.catDF, 0)
		}
		ix.catPost[id] = append(ix.catPost[id], slot)
		ix.catDF[id]++
		d.cats = append(d.cats, id)
	}
	if an.key != "" {
		t := ix.target(an.key)
		d.self = int32(t)
		ix.targetOwner[t] = int32(slot)
		ix.byURL[an.key] = slot
	}
	for _, k := range an.links {
		t := ix.target(k)
		d.out = append(d.out, t)
		ix.inlinks[t] = append(ix.inlinks[t], slot)
	}
	sortIDs(d.tterms)
	sortIDs(d.cats)
	sortIDs(d.out)
	ix.docs = append(ix.docs, d)
	ix.norm = append(ix.norm, float32(math.Sqrt(norm)))
	ix.dl = append(ix.dl, float32(an.length))
	ix.dead = append(ix.dead, false)
	ix.pubs = append(ix.pubs, a.Published.Unix())
	if a.ID != 0 {
		ix.byID[a.ID] = slot
		ix.maxID = max(ix.maxID, a.ID)
	}
	ix.title[an.titleKey] = append(ix.title[an.titleKey], slot)
	if ix.newest < 0 || ix.newer(slot, uint32(ix.newest)) {
		ix.newest = int32(slot)
	}
	if ix.live >= 64 && float64(ix.live) > 1.25*float64(ix.normN) || ix.deadN > 16+ix.live/8 {
		ix.refresh()
	}
}

func (ix *Index) newer(a, b uint32) bool {
	if ix.pubs[a] != ix.pubs[b] {
		return ix.pubs[a] > ix.pubs[b]
	}
	return ix.docs[a].id > ix.docs[b].id
}

func (ix *Index) target(key string) uint32 {
	t, ok := ix.targets[key]
	if !ok {
		t = uint32(len(ix.inlinks))
		ix.targets[key] = t
		ix.inlinks = append(ix.inlinks, nil)
		ix.targetOwner = append(ix.targetOwner, -1)
	}
	return t
}

// remove marks slot dead and takes it out of every structure that is kept
// exact; text postings and document frequencies are fixed by refresh.
func (ix *Index) remove(slot uint32) {
	d := &ix.docs[slot]
	ix.dead[slot] = true
	ix.live--
	ix.offers.remove(d, float64(ix.dl[slot]))
	ix.totalLen -= float64(ix.dl[slot])
	delete(ix.byID, d.id)
	for _, c := range d.cats {
		ix.catPost[c] = without(ix.catPost[c], slot)
		ix.catDF[c]--
	}
	for _, t := range d.out {
		ix.inlinks[t] = without(ix.inlinks[t], slot)
	}
	for _, t := range d.tterms {
		ix.tpost[t] = without(ix.tpost[t], slot)
	}
	if d.self >= 0 && ix.targetOwner[d.self] == int32(slot) {
		ix.targetOwner[d.self] = -1
		delete(ix.byURL, d.key)
	}
	ix.title[d.titleKey] = without(ix.title[d.titleKey], slot)
	if len(ix.title[d.titleKey]) == 0 {
		delete(ix.title, d.titleKey)
	}
	ix.deadN++
	if ix.newest == int32(slot) {
		ix.newest = -1
		for s := range ix.docs {
			if !ix.dead[s] && (ix.newest < 0 || ix.newer(uint32(s), uint32(ix.newest))) {
				ix.newest = int32(s)
			}
		}
	}
}

func without(s []uint32, v uint32) []uint32 {
	for i, x := range s {
		if x == v {
			return append(s[:i], s[i+1:]...)
		}
	}
	return s
}

// refresh recomputes what depends on corpus-wide statistics: document
// frequencies (dropping dead slots from the postings) and text norms. It
// runs when the corpus has grown by a quarter (or many articles were
// replaced), so its cost is amortised.
func (ix *Index) refresh() {
	ix.normN = ix.live
	if ix.deadN > 0 {
		for t := range ix.post {
			p := &ix.post[t]
			j := 0
			for i, s := range p.docs {
				if !ix.dead[s] {
					p.docs[j], p.tfs[j] = s, p.tfs[i]
					j++
				}
			}
			p.docs, p.tfs = p.docs[:j], p.tfs[:j]
			ix.df[t] = int32(j)
		}
		for s, d := range ix.dead {
			if d {
				ix.docs[s].vec = nil
			}
		}
		ix.deadN = 0
	}
	ix.idfs = ix.idfs[:0]
	idf := make([]float64, len(ix.post))
	for t := range idf {
		idf[t] = ix.idf(uint32(t))
	}
	ix.idfs = idf
	for s := range ix.docs {
		var n float64
		for _, t := range ix.docs[s].vec {
			w := logTF(t.tf) * idf[t.term]
			n += w * w
		}
		ix.norm[s] = float32(math.Sqrt(n))
	}
}

func byTerm(l []termTF) []termTF {
	sort.Slice(l, func(i, j int) bool { return l[i].term < l[j].term })
	return l
}

func sortIDs(l []uint32) { slices.Sort(l) }

// heaviest returns the k terms of l with the highest log-tf·idf weight, in a
// new slice (or l itself, reordered, when it is short).
func (ix *Index) heaviest(l []termTF, k int) []termTF {
	type weighted struct {
		termTF
		w float64
	}
	ws := make([]weighted, len(l))
	for i, t := range l {
		ws[i] = weighted{t, logTF(t.tf) * ix.idf(t.term)}
	}
	slices.SortFunc(ws, func(a, b weighted) int {
		if a.w != b.w {
			if a.w > b.w {
				return -1
			}
			return 1
		}
		return int(a.term) - int(b.term)
	})
	out := make([]termTF, min(k, len(ws)))
	for i := range out {
		out[i] = ws[i].termTF
	}
	return out
}

// idf is the smoothed inverse document frequency used by the cosines
// (measured better than log(N/df) on the corpus and never 0). It is cached
// at each refresh: between two, the corpus grows by at most a quarter, so
// the cached value stays close.
func (ix *Index) idf(t uint32) float64 {
	if int(t) < len(ix.idfs) {
		return ix.idfs[t]
	}
	df := max(float64(ix.df[t]), 1)
	return math.Log(1 + float64(max(ix.live, 1))/df)
}

var logTFTable = func() [64]float64 {
	var t [64]float64
	for i := 1; i < len(t); i++ {
		t[i] = 1 + math.Log(float64(i))
	}
	return t
}()

func logTF(tf uint16) float64 {
	if int(tf) < len(logTFTable) {
		return logTFTable[tf]
	}
	return 1 + math.Log(float64(tf))
}
