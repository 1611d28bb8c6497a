// Package wptest is a fake WordPress site on loopback for tests and
// benchmarks: generated posts served through the RSS feed (10 per page,
// `?paged=N`), the REST API (/wp-json/wp/v2/posts, /categories, /tags with
// X-WP-Total and X-WP-TotalPages), a home page that advertises the API, and
// article pages wrapped in navigation, comments and widgets.
//
// Posts are generated from their id on demand, so a site of 10,000 posts
// costs no memory. Post 1 is the oldest; post N the newest.
package wptest

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Categories and Tags are the numbers of terms the site has.
const (
	Categories = 8
	Tags       = 30
	// FeedSize is the number of items per feed page.
	FeedSize = 10
)

// Base is the publication time of post 0; post i is published i hours later.
var Base = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Config shapes the fake site.
type Config struct {
	Posts       int  // number of posts
	NoREST      bool // no REST API: /wp-json/ answers 404 and nothing advertises it
	NoPaged     bool // the feed ignores ?paged=N (always the newest page)
	NotWP       bool // the feed has no WordPress generator (with NoREST: a plain site)
	SummaryOnly bool // the feed carries excerpts ending in "[…]" and no content:encoded
	// Fault, when set, is asked first for every request; it returns true
	// when it wrote the response itself.
	Fault func(w http.ResponseWriter, r *http.Request) bool
}

// Site is a running fake WordPress site.
type Site struct {
	*httptest.Server
	cfg   Config
	posts atomic.Int64

	mu       sync.Mutex
	requests map[string]int // by path (and ?paged / page= for listings)
	fault    func(w http.ResponseWriter, r *http.Request) bool
}

// New starts a fake site; it is closed by t.Cleanup.
func New(t testing.TB, cfg Config) *Site {
	s := &Site{cfg: cfg, requests: map[string]int{}, fault: cfg.Fault}
	s.posts.Store(int64(cfg.Posts))
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// FeedURL is the URL of the site's main feed.
func (s *Site) FeedURL() string { return s.URL + "/feed/" }

// Posts returns the number of posts now published.
func (s *Site) Posts() int { return int(s.posts.Load()) }

// Publish adds a new post (the newest) and returns its id.
func (s *Site) Publish() int { return int(s.posts.Add(1)) }

// Requests returns how many requests reached the given key: a path, with
// "?paged=N" or "?page=N" appended for feed and REST listings.
func (s *Site) Requests(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[key]
}

// TotalRequests returns the number of requests the site answered.
func (s *Site) TotalRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.requests {
		n += c
	}
	return n
}

// GUID, Link, Title and Published describe post id as the site shows it.
func (s *Site) GUID(id int) string { return fmt.Sprintf("%s/?p=%d", s.URL, id) }

// Link is the permalink of post id.
func (s *Site) Link(id int) string {
	d := Published(id)
	return fmt.Sprintf("%s/%04d/%02d/%02d/post-%d/", s.URL, d.Year(), d.Month(), d.Day(), id)
}

// Title is the plain-text title of post id.
func Title(id int) string { return fmt.Sprintf("Post %d — %s & %s", id, word(id), word(id*7+3)) }

// Published is the publication time of post id.
func Published(id int) time.Time { return Base.Add(time.Duration(id) * time.Hour) }

// CategoryName and TagName name term ids (1-based).
func CategoryName(id int) string { return fmt.Sprintf("Category %d", id) }

// TagName names tag id (1-based; tag ids start after the category ids).
func TagName(id int) string { return fmt.Sprintf("tag-%d", id) }

// PostCategories returns the category ids and tag ids of post id.
func PostCategories(id int) (cats, tags []int) {
	return []int{id%Categories + 1}, []int{Categories + id%Tags + 1, Categories + (id*7+1)%Tags + 1}
}

var words = []string{"gopher", "channel", "module", "generics", "runtime", "compiler", "garbage",
	"scheduler", "interface", "profile", "fuzzing", "workspace", "toolchain", "telemetry", "iterator",
	"closure", "sqlite", "discord", "archive", "readability"}

func word(i int) string { return words[i%len(words)] }

