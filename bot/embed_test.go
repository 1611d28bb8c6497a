package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles"
)

// checkPost asserts every Discord limit and safety rule on a built post.
func checkPost(t *testing.T, m *discordgo.MessageSend, roleID string) {
	t.Helper()
	if m == nil || len(m.Embeds) != 1 {
		t.Fatalf("want one embed, got %+v", m)
	}
	e := m.Embeds[0]
	runes := func(s string) int { return utf8.RuneCountInString(s) }
	texts := map[string]string{"content": m.Content, "title": e.Title, "description": e.Description, "url": e.URL}
	limit := func(name, s string, max int) {
		t.Helper()
		texts[name] = s
		if n := runes(s); n > max {
			t.Errorf("%s has %d characters, limit %d", name, n, max)
		}
	}
	limit("content", m.Content, maxContent)
	limit("title", e.Title, maxEmbedTitle)
	limit("description", e.Description, articles.ExcerptLen)
	if e.Author != nil {
		limit("author", e.Author.Name, maxAuthorName)
	}
	if e.Footer != nil {
		limit("footer", e.Footer.Text, maxFooter)
	}
	if len(e.Fields) > 25 {
		t.Errorf("%d fields", len(e.Fields))
	}
	for i, f := range e.Fields {
		limit("field name", f.Name, maxFieldName)
		limit("field value", f.Value, maxFieldValue)
		if f.Name == "" || f.Value == "" {
			t.Errorf("field %d is empty: %+v", i, f)
		}
	}
	if n := embedLength(e); n > maxEmbedTotal {
		t.Errorf("embed has %d characters, limit %d", n, maxEmbedTotal)
	}
	if e.Title == "" {
		t.Error("empty title")
	}
	for name, s := range texts {
		if !utf8.ValidString(s) {
			t.Errorf("%s is not valid UTF-8: %q", name, s)
		}
	}
	// The title is plain text shown verbatim (embeds never ping, and
	// allowed_mentions, checked below, guards the content); the
	// description is escaped so that it formats nothing.
	checkEscaped(t, e.Description)
	for _, f := range e.Fields {
		for _, l := range strings.Split(f.Value, "\n") {
			checkLink(t, l)
		}
	}
	if e.URL != "" && httpURL(e.URL) == "" {
		t.Errorf("embed url %q is not an absolute http(s) URL", e.URL)
	}
	if e.Image != nil && httpURL(e.Image.URL) == "" {
		t.Errorf("image url %q is not an absolute http(s) URL", e.Image.URL)
	}
	if e.Timestamp != "" {
		if _, err := time.Parse(time.RFC3339, e.Timestamp); err != nil {
			t.Errorf("timestamp %q: %v", e.Timestamp, err)
		}
	}

	// Mentions: only the configured role, and only in the content.
	am := m.AllowedMentions
	if am == nil || am.Parse == nil || len(am.Parse) != 0 || len(am.Users) != 0 || am.RepliedUser {
		t.Fatalf("allowed_mentions = %+v, want parse [] and nothing else", am)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"allowed_mentions":{"parse":[]`) {
		t.Errorf("allowed_mentions does not marshal with an empty parse: %s", raw)
	}
	if roleID != "" && isSnowflake(roleID) {
		if len(am.Roles) != 1 || am.Roles[0] != roleID || m.Content != "<@&"+roleID+">" {
			t.Errorf("role %q: roles %v, content %q", roleID, am.Roles, m.Content)
		}
	} else if len(am.Roles) != 0 || m.Content != "" {
		t.Errorf("no role configured, yet roles %v, content %q", am.Roles, m.Content)
	}
}

// checkEscaped asserts that s, read as Discord markdown, formats nothing and
// mentions nobody: every markdown character is escaped, and no mention
// survives.
func checkEscaped(t *testing.T, s string) {
	t.Helper()
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r == '\\' {
			if i+1 >= len(rs) {
				t.Errorf("dangling backslash at the end of %q", s)
			}
			i++
			continue
		}
		if strings.ContainsRune("*_~`|>#[]()", r) || r == '-' && lineStart(rs, i) {
			t.Errorf("unescaped %q at %d in %q", r, i, s)
			return
		}
	}
	checkNoMention(t, s)
}

