package related

import (
	"testing"

	"github.com/newsbot/newsbot/articles"
)

func TestZZProbe(t *testing.T) {
	posts := loadCorpus(t)
	urls := map[string]string{}
	for _, p := range posts {
		urls[articles.CanonicalURL(p.URL)] = p.Slug
	}
	hidden := corpusArticles(t, posts, hideLinks)
	all := corpusArticles(t, posts, allSignals)
	left, missing, extra := 0, 0, 0
	for i, p := range posts {
		want := map[string]bool{}
		for _, s := range p.Links {
			want[s] = true
		}
		got := map[string]bool{}
		for _, l := range all[i].Links {
			if s, ok := urls[articles.CanonicalURL(l)]; ok && s != p.Slug {
				got[s] = true
			}
		}
		for s := range want {
			if !got[s] {
				missing++
				t.Logf("%s: link %s not found by ExtractLinks", p.Slug, s)
			}
		}
		for s := range got {
			if !want[s] {
				extra++
				t.Logf("%s: extra link %s", p.Slug, s)
			}
		}
		for _, l := range hidden[i].Links {
			if s, ok := urls[articles.CanonicalURL(l)]; ok && s != p.Slug {
				left++
				t.Logf("%s: link %s left after hiding", p.Slug, s)
			}
		}
	}
	t.Logf("left %d missing %d extra %d", left, missing, extra)
}
