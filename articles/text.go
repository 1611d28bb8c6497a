package articles

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// skipped are elements whose content is never text a reader sees.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Iframe: true, atom.Object: true, atom.Svg: true, atom.Math: true,
	atom.Head: true, atom.Title: true, atom.Select: true, atom.Textarea: true,
	atom.Noembed: true, atom.Noframes: true, atom.Plaintext: true, atom.Xmp: true,
}

// raw are the skipped elements whose content the tokenizer reads as raw text
// up to their end tag, even when the start tag is written self-closing.
var raw = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Iframe: true,
	atom.Title: true, atom.Textarea: true, atom.Noembed: true, atom.Noframes: true,
	atom.Plaintext: true, atom.Xmp: true,
}

// blocks are elements that start and end a line of text.
var blocks = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true,
	atom.Br: true, atom.Dd: true, atom.Details: true, atom.Dialog: true, atom.Div: true,
	atom.Dl: true, atom.Dt: true, atom.Fieldset: true, atom.Figcaption: true,
	atom.Figure: true, atom.Footer: true, atom.Form: true, atom.H1: true, atom.H2: true,
	atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true, atom.Header: true,
	atom.Hgroup: true, atom.Hr: true, atom.Li: true, atom.Main: true, atom.Nav: true,
	atom.Ol: true, atom.P: true, atom.Pre: true, atom.Section: true, atom.Summary: true,
	atom.Table: true, atom.Tbody: true, atom.Td: true, atom.Tfoot: true, atom.Th: true,
	atom.Thead: true, atom.Tr: true, atom.Ul: true, atom.Caption: true, atom.Body: true,
	atom.Html: true,
}

// textBuilder writes plain text, collapsing whitespace: a run of spaces
// becomes one space, a run that holds a block boundary one line break, and
// nothing leads or trails.
type textBuilder struct {
	b       strings.Builder
	space   bool // a space is owed before the next character
	newline bool // a line break is owed before the next character
}

func (t *textBuilder) brk() {
	if t.b.Len() > 0 {
		t.newline = true
	}
}

func (t *textBuilder) write(s string) { writeText(t, s) }

// writeText is write for text the tokenizer holds as bytes, without copying
// it into a string first.
func writeText[S string | []byte](t *textBuilder, s S) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
				if t.b.Len() > 0 {
					t.space = true
				}
				continue
			case c < 0x20 || c == 0x7f:
				continue // control characters are never text
			}
			// A run of printable ASCII is written at once.
			j := i
			for j < len(s) && s[j] > ' ' && s[j] < 0x7f {
				j++
			}
			t.flush()
			switch v := any(s[i-1 : j]).(type) {
			case string:
				t.b.WriteString(v)
			case []byte:
				t.b.Write(v)
			}
			i = j
			continue
		}
		r, n := decodeRune(s[i:])
		i += n
		switch {
		case unicode.IsSpace(r):
			if t.b.Len() > 0 {
				t.space = true
			}
			continue
		case r == '\u200b' || r == '\ufeff' || unicode.Is(unicode.Cc, r):
			continue // zero-width space, BOM, C1 controls
		}
		t.flush()
		t.b.WriteRune(r) // an invalid byte becomes U+FFFD
	}
}

func decodeRune[S string | []byte](s S) (rune, int) {
	switch v := any(s).(type) {
	case string:
		return utf8.DecodeRuneInString(v)
	case []byte:
		return utf8.DecodeRune(v)
	}
	return utf8.RuneError, 1
}

func (t *textBuilder) flush() {
	switch {
	case t.newline:
		t.b.WriteByte('\n')
	case t.space:
		t.b.WriteByte(' ')
	}
	t.newline, t.space = false, false
}

// HTMLToText returns the plain text of an HTML fragment or document: tags,
// comments and the content of scripts, styles and the like removed, entities
// decoded, block elements turned into line breaks, whitespace collapsed
// (no empty lines, no spaces around line breaks). The result is valid UTF-8.
func HTMLToText(s string) string {
	text, _, _ := scanHTML(s, "", scanText)
	return text
}

