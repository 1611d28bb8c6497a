package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/newsbot/newsbot/articles"
)

// articleColumns is the column list scanArticle reads, in its order.
const articleColumns = `id, site, key, guid, url, title, summary, text, author, published,
	image, categories, links, needs_full_text, feed_url, feed_title, first_seen,
	state, message_id, attempts, last_error`

type scanner interface{ Scan(dest ...any) error }

func scanArticle(s scanner) (articles.Article, error) {
	var (
		a                    articles.Article
		published, firstSeen sql.NullInt64
		categories, links    sql.NullString
		state                string
	)
	err := s.Scan(&a.ID, &a.Site, &a.Key, &a.GUID, &a.URL, &a.Title, &a.Summary, &a.Text, &a.Author, &published,
		&a.Image, &categories, &links, &a.NeedsFullText, &a.FeedURL, &a.FeedTitle, &firstSeen,
		&state, &a.MessageID, &a.Attempts, &a.LastError)
	if err != nil {
		return a, err
	}
	a.Published = timeFrom(published)
	a.FirstSeen = timeFrom(firstSeen)
	a.State = articles.State(state)
	if a.Categories, err = decodeList(categories); err != nil {
		return a, fmt.Errorf("article %d categories: %w", a.ID, err)
	}
	if a.Links, err = decodeList(links); err != nil {
		return a, fmt.Errorf("article %d links: %w", a.ID, err)
	}
	return a, nil
}

func encodeList(l []string) (any, error) {
	if len(l) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func decodeList(s sql.NullString) ([]string, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s.String), &l); err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

// normalise fills an incoming article's identity: its site (else the
// fallback's, else its link's) and its key (else articles.Identity).
func normalise(a articles.Article, site string) articles.Article {
	if a.Site == "" {
		a.Site = site
	}
	if a.Site == "" {
		a.Site = articles.SiteOf(a.URL)
	}
	if a.Key == "" {
		a.Key = articles.Identity(a.GUID, a.URL, a.Title, a.Published)
	}
	return a
}

// stored is what matching needs to know of an article already in the store.
type stored struct {
	id    int64
	state articles.State
}

// writer stores incoming articles inside one write transaction, with its
// statements prepared once for the whole batch (parsing them per item
// would cost more than running them).
type writer struct {
	byKey, byURL, insert, fill *sql.Stmt
	stmts                      []*sql.Stmt
}

func newWriter(ctx context.Context, tx *sql.Tx) (*writer, error) {
	w := &writer{}
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&w.byKey, "SELECT id, state FROM articles WHERE site = ? AND key = ?"},
		{&w.byURL, "SELECT id, state FROM articles WHERE canonical_url = ? AND site = ? ORDER BY id LIMIT 1"},
		{&w.insert, insertQuery},
		{&w.fill, fillQuery},
	} {
		st, err := tx.PrepareContext(ctx, p.query)
		if err != nil {
			w.close()
			return nil, err
		}
		*p.dst = st
		w.stmts = append(w.stmts, st)
	}
	return w, nil
}

func (w *writer) close() {
	for _, st := range w.stmts {
		st.Close()
	}
}

// find looks an incoming article up within its site: by key, else by
// canonical link. ok is false when the store does not hold it.
func (w *writer) find(ctx context.Context, a articles.Article) (s stored, ok bool, err error) {
	var state string
	err = w.byKey.QueryRowContext(ctx, a.Site, a.Key).Scan(&s.id, &state)
	if errors.Is(err, sql.ErrNoRows) {
		canon := articles.CanonicalURL(a.URL)
		if canon == "" {
			return s, false, nil
		}
		err = w.byURL.QueryRowContext(ctx, canon, a.Site).Scan(&s.id, &state)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, err
	}
	s.state = articles.State(state)
	return s, true, nil
}

const insertQuery = `INSERT INTO articles (site, key, canonical_url, guid, url, title, summary, text,
	author, published, image, categories, links, needs_full_text, feed_url, feed_title, first_seen,
	state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'recorded', ?)`

