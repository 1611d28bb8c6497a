package archive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/newsbot/newsbot/articles"
)

// ErrOffSite is returned by ReadPage when the page redirects to a host that
// is not one of the sites'.
var ErrOffSite = errors.New("archive: the page redirects off the site")

// maxPageRedirects bounds the redirects of one page read.
const maxPageRedirects = 10

// ReadPage reads the page of a link that names no stored article (a
// member's /related) as the archive reads pages: through the site's gate
// (one request at a time, at Options.Rate, Retry-After obeyed), with the
// fetcher's timeout and size cap, and readability. Redirects are followed
// only to hosts onSite accepts (articles.HostOf: lower case, without "www.",
// with a port other than the scheme's default). It returns the
// article the page holds (URL after redirects, title, text, summary, date,
// author, image), not stored.
func (a *Archive) ReadPage(ctx context.Context, rawURL string, onSite func(host string) bool) (articles.Article, error) {
	if articles.CleanURL(rawURL) == "" {
		return articles.Article{}, fmt.Errorf("archive: not an http(s) URL: %q", rawURL)
	}
	if !onSite(articles.HostOf(rawURL)) {
		return articles.Article{}, ErrOffSite
	}
	res, err := a.fetchWith(ctx, a.siteFetcher(onSite), rawURL)
	if err != nil {
		if errors.Is(err, ErrOffSite) {
			return articles.Article{}, ErrOffSite
		}
		return articles.Article{}, err
	}
	found, text, err := extract(res.Body, res.URL)
	if err != nil {
		return articles.Article{}, err
	}
	art := articles.Article{
		URL:    articles.CleanURL(res.URL),
		Title:  strings.Join(strings.Fields(found.Title()), " "),
		Text:   text,
		Author: strings.TrimSpace(found.Byline()),
		Image:  articles.ResolveURL(res.URL, found.ImageURL()),
	}
	if art.URL == "" {
		art.URL = articles.CleanURL(rawURL)
	}
	if art.Title == "" {
		return articles.Article{}, errors.New("archive: the page has no title")
	}
	if t, err := found.PublishedTime(); err == nil {
		art.Published = t.UTC()
	}
	art.Summary = articles.Excerpt(strings.Join(strings.Fields(text), " "), articles.ExcerptLen)
	return art, nil
}

// siteFetcher is the archive's fetcher with a redirect policy that stays on
// the sites.
func (a *Archive) siteFetcher(onSite func(host string) bool) *articles.Fetcher {
	f := *a.fetcher
	var c http.Client
	if f.Client != nil {
		c = *f.Client
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !onSite(articles.HostOf(req.URL.String())) {
			return ErrOffSite
		}
		if len(via) > maxPageRedirects {
			return fmt.Errorf("stopped after %d redirects", maxPageRedirects)
		}
		return nil
	}
	f.Client = &c
	return &f
}
