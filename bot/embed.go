package bot

import (
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles"
)

// Discord's embed limits (discord.md, "Limits"), counted in characters as
// Discord counts them (Unicode code points).
const (
	maxEmbedTitle       = 256
	maxEmbedDescription = 4096
	maxFieldName        = 256
	maxFieldValue       = 1024
	maxFooter           = 2048
	maxAuthorName       = 256
	maxEmbedTotal       = 6000
	maxContent          = 2000
	maxURL              = 2048 // longer URLs are left out rather than refused

	maxAlsoRead      = 3
	maxAlsoReadTitle = 100 // runes of a link text in "Also Read", before escaping
)

// alsoReadName is the name of the field that lists related articles.
const alsoReadName = "Also Read"

// BuildPost builds the news post of a: one embed (title, link, excerpt,
// author, time, image, feed name, and up to three "Also Read" links) within
// every Discord limit whatever the input. Text from the feed cannot format
// the message or mention anyone; the only mentions allowed are roleIDs (the
// roles of the routes that led the post to its channel), which are then
// pinged in the content.
func BuildPost(a articles.Article, also []articles.Article, roleIDs ...string) *discordgo.MessageSend {
	link := httpURL(a.URL)
	title := plain(a.Title)
	if title == "" {
		title = "Untitled"
		if link != "" {
			title = link
		}
	}
	e := &discordgo.MessageEmbed{
		Type: discordgo.EmbedTypeRich,
		URL:  link,
		// The title is the article's plain text as it is (readers and tools
		// expect it verbatim; an embed never pings). The excerpt is escaped:
		// Discord renders markdown in a description, and feed text must not
		// format the post or add masked links.
		Title:       articles.Excerpt(title, maxEmbedTitle),
		Description: fitEscaped(multiline(a.Summary), articles.ExcerptLen),
	}
	if author := plain(a.Author); author != "" {
		e.Author = &discordgo.MessageEmbedAuthor{Name: articles.Excerpt(author, maxAuthorName)}
	}
	if ts := timestamp(a.Published); ts != "" {
		e.Timestamp = ts
	}
	if img := httpURL(a.Image); img != "" {
		e.Image = &discordgo.MessageEmbedImage{URL: img}
	}
	if feed := plain(a.FeedTitle); feed != "" {
		e.Footer = &discordgo.MessageEmbedFooter{Text: articles.Excerpt(feed, maxFooter)}
	}
	if v := alsoRead(a, also); v != "" {
		e.Fields = []*discordgo.MessageEmbedField{{Name: alsoReadName, Value: v}}
	}

	m := &discordgo.MessageSend{
		Embeds: []*discordgo.MessageEmbed{e},
		// An explicit empty Parse: nothing in the message can ping by itself.
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}},
	}
	var mentions []string
	for _, id := range roleIDs {
		if isSnowflake(id) && !slices.Contains(m.AllowedMentions.Roles, id) {
			mentions = append(mentions, "<@&"+id+">")
			m.AllowedMentions.Roles = append(m.AllowedMentions.Roles, id)
		}
	}
	m.Content = strings.Join(mentions, " ")
	return m
}

// alsoRead renders up to three related articles as one link a line, leaving
// out (rather than cutting) those that do not fit the field.
func alsoRead(a articles.Article, also []articles.Article) string {
	seen := map[string]bool{}
	if c := articles.CanonicalURL(a.URL); c != "" {
		seen[c] = true
	}
	var b strings.Builder
	n := 0
	for _, r := range also {
		if n == maxAlsoRead {
			break
		}
		u := linkTarget(r.URL)
		c := articles.CanonicalURL(r.URL)
		if u == "" || seen[c] {
			continue
		}
		text := plain(r.Title)
		if text == "" {
			text = strings.TrimPrefix(articles.SiteOf(u)+pathOf(u), "/")
		}
		line := "• [" + linkText(text) + "](" + u + ")"
		sep := 0
		if b.Len() > 0 {
			sep = 1
		}
		if utf8.RuneCountInString(b.String())+sep+utf8.RuneCountInString(line) > maxFieldValue {
			continue
		}
		if sep == 1 {
			b.WriteByte('\n')
		}
		b.WriteString(line)
		seen[c] = true
		n++
	}
	return b.String()
}

func pathOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.EscapedPath()
}

// linkText makes title safe as the text of a masked link: no brackets (which
// would end it), markdown escaped, mentions neutralised, at most
// maxAlsoReadTitle runes before escaping.
func linkText(title string) string {
	title = strings.NewReplacer("[", "(", "]", ")").Replace(title)
	return escapeMarkdown(articles.Excerpt(title, maxAlsoReadTitle))
}

