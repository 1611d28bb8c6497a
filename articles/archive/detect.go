package archive

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/newsbot/newsbot/articles"
)

// apiRel is the link relation WordPress uses to advertise its REST API.
const apiRel = "https://api.w.org/"

type detection struct {
	source string
	cursor string             // first page to read
	items  []articles.Article // the feed's own items, for paged sources
}

// detect finds the best archive source of a feed: the WordPress REST API,
// else WordPress ?paged=N feed pages, else RFC 5005 archive or paging links,
// else none. A feed that cannot be read is an error (tried again later).
func (a *Archive) detect(ctx context.Context, feedURL string) (detection, error) {
	var feed *articles.Feed
	if m, ok := a.known(feedURL); ok {
		feed = &articles.Feed{Link: m.Link, Generator: m.Generator, PrevArchive: m.PrevArchive, Next: m.Next}
	} else {
		res, err := a.fetch(ctx, feedURL)
		if err != nil {
			return detection{}, err
		}
		if feed, err = articles.ParseFeed(feedURL, res.Body, a.now()); err != nil {
			return detection{}, fmt.Errorf("archive: feed %s: %w", feedURL, err)
		}
	}
	wp := strings.Contains(strings.ToLower(feed.Generator), "wordpress")
	for _, root := range siteRoots(feedURL, feed.Link) {
		api, hinted, err := a.discoverAPI(ctx, root)
		if err != nil {
			return detection{}, err
		}
		wp = wp || hinted
		if api != "" {
			return detection{source: SourceWordPress, cursor: postsURL(api, 1)}, nil
		}
	}
	items := archiveItems(feed.Items, articles.SiteOf(feedURL))
	if wp {
		return detection{source: SourcePaged, cursor: pagedURL(feedURL, 2), items: items}, nil
	}
	if next := feed.PrevArchive; next != "" {
		return detection{source: SourceRFC5005, cursor: next, items: items}, nil
	}
	if next := feed.Next; next != "" {
		return detection{source: SourceRFC5005, cursor: next, items: items}, nil
	}
	return detection{source: SourceNone}, nil
}

// known returns what the poller knows of a feed (see Options.Known).
func (a *Archive) known(feedURL string) (articles.FeedMeta, bool) {
	if a.opts.Known == nil {
		return articles.FeedMeta{}, false
	}
	return a.opts.Known(feedURL)
}

// archiveItems turns feed items into archive articles of site.
func archiveItems(items []articles.Article, site string) []articles.Article {
	for i := range items {
		items[i].Site = site
		items[i].FeedURL, items[i].FeedTitle = "", ""
	}
	return items
}

// siteRoots returns where a WordPress site may live: the feed's <link>, and
// the feed URL without its feed path (/feed/, /category/x/feed/, ...).
func siteRoots(feedURL, link string) []string {
	var roots []string
	add := func(u string) {
		if u == "" {
			return
		}
		for _, r := range roots {
			if r == u {
				return
			}
		}
		roots = append(roots, u)
	}
	if l := articles.CleanURL(link); l != "" {
		if u, err := url.Parse(l); err == nil {
			u.RawQuery, u.Fragment = "", ""
			u.Path = strings.TrimSuffix(u.Path, "/") + "/"
			add(u.String())
		}
	}
	if u, err := url.Parse(articles.CleanURL(feedURL)); err == nil && u.Host != "" {
		p := u.Path
		cut := len(p)
		for _, marker := range []string{"/category/", "/tag/", "/author/", "/comments/feed", "/feed"} {
			if i := strings.Index(p, marker); i >= 0 && i < cut {
				cut = i
			}
		}
		p = strings.TrimSuffix(p[:cut], "/index.php")
		u.Path, u.RawPath, u.RawQuery, u.Fragment = strings.TrimSuffix(p, "/")+"/", "", "", ""
		add(u.String())
	}
	return roots
}

