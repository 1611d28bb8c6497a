package archive

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/newsbot/newsbot/articles"
)

// wpPost is the part of a WordPress REST post newsbot reads.
type wpPost struct {
	ID      int64      `json:"id"`
	DateGMT string     `json:"date_gmt"`
	Date    string     `json:"date"`
	GUID    wpRendered `json:"guid"`
	Link    string     `json:"link"`
	Title   wpRendered `json:"title"`
	Excerpt wpRendered `json:"excerpt"`
	Content wpRendered `json:"content"`
	Cats    []int64    `json:"categories"`
	Tags    []int64    `json:"tags"`
}

type wpRendered struct {
	Rendered string `json:"rendered"`
}

type wpTerm struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// walkREST reads the REST API's posts page by page from the checkpoint's
// cursor. A page that does not decode is skipped (recorded as an error); a
// page that cannot be fetched stops the walk, to be resumed later.
func (r *run) walkREST(ctx context.Context) error {
	terms := r.loadTerms(ctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	for !r.cp.Done {
		if r.remaining() == 0 {
			r.cp.Done = true
			return r.save(ctx)
		}
		cursor := r.cp.Cursor
		page := pageOf(cursor)
		next := setQuery(cursor, "page", strconv.Itoa(page+1))
		res, err := r.a.fetch(ctx, cursor)
		if err != nil {
			if httpStatus(err) == http.StatusBadRequest && page > 1 {
				// rest_post_invalid_page_number: past the last page.
				r.cp.Done = true
				return r.save(ctx)
			}
			return err
		}
		totalPages, _ := strconv.Atoi(res.Header.Get("X-WP-TotalPages"))
		last := totalPages > 0 && page >= totalPages
		var posts []wpPost
		if err := json.Unmarshal(res.Body, &posts); err != nil {
			err = fmt.Errorf("archive: %s: page %d: malformed JSON: %w", r.cp.Site, page, err)
			if totalPages == 0 {
				return err // no way to know whether more pages follow
			}
			r.pageError(err)
			r.cp.Cursor, r.cp.Done = next, last
			if err := r.save(ctx); err != nil {
				return err
			}
			continue
		}
		items := make([]articles.Article, 0, len(posts))
		now := r.a.now()
		for i := range posts {
			if a, ok := wpArticle(&posts[i], r.cp.Site, terms, now); ok {
				items = append(items, a)
			}
		}
		if err := r.storePage(ctx, items, next, last || len(posts) == 0); err != nil {
			return err
		}
	}
	return nil
}

// loadTerms reads the site's categories and tags (id -> name). A failure
// is logged and leaves the articles without category names.
func (r *run) loadTerms(ctx context.Context) map[int64]string {
	terms := map[int64]string{}
	for _, tax := range []string{"categories", "tags"} {
		for page := 1; ; page++ {
			res, err := r.a.fetch(ctx, termsURL(r.cp.Cursor, tax, page))
			if err != nil {
				if !(httpStatus(err) == http.StatusBadRequest && page > 1) && ctx.Err() == nil {
					r.a.log.Warn("archive: could not read the site's terms", "site", r.cp.Site, "taxonomy", tax, "error", err)
				}
				break
			}
			var list []wpTerm
			if err := json.Unmarshal(res.Body, &list); err != nil {
				r.a.log.Warn("archive: malformed terms", "site", r.cp.Site, "taxonomy", tax, "error", err)
				break
			}
			for _, t := range list {
				terms[t.ID] = articles.CleanTitle(t.Name)
			}
			total, _ := strconv.Atoi(res.Header.Get("X-WP-TotalPages"))
			if len(list) == 0 || total == 0 || page >= total {
				break
			}
		}
	}
	return terms
}

// wpArticle turns a REST post into an article with the identity the feed
// gives the same post: WordPress's REST guid and link are the feed's <guid>
// and <link>.
func wpArticle(p *wpPost, site string, terms map[int64]string, now time.Time) (articles.Article, bool) {
	a := articles.Article{
		Site:      site,
		GUID:      strings.TrimSpace(html.UnescapeString(p.GUID.Rendered)),
		URL:       articles.CleanURL(p.Link),
		Title:     articles.CleanTitle(p.Title.Rendered),
		FirstSeen: now,
	}
	if a.GUID == "" && a.URL == "" && a.Title == "" {
		return a, false
	}
	a.Published = wpTime(p.DateGMT)
	if a.Published.IsZero() {
		a.Published = wpTime(p.Date) // site time; better than none
	}
	a.Key = articles.Identity(a.GUID, a.URL, a.Title, a.Published)
	if a.Published.IsZero() {
		a.Published = now
	}
	a.Text = articles.HTMLToText(p.Content.Rendered)
	excerpt := articles.HTMLToText(p.Excerpt.Rendered)
	body := a.Text
	if body == "" {
		body = trimMarker(excerpt)
		a.NeedsFullText = a.URL != ""
	}
	a.Summary = articles.Excerpt(strings.Join(strings.Fields(body), " "), articles.ExcerptLen)
	if a.Title == "" {
		a.Title = articles.Excerpt(a.Summary, 100)
	}
	for _, ids := range [][]int64{p.Cats, p.Tags} {
		for _, id := range ids {
			if n := terms[id]; n != "" && !contains(a.Categories, n) {
				a.Categories = append(a.Categories, n)
			}
		}
	}
	base := a.URL
	a.Image = articles.FirstImage(p.Content.Rendered, base)
	a.Links = articles.ExtractLinks(p.Content.Rendered, base)
	return a, true
}

// wpTime reads a REST date ("2024-05-01T10:00:00", UTC for date_gmt).
func wpTime(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04:05", strings.TrimSpace(s), time.UTC)
	if err != nil {
		return time.Time{}
	}
	return t
}

// trimMarker removes a trailing "[…]" from an excerpt.
func trimMarker(s string) string {
	s = strings.TrimSpace(s)
	for _, m := range []string{"[…]", "[...]", "[&hellip;]"} {
		if strings.HasSuffix(s, m) {
			return strings.TrimSpace(strings.TrimSuffix(s, m)) + "…"
		}
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
