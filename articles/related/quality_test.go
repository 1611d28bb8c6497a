package related_test

// Test data derived from The Go Blog corpus (../../../shared/corpus/goblog),
// by the Go Authors, CC BY 4.0: see its ATTRIBUTION.md.

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/related"
)

// goblogMode says which signals the feed gives the bot.
type goblogMode int

const (
	hideLinks goblogMode = iota // anchors to other corpus posts removed with their text; categories kept
	hideTags                    // no categories; links kept
	textOnly                    // no categories; anchors to corpus posts removed with their text, other anchors unlinked
	noSignals                   // no categories; every anchor unlinked, its text kept (the text of hideTags)
)

var anyAnchorRE = regexp.MustCompile(`(?is)<a\s[^>]*>(.*?)</a\s*>`)

// goblogFeed writes the posts as the blog's RSS feed, with the signals mode
// hides left out.
func goblogFeed(tb testing.TB, posts []related.CorpusPost, mode goblogMode) []byte {
	tb.Helper()
	corpus := related.CorpusURLs(posts)
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>The Go Blog</title><link>https://go.dev/blog/</link><description>Go blog</description>
`)
	for _, p := range posts {
		body := p.HTML
		if mode == hideLinks || mode == textOnly {
			body = related.WithoutCorpusAnchors(body, p.URL, corpus)
		}
		if mode == textOnly || mode == noSignals {
			body = anyAnchorRE.ReplaceAllString(body, "$1")
		}
		pub, err := time.Parse(time.RFC3339, p.Date)
		if err != nil {
			tb.Fatalf("corpus: post %s: %v", p.Slug, err)
		}
		fmt.Fprintf(&b, "<item><title>%s</title><link>%s</link><guid>%s</guid><pubDate>%s</pubDate>\n<description>%s</description>\n<content:encoded>%s</content:encoded>\n",
			html.EscapeString(p.Title), html.EscapeString(p.URL), html.EscapeString(p.URL), pub.Format(time.RFC1123Z),
			html.EscapeString(p.Summary), html.EscapeString(body))
		if mode == hideLinks {
			for _, t := range p.Tags {
				fmt.Fprintf(&b, "<category>%s</category>\n", html.EscapeString(t))
			}
		}
		b.WriteString("</item>\n")
	}
	b.WriteString("</channel></rss>\n")
	return []byte(b.String())
}

// goblogTruth returns the judged signals by canonical URL: each post's tags,
// and the posts it links to.
func goblogTruth(posts []related.CorpusPost) (tags, links map[string][]string) {
	bySlug := map[string]string{}
	for _, p := range posts {
		bySlug[p.Slug] = articles.CanonicalURL(p.URL)
	}
	tags, links = map[string][]string{}, map[string][]string{}
	for _, p := range posts {
		u := articles.CanonicalURL(p.URL)
		tags[u] = p.Tags
		for _, s := range p.Links {
			if l, ok := bySlug[s]; ok && l != u {
				links[u] = append(links[u], l)
			}
		}
	}
	return tags, links
}

type goblogQuality struct {
	linkRecall, tagPrecision, returned float64
}

// measureGoblog measures each ranker on the corpus as the bot holds it in
// each mode: link-recall@5 where links are hidden, tag-precision@5 where
// tags are.
func measureGoblog(t *testing.T, posts []related.CorpusPost, modes ...goblogMode) map[string]goblogQuality {
	t.Helper()
	tags, links := goblogTruth(posts)
	out := map[string]goblogQuality{}
	for _, m := range modes {
		c := throughBot(t, map[string][]byte{"feed.xml": goblogFeed(t, posts, m)})
		b := newBaseline(c.arts)
		for name, r := range map[string]ranker{"engine": c.engine(t), "TF-IDF": b.tfidf(), "BM25": b.bm25(30)} {
			q := out[name]
			if m == hideLinks || m == textOnly {
				q.linkRecall = linkRecall(c.arts, links, r)
			}
			if m != hideLinks {
				q.tagPrecision, q.returned = topicPrecision(c.arts, tags, r)
			}
			out[name] = q
		}
	}
	return out
}

// TestQualityGoblog measures relatedness on The Go Blog corpus through the
// bot's path (feed, poller, store, index sync, /related), each measure with
// the signal it judges hidden from the feed (see issue 8), against TF-IDF
// and BM25 on the same stored texts.
func TestQualityGoblog(t *testing.T) {
	posts := related.LoadCorpus(t)
	full := measureGoblog(t, posts, hideLinks, hideTags)
	text := measureGoblog(t, posts, textOnly)["engine"]
	noLinks := measureGoblog(t, posts, noSignals)["engine"]
	eng := full["engine"]
	for _, name := range []string{"TF-IDF", "BM25", "engine"} {
		q := full[name]
		t.Logf("%-22s link-recall@5 %.3f  tag-precision@5 %.3f  (avg returned %.2f)", name, q.linkRecall, q.tagPrecision, q.returned)
	}
	t.Logf("%-22s link-recall@5 %.3f  tag-precision@5 %.3f  (avg returned %.2f)", "engine, text only", text.linkRecall, text.tagPrecision, text.returned)
	t.Logf("%-22s link-recall@5   -    tag-precision@5 %.3f  (avg returned %.2f)", "engine, no tags/links", noLinks.tagPrecision, noLinks.returned)

	for _, name := range []string{"TF-IDF", "BM25"} {
		b := full[name]
		if eng.linkRecall <= b.linkRecall {
			t.Errorf("engine link-recall@5 %.3f does not beat %s %.3f", eng.linkRecall, name, b.linkRecall)
		}
		if eng.tagPrecision <= b.tagPrecision {
			t.Errorf("engine tag-precision@5 %.3f does not beat %s %.3f", eng.tagPrecision, name, b.tagPrecision)
		}
		if text.linkRecall <= b.linkRecall {
			t.Errorf("text-only engine link-recall@5 %.3f does not beat %s %.3f", text.linkRecall, name, b.linkRecall)
		}
		if text.tagPrecision <= b.tagPrecision {
			t.Errorf("text-only engine tag-precision@5 %.3f does not beat %s %.3f", text.tagPrecision, name, b.tagPrecision)
		}
	}
	// Each signal helps or is neutral: categories must not lower
	// link-recall (tags present vs absent), links must not lower
	// tag-precision (same text, links present vs absent).
	if eng.linkRecall < text.linkRecall {
		t.Errorf("categories lower link-recall@5: %.3f with, %.3f without", eng.linkRecall, text.linkRecall)
	}
	if eng.tagPrecision < noLinks.tagPrecision {
		t.Errorf("links lower tag-precision@5: %.3f with, %.3f without", eng.tagPrecision, noLinks.tagPrecision)
	}
}