// tagAtom returns the element of the current tag token, read from its raw
// bytes: Tokenizer.TagName copies the name on every call.
func tagAtom(z *html.Tokenizer) atom.Atom {
	raw := z.Raw()
	i := 1
	if i < len(raw) && raw[i] == '/' {
		i++
	}
	var buf [16]byte
	n := 0
	for ; i < len(raw); i++ {
		c := raw[i]
		if c == ' ' || c == '/' || c == '>' || c == '\t' || c == '\n' || c == '\r' || c == '\f' {
			break
		}
		if n == len(buf) {
			return 0 // longer than any element newsbot cares about
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	return atom.Lookup(buf[:n])
}

// What scanHTML collects.
const (
	scanText = 1 << iota
	scanLinks
	scanImage
)

// scanHTML reads an HTML body once and returns what want asks for: its plain
// text (see HTMLToText), its links to the site of baseURL (see ExtractLinks),
// its first picture (see FirstImage).
func scanHTML(s, baseURL string, want int) (text string, links []string, image string) {
	var t textBuilder
	if want&scanText != 0 && !strings.Contains(s, "<") {
		// No markup: no tokenizer either.
		if strings.Contains(s, "&") {
			s = html.UnescapeString(s)
		}
		t.b.Grow(len(s))
		t.write(s)
		return t.b.String(), nil, ""
	}
	if !strings.Contains(s, "<") {
		want &^= scanLinks | scanImage
	}
	var lc linkCollector
	if want&scanLinks != 0 {
		lc = linkCollector{site: SiteOf(baseURL), self: CanonicalURL(baseURL), orig: baseURL}
		if lc.site == "" {
			want &^= scanLinks
		}
	}
	if want == 0 {
		return "", nil, ""
	}
	if want&scanText != 0 {
		t.b.Grow(len(s) / 2)
	}
	z := html.NewTokenizer(strings.NewReader(s))
	skip := 0 // depth inside skipped elements
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return t.b.String(), lc.out, image
		case html.TextToken:
			if skip == 0 && want&scanText != 0 {
				writeText(&t, z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			a := tagAtom(z)
			if skipped[a] {
				if tt == html.StartTagToken || raw[a] {
					skip++
				}
				continue
			}
			switch {
			case blocks[a]:
				t.brk()
			case a == atom.Img:
				// A picture between two words still separates them.
				if t.b.Len() > 0 {
					t.space = true
				}
				if want&scanImage != 0 && image == "" {
					if image = imgSource(z, baseURL); image != "" && want == scanImage {
						return "", nil, image
					}
				}
			case (a == atom.A || a == atom.Area || a == atom.Base) && want&scanLinks != 0:
				lc.add(a, attr(z, "href"))
			}
		case html.EndTagToken:
			a := tagAtom(z)
			if skipped[a] {
				if skip > 0 {
					skip--
				}
				continue
			}
			if blocks[a] {
				t.brk()
			}
		}
	}
}

// singleLine joins the lines of plain text with spaces.
func singleLine(s string) string {
	if strings.IndexByte(s, '\n') < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\n", " ")
}

// Excerpt returns text cut to at most max runes. A cut is made at a word
// boundary (unless a single word fills half of max) and ends with "…".
// Text that fits is returned unchanged.
func Excerpt(text string, max int) string {
	if max <= 0 {
		return ""
	}
	if len(text) <= max || utf8.RuneCountInString(text) <= max {
		return text
	}
	// Byte offset just past the first max-1 runes: room for the ellipsis.
	end, n := 0, 0
	for i := range text {
		if n == max-1 {
			end = i
			break
		}
		n++
	}
	cut := text[:end]
	next, _ := utf8.DecodeRuneInString(text[end:])
	if !unicode.IsSpace(next) {
		// The cut fell inside a word: back to the last word boundary, unless
		// that loses more than half (one very long word).
		if i := strings.LastIndexFunc(cut, unicode.IsSpace); i > 0 && utf8.RuneCountInString(cut[:i]) >= max/2 {
			cut = cut[:i]
		}
	}
	cut = strings.TrimRightFunc(cut, func(r rune) bool {
		return unicode.IsSpace(r) || r == ',' || r == ';' || r == ':' || r == '-' || r == '–' || r == '—' || r == '(' || r == '…'
	})
	return cut + "…"
}

// CleanTitle returns a title as plain text: markup removed, entities decoded
// (a twice-encoded title too), whitespace collapsed onto one line.
func CleanTitle(s string) string {
	t := singleLine(HTMLToText(s))
	// Twice-encoded ("&amp;amp;", "&amp;#8217;") titles still hold entities.
	for i := 0; i < 2 && hasEntity(t); i++ {
		u := html.UnescapeString(t)
		if u == t {
			break
		}
		var tb textBuilder
		tb.write(u) // what the entities stood for may be spaces or controls
		t = singleLine(tb.b.String())
	}
	if hasInlineTag(t) {
		t = singleLine(HTMLToText(t)) // markup that was escaped once too often
	}
	return t
}

// titleTags are the elements that turn up, escaped, in titles. Only these
// are taken for markup in decoded text, so that "Why <div> soup" keeps its
// words.
var titleTags = map[string]bool{
	"b": true, "i": true, "em": true, "strong": true, "span": true, "a": true,
	"code": true, "br": true, "sup": true, "sub": true, "small": true, "u": true,
	"s": true, "mark": true, "abbr": true, "cite": true, "q": true, "del": true,
	"ins": true, "font": true, "tt": true, "kbd": true, "var": true,
}

// hasInlineTag reports whether plain text still holds an inline HTML tag.
func hasInlineTag(s string) bool {
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			return false
		}
		s = s[i+1:]
		s2 := strings.TrimPrefix(s, "/")
		j := 0
		for j < len(s2) && j < 8 && (s2[j] >= 'a' && s2[j] <= 'z' || s2[j] >= 'A' && s2[j] <= 'Z') {
			j++
		}
		if j > 0 && j < len(s2) && titleTags[strings.ToLower(s2[:j])] {
			if c := s2[j]; c == '>' || c == ' ' || c == '/' {
				return true
			}
		}
	}
}

