package app

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"

	"github.com/newsbot/newsbot/articles"
)

// feedTypes are the alternate link types that name a feed.
var feedTypes = map[string]bool{
	"application/rss+xml":   true,
	"application/atom+xml":  true,
	"application/feed+json": true,
	"application/json":      false, // too vague on its own
}

// feedLinks returns the feeds a web page announces with
// <link rel="alternate" type="application/rss+xml" href="...">, absolute, in
// document order.
func feedLinks(page []byte, pageURL string) []string {
	z := html.NewTokenizer(bytes.NewReader(page))
	var out []string
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if string(name) == "body" {
				return out
			}
			if string(name) != "link" || !hasAttr {
				continue
			}
			var rel, typ, href string
			for {
				k, v, more := z.TagAttr()
				switch string(k) {
				case "rel":
					rel = strings.ToLower(string(v))
				case "type":
					typ = strings.ToLower(strings.TrimSpace(string(v)))
				case "href":
					href = string(v)
				}
				if !more {
					break
				}
			}
			if !strings.Contains(" "+rel+" ", " alternate ") || !feedTypes[typ] {
				continue
			}
			if u := articles.ResolveURL(pageURL, href); u != "" {
				out = append(out, u)
			}
		}
	}
}
