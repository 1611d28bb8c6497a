package related

// What an article contributes to the index: its weighted terms, title
// terms, categories and links.

import (
	"strings"

	"github.com/newsbot/newsbot/articles"
)

// urlKey is the form under which article URLs are compared: the canonical
// URL without its scheme and a leading "www.", so that http/https and
// www variants meet.
func urlKey(raw string) string {
	c := articles.CanonicalURL(raw)
	if c == "" {
		return ""
	}
	c = strings.TrimPrefix(strings.TrimPrefix(c, "https://"), "http://")
	return strings.TrimPrefix(c, "www.")
}

// analysed is an article turned into index features.
type analysed struct {
	tf       map[string]int
	title    []string // distinct terms of the title
	length   float64
	cats     []string
	links    []string // urlKeys, deduplicated, without the article's own
	key      string
	titleKey string
}

func analyse(a articles.Article) analysed {
	an := analysed{tf: map[string]int{}, key: urlKey(a.URL), titleKey: fold(a.Title)}
	tokens(a.Title, func(t string) {
		if an.tf[t] == 0 {
			an.title = append(an.title, t)
		}
		an.tf[t] += titleBoost
		an.length += float64(titleBoost)
	})
	body := a.Text
	if strings.TrimSpace(body) == "" {
		body = a.Summary
	} else if writtenSummary(a.Summary, body) {
		tokens(a.Summary, func(t string) { an.tf[t] += summaryBoost; an.length += float64(summaryBoost) })
	}
	tokens(body, func(t string) { an.tf[t]++; an.length++ })
	seen := map[string]bool{}
	for _, c := range a.Categories {
		c = fold(c)
		if c != "" && !seen["c"+c] {
			seen["c"+c] = true
			an.cats = append(an.cats, c)
		}
	}
	for _, l := range a.Links {
		k := urlKey(l)
		if k != "" && k != an.key && !seen["l"+k] {
			seen["l"+k] = true
			an.links = append(an.links, k)
		}
	}
	return an
}

// writtenSummary reports whether summary was written for the article (a
// feed's description, an abstract) rather than cut from the start of its
// text: only then does it say something of its own.
func writtenSummary(summary, text string) bool {
	sw := strings.Fields(strings.TrimSuffix(strings.TrimSpace(summary), "…"))
	if len(sw) == 0 {
		return false
	}
	tw := strings.Fields(text)
	if len(tw) < len(sw) {
		return true
	}
	for i, w := range sw {
		if fold(w) != fold(tw[i]) {
			return true
		}
	}
	return false
}