func checkNoMention(t *testing.T, s string) {
	t.Helper()
	low := strings.ToLower(s)
	for _, bad := range []string{"@everyone", "@here", "<@", "<#", "<:", "<a:", "<t:", "</"} {
		if strings.Contains(low, bad) {
			t.Errorf("%q survives in %q", bad, s)
		}
	}
}

// checkLink asserts that an "Also Read" line is one masked link whose text
// cannot end early and whose target is a clean absolute URL.
func checkLink(t *testing.T, l string) {
	t.Helper()
	rest, ok := strings.CutPrefix(l, "• [")
	if !ok {
		t.Errorf("line %q does not start a link", l)
		return
	}
	i := strings.Index(rest, "](")
	if i < 0 || !strings.HasSuffix(rest, ")") {
		t.Errorf("line %q is not [text](url)", l)
		return
	}
	text, target := rest[:i], rest[i+2:len(rest)-1]
	if strings.ContainsAny(text, "[]") {
		t.Errorf("link text %q holds a bracket", text)
	}
	checkEscaped(t, text)
	if strings.ContainsAny(target, "() <>") || articles.CleanURL(target) == "" {
		t.Errorf("link target %q", target)
	}
}

func words(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString([]string{"gopher", "release", "generics", "toolchain", "x"}[i%5])
	}
	return b.String()[:n]
}