// linkTarget returns u as the target of a masked link: an absolute http(s)
// URL with no character that would end the link early.
func linkTarget(raw string) string {
	u := articles.CleanURL(raw)
	if u == "" {
		return ""
	}
	u = strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "<", "%3C", ">", "%3E").Replace(u)
	return httpURL(u)
}

// httpURL returns raw when it is an absolute http(s) URL short enough for an
// embed, else "".
func httpURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > maxURL || !utf8.ValidString(raw) {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f {
			return ""
		}
	}
	return raw
}

func timestamp(t time.Time) string {
	if t.IsZero() || t.Year() < 1 || t.Year() > 9999 {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func isSnowflake(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// plain returns s as one line of valid UTF-8: invalid bytes replaced,
// control and formatting characters dropped, whitespace collapsed.
func plain(s string) string {
	return strings.Join(strings.Fields(sanitize(s, false)), " ")
}

// multiline is plain but keeps single line breaks (at most one blank line).
func multiline(s string) string {
	lines := strings.Split(sanitize(s, true), "\n")
	var out []string
	blank := false
	for _, l := range lines {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// sanitize replaces invalid UTF-8 and drops control characters (except line
// breaks when keepNewlines) and invisible format characters that could hide
// markup (zero-width joiners, bidi overrides).
func sanitize(s string, keepNewlines bool) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r':
			if keepNewlines {
				return '\n'
			}
			return ' '
		case r == '\t':
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, s)
}

// escapeMarkdown makes plain text render as itself in Discord: markdown
// characters get a backslash, and mentions (@everyone, @here, <@id>, <@&id>,
// <#id>) are broken with a zero-width space so that they neither ping nor
// render as mentions.
func escapeMarkdown(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case strings.ContainsRune("\\*_~`|>#[]()", r), r == '-' && lineStart(rs, i):
			b.WriteRune('\\')
			b.WriteRune(r)
		case r == '@' && mentionWord(rs[i+1:]):
			b.WriteRune(r)
			b.WriteRune(zeroWidthSpace)
		case r == '<' && i+1 < len(rs) && strings.ContainsRune("@#:at/", rs[i+1]):
			// <@id>, <@&id>, <#id>, <:emoji:id>, <a:emoji:id>, <t:unix>, </command:id>
			b.WriteRune(r)
			b.WriteRune(zeroWidthSpace)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

const zeroWidthSpace = '\u200b'

// mentionWord reports whether rest starts with "everyone" or "here".
func mentionWord(rest []rune) bool {
	s := string(rest[:min(len(rest), 8)])
	return strings.HasPrefix(strings.ToLower(s), "everyone") || strings.HasPrefix(strings.ToLower(s), "here")
}

func lineStart(rs []rune, i int) bool {
	for j := i - 1; j >= 0; j-- {
		if rs[j] == '\n' {
			return true
		}
		if rs[j] != ' ' {
			return false
		}
	}
	return true
}

// fitEscaped escapes s and cuts it so that the escaped text, with "…" when
// cut, holds at most max runes. The cut falls at a word boundary when one is
// near, and never inside an escape sequence.
func fitEscaped(s string, max int) string {
	if e := escapeMarkdown(s); utf8.RuneCountInString(e) <= max {
		return e
	}
	rs := []rune(s)
	if len(rs) > max {
		rs = rs[:max] // escaping only lengthens: no longer prefix can fit
	}
	// Find the longest prefix whose escaped form leaves room for "…".
	lo, hi := 0, len(rs)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if utf8.RuneCountInString(escapeMarkdown(string(rs[:mid]))) <= max-1 {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	cut := wordCut(rs, lo)
	prefix := strings.TrimRightFunc(string(rs[:cut]), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) && r != ')' && r != ']' && r != '"' && r != '\''
	})
	if prefix == "" {
		prefix = string(rs[:lo])
	}
	return escapeMarkdown(prefix) + "…"
}

// wordCut returns where to cut rs to keep at most n runes: before the last
// space within the last third, else at n.
func wordCut(rs []rune, n int) int {
	if n >= len(rs) {
		return len(rs)
	}
	if unicode.IsSpace(rs[n]) {
		return n
	}
	for i := n; i > n*2/3; i-- {
		if unicode.IsSpace(rs[i-1]) {
			return i - 1
		}
	}
	return n
}

// embedLength is what Discord counts toward the 6000-character total of an
// embed.
func embedLength(e *discordgo.MessageEmbed) int {
	n := utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
	if e.Footer != nil {
		n += utf8.RuneCountInString(e.Footer.Text)
	}
	if e.Author != nil {
		n += utf8.RuneCountInString(e.Author.Name)
	}
	for _, f := range e.Fields {
		n += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
	}
	return n
}
