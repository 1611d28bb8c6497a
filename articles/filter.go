package articles

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Match is one side of a route's filter: category names and words or
// phrases. Both are compared folded (case and accents ignored); a category
// matches a whole category name, a word or phrase whole words of the
// article's title or summary.
type Match struct {
	Categories []string
	Words      []string
}

// Empty reports whether m lists nothing.
func (m Match) Empty() bool { return len(m.Categories) == 0 && len(m.Words) == 0 }

// Filter decides which articles a route accepts: with Include set, an
// article must match one of its entries; an article matching any Exclude
// entry is dropped whatever Include says.
type Filter struct {
	Include *Match // nil: every article
	Exclude Match
}

// Accepts reports whether the filter lets a through.
func (f Filter) Accepts(a Article) bool {
	if f.open() {
		return true
	}
	t := newFilterText(a)
	return f.acceptsText(&t)
}

// open reports whether f takes every article (nothing to match).
func (f Filter) open() bool { return f.Include == nil && f.Exclude.Empty() }

// acceptsText is Accepts over an article already folded.
func (f Filter) acceptsText(t *filterText) bool {
	if t.matches(f.Exclude) {
		return false
	}
	return f.Include == nil || t.matches(*f.Include)
}

// filterText is an article folded once for matching.
type filterText struct {
	categories map[string]bool
	words      []string // title words, then a break, then summary words
}

func newFilterText(a Article) filterText {
	t := filterText{categories: make(map[string]bool, len(a.Categories))}
	for _, c := range a.Categories {
		t.categories[FoldName(c)] = true
	}
	t.words = append(FoldWords(a.Title), "") // "" keeps a phrase from spanning title and summary
	t.words = append(t.words, FoldWords(a.Summary)...)
	return t
}

func (t filterText) matches(m Match) bool {
	for _, c := range m.Categories {
		if t.categories[FoldName(c)] {
			return true
		}
	}
	for _, w := range m.Words {
		if phrase := FoldWords(w); len(phrase) > 0 && containsRun(t.words, phrase) {
			return true
		}
	}
	return false
}

// containsRun reports whether phrase occurs as consecutive words of words.
func containsRun(words, phrase []string) bool {
	for i := 0; i+len(phrase) <= len(words); i++ {
		ok := true
		for j, p := range phrase {
			if words[i+j] != p {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// FoldName folds a category or tag name for comparison: lower case, accents
// removed, white space collapsed and trimmed.
func FoldName(s string) string {
	return strings.Join(strings.Fields(foldRunes(s)), " ")
}

// FoldWords splits folded s into words: runs of letters and digits.
func FoldWords(s string) []string {
	return strings.FieldsFunc(foldRunes(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// foldRunes lowercases s and removes its accents (combining marks after
// decomposition): "Élysée" -> "elysee".
func foldRunes(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		if r < utf8.RuneSelf {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteRune(r)
			continue
		}
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
