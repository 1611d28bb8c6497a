package articles

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
	gatom "github.com/mmcdole/gofeed/atom"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/charmap"
)

// ErrNotFeed is returned (wrapped) for a body that is not a feed of a kind
// newsbot reads (an HTML page, say).
var ErrNotFeed = errors.New("not a feed")

// Feed is a parsed feed, its items normalised into articles.
type Feed struct {
	Title     string // plain text
	Link      string // the site's page, absolute, or ""
	Site      string // see ParseFeed
	Generator string
	Items     []Article // in feed order; duplicates (same Key) dropped

	// PrevArchive and Next are the RFC 5005 paging links (rel="prev-archive",
	// rel="next"), absolute, or "".
	PrevArchive, Next string
}

// ParseFeed parses an RSS 2.0, RSS 1.0, Atom or JSON feed in any charset and
// normalises its items. feedURL is where it came from (an http(s) URL, or a
// local path or file: URL); it names the Site (the feed URL's site; for a
// local file, its <link>'s site, else "file:" and the file's absolute path)
// and serves as the base of relative links. now is FirstSeen, and the
// published time of items that give none.
//
// It returns an error wrapping ErrNotFeed for a body that is not a feed, and
// an error for a feed that does not parse; it never panics.
func ParseFeed(feedURL string, body []byte, now time.Time) (feed *Feed, err error) {
	defer func() {
		if r := recover(); r != nil {
			feed, err = nil, fmt.Errorf("feed: parser panic: %v", r)
		}
	}()
	gf, err := parseGofeed(body)
	if err != nil {
		return nil, err
	}
	return normalise(feedURL, gf, now), nil
}

// parseGofeed detects the kind of feed and parses it with gofeed.
func parseGofeed(body []byte) (*gofeed.Feed, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("feed: empty body: %w", ErrNotFeed)
	}
	gf, err := newGofeedParser().Parse(bytes.NewReader(body))
	if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
		if label := xmlEncoding(body); label != "" {
			if e, _ := charset.Lookup(label); e == nil {
				return nil, fmt.Errorf("feed: unknown charset %q", label)
			}
		}
		if looksHTML(body) {
			return nil, fmt.Errorf("feed: an HTML page: %w", ErrNotFeed)
		}
		return nil, fmt.Errorf("feed: unknown format: %w", ErrNotFeed)
	}
	if enc := strings.ToLower(xmlEncoding(body)); err != nil && !utf8.Valid(body) && (enc == "" || enc == "utf-8" || enc == "utf8") {
		// Such XML is UTF-8, yet some feeds are Latin-1 or Windows-1252
		// all the same: read it as the latter.
		if fixed, cerr := charmap.Windows1252.NewDecoder().Bytes(body); cerr == nil {
			if gf2, err2 := newGofeedParser().Parse(bytes.NewReader(fixed)); err2 == nil {
				gf, err = gf2, nil
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	return gf, nil
}

func newGofeedParser() *gofeed.Parser {
	p := gofeed.NewParser()
	p.KeepOriginalFeed = true // for isPermaLink and the paging links
	// newsbot finds the first picture itself, and only when it needs one.
	p.RSSTranslator = &gofeed.DefaultRSSTranslator{DisableContentImageScan: true}
	return p
}

func looksHTML(body []byte) bool {
	head := body
	if len(head) > 1024 {
		head = head[:1024]
	}
	h := bytes.ToLower(head)
	return bytes.Contains(h, []byte("<!doctype html")) || bytes.Contains(h, []byte("<html")) ||
		bytes.Contains(h, []byte("<head")) || bytes.Contains(h, []byte("<body"))
}

// xmlEncoding returns the encoding an XML declaration names, or "".
func xmlEncoding(body []byte) string {
	body = bytes.TrimSpace(body)
	if !bytes.HasPrefix(body, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(body, []byte("?>"))
	if end < 0 {
		return ""
	}
	decl := body[:end]
	i := bytes.Index(decl, []byte("encoding"))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(decl[i+len("encoding"):], " \t\r\n=")
	if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	q := rest[0]
	rest = rest[1:]
	j := bytes.IndexByte(rest, q)
	if j < 0 {
		return ""
	}
	return string(bytes.TrimSpace(rest[:j]))
}

// toUTF8 converts a body that the HTTP Content-Type says is in a charset
// other than UTF-8 when the body itself does not say (no XML encoding
// declaration) and is not valid UTF-8.
func toUTF8(body []byte, contentType string) []byte {
	_, params, err := mime.ParseMediaType(contentType)
	label := strings.TrimSpace(params["charset"])
	if err != nil || label == "" || xmlEncoding(body) != "" || utf8.Valid(body) {
		return body
	}
	enc, name := charset.Lookup(label)
	if enc == nil || name == "utf-8" {
		return body
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return body
	}
	return out
}

// pagingLinks returns the absolute RFC 5005 links of a feed: Atom's own
// links, or atom:link elements inside an RSS channel.
func pagingLinks(gf *gofeed.Feed, base string) (prevArchive, next string) {
	set := func(rel, href string) {
		switch strings.ToLower(strings.TrimSpace(rel)) {
		case "prev-archive":
			if prevArchive == "" {
				prevArchive = ResolveURL(base, href)
			}
		case "next":
			if next == "" {
				next = ResolveURL(base, href)
			}
		}
	}
	if af, ok := gf.OriginalFeed().(*gatom.Feed); ok {
		for _, l := range af.Links {
			if l != nil {
				set(l.Rel, l.Href)
			}
		}
	}
	for _, l := range gf.Extensions["atom"]["link"] {
		set(l.Attrs["rel"], l.Attrs["href"])
	}
	return prevArchive, next
}
