package archive

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/newsbot/newsbot/articles"
)

// maxBadPages is how many pages in a row may fail to parse before a paged
// walk stops.
const maxBadPages = 3

// walkFeed reads older feed pages from the checkpoint's cursor: WordPress
// `?paged=N` pages, or RFC 5005 prev-archive / next links. It stops at a 404,
// an empty page, or a page that brings no article this run has not met.
func (r *run) walkFeed(ctx context.Context) error {
	bad := 0
	for !r.cp.Done {
		if r.remaining() == 0 {
			r.cp.Done = true
			return r.save(ctx)
		}
		cursor := r.cp.Cursor
		if cursor == "" || r.visited[cursor] {
			r.cp.Done = true
			return r.save(ctx)
		}
		r.visited[cursor] = true
		res, err := r.a.fetch(ctx, cursor)
		if err != nil {
			if s := httpStatus(err); s == http.StatusNotFound || s == http.StatusGone {
				r.cp.Done = true
				return r.save(ctx)
			}
			return err
		}
		feed, err := articles.ParseFeed(cursor, res.Body, r.a.now())
		if err != nil {
			err = fmt.Errorf("archive: %s: %w", cursor, err)
			bad++
			if r.cp.Source != SourcePaged || bad >= maxBadPages {
				return err // no link to go on with, or the pages are not feeds at all
			}
			r.pageError(err)
			r.cp.Cursor = nextPaged(cursor)
			if err := r.save(ctx); err != nil {
				return err
			}
			continue
		}
		bad = 0
		items := archiveItems(feed.Items, r.cp.Site)
		fresh := items[:0]
		for _, it := range items {
			if r.markSeen(it.Key) {
				fresh = append(fresh, it)
			}
		}
		if len(fresh) == 0 {
			r.cp.Done = true
			return r.save(ctx)
		}
		next := ""
		switch {
		case r.cp.Source == SourcePaged:
			next = nextPaged(cursor)
		case feed.PrevArchive != "":
			next = feed.PrevArchive
		default:
			next = feed.Next
		}
		if err := r.storePage(ctx, fresh, next, next == ""); err != nil {
			return err
		}
	}
	return nil
}

// nextPaged returns the URL of the page after a ?paged=N page.
func nextPaged(cursor string) string {
	u, err := url.Parse(cursor)
	if err != nil {
		return ""
	}
	n, err := strconv.Atoi(u.Query().Get("paged"))
	if err != nil || n < 1 {
		n = 1
	}
	return setQuery(cursor, "paged", strconv.Itoa(n+1))
}