// hasEntity reports whether s holds something that looks like a character
// reference ("&amp;", "&#8217;", "&#x27;").
func hasEntity(s string) bool {
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			return false
		}
		s = s[i+1:]
		j := 0
		for j < len(s) && j < 32 {
			c := s[j]
			if c == ';' {
				if j > 0 {
					return true
				}
				break
			}
			if !(c == '#' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				break
			}
			j++
		}
	}
}

// ExtractLinks returns the links of an HTML body to other pages of the same
// site as baseURL (see SiteOf): clean absolute URLs (see CleanURL), relative
// ones resolved against baseURL (or the document's <base>), in document
// order, each once (compared by CanonicalURL), without baseURL itself.
func ExtractLinks(s, baseURL string) []string {
	_, links, _ := scanHTML(s, baseURL, scanLinks)
	return links
}

// linkCollector gathers the same-site links of a body.
type linkCollector struct {
	site, self string
	orig       string
	base       *url.URL // for relative links (a <base> may change it)
	baseErr    bool
	seen       map[string]bool
	out        []string
}

func (lc *linkCollector) add(a atom.Atom, href string) {
	if href == "" {
		return
	}
	if a == atom.Base {
		if b := ResolveURL(lc.orig, href); b != "" {
			lc.base, _ = url.Parse(b)
		}
		return
	}
	if lc.base == nil && !lc.baseErr {
		var err error
		if lc.base, err = url.Parse(strings.TrimSpace(lc.orig)); err != nil {
			lc.baseErr = true
		}
	}
	// As ResolveURL, CleanURL, SiteOf and CanonicalURL would, with the base
	// parsed once: a body may hold hundreds of links.
	ref, err := url.Parse(href)
	if err != nil {
		return
	}
	if lc.base != nil {
		ref = lc.base.ResolveReference(ref)
	}
	u := clean(ref.String())
	if u == nil || strings.TrimPrefix(u.Hostname(), "www.") != lc.site {
		return
	}
	s := u.String()
	c := s
	if len(u.Path) > 1 && strings.HasSuffix(u.Path, "/") {
		c = CanonicalURL(s)
	}
	if c == lc.self || lc.seen[c] {
		return
	}
	if lc.seen == nil {
		lc.seen = map[string]bool{}
	}
	lc.seen[c] = true
	lc.out = append(lc.out, s)
}

// attr returns the value of the current tag's attribute key, or "".
func attr(z *html.Tokenizer, key string) string {
	for {
		k, v, more := z.TagAttr()
		if string(k) == key {
			return strings.TrimSpace(string(v))
		}
		if !more {
			return ""
		}
	}
}

// FirstImage returns the absolute URL (see CleanURL) of the first picture of
// an HTML body, relative ones resolved against baseURL, or "". Pictures that
// are tracking pixels (1×1) or have no usable http(s) source are passed over.
func FirstImage(s, baseURL string) string {
	_, _, img := scanHTML(s, baseURL, scanImage)
	return img
}

// imgSource returns the usable source of the current <img>, or "".
func imgSource(z *html.Tokenizer, baseURL string) string {
	var src, lazy, srcset, w, h string
	for more := true; more; {
		var k, v []byte
		k, v, more = z.TagAttr()
		switch string(k) {
		case "src":
			src = strings.TrimSpace(string(v))
		case "data-src", "data-lazy-src", "data-original":
			lazy = strings.TrimSpace(string(v))
		case "srcset":
			srcset = strings.TrimSpace(string(v))
		case "width":
			w = strings.TrimSpace(string(v))
		case "height":
			h = strings.TrimSpace(string(v))
		}
	}
	if w == "1" || h == "1" || w == "0" || h == "0" {
		return ""
	}
	if f := strings.Fields(srcset); len(f) > 0 && lazy == "" {
		lazy = strings.TrimSuffix(f[0], ",")
	}
	for _, c := range []string{src, lazy} {
		if c == "" || strings.HasPrefix(c, "data:") {
			continue
		}
		if u := ResolveURL(baseURL, c); u != "" {
			return u
		}
	}
	return ""
}