// Paragraphs returns the main text of post id as paragraphs of plain text.
func Paragraphs(id int) []string {
	return []string{
		fmt.Sprintf("This is the body of post %d about the %s and the %s.", id, word(id), word(id+1)),
		fmt.Sprintf("A second paragraph explains the %s in some detail, with enough words to read like an article rather than a caption, because readability scores long paragraphs with commas, like this one, higher than short ones.", word(id+2)),
		fmt.Sprintf("Finally, the %s meets the %s, and the story ends here.", word(id+3), word(id*3)),
	}
}

// ContentHTML is the rendered content of post id (what content:encoded and
// content.rendered carry): its paragraphs and a link to the previous post.
func (s *Site) ContentHTML(id int) string {
	var b strings.Builder
	for i, p := range Paragraphs(id) {
		b.WriteString("<p>")
		b.WriteString(html.EscapeString(p))
		if i == 0 && id > 1 {
			fmt.Fprintf(&b, ` See also <a href="%s">the previous post</a>.`, s.Link(id-1))
		}
		b.WriteString("</p>\n")
	}
	return b.String()
}

// ExcerptHTML is the rendered excerpt of post id, a stub ending in "[…]".
func ExcerptHTML(id int) string {
	return "<p>" + html.EscapeString(Paragraphs(id)[0]) + " [&hellip;]</p>\n"
}

