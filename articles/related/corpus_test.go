package related

// Test data derived from The Go Blog corpus (../../../shared/corpus/goblog),
// by the Go Authors, CC BY 4.0: see its ATTRIBUTION.md.

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
)

const corpusPath = "../../../shared/corpus/goblog/articles.jsonl"

type corpusPost struct {
	Slug    string   `json:"slug"`
	URL     string   `json:"url"`
	Title   string   `json:"title"`
	Summary string   `json:"summary"`
	Date    string   `json:"date"`
	Tags    []string `json:"tags"`
	HTML    string   `json:"html"`
	Links   []string `json:"links"` // slugs of other corpus posts it links to
}

func loadCorpus(tb testing.TB) []corpusPost {
	tb.Helper()
	f, err := os.Open(corpusPath)
	if err != nil {
		tb.Skipf("goblog corpus not available: %v", err)
	}
	defer f.Close()
	var posts []corpusPost
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		var p corpusPost
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			tb.Fatalf("corpus: %v", err)
		}
		posts = append(posts, p)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("corpus: %v", err)
	}
	return posts
}

var anchorRE = regexp.MustCompile(`(?is)<a\s[^>]*?href\s*=\s*["']([^"']*)["'][^>]*>.*?</a\s*>`)

// corpusArticles turns the posts into articles as the feed code would
// (for the benchmarks; the quality tests go through the feed itself).
// Article i has ID i+1.
func corpusArticles(tb testing.TB, posts []corpusPost) []articles.Article {
	tb.Helper()
	out := make([]articles.Article, len(posts))
	for i, p := range posts {
		pub, err := time.Parse(time.RFC3339, p.Date)
		if err != nil {
			tb.Fatalf("corpus: post %s: %v", p.Slug, err)
		}
		out[i] = articles.Article{
			ID: int64(i + 1), Site: articles.SiteOf(p.URL), URL: p.URL, Title: p.Title, Summary: p.Summary,
			Text: articles.HTMLToText(p.HTML), Published: pub, Categories: p.Tags,
			Links: articles.ExtractLinks(p.HTML, p.URL),
		}
	}
	return out
}

// corpusURLs returns the canonical URLs of the posts.
func corpusURLs(posts []corpusPost) map[string]bool {
	urls := map[string]bool{}
	for _, p := range posts {
		urls[articles.CanonicalURL(p.URL)] = true
	}
	return urls
}

// withoutCorpusAnchors removes from html (of the post at base) the anchors,
// text included, that point at posts of the corpus (canonical URLs in
// corpus).
func withoutCorpusAnchors(html, base string, corpus map[string]bool) string {
	return anchorRE.ReplaceAllStringFunc(html, func(a string) string {
		href := anchorRE.FindStringSubmatch(a)[1]
		if corpus[articles.CanonicalURL(articles.ResolveURL(base, href))] {
			return ""
		}
		return a
	})
}