func TestBuildPostLimits(t *testing.T) {
	pub := time.Date(2024, 2, 6, 15, 4, 5, 0, time.FixedZone("x", 3600))
	base := articles.Article{
		ID: 1, URL: "https://go.dev/blog/go1.22", Title: "Go 1.22 is released!", Summary: "We are happy to announce Go 1.22.",
		Author: "Eli Bendersky", Published: pub, Image: "https://go.dev/images/gophers.png", FeedTitle: "The Go Blog",
	}
	markdown := "**bold** __under__ _it_ ~~strike~~ `code` ```block``` ||spoiler|| > quote\n# Heading\n-# subtext\n- item\n" +
		"[link](https://evil.example) \\escaped\\ @everyone @here @EVERYONE <@123> <@!123> <@&456> <#789> <:e:1> <a:e:2> <t:1:R> </cmd:3> :smile:"
	tests := []struct {
		name  string
		a     func(a *articles.Article)
		also  []articles.Article
		role  string
		check func(t *testing.T, e *discordgo.MessageEmbed, m *discordgo.MessageSend)
	}{
		{name: "plain", check: func(t *testing.T, e *discordgo.MessageEmbed, m *discordgo.MessageSend) {
			want := &discordgo.MessageEmbed{Type: "rich", URL: base.URL, Title: "Go 1.22 is released!", Description: "We are happy to announce Go 1.22.",
				Timestamp: "2024-02-06T14:04:05Z", Author: &discordgo.MessageEmbedAuthor{Name: "Eli Bendersky"},
				Image: &discordgo.MessageEmbedImage{URL: base.Image}, Footer: &discordgo.MessageEmbedFooter{Text: "The Go Blog"}}
			got, _ := json.Marshal(e)
			exp, _ := json.Marshal(want)
			if string(got) != string(exp) {
				t.Errorf("embed\n got %s\nwant %s", got, exp)
			}
			if m.Content != "" {
				t.Errorf("content %q", m.Content)
			}
		}},
		{name: "title of 1000 characters", a: func(a *articles.Article) { a.Title = words(1000) }, check: func(t *testing.T, e *discordgo.MessageEmbed, _ *discordgo.MessageSend) {
			title, cut := strings.CutSuffix(e.Title, "…")
			if !cut || !strings.HasPrefix(words(1000), title+" ") || utf8.RuneCountInString(title) < 200 {
				t.Errorf("title not cut at a word near the limit: %q", e.Title)
			}
		}},
		{name: "one long word", a: func(a *articles.Article) { a.Title = strings.Repeat("é", 1000) }, check: func(t *testing.T, e *discordgo.MessageEmbed, _ *discordgo.MessageSend) {
			if utf8.RuneCountInString(e.Title) != maxEmbedTitle {
				t.Errorf("title %d runes, want the whole limit", utf8.RuneCountInString(e.Title))
			}
		}},
		{name: "markdown everywhere", a: func(a *articles.Article) { a.Title, a.Summary = markdown, markdown }, check: func(t *testing.T, e *discordgo.MessageEmbed, _ *discordgo.MessageSend) {
			if e.Title != strings.Join(strings.Fields(markdown), " ") {
				t.Errorf("title not verbatim: %q", e.Title)
			}
			if !strings.HasPrefix(e.Description, `\*\*bold\*\* \_\_under`) || !strings.Contains(e.Description, "@\u200beveryone") {
				t.Errorf("description not escaped: %q", e.Description)
			}
		}},
		{name: "markup title of 1000 characters", a: func(a *articles.Article) { a.Title = strings.Repeat("*_", 500) }},
		{name: "empty title falls back to the URL", a: func(a *articles.Article) { a.Title = " \n " }, check: func(t *testing.T, e *discordgo.MessageEmbed, _ *discordgo.MessageSend) {
			if e.Title != base.URL {
				t.Errorf("title %q", e.Title)
			}
		}},
		{name: "no title, no URL", a: func(a *articles.Article) { a.Title, a.URL = "", "/relative" }, check: func(t *testing.T, e *discordgo.MessageEmbed, _ *discordgo.MessageSend) {
			if e.Title != "Untitled" || e.URL != "" {
				t.Errorf("title %q url %q", e.Title, e.URL)
			}
		}},
		{name: "invalid UTF-8 and controls", a: func(a *articles.Article) {
			a.Title, a.Summary, a.Author, a.FeedTitle = "bad \xff\xfe title\x00\u202e", "x\xc3", "\x80", "feed\x01"
		}, check: func(t *testing.T, e *discordgo.MessageEmbed, _ *discordgo.MessageSend) {
			if e.Title != "bad \uFFFD title" || e.Footer.Text != "feed" {
				t.Errorf("title %q footer %q", e.Title, e.Footer.Text)
			}
		}},
		{name: "huge everything", a: func(a *articles.Article) {
			a.Title, a.Summary, a.Author, a.FeedTitle = words(5000), words(10000), words(5000), words(5000)
		}, also: []articles.Article{
			{URL: "https://go.dev/a", Title: words(3000)}, {URL: "https://go.dev/b", Title: words(3000)}, {URL: "https://go.dev/c", Title: words(3000)},
		}},
		{name: "bad image and times", a: func(a *articles.Article) {
			a.Image, a.Published = "javascript:alert(1)", time.Time{}
		}, check: func(t *testing.T, e *discordgo.MessageEmbed, _ *discordgo.MessageSend) {
			if e.Image != nil || e.Timestamp != "" {
				t.Errorf("image %+v timestamp %q", e.Image, e.Timestamp)
			}
		}},
		{name: "year 10000", a: func(a *articles.Article) { a.Published = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{name: "role", role: "123456789012345678", check: func(t *testing.T, _ *discordgo.MessageEmbed, m *discordgo.MessageSend) {
			if m.Content != "<@&123456789012345678>" {
				t.Errorf("content %q", m.Content)
			}
		}},
		{name: "malformed role is ignored", role: "@everyone"},
		{name: "also read", also: []articles.Article{
			{URL: "https://go.dev/blog/go1.22/", Title: "the article itself"},
			{URL: "https://go.dev/blog/a?utm_source=x", Title: "A [special] (one) **bold** @everyone"},
			{URL: "https://go.dev/blog/a", Title: "A again"},
			{URL: "/relative", Title: "not absolute"},
			{URL: "https://go.dev/blog/b_(x)", Title: ""},
			{URL: "https://go.dev/blog/c", Title: "C"},
			{URL: "https://go.dev/blog/d", Title: "D, one too many"},
		}, check: func(t *testing.T, e *discordgo.MessageEmbed, _ *discordgo.MessageSend) {
			if len(e.Fields) != 1 || e.Fields[0].Name != "Also Read" {
				t.Fatalf("fields %+v", e.Fields)
			}
			want := "• [A \\(special\\) \\(one\\) \\*\\*bold\\*\\* @\u200beveryone](https://go.dev/blog/a)\n" +
				"• [go.dev/blog/b\\_%28x%29](https://go.dev/blog/b_%28x%29)\n" +
				"• [C](https://go.dev/blog/c)"
			if e.Fields[0].Value != want {
				t.Errorf("also read\n got %q\nwant %q", e.Fields[0].Value, want)
			}
		}},
		{name: "also read drops links that do not fit", also: []articles.Article{
			{URL: "https://go.dev/" + strings.Repeat("a", 600), Title: "first"},
			{URL: "https://go.dev/" + strings.Repeat("b", 600), Title: "too long now"},
			{URL: "https://go.dev/c", Title: "short"},
		}, check: func(t *testing.T, e *discordgo.MessageEmbed, _ *discordgo.MessageSend) {
			lines := strings.Split(e.Fields[0].Value, "\n")
			if len(lines) != 2 || !strings.Contains(lines[0], "[first]") || !strings.Contains(lines[1], "[short]") {
				t.Errorf("lines %q", lines)
			}
		}},
		{name: "no also read", also: []articles.Article{{URL: "ftp://x/y", Title: "ftp"}}, check: func(t *testing.T, e *discordgo.MessageEmbed, _ *discordgo.MessageSend) {
			if len(e.Fields) != 0 {
				t.Errorf("fields %+v", e.Fields)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := base
			if tc.a != nil {
				tc.a(&a)
			}
			m := BuildPost(a, tc.also, tc.role)
			checkPost(t, m, tc.role)
			if tc.check != nil {
				tc.check(t, m.Embeds[0], m)
			}
		})
	}
}

func FuzzBuildPost(f *testing.F) {
	f.Add("Go 1.22", "summary", "author", "feed", "https://go.dev/x", "https://go.dev/i.png", "other", "https://go.dev/o", "123")
	f.Add(words(1000), "**a** @everyone <@&1> <#2>\n- x\n# y", "", "", "", "", "[x](y)", "https://go.dev/(a)", "")
	f.Add("\xff\xfe", "\\\\\\*", "\x00", "\u202e", "https://h/\xff", "//x", "]", "https://x/ y", "@here")
	f.Add("", "", "", "", "not a url", "", "", "", "00000000000000000000")
	f.Add("", "", "0", "", "0", "0", "?\xe7", "0", "0")
	f.Fuzz(func(t *testing.T, title, summary, author, feed, link, image, alsoTitle, alsoURL, role string) {
		a := articles.Article{URL: link, Title: title, Summary: summary, Author: author, FeedTitle: feed, Image: image,
			Published: time.Unix(int64(len(title))*1e8, 0)}
		also := []articles.Article{
			{URL: alsoURL, Title: alsoTitle}, {URL: alsoURL + "/2", Title: alsoTitle + alsoTitle},
			{URL: "https://go.dev/" + alsoTitle, Title: summary}, {URL: "https://go.dev/4", Title: title},
		}
		m := BuildPost(a, also, role)
		checkPost(t, m, role)
	})
}
