package related

import (
	"math"
	"strconv"
	"strings"

	"github.com/newsbot/newsbot/articles"
)

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
