package related

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// fold lowercases s, removes accents (combining marks after NFD) and
// collapses runs of white space to one space: the form in which titles and
// typed text are compared.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true // drop leading space
	var buf [utf8.UTFMax]byte
	for _, r := range s {
		if r < utf8.RuneSelf {
			c := byte(r)
			switch {
			case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
				if !space {
					b.WriteByte(' ')
					space = true
				}
				continue
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			}
			space = false
			b.WriteByte(c)
			continue
		}
		if unicode.IsSpace(r) {
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		// Decompose the rune alone and drop its marks: "É" -> "e".
		n := utf8.EncodeRune(buf[:], r)
		for _, x := range norm.NFD.String(string(buf[:n])) {
			if unicode.Is(unicode.Mn, x) {
				continue
			}
			space = false
			b.WriteRune(unicode.ToLower(x))
		}
	}
	return strings.TrimSuffix(b.String(), " ")
}

// tokens calls fn for each indexable term of s: folded, split on anything
// that is not a letter or digit, stop words and one-character tokens
// dropped, stemmed.
func tokens(s string, fn func(term string)) {
	f := fold(s)
	start := -1
	emit := func(end int) {
		w := f[start:end]
		start = -1
		if utf8.RuneCountInString(w) < 2 || stopWords[w] || allDigits(w) && len(w) != 4 {
			return
		}
		fn(stemCached(w))
	}
	for i, r := range f {
		word := unicode.IsLetter(r) || unicode.IsDigit(r)
		if word && start < 0 {
			start = i
		} else if !word && start >= 0 {
			emit(i)
		}
	}
	if start >= 0 {
		emit(len(f))
	}
}

// stems caches stem results: a site's vocabulary is small next to its
// word count. It stops growing at stemCacheMax words.
var stems = struct {
	sync.RWMutex
	m map[string]string
}{m: map[string]string{}}

const stemCacheMax = 1 << 18

func stemCached(w string) string {
	stems.RLock()
	s, ok := stems.m[w]
	stems.RUnlock()
	if ok {
		return s
	}
	s = stem(w)
	stems.Lock()
	if len(stems.m) < stemCacheMax {
		stems.m[strings.Clone(w)] = s
	}
	stems.Unlock()
	return s
}

// allDigits reports whether w is a number: numbers other than years say
// little about what an article is about.
func allDigits(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return true
}

// stopWords are common English function words (the classic SMART/Snowball
// list, shortened), matched before stemming.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
a about above after again against all also am an and any are aren as at be because been before being below
between both but by can cannot could couldn did didn do does doesn doing don down during each even ever every
few for from further get gets got had hadn has hasn have haven having he her here hers herself him himself his
how however if in into is isn it its itself just let like ll may me might more most much must mustn my myself
no nor not now of off often on once one only or other others our ours ourselves out over own per re really
same say says shall shan she should shouldn since so some still such than that the their theirs them
themselves then there therefore these they this those though through thus to too under until up upon us
ve very via was wasn we well were weren what when where whether which while who whom whose why will
with within without won would wouldn yet you your yours yourself yourselves
`) {
		m[w] = true
	}
	return m
}()
