package related

import (
	"os"
	"strings"
	"testing"
)

func TestExploreTitles(t *testing.T) {
	if os.Getenv("RELX") == "" {
		t.Skip()
	}
	posts := loadCorpus(t)
	arts := corpusArticles(t, posts, hideLinks)
	idx := map[string]int{}
	for i, p := range posts {
		idx[p.Slug] = i
	}
	folded := make([]string, len(arts))
	for i, a := range arts {
		folded[i] = " " + strings.Join(strings.FieldsFunc(fold(a.Text), func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }), " ") + " "
	}
	titles := make([]string, len(arts))
	for i, a := range arts {
		titles[i] = " " + strings.Join(strings.FieldsFunc(fold(a.Title), func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }), " ") + " "
	}
	tp, fp, linked := 0, 0, 0
	for q, p := range posts {
		want := map[int]bool{}
		for _, s := range p.Links {
			if i, ok := idx[s]; ok && i != q {
				want[i] = true
			}
		}
		linked += len(want)
		for j := range arts {
			if j == q || len(strings.Fields(titles[j])) < 2 {
				continue
			}
			if strings.Contains(folded[q], titles[j]) {
				if want[j] {
					tp++
				} else {
					fp++
					t.Logf("FP %q mentions %q", arts[q].Title, titles[j])
				}
			}
		}
	}
	t.Logf("tp %d fp %d linked pairs %d", tp, fp, linked)
}