// SetFault replaces Config.Fault (nil: none).
func (s *Site) SetFault(f func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

func (s *Site) count(key string) func(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[key]++
	return s.fault
}

func (s *Site) serve(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Path
	if p := r.URL.Query().Get("paged"); p != "" {
		key += "?paged=" + p
	} else if p := r.URL.Query().Get("page"); p != "" {
		key += "?page=" + p
	}
	if f := s.count(key); f != nil && f(w, r) {
		return
	}
	path := r.URL.Path
	switch {
	case path == "/":
		s.home(w)
	case path == "/feed/" || path == "/feed" || strings.HasPrefix(path, "/category/") && strings.HasSuffix(path, "/feed/"):
		s.feed(w, r)
	case strings.HasPrefix(path, "/wp-json/"):
		if s.cfg.NoREST {
			http.NotFound(w, r)
			return
		}
		s.rest(w, r)
	default:
		s.page(w, r)
	}
}

func (s *Site) home(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	api := ""
	if !s.cfg.NoREST {
		w.Header().Set("Link", fmt.Sprintf(`<%s/wp-json/>; rel="https://api.w.org/"`, s.URL))
		api = fmt.Sprintf(`<link rel="https://api.w.org/" href="%s/wp-json/" />`, s.URL)
	}
	fmt.Fprintf(w, "<!doctype html><html><head><title>Fake site</title>%s</head><body><h1>Fake site</h1></body></html>", api)
}

// feed serves the RSS feed: page 1 is the newest FeedSize posts.
func (s *Site) feed(w http.ResponseWriter, r *http.Request) {
	page := 1
	if p := r.URL.Query().Get("paged"); p != "" && !s.cfg.NoPaged {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			http.NotFound(w, r)
			return
		}
		page = n
	}
	newest := s.Posts() - (page-1)*FeedSize
	if newest < 1 {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/rss+xml; charset=UTF-8")
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
<title>Fake site</title>
`)
	fmt.Fprintf(&b, "<link>%s</link>\n<description>A fake WordPress site</description>\n", s.URL)
	if !s.cfg.NotWP {
		b.WriteString("<generator>https://wordpress.org/?v=6.5</generator>\n")
	}
	for id := newest; id > newest-FeedSize && id >= 1; id-- {
		b.WriteString(s.item(id))
	}
	b.WriteString("</channel>\n</rss>\n")
	_, _ = w.Write([]byte(b.String()))
}

func (s *Site) item(id int) string {
	var b strings.Builder
	b.WriteString("<item>\n")
	fmt.Fprintf(&b, "<title>%s</title>\n", xmlText(Title(id)))
	fmt.Fprintf(&b, "<link>%s</link>\n", s.Link(id))
	fmt.Fprintf(&b, "<dc:creator><![CDATA[Author %d]]></dc:creator>\n", id%3+1)
	fmt.Fprintf(&b, "<pubDate>%s</pubDate>\n", Published(id).Format(time.RFC1123Z))
	cats, tags := PostCategories(id)
	for _, c := range cats {
		fmt.Fprintf(&b, "<category><![CDATA[%s]]></category>\n", CategoryName(c))
	}
	for _, t := range tags {
		fmt.Fprintf(&b, "<category><![CDATA[%s]]></category>\n", TagName(t))
	}
	fmt.Fprintf(&b, "<guid isPermaLink=\"false\">%s</guid>\n", s.GUID(id))
	fmt.Fprintf(&b, "<description><![CDATA[%s]]></description>\n", ExcerptHTML(id))
	if !s.cfg.SummaryOnly {
		fmt.Fprintf(&b, "<content:encoded><![CDATA[%s]]></content:encoded>\n", s.ContentHTML(id))
	}
	b.WriteString("</item>\n")
	return b.String()
}

func xmlText(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

type rendered struct {
	Rendered string `json:"rendered"`
}

type restPost struct {
	ID          int      `json:"id"`
	Date        string   `json:"date"`
	DateGMT     string   `json:"date_gmt"`
	ModifiedGMT string   `json:"modified_gmt"`
	GUID        rendered `json:"guid"`
	Link        string   `json:"link"`
	Title       rendered `json:"title"`
	Excerpt     rendered `json:"excerpt"`
	Content     rendered `json:"content"`
	Author      int      `json:"author"`
	Categories  []int    `json:"categories"`
	Tags        []int    `json:"tags"`
}

type restTerm struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Slug  string `json:"slug"`
	Count int    `json:"count"`
}

func (s *Site) rest(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	perPage := 10
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			restError(w, http.StatusBadRequest, "rest_invalid_param", "per_page must be between 1 (inclusive) and 100 (inclusive)")
			return
		}
		perPage = n
	}
	page := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			restError(w, http.StatusBadRequest, "rest_invalid_param", "page must be greater than or equal to 1")
			return
		}
		page = n
	}
	switch r.URL.Path {
	case "/wp-json/", "/wp-json":
		writeJSON(w, map[string]any{"name": "Fake site", "url": s.URL, "namespaces": []string{"wp/v2"}})
	case "/wp-json/wp/v2/posts":
		total := s.Posts()
		s.listing(w, total, perPage, page, func(i int) any { // i-th newest, 0-based
			return s.restPost(total - i)
		})
	case "/wp-json/wp/v2/categories":
		s.listing(w, Categories, perPage, page, func(i int) any {
			return restTerm{ID: i + 1, Name: CategoryName(i + 1), Slug: fmt.Sprintf("category-%d", i+1), Count: 1}
		})
	case "/wp-json/wp/v2/tags":
		s.listing(w, Tags, perPage, page, func(i int) any {
			id := Categories + i + 1
			return restTerm{ID: id, Name: TagName(id), Slug: TagName(id), Count: 1}
		})
	default:
		restError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
	}
}

func (s *Site) listing(w http.ResponseWriter, total, perPage, page int, item func(i int) any) {
	pages := (total + perPage - 1) / perPage
	if page > 1 && page > pages {
		restError(w, http.StatusBadRequest, "rest_post_invalid_page_number", "The page number requested is larger than the number of pages available.")
		return
	}
	w.Header().Set("X-WP-Total", strconv.Itoa(total))
	w.Header().Set("X-WP-TotalPages", strconv.Itoa(pages))
	items := make([]any, 0, perPage)
	for i := (page - 1) * perPage; i < page*perPage && i < total; i++ {
		items = append(items, item(i))
	}
	writeJSON(w, items)
}

func (s *Site) restPost(id int) restPost {
	d := Published(id)
	cats, tags := PostCategories(id)
	return restPost{
		ID:          id,
		Date:        d.Format("2006-01-02T15:04:05"),
		DateGMT:     d.Format("2006-01-02T15:04:05"),
		ModifiedGMT: d.Add(time.Hour).Format("2006-01-02T15:04:05"),
		GUID:        rendered{s.GUID(id)},
		Link:        s.Link(id),
		Title:       rendered{html.EscapeString(Title(id))},
		Excerpt:     rendered{ExcerptHTML(id)},
		Content:     rendered{s.ContentHTML(id)},
		Author:      id%3 + 1,
		Categories:  cats,
		Tags:        tags,
	}
}

func restError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "data": map[string]int{"status": status}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(v)
}

// page serves an article page: the post inside the site's chrome.
func (s *Site) page(w http.ResponseWriter, r *http.Request) {
	var y, m, d, id int
	if n, err := fmt.Sscanf(r.URL.Path, "/%d/%d/%d/post-%d/", &y, &m, &d, &id); n != 4 || err != nil || id < 1 || id > s.Posts() || r.URL.Path != strings.TrimPrefix(s.Link(id), s.URL) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	fmt.Fprintf(w, pageTemplate, html.EscapeString(Title(id)), s.URL, s.URL, s.URL,
		html.EscapeString(Title(id)), Published(id).Format(time.RFC3339), Published(id).Format("January 2, 2006"),
		s.ContentHTML(id), s.URL, s.URL, s.URL)
}

const pageTemplate = `<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="UTF-8"><title>%s – Fake site</title>
<link rel="stylesheet" href="%s/wp-content/themes/fake/style.css">
<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);} gtag('js', new Date());</script>
</head>
<body class="post-template-default single single-post">
<header id="masthead" class="site-header">
 <div class="site-branding"><a href="%s/" rel="home">Fake site</a></div>
 <nav id="site-navigation" class="main-navigation"><ul class="menu">
  <li><a href="%s/">Home</a></li><li><a href="/about/">About us</a></li><li><a href="/contact/">Contact the newsroom</a></li>
  <li><a href="/category/category-1/">Category 1</a></li><li><a href="/category/category-2/">Category 2</a></li>
 </ul></nav>
