package articles

import (
	"bytes"
	"encoding/base64"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
	ext "github.com/mmcdole/gofeed/extensions"
	"github.com/mmcdole/gofeed/rss"
)

// shortText is the length (in runes) under which a body without content is
// taken for a summary of the article rather than the article.
const shortText = 500

// normaliser holds what every item of one feed shares.
type normaliser struct {
	feedURL, feedTitle string
	site               string
	base               string // for relative links: the feed's link, else the feed URL
	now                time.Time
}

func normalise(feedURL string, gf *gofeed.Feed, now time.Time) *Feed {
	f := &Feed{
		Title:     CleanTitle(gf.Title),
		Generator: strings.TrimSpace(gf.Generator),
	}
	localFile, local := localPath(feedURL)
	feedBase := feedURL
	if local {
		feedBase = ""
	}
	f.Link = ResolveURL(feedBase, gf.Link)
	switch {
	case !local:
		f.Site = SiteOf(feedURL)
	case f.Link != "":
		f.Site = SiteOf(f.Link)
	default:
		f.Site = "file:" + filepath.ToSlash(localFile)
	}
	n := normaliser{feedURL: feedURL, feedTitle: f.Title, site: f.Site, base: f.Link, now: now}
	if n.base == "" {
		n.base = feedBase
	}
	f.PrevArchive, f.Next = pagingLinks(gf, feedBase)

	var rssItems []*rss.Item
	if rf, ok := gf.OriginalFeed().(*rss.Feed); ok && len(rf.Items) == len(gf.Items) {
		rssItems = rf.Items
	}
	f.Items = make([]Article, 0, len(gf.Items))
	seen := make(map[string]bool, len(gf.Items))
	for i, it := range gf.Items {
		if it == nil {
			continue
		}
		permalink := false
		if rssItems != nil && rssItems[i] != nil && rssItems[i].GUID != nil {
			permalink = !strings.EqualFold(strings.TrimSpace(rssItems[i].GUID.IsPermalink), "false")
		}
		a, ok := n.item(it, permalink)
		if !ok || seen[a.Key] {
			continue
		}
		seen[a.Key] = true
		f.Items = append(f.Items, a)
	}
	return f
}

// item normalises one feed item; ok is false for an item with neither GUID,
// link nor title.
func (n *normaliser) item(it *gofeed.Item, guidIsPermalink bool) (Article, bool) {
	a := Article{
		GUID:      strings.TrimSpace(it.GUID),
		FeedURL:   n.feedURL,
		FeedTitle: n.feedTitle,
		Site:      n.site,
		FirstSeen: n.now,
	}
	// Link: the item's link, else a permalink GUID.
	link := strings.TrimSpace(it.Link)
	if link == "" {
		for _, l := range it.Links {
			if l = strings.TrimSpace(l); l != "" {
				link = l
				break
			}
		}
	}
	if link == "" && a.GUID != "" {
		if CleanURL(a.GUID) != "" || (guidIsPermalink && strings.HasPrefix(a.GUID, "/")) {
			link = a.GUID
		}
	}
	a.URL = ResolveURL(n.base, link)

	a.Title = CleanTitle(decodeBase64Title(it.Title))
	if a.Title == "" {
		a.Title = CleanTitle(mediaValue(it.Extensions, "title"))
	}
	if a.GUID == "" && a.URL == "" && a.Title == "" {
		return a, false
	}

	var published time.Time // as the feed gives it, for identity
	switch {
	case it.PublishedParsed != nil && !it.PublishedParsed.IsZero():
		published = *it.PublishedParsed
	case it.UpdatedParsed != nil && !it.UpdatedParsed.IsZero():
		published = *it.UpdatedParsed
	}
	if !published.IsZero() {
		published = published.UTC()
	}
	a.Key = Identity(a.GUID, a.URL, a.Title, published)
	a.Published = published
	if a.Published.IsZero() {
		a.Published = n.now
	}

	linkBase := a.URL
	if linkBase == "" {
		linkBase = n.base
	}
	a.Image = n.explicitImage(it, linkBase)
	want := scanText | scanLinks
	if a.Image == "" {
		want |= scanImage
	}

	// Body: content, else description. One pass over each gives its text,
	// links and first picture.
	var contentText, descText, img string
	if it.Content != "" {
		contentText, a.Links, img = scanHTML(it.Content, linkBase, want)
	}
	switch {
	case contentText == "":
		descText, a.Links, img = scanHTML(it.Description, linkBase, want)
		a.Text = descText
	case it.Description != "":
		descText = HTMLToText(it.Description)
		a.Text = contentText
	default:
		a.Text = contentText
	}
	if a.Image == "" {
		a.Image = img
	}

	sum := descText
	if sum == "" {
		sum = contentText
	}
	trunc := looksTruncated(descText) || looksTruncated(contentText)
	a.Summary = Excerpt(singleLine(trimTruncation(sum)), ExcerptLen)
	if contentText == "" {
		a.NeedsFullText = trunc || utf8.RuneCountInString(descText) < shortText
	} else {
		a.NeedsFullText = looksTruncated(contentText) ||
			(trunc && utf8.RuneCountInString(contentText) < shortText)
	}
	if a.Title == "" {
		// A link without a title still deserves a name.
		a.Title = Excerpt(singleLine(a.Text), 100)
		if a.Title == "" {
			a.Title = a.URL
		}
	}

	a.Author = author(it)
	a.Categories = categories(it.Categories)
	return a, true
}

