package related

import (
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/newsbot/newsbot/articles"
)

// MaxSuggestions is the most suggestions Complete returns (Discord's limit).
const MaxSuggestions = 25

// maxChoiceLen is Discord's limit on an autocomplete choice's name and value.
const maxChoiceLen = 100

// maxWordScan bounds the work of one word-prefix lookup.
const maxWordScan = 4096

// compState holds the completion snapshot: titles and title words sorted
// for binary search. Articles added after it are scanned linearly until
// there are enough of them to rebuild.
type compState struct {
	mu   sync.Mutex
	snap atomic.Pointer[compSnap]
}

type compSnap struct {
	upto   int      // slots below upto are in the snapshot
	titles []uint32 // live slots by titleKey, then newest first
	words  []wordEntry
	byDate []uint32 // live slots, newest first
}

type wordEntry struct {
	word string // a word of the slot's titleKey
	slot uint32
}

const maxTail = 1024

// snapshot returns a completion snapshot, rebuilding it when too many
// articles were added since. ix.mu must be read-locked.
func (ix *Index) snapshot() *compSnap {
	if s := ix.comp.snap.Load(); s != nil && len(ix.docs)-s.upto <= maxTail {
		return s
	}
	ix.comp.mu.Lock()
	defer ix.comp.mu.Unlock()
	if s := ix.comp.snap.Load(); s != nil && len(ix.docs)-s.upto <= maxTail {
		return s
	}
	s := &compSnap{upto: len(ix.docs)}
	for slot := range ix.docs {
		if ix.dead[slot] {
			continue
		}
		s.titles = append(s.titles, uint32(slot))
		s.byDate = append(s.byDate, uint32(slot))
		seen := map[string]bool{}
		for _, w := range titleWords(ix.docs[slot].titleKey) {
			if !seen[w] {
				seen[w] = true
				s.words = append(s.words, wordEntry{w, uint32(slot)})
			}
		}
	}
	sort.Slice(s.titles, func(i, j int) bool {
		a, b := s.titles[i], s.titles[j]
		if ix.docs[a].titleKey != ix.docs[b].titleKey {
			return ix.docs[a].titleKey < ix.docs[b].titleKey
		}
		return ix.newer(a, b)
	})
	sort.Slice(s.byDate, func(i, j int) bool { return ix.newer(s.byDate[i], s.byDate[j]) })
	sort.Slice(s.words, func(i, j int) bool {
		a, b := s.words[i], s.words[j]
		if a.word != b.word {
			return a.word < b.word
		}
		return ix.newer(a.slot, b.slot)
	})
	ix.comp.snap.Store(s)
	return s
}

// Prepare builds what Complete needs now rather than at its first call.
func (ix *Index) Prepare() {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	ix.snapshot()
}

// titleWords splits a folded title into its words (letters and digits).
func titleWords(key string) []string {
	return strings.FieldsFunc(key, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// Complete returns up to n (at most 25) titles matching what was typed:
// titles that start with it first, then titles with a word starting with
// each typed word; case and accents are ignored. "" gives the newest
// articles. A Suggestion's Value makes Query answer for that very article:
// the title when it is unique and short enough, else "id:N".
func (ix *Index) Complete(prefix string, n int) []Suggestion {
	n = min(n, MaxSuggestions)
	if n <= 0 {
		return nil
	}
	p := fold(prefix)
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.live == 0 {
		return nil
	}
	snap := ix.snapshot()
	var slots []uint32
	taken := func(s uint32) bool {
		for _, x := range slots {
			if x == s {
				return true
			}
		}
		return false
	}
	addSlot := func(s uint32) bool {
		if !ix.dead[s] && !taken(s) {
			slots = append(slots, s)
		}
		return len(slots) >= n
	}
	tail := func(match func(uint32) bool) bool {
		for s := snap.upto; s < len(ix.docs); s++ {
			if match(uint32(s)) && addSlot(uint32(s)) {
				return true
			}
		}
		return false
	}

	if p == "" {
		// Newest first: the tail is newer than most of the snapshot, so
		// merge by date.
		var tl []uint32
		for s := snap.upto; s < len(ix.docs); s++ {
			if !ix.dead[s] {
				tl = append(tl, uint32(s))
			}
		}
		sort.Slice(tl, func(i, j int) bool { return ix.newer(tl[i], tl[j]) })
		i, j := 0, 0
		for len(slots) < n && (i < len(snap.byDate) || j < len(tl)) {
			if j >= len(tl) || (i < len(snap.byDate) && ix.newer(snap.byDate[i], tl[j])) {
				addSlot(snap.byDate[i])
				i++
			} else {
				addSlot(tl[j])
				j++
			}
		}
		return ix.suggestions(slots)
	}

	// 1. Titles that start with the typed text.
	lo := sort.Search(len(snap.titles), func(i int) bool { return ix.docs[snap.titles[i]].titleKey >= p })
	full := false
	for i := lo; i < len(snap.titles) && !full; i++ {
		if !strings.HasPrefix(ix.docs[snap.titles[i]].titleKey, p) {
			break
		}
		full = addSlot(snap.titles[i])
	}
	if !full {
		full = tail(func(s uint32) bool { return strings.HasPrefix(ix.docs[s].titleKey, p) })
	}
	// 2. Titles with a word starting with each typed word.
	qw := titleWords(p)
	if full || len(qw) == 0 {
		return ix.suggestions(slots)
	}
	matches := func(s uint32) bool {
		tw := titleWords(ix.docs[s].titleKey)
		for _, w := range qw {
			ok := false
			for _, t := range tw {
				if strings.HasPrefix(t, w) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		}
		return true
	}
	// Walk the narrowest word range.
	bestLo, bestHi := 0, -1
	for _, w := range qw {
		lo := sort.Search(len(snap.words), func(i int) bool { return snap.words[i].word >= w })
		hi := lo + sort.Search(len(snap.words)-lo, func(i int) bool { return !strings.HasPrefix(snap.words[lo+i].word, w) })
		if bestHi < 0 || hi-lo < bestHi-bestLo {
			bestLo, bestHi = lo, hi
		}
	}
	for i := bestLo; i < bestHi && i < bestLo+maxWordScan; i++ {
		s := snap.words[i].slot
		if (len(qw) == 1 || matches(s)) && addSlot(s) {
			return ix.suggestions(slots)
		}
	}
	tail(matches)
	return ix.suggestions(slots)
}

func (ix *Index) suggestions(slots []uint32) []Suggestion {
	out := make([]Suggestion, 0, len(slots))
	for _, s := range slots {
		d := &ix.docs[s]
		name := strings.TrimSpace(d.title)
		if name == "" {
			name = d.url
		}
		if len(ix.title[d.titleKey]) > 1 && !d.published.IsZero() {
			name = articles.Excerpt(name, maxChoiceLen-13) + " (" + d.published.UTC().Format("2006-01-02") + ")"
		}
		name = articles.Excerpt(name, maxChoiceLen)
		value := ""
		if utf8.RuneCountInString(d.title) <= maxChoiceLen && len(ix.title[d.titleKey]) == 1 {
			if got, ok, _ := ix.lookup(strings.TrimSpace(d.title)); ok && got == s {
				value = d.title
			}
		}
		if value == "" && d.id != 0 {
			value = "id:" + strconv.FormatInt(d.id, 10)
		}
		if value == "" || name == "" {
			continue
		}
		out = append(out, Suggestion{Name: name, Value: value})
	}
	return out
}