</header>
<div id="content" class="site-content">
<main id="primary" class="site-main">
<article class="post type-post status-publish format-standard hentry">
 <header class="entry-header"><h1 class="entry-title">%s</h1>
  <div class="entry-meta"><time class="entry-date published" datetime="%s">%s</time> by <span class="author vcard">Editorial team</span></div>
 </header>
 <div class="entry-content">
%s </div>
 <footer class="entry-footer"><span class="cat-links">Posted in Category</span> <div class="sharedaddy"><a href="#share">Share on social media</a></div></footer>
</article>
<nav class="navigation post-navigation" aria-label="Posts"><div class="nav-links"><div class="nav-previous"><a href="#prev">Previous post: an older story</a></div><div class="nav-next"><a href="#next">Next post: a newer story</a></div></div></nav>
<div id="comments" class="comments-area">
 <h2 class="comments-title">3 thoughts on this post</h2>
 <ol class="comment-list">
  <li class="comment"><article class="comment-body"><footer class="comment-meta">Reader One says:</footer><div class="comment-content"><p>Great write-up, thanks for sharing this with the community!</p></div></article></li>
  <li class="comment"><article class="comment-body"><footer class="comment-meta">Reader Two says:</footer><div class="comment-content"><p>I disagree with the second paragraph, but the rest is fine.</p></div></article></li>
 </ol>
 <div id="respond" class="comment-respond"><h3>Leave a Reply</h3><form><textarea name="comment"></textarea><input type="submit" value="Post Comment"></form></div>
</div>
</main>
<aside id="secondary" class="widget-area">
 <section class="widget widget_search"><form role="search"><input type="search" placeholder="Search …"></form></section>
 <section class="widget widget_recent_entries"><h2 class="widget-title">Recent Posts</h2><ul><li><a href="/recent-1/">A recent post in the sidebar</a></li><li><a href="/recent-2/">Another recent post</a></li></ul></section>
 <section class="widget widget_text"><h2 class="widget-title">Newsletter</h2><div class="textwidget"><p>Subscribe to our newsletter for weekly updates.</p></div></section>
</aside>
</div>
<footer id="colophon" class="site-footer"><div class="site-info"><a href="%s/privacy/">Privacy policy</a> | Proudly powered by WordPress | <a href="%s/feed/">RSS</a> © <a href="%s/">Fake site</a></div></footer>
</body></html>
`