func author(it *gofeed.Item) string {
	var names []string
	for _, p := range it.Authors {
		if p == nil {
			continue
		}
		name := CleanTitle(p.Name)
		if name == "" {
			name = strings.TrimSpace(p.Email)
		}
		if name != "" && !contains(names, name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 && it.Author != nil {
		if name := CleanTitle(it.Author.Name); name != "" {
			names = append(names, name)
		}
	}
	if len(names) == 0 && it.DublinCoreExt != nil {
		for _, c := range it.DublinCoreExt.Creator {
			if name := CleanTitle(c); name != "" && !contains(names, name) {
				names = append(names, name)
			}
		}
	}
	return strings.Join(names, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// categories trims and dedupes (case-insensitively) the item's categories,
// keeping the first spelling.
func categories(in []string) []string {
	var out []string
	var seen map[string]bool
	for _, c := range in {
		c = CleanTitle(c)
		if c == "" {
			continue
		}
		k := strings.ToLower(c)
		if seen == nil {
			seen = make(map[string]bool, len(in))
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, c)
	}
	return out
}

// explicitImage picks the picture a feed gives an item: an image
// enclosure, media:content or media:thumbnail, the iTunes image, gofeed's
// item image. Else the first picture of the body serves.
func (n *normaliser) explicitImage(it *gofeed.Item, base string) string {
	for _, e := range it.Enclosures {
		if e != nil && strings.HasPrefix(strings.ToLower(e.Type), "image/") {
			if u := ResolveURL(base, e.URL); u != "" {
				return u
			}
		}
	}
	if u := mediaImage(it.Extensions, base); u != "" {
		return u
	}
	if it.ITunesExt != nil {
		if u := ResolveURL(base, it.ITunesExt.Image); u != "" {
			return u
		}
	}
	if it.Image != nil {
		if u := ResolveURL(base, it.Image.URL); u != "" {
			return u
		}
	}
	return ""
}

// mediaImage finds a Media RSS picture: media:content of an image type or
// medium, else media:thumbnail, at the top level or inside media:group.
func mediaImage(exts ext.Extensions, base string) string {
	media := exts["media"]
	if media == nil {
		return ""
	}
	groups := []map[string][]ext.Extension{media}
	for _, g := range media["group"] {
		groups = append(groups, g.Children)
	}
	for _, g := range groups {
		for _, c := range g["content"] {
			t, m := strings.ToLower(c.Attrs["type"]), strings.ToLower(c.Attrs["medium"])
			if strings.HasPrefix(t, "image/") || m == "image" {
				if u := ResolveURL(base, c.Attrs["url"]); u != "" {
					return u
				}
			}
			for _, th := range c.Children["thumbnail"] {
				if u := ResolveURL(base, th.Attrs["url"]); u != "" {
					return u
				}
			}
		}
	}
	for _, g := range groups {
		for _, th := range g["thumbnail"] {
			if u := ResolveURL(base, th.Attrs["url"]); u != "" {
				return u
			}
		}
	}
	return ""
}

// mediaValue returns the text of a Media RSS element (media:title), at the
// top level, inside media:group or inside media:content.
func mediaValue(exts ext.Extensions, name string) string {
	media := exts["media"]
	if media == nil {
		return ""
	}
	for _, e := range media[name] {
		if v := strings.TrimSpace(e.Value); v != "" {
			return v
		}
	}
	for _, parent := range []string{"group", "content"} {
		for _, g := range media[parent] {
			for _, e := range g.Children[name] {
				if v := strings.TrimSpace(e.Value); v != "" {
					return v
				}
			}
		}
	}
	return ""
}

// decodeBase64Title decodes a title that a feed sent base64-encoded (Atom
// 0.3 mode="base64", which gofeed decodes only without a text type). To be
// taken for base64 a title must be one long token that decodes to printable
// UTF-8 holding a space: no real title looks like that.
func decodeBase64Title(s string) string {
	t := strings.TrimSpace(s)
	if len(t) < 12 || len(t)%4 != 0 || strings.ContainsAny(t, " \t\r\n") {
		return s
	}
	d, err := base64.StdEncoding.DecodeString(t)
	if err != nil || !utf8.Valid(d) || !bytes.ContainsRune(d, ' ') {
		return s
	}
	for _, r := range string(d) {
		if !unicode.IsPrint(r) {
			return s
		}
	}
	return string(d)
}

// readOn are the words of a link to the rest of an article.
var readOn = []string{"continue reading", "read more", "read the rest", "keep reading", "more…", "more..."}

// isTail reports what may follow a truncation marker: arrows, punctuation,
// spaces.
func isTail(r rune) bool {
	return unicode.IsSpace(r) || r == '→' || r == '»' || r == '›' || r == '>' || r == '.' || r == '!' || r == ':' || r == '-' || r == '–' || r == '—'
}

// truncation finds how a summary of a longer article ends: it returns the
// byte offset in text where the marker ("[…]", "Continue reading →", "The
// post X appeared first on Y.") starts, with ok false when there is none.
// A bare trailing ellipsis counts as a marker that keeps no text.
func truncation(text string) (at int, ok bool) {
	// Only the end matters: look at the last few hundred bytes, lowercased
	// (ASCII only, so that offsets stay those of text).
	off := 0
	if len(text) > 400 {
		off = len(text) - 400
		for off < len(text) && !utf8.RuneStart(text[off]) {
			off++
		}
	}
	var buf [400]byte
	lower := buf[:copy(buf[:], text[off:])]
	for i, c := range lower {
		if c >= 'A' && c <= 'Z' {
			lower[i] = c + 'a' - 'A'
		}
	}
	at, ok = truncationIn(lower)
	return off + at, ok
}

func truncationIn(lower []byte) (at int, ok bool) {
	lineStart := bytes.LastIndexByte(lower, '\n') + 1
	last := lower[lineStart:]
	// WordPress: "The post X appeared first on Y."
	if lineStart > 0 && bytes.HasPrefix(last, []byte("the post ")) && bytes.Contains(last, []byte("appeared first on")) {
		return lineStart, true
	}
	t := bytes.TrimRightFunc(lower, isTail)
	for _, m := range ellipses {
		if bytes.HasSuffix(t, []byte(m)) {
			return len(t) - len(m), true
		}
	}
	for _, m := range readOn {
		if bytes.HasSuffix(t, []byte(m)) {
			return len(t) - len(m), true
		}
		// "Continue reading The Title →" on a line of its own.
		if lineStart > 0 && len(last) <= 160 && bytes.HasPrefix(last, []byte(m)) {
			return lineStart, true
		}
	}
	return 0, false
}

var ellipses = []string{"[...]", "[…]", "(...)", "(…)", "…", "..."}

// looksTruncated reports whether text ends the way a summary of a longer
// article does.
func looksTruncated(text string) bool {
	_, ok := truncation(text)
	return ok
}

// trimTruncation removes a trailing truncation marker so that the excerpt
// ends in one clean ellipsis.
func trimTruncation(s string) string {
	at, ok := truncation(s)
	if !ok {
		return s
	}
	t := strings.TrimRightFunc(s[:at], func(r rune) bool {
		return unicode.IsSpace(r) || r == ',' || r == ';' || r == ':' || r == '-' || r == '–' || r == '—'
	})
	switch {
	case t == "":
		return ""
	case strings.HasSuffix(t, ".") || strings.HasSuffix(t, "!") || strings.HasSuffix(t, "?"):
		return t // a whole sentence needs no ellipsis
	}
	return t + "…"
}