// discoverAPI looks for the REST API of the WordPress site at root: the
// home page's Link header or <link rel="https://api.w.org/">, else a probe
// of /wp-json/wp/v2/posts. It returns the API root that answered (""
// when none) and whether the site said it is WordPress. A probe that failed
// for a passing reason (5xx, network) is an error: the source is not known
// yet, and detection is tried again later rather than settled wrongly.
func (a *Archive) discoverAPI(ctx context.Context, root string) (api string, hinted bool, err error) {
	if res, err := a.fetch(ctx, root); err == nil {
		api = apiLink(res.Header, root)
		if api == "" && strings.Contains(strings.ToLower(res.ContentType), "html") {
			api = apiLinkHTML(res.Body, res.URL)
		}
	}
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	hinted = api != ""
	if api == "" {
		api = strings.TrimSuffix(root, "/") + "/wp-json/"
	}
	probe := setQuery(postsURL(api, 1), "per_page", "1")
	res, err := a.fetch(ctx, probe)
	if err != nil {
		if _, passing := retryPause(err, 1); passing || ctx.Err() != nil {
			return "", hinted, fmt.Errorf("archive: probing the WordPress REST API: %w", err)
		}
		if hinted {
			a.log.Info("archive: WordPress REST API advertised but not usable", "api", api, "error", err)
		}
		return "", hinted, nil
	}
	if b := bytes.TrimSpace(res.Body); len(b) == 0 || b[0] != '[' {
		return "", hinted, nil
	}
	return api, true, nil
}

// apiLink reads `Link: <https://site/wp-json/>; rel="https://api.w.org/"`.
func apiLink(h http.Header, base string) string {
	for _, v := range h.Values("Link") {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if !strings.HasPrefix(part, "<") {
				continue
			}
			end := strings.IndexByte(part, '>')
			if end < 0 {
				continue
			}
			target, params := part[1:end], part[end+1:]
			for _, p := range strings.Split(params, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "rel") && strings.Trim(strings.TrimSpace(v), `"`) == apiRel {
					return articles.ResolveURL(base, target)
				}
			}
		}
	}
	return ""
}

// apiLinkHTML finds <link rel="https://api.w.org/" href="..."> in a page's
// head.
func apiLinkHTML(body []byte, base string) string {
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			if a == atom.Body {
				return ""
			}
			if a != atom.Link || !hasAttr {
				continue
			}
			var rel, href string
			for {
				k, v, more := z.TagAttr()
				switch string(k) {
				case "rel":
					rel = string(v)
				case "href":
					href = string(v)
				}
				if !more {
					break
				}
			}
			if rel == apiRel && href != "" {
				return articles.ResolveURL(base, href)
			}
		}
	}
}

// restFields keeps REST answers small.
const restFields = "id,date_gmt,date,guid,link,title,excerpt,content,categories,tags"

// postsURL is the URL of page n of the API's posts, 100 a page, newest
// first. api is the API root ("https://site/wp-json/", or
// "https://site/?rest_route=/" on a site without pretty permalinks).
func postsURL(api string, page int) string {
	return routeURL(api, "wp/v2/posts", page, restFields)
}

func routeURL(api, route string, page int, fields string) string {
	u, err := url.Parse(api)
	if err != nil {
		return ""
	}
	q := u.Query()
	if q.Has("rest_route") {
		q.Set("rest_route", "/"+route)
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + route
	}
	q.Set("per_page", "100")
	q.Set("page", strconv.Itoa(page))
	q.Set("_fields", fields)
	u.RawQuery = q.Encode()
	return u.String()
}

// termsURL turns a posts URL into the URL of page n of a taxonomy.
func termsURL(posts, taxonomy string, page int) string {
	u, err := url.Parse(posts)
	if err != nil {
		return ""
	}
	q := u.Query()
	if q.Has("rest_route") {
		q.Set("rest_route", "/wp/v2/"+taxonomy)
	} else {
		u.Path = strings.TrimSuffix(u.Path, "posts") + taxonomy
	}
	q.Set("per_page", "100")
	q.Set("page", strconv.Itoa(page))
	q.Set("_fields", "id,name")
	u.RawQuery = q.Encode()
	return u.String()
}

// apiKey names the API a posts URL belongs to (the URL without its page).
func apiKey(posts string) string { return setQuery(posts, "page", "") }

// pageOf returns the page number of a posts URL (1 when none).
func pageOf(posts string) int {
	u, err := url.Parse(posts)
	if err != nil {
		return 1
	}
	n, err := strconv.Atoi(u.Query().Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// setQuery sets (or, with value "", removes) a query parameter of rawURL.
func setQuery(rawURL, key, value string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	q := u.Query()
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// pagedURL is page n of a WordPress feed.
func pagedURL(feedURL string, n int) string { return setQuery(feedURL, "paged", strconv.Itoa(n)) }
