package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/newsbot/newsbot/articles"
)

// articleColumns is the column list scanArticle reads, in its order.
const articleColumns = `id, site, key, guid, url, title, summary, text, author, published,
	image, categories, links, needs_full_text, feed_url, feed_title, first_seen,
	state, message_id, attempts, last_error`

func scanArticle(s pgx.Row) (articles.Article, error) {
	var (
		a                    articles.Article
		published, firstSeen *int64
		categories, links    *string
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

func encodeList(l []string) (*string, error) {
	if len(l) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}

func decodeList(s *string) ([]string, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal([]byte(*s), &l); err != nil {
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

// find looks an incoming article up within its site: by key, else by
// canonical link. ok is false when the store does not hold it. (pgx
// prepares and caches each statement once per connection.)
func find(ctx context.Context, tx pgx.Tx, a articles.Article) (s stored, ok bool, err error) {
	var state string
	err = tx.QueryRow(ctx, "SELECT id, state FROM articles WHERE site = $1 AND key = $2", a.Site, a.Key).Scan(&s.id, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		canon := articles.CanonicalURL(a.URL)
		if canon == "" {
			return s, false, nil
		}
		err = tx.QueryRow(ctx, "SELECT id, state FROM articles WHERE canonical_url = $1 AND site = $2 ORDER BY id LIMIT 1",
			canon, a.Site).Scan(&s.id, &state)
	}
	if errors.Is(err, pgx.ErrNoRows) {
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
	state, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'recorded', $18)
	RETURNING id`

// insertNew stores a new article in state recorded and returns its id.
func insertNew(ctx context.Context, tx pgx.Tx, a articles.Article, now time.Time) (int64, error) {
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
	var id int64
	err = tx.QueryRow(ctx, insertQuery,
		a.Site, a.Key, articles.CanonicalURL(a.URL), a.GUID, a.URL, a.Title, a.Summary, a.Text,
		a.Author, timeValue(a.Published), a.Image, cats, links, a.NeedsFullText, a.FeedURL, a.FeedTitle,
		timeNanos(firstSeen), timeNanos(now)).Scan(&id)
	return id, err
}

// textGain says when an incoming body replaces the stored one: where there
// was none, or a whole body where there was only a summary (as in SQLite).
const textGain = "((text = '' AND $6::text <> '') OR (needs_full_text AND NOT $7::boolean AND $6::text <> ''))"

// fillQuery gives a stored article what it lacked; identity, posting state
// and first_seen never change, and a field already set is kept. The WHERE
// clause skips the write when there is nothing to fill.
const fillQuery = `UPDATE articles SET
	guid          = CASE WHEN guid = '' THEN $1::text ELSE guid END,
	url           = CASE WHEN url = '' THEN $2::text ELSE url END,
	canonical_url = CASE WHEN canonical_url = '' THEN $3::text ELSE canonical_url END,
	title         = CASE WHEN title = '' THEN $4::text ELSE title END,
	summary       = CASE WHEN summary = '' THEN $5::text ELSE summary END,
	needs_full_text = CASE WHEN ` + textGain + ` THEN $7::boolean ELSE needs_full_text END,
	text          = CASE WHEN ` + textGain + ` THEN $6::text ELSE text END,
	author        = CASE WHEN author = '' THEN $8::text ELSE author END,
	published     = coalesce(published, $9::bigint),
	image         = CASE WHEN image = '' THEN $10::text ELSE image END,
	categories    = coalesce(categories, $11::text),
	links         = coalesce(links, $12::text),
	feed_url      = CASE WHEN feed_url = '' THEN $13::text ELSE feed_url END,
	feed_title    = CASE WHEN feed_title = '' THEN $14::text ELSE feed_title END,
	updated_at    = $15
WHERE id = $16 AND (
	(guid = '' AND $1::text <> '') OR (url = '' AND $2::text <> '') OR (canonical_url = '' AND $3::text <> '') OR
	(title = '' AND $4::text <> '') OR (summary = '' AND $5::text <> '') OR ` + textGain + ` OR
	(author = '' AND $8::text <> '') OR (published IS NULL AND $9::bigint IS NOT NULL) OR
	(image = '' AND $10::text <> '') OR (categories IS NULL AND $11::text IS NOT NULL) OR
	(links IS NULL AND $12::text IS NOT NULL) OR (feed_url = '' AND $13::text <> '') OR
	(feed_title = '' AND $14::text <> ''))`

// fillIn gives the stored article id what it lacked from a new sighting a.
func fillIn(ctx context.Context, tx pgx.Tx, id int64, a articles.Article, now time.Time) error {
	cats, err := encodeList(a.Categories)
	if err != nil {
		return err
	}
	links, err := encodeList(a.Links)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, fillQuery,
		a.GUID, a.URL, articles.CanonicalURL(a.URL), a.Title, a.Summary, a.Text, a.NeedsFullText,
		a.Author, timeValue(a.Published), a.Image, cats, links, a.FeedURL, a.FeedTitle,
		timeNanos(now), id)
	return err
}

func (db *DB) queryArticles(ctx context.Context, query string, args ...any) ([]articles.Article, error) {
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var as []articles.Article
	for rows.Next() {
		a, err := scanArticle(rows)
		if err != nil {
			return nil, err
		}
		as = append(as, a)
	}
	return as, rows.Err()
}

// EachArticle calls fn for every stored article with ID > afterID, in ID
// order. It reads pages of rows and calls fn with no query open, so fn may
// use the store.
func (db *DB) EachArticle(ctx context.Context, afterID int64, fn func(articles.Article) error) error {
	const page = 256
	for {
		batch, err := db.queryArticles(ctx, "SELECT "+articleColumns+" FROM articles WHERE id > $1 ORDER BY id LIMIT $2", afterID, page)
		if err != nil {
			return fmt.Errorf("postgres: each article: %w", err)
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
	a, err := scanArticle(db.pool.QueryRow(ctx, "SELECT "+articleColumns+" FROM articles WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("postgres: article %d: %w", id, articles.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("postgres: article %d: %w", id, err)
	}
	return a, nil
}

// ArticleByURL finds an article by any variant of its link (compared as
// articles.CanonicalURL), on any site; the oldest stored one wins.
func (db *DB) ArticleByURL(ctx context.Context, rawURL string) (articles.Article, error) {
	canon := articles.CanonicalURL(rawURL)
	if canon == "" {
		return articles.Article{}, fmt.Errorf("postgres: article by url %q: %w", rawURL, articles.ErrNotFound)
	}
	a, err := scanArticle(db.pool.QueryRow(ctx,
		"SELECT "+articleColumns+" FROM articles WHERE canonical_url = $1 ORDER BY id LIMIT 1", canon))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("postgres: article by url %q: %w", rawURL, articles.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("postgres: article by url %q: %w", rawURL, err)
	}
	return a, nil
}

// CountArticles returns the number of stored articles per site.
func (db *DB) CountArticles(ctx context.Context) (map[string]int, error) {
	rows, err := db.pool.Query(ctx, "SELECT site, count(*) FROM articles GROUP BY site")
	if err != nil {
		return nil, fmt.Errorf("postgres: count articles: %w", err)
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var site string
		var n int
		if err := rows.Scan(&site, &n); err != nil {
			return nil, fmt.Errorf("postgres: count articles: %w", err)
		}
		counts[site] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: count articles: %w", err)
	}
	return counts, nil
}
