package articles

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHTMLToText(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"plain":            {"  hello \t world \n", "hello world"},
		"entities":         {"caf&eacute; &amp; cr&#232;me &#x2014; &lt;b&gt;", "café & crème — <b>"},
		"inline tags":      {"a <b>bold</b> <i>word</i>", "a bold word"},
		"blocks":           {"<p>one</p><p>two</p><div>three<br>four</div>", "one\ntwo\nthree\nfour"},
		"list":             {"<ul><li>a</li>\n  <li>b</li></ul>", "a\nb"},
		"script and style": {"x<script>var a = '<p>no</p>';</script><style>p{}</style>y", "xy"},
		"self-closing raw": {"x<script/>alert(1)</script>y", "xy"},
		"noscript iframe":  {"a<noscript>no</noscript> b<iframe src=x>fallback</iframe> c<template><p>t</p></template>", "a b c"},
		"comment":          {"a<!-- <p>hidden</p> -->b", "ab"},
		"nbsp":             {"a&nbsp;&nbsp; b", "a b"},
		"no empty lines":   {"<p>a</p>\n\n<p></p><p> </p><p>b</p>", "a\nb"},
		"image separates":  {"word<img src=x>word", "word word"},
		"unclosed":         {"<p>open <b>bold", "open bold"},
		"stray lt":         {"1 < 2 and 3 > 2", "1 < 2 and 3 > 2"},
		"invalid utf8":     {"a\xffb", "a\uFFFDb"},
		"controls dropped": {"a\x00b\x07c", "abc"},
		"cdata-like":       {"<![CDATA[x]]>y", "y"},
		"empty":            {"", ""},
		"document":         {"<html><head><title>T</title></head><body><h1>H</h1>text</body></html>", "H\ntext"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := HTMLToText(c.in); got != c.want {
				t.Errorf("HTMLToText(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	cases := map[string]struct {
		in   string
		max  int
		want string
	}{
		"fits":            {"short text", 20, "short text"},
		"exact":           {"abcde", 5, "abcde"},
		"word boundary":   {"the quick brown fox jumps", 12, "the quick…"},
		"cut at space":    {"the quick brown fox", 11, "the quick…"},
		"trailing comma":  {"one, two, three, four", 10, "one, two…"},
		"one long word":   {"abcdefghijklmnopqrstuvwxyz", 10, "abcdefghi…"},
		"runes not bytes": {"été été été été", 9, "été été…"},
		"zero":            {"anything", 0, ""},
		"one":             {"anything", 1, "…"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := Excerpt(c.in, c.max)
			if got != c.want {
				t.Errorf("Excerpt(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
			}
			if n := utf8.RuneCountInString(got); n > c.max {
				t.Errorf("Excerpt(%q, %d) has %d runes", c.in, c.max, n)
			}
		})
	}
}

func TestCleanTitle(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"plain":          {"  Hello   world ", "Hello world"},
		"entity":         {"Tom &amp; Jerry", "Tom & Jerry"},
		"twice encoded":  {"Tom &amp;amp; Jerry &amp;#8217;s", "Tom & Jerry ’s"},
		"markup":         {"<b>Bold</b> <em>news</em>", "Bold news"},
		"escaped tags":   {"&lt;b&gt;Bold&lt;/b&gt; news", "Bold news"},
		"newlines":       {"Two\nlines<br>here", "Two lines here"},
		"unicode":        {"日本語 — “quotes” 🎉", "日本語 — “quotes” 🎉"},
		"no entity":      {"AT&T rocks; R&D", "AT&T rocks; R&D"},
		"encoded spaces": {"a&amp;#32;&amp;#32;b&amp;#9;c&amp;#10;d", "a b c d"},
		"literal tag":    {"Why &lt;div&gt; soup is bad", "Why <div> soup is bad"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := CleanTitle(c.in); got != c.want {
				t.Errorf("CleanTitle(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestExtractLinks(t *testing.T) {
	body := `<p><a href="/a/">A</a> <a href="https://www.example.com/a">A again</a>
<a href="b?utm_source=x#frag">B</a> <a href="https://other.org/c">other</a>
<a href="mailto:x@example.com">mail</a> <a href="#top">self</a> <a href="/post/1">self again</a>
<a href="javascript:void(0)">js</a> <a>no href</a> <area href="/map"></p>`
	got := ExtractLinks(body, "https://example.com/post/1")
	// www.example.com is the same site, but another URL (CanonicalURL).
	want := []string{"https://example.com/a/", "https://www.example.com/a", "https://example.com/post/b", "https://example.com/map"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ExtractLinks = %q, want %q", got, want)
	}
	if got := ExtractLinks(`<a href="/x">x</a>`, ""); got != nil {
		t.Errorf("without a base: %q, want nil", got)
	}
	// <base> changes how relative links resolve.
	got = ExtractLinks(`<base href="https://example.com/dir/"><a href="x">x</a>`, "https://example.com/post")
	if want := []string{"https://example.com/dir/x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("with <base>: %q, want %q", got, want)
	}
}

func TestFirstImage(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"relative":   {`<p>x <img src="/i/a.png"> <img src="b.png"></p>`, "https://example.com/i/a.png"},
		"pixel":      {`<img src="/p.gif" width="1" height="1"><img src="/real.jpg">`, "https://example.com/real.jpg"},
		"lazy":       {`<img src="data:image/gif;base64,R0lG" data-src="/lazy.jpg">`, "https://example.com/lazy.jpg"},
		"srcset":     {`<img srcset="/s-320.jpg 320w, /s-640.jpg 640w">`, "https://example.com/s-320.jpg"},
		"none":       {`<p>no picture</p>`, ""},
		"bad scheme": {`<img src="javascript:x">`, ""},
		"text only":  {`just text`, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := FirstImage(c.in, "https://example.com/post/"); got != c.want {
				t.Errorf("FirstImage(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestTruncation(t *testing.T) {
	cases := map[string]struct {
		in        string
		truncated bool
		trimmed   string
	}{
		"brackets":         {"Some text [&hellip;]", false, "Some text [&hellip;]"}, // raw entity: not text yet
		"brackets text":    {"Some text […]", true, "Some text…"},
		"dots":             {"Some text [...]", true, "Some text…"},
		"continue":         {"Some text\nContinue reading The Title →", true, "Some text…"},
		"read more":        {"Some text. Read more »", true, "Some text."},
		"wordpress footer": {"Body.\nThe post Title appeared first on Site.", true, "Body."},
		"ellipsis":         {"It goes on…", true, "It goes on…"},
		"whole":            {"A complete article.", false, "A complete article."},
		"read more inside": {"To read more about this see the blog post.", false, "To read more about this see the blog post."},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := looksTruncated(c.in); got != c.truncated {
				t.Errorf("looksTruncated(%q) = %v, want %v", c.in, got, c.truncated)
			}
			if got := trimTruncation(c.in); got != c.trimmed {
				t.Errorf("trimTruncation(%q) = %q, want %q", c.in, got, c.trimmed)
			}
		})
	}
}

func TestHTMLToTextLarge(t *testing.T) {
	// A body much larger than the tokenizer's buffer keeps all its text.
	var b strings.Builder
	for i := 0; i < 5000; i++ {
		b.WriteString("<p>word &amp; word</p>")
	}
	got := HTMLToText(b.String())
	if n := strings.Count(got, "word & word"); n != 5000 {
		t.Errorf("paragraphs = %d, want 5000", n)
	}
}