// insertNew stores a new article in state recorded and returns its id.
func (w *writer) insertNew(ctx context.Context, a articles.Article, now time.Time) (int64, error) {
	cats, err := encodeList(a.Categories)
	if err != nil {
		return 0, err
	}
	links, err := encodeList(a.Links)
	if err != nil {
		return 0, err
	}
	firstSeen := a.FirstSeen
	if firstSeen.IsZero() {
		firstSeen = now
	}
	res, err := w.insert.ExecContext(ctx,
		a.Site, a.Key, articles.CanonicalURL(a.URL), a.GUID, a.URL, a.Title, a.Summary, a.Text,
		a.Author, timeValue(a.Published), a.Image, cats, links, a.NeedsFullText, a.FeedURL, a.FeedTitle,
		timeNanos(firstSeen), timeNanos(now))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// textGain says when an incoming body replaces the stored one: where there
// was none, or a whole body where there was only a summary. Text and
// NeedsFullText travel together, so the body brings its own verdict on
// whether the page must be read.
const textGain = "((text = '' AND ?6 <> '') OR (needs_full_text = 1 AND ?7 = 0 AND ?6 <> ''))"

// fillQuery gives a stored article what it lacked. Identity (site, key),
// posting state and first_seen never change, and a field already set is
// kept: an edit is not news. The WHERE clause skips the write when there is
// nothing to fill.
const fillQuery = `UPDATE articles SET
	guid          = CASE WHEN guid = '' THEN ?1 ELSE guid END,
	url           = CASE WHEN url = '' THEN ?2 ELSE url END,
	canonical_url = CASE WHEN canonical_url = '' THEN ?3 ELSE canonical_url END,
	title         = CASE WHEN title = '' THEN ?4 ELSE title END,
	summary       = CASE WHEN summary = '' THEN ?5 ELSE summary END,
	needs_full_text = CASE WHEN ` + textGain + ` THEN ?7 ELSE needs_full_text END,
	text          = CASE WHEN ` + textGain + ` THEN ?6 ELSE text END,
	author        = CASE WHEN author = '' THEN ?8 ELSE author END,
	published     = coalesce(published, ?9),
	image         = CASE WHEN image = '' THEN ?10 ELSE image END,
	categories    = coalesce(categories, ?11),
	links         = coalesce(links, ?12),
	feed_url      = CASE WHEN feed_url = '' THEN ?13 ELSE feed_url END,
	feed_title    = CASE WHEN feed_title = '' THEN ?14 ELSE feed_title END,
	updated_at    = ?15
WHERE id = ?16 AND (
	(guid = '' AND ?1 <> '') OR (url = '' AND ?2 <> '') OR (canonical_url = '' AND ?3 <> '') OR
	(title = '' AND ?4 <> '') OR (summary = '' AND ?5 <> '') OR ` + textGain + ` OR
	(author = '' AND ?8 <> '') OR (published IS NULL AND ?9 IS NOT NULL) OR
	(image = '' AND ?10 <> '') OR (categories IS NULL AND ?11 IS NOT NULL) OR
	(links IS NULL AND ?12 IS NOT NULL) OR (feed_url = '' AND ?13 <> '') OR
	(feed_title = '' AND ?14 <> ''))`

// fillIn gives the stored article id what it lacked from a new sighting a
// (see fillQuery).
func (w *writer) fillIn(ctx context.Context, id int64, a articles.Article, now time.Time) error {
	cats, err := encodeList(a.Categories)
	if err != nil {
		return err
	}
	links, err := encodeList(a.Links)
	if err != nil {
		return err
	}
	_, err = w.fill.ExecContext(ctx,
		a.GUID, a.URL, articles.CanonicalURL(a.URL), a.Title, a.Summary, a.Text, a.NeedsFullText,
		a.Author, timeValue(a.Published), a.Image, cats, links, a.FeedURL, a.FeedTitle,
		timeNanos(now), id)
	return err
}

// EachArticle calls fn for every stored article with ID > afterID, in ID
// order. It reads pages of rows and calls fn with no query open, so fn may
// use the store (even a one-connection ":memory:" one) and a long walk does
// not hold a read transaction that would keep the WAL from being
// checkpointed.
func (db *DB) EachArticle(ctx context.Context, afterID int64, fn func(articles.Article) error) error {
	const page = 256
	batch := make([]articles.Article, 0, page)
	for {
		batch = batch[:0]
		rows, err := db.db.QueryContext(ctx, "SELECT "+articleColumns+" FROM articles WHERE id > ? ORDER BY id LIMIT ?", afterID, page)
		if err != nil {
			return fmt.Errorf("sqlite: each article: %w", err)
		}
		for rows.Next() {
			a, err := scanArticle(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: each article: %w", err)
			}
			batch = append(batch, a)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("sqlite: each article: %w", err)
		}
		for _, a := range batch {
			if err := fn(a); err != nil {
				return err
			}
			afterID = a.ID
		}
		if len(batch) < page {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// ArticleByID returns the article, or articles.ErrNotFound.
func (db *DB) ArticleByID(ctx context.Context, id int64) (articles.Article, error) {
	a, err := scanArticle(db.db.QueryRowContext(ctx, "SELECT "+articleColumns+" FROM articles WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("sqlite: article %d: %w", id, articles.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("sqlite: article %d: %w", id, err)
	}
	return a, nil
}

// ArticleByURL finds an article by any variant of its link (compared as
// articles.CanonicalURL), on any site; the oldest stored one wins when two
// sites hold the same link. articles.ErrNotFound when there is none.
func (db *DB) ArticleByURL(ctx context.Context, rawURL string) (articles.Article, error) {
	canon := articles.CanonicalURL(rawURL)
	if canon == "" {
		return articles.Article{}, fmt.Errorf("sqlite: article by url %q: %w", rawURL, articles.ErrNotFound)
	}
	a, err := scanArticle(db.db.QueryRowContext(ctx,
		"SELECT "+articleColumns+" FROM articles WHERE canonical_url = ? ORDER BY id LIMIT 1", canon))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("sqlite: article by url %q: %w", rawURL, articles.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("sqlite: article by url %q: %w", rawURL, err)
	}
	return a, nil
}

// CountArticles returns the number of stored articles per site.
func (db *DB) CountArticles(ctx context.Context) (map[string]int, error) {
	rows, err := db.db.QueryContext(ctx, "SELECT site, count(*) FROM articles GROUP BY site")
	if err != nil {
		return nil, fmt.Errorf("sqlite: count articles: %w", err)
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var site string
		var n int
		if err := rows.Scan(&site, &n); err != nil {
			return nil, fmt.Errorf("sqlite: count articles: %w", err)
		}
		counts[site] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: count articles: %w", err)
	}
	return counts, nil
}
