package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	readability "codeberg.org/readeck/go-readability/v2"
	"golang.org/x/net/html"

	"github.com/newsbot/newsbot/articles"
)

// fullTextBatch is how many articles one round of FullText takes from the
// store.
const fullTextBatch = 50

// FullText reads the page of every article that needs it (the feed gave only
// a summary), extracts the main text and stores it. Each page is read once:
// a failure is recorded as an empty text so it is not tried again. Pages of
// several sites are read in parallel, one at a time per site, sharing the
// sites' pace with the backfill. It does nothing unless Options.FullText.
func (a *Archive) FullText(ctx context.Context) error {
	if !a.opts.FullText || a.store == nil {
		return nil
	}
	tried := map[int64]bool{}
	for {
		batch, err := a.store.NeedFullText(ctx, fullTextBatch)
		if err != nil {
			return fmt.Errorf("archive: full text: %w", err)
		}
		var todo []articles.Article
		for _, art := range batch {
			if !tried[art.ID] {
				tried[art.ID] = true
				todo = append(todo, art)
			}
		}
		if len(todo) == 0 {
			return nil // done, or the store keeps offering what was tried
		}
		if err := a.readPages(ctx, todo); err != nil {
			return err
		}
	}
}

// readPages reads the pages of arts, one goroutine per site.
func (a *Archive) readPages(ctx context.Context, arts []articles.Article) error {
	bySite := map[string][]articles.Article{}
	for _, art := range arts {
		s := articles.SiteOf(art.URL)
		bySite[s] = append(bySite[s], art)
	}
	sites := make([][]articles.Article, 0, len(bySite))
	for _, list := range bySite {
		sites = append(sites, list)
	}
	err := eachSite(ctx, len(sites), func(i int) error {
		for _, art := range sites[i] {
			if err := a.readPage(ctx, art); err != nil {
				return err // the store failed, or ctx is done
			}
		}
		return nil
	})
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("archive: full text: %w", cerr)
	}
	return err
}

// readPage reads one article's page and stores its text. Only a store
// failure or a cancelled context is returned.
func (a *Archive) readPage(ctx context.Context, art articles.Article) error {
	text, err := a.pageText(ctx, art.URL)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	summary := ""
	if err != nil && transientPageError(err) {
		// The site is down or busy: read the page on a later run.
		metricFullText.WithLabelValues("retry").Inc()
		a.log.Info("archive: article page unavailable for now", "article_id", art.ID, "url", art.URL, "error", err)
		return nil
	}
	if err != nil {
		text = ""
		metricFullText.WithLabelValues("failed").Inc()
		a.log.Info("archive: could not read the article page", "article_id", art.ID, "url", art.URL, "error", err)
	} else {
		metricFullText.WithLabelValues("ok").Inc()
		if isStub(art.Summary, text) {
			summary = articles.Excerpt(strings.Join(strings.Fields(text), " "), articles.ExcerptLen)
		}
	}
	if err := a.store.SetFullText(ctx, art.ID, text, summary); err != nil {
		return fmt.Errorf("archive: full text of article %d: %w", art.ID, err)
	}
	if text != "" && a.opts.OnText != nil {
		a.opts.OnText(art.ID)
	}
	return nil
}

// transientPageError reports whether a page read failed for a passing
// reason (a 5xx, a 429, the network) rather than for good (a 4xx, a page
// with no article).
func transientPageError(err error) bool {
	var he *articles.HTTPError
	if errors.As(err, &he) {
		return he.Status >= 500 || he.Status == http.StatusTooManyRequests
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// isStub reports whether a feed's summary is only the start of the article
// cut short (empty, ending in an ellipsis, or found word for word in the
// longer text), rather than a summary written for it, which is kept.
func isStub(summary, text string) bool {
	s := strings.Join(strings.Fields(summary), " ")
	if s == "" || strings.HasSuffix(s, "…") || strings.HasSuffix(s, "...") {
		return true
	}
	t := strings.Join(strings.Fields(text), " ")
	return len(t) > len(s) && strings.Contains(t, s)
}

// pageText fetches a page and returns its main text as plain text.
func (a *Archive) pageText(ctx context.Context, rawURL string) (string, error) {
	if articles.CleanURL(rawURL) == "" {
		return "", fmt.Errorf("archive: not an http(s) URL: %q", rawURL)
	}
	res, err := a.fetch(ctx, rawURL)
	if err != nil {
		return "", err
	}
	return MainText(res.Body, res.URL)
}

// MainText extracts the main text of an HTML page (navigation, comments,
// widgets left out) as plain text, one paragraph a line.
func MainText(page []byte, pageURL string) (string, error) {
	_, text, err := extract(page, pageURL)
	return text, err
}

// extract runs readability on a page: what it found (title, byline, date)
// and the main text as plain text.
func extract(page []byte, pageURL string) (readability.Article, string, error) {
	var none readability.Article
	u, err := url.Parse(pageURL)
	if err != nil {
		return none, "", fmt.Errorf("archive: page URL: %w", err)
	}
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return none, "", fmt.Errorf("archive: page: %w", err)
	}
	dropMeta(doc)
	art, err := readability.FromDocument(doc, u)
	if err != nil {
		return none, "", fmt.Errorf("archive: readability: %w", err)
	}
	if art.Node == nil {
		return none, "", errors.New("archive: readability: no main text found")
	}
	var b strings.Builder
	if err := art.RenderHTML(&b); err != nil {
		return none, "", fmt.Errorf("archive: readability: %w", err)
	}
	text := articles.HTMLToText(b.String())
	if text == "" {
		return none, "", errors.New("archive: readability: empty main text")
	}
	return art, text, nil
}

// metaClasses mark the parts of an article that are about it rather than of
// it (date and author lines, share buttons, related posts): readability
// keeps some of them, and they would start every excerpt.
var metaClasses = map[string]bool{
	"entry-meta": true, "post-meta": true, "byline": true, "posted-on": true, "post-date": true,
	"sharedaddy": true, "sharing": true, "share-buttons": true, "social-share": true,
	"jp-relatedposts": true, "related-posts": true, "author-bio": true, "entry-footer": true,
}

// dropMeta removes the elements whose class or id is in metaClasses.
func dropMeta(n *html.Node) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if c.Type == html.ElementNode && isMeta(c) {
			n.RemoveChild(c)
		} else {
			dropMeta(c)
		}
		c = next
	}
}

func isMeta(n *html.Node) bool {
	for _, a := range n.Attr {
		switch a.Key {
		case "class":
			for _, c := range strings.Fields(a.Val) {
				if metaClasses[strings.ToLower(c)] {
					return true
				}
			}
		case "id":
			if metaClasses[strings.ToLower(a.Val)] {
				return true
			}
		}
	}
	return false
}
