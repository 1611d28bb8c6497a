package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/newsbot/newsbot/articles"
)

// The revs are handed out by the triggers of migration 0003, so that every
// write path (and every instance) takes one, in commit order.

var (
	_ articles.ChangeReader = (*DB)(nil)
	_ articles.LinkStore    = (*DB)(nil)
)

// lockRevs takes the article counter row for the rest of tx, before any
// article row: every transaction that writes what articles say takes this
// one lock first, so that they run one at a time and can never deadlock on
// each other's rows (the triggers would take it anyway, later).
func lockRevs(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, "SELECT 1 FROM article_rev WHERE id = 1 FOR UPDATE")
	return err
}

// MaxRev returns the highest article rev handed out and committed so far.
func (db *DB) MaxRev(ctx context.Context) (int64, error) {
	var rev int64
	if err := db.pool.QueryRow(ctx, "SELECT rev FROM article_rev WHERE id = 1").Scan(&rev); err != nil {
		return 0, fmt.Errorf("postgres: max rev: %w", err)
	}
	return rev, nil
}

// EachChanged calls fn for every article whose rev is above afterRev, in rev
// order. It reads pages of rows and calls fn with no query open; an article
// changed while the walk runs comes again at its new rev.
func (db *DB) EachChanged(ctx context.Context, afterRev int64, fn func(rev int64, a articles.Article) error) error {
	const page = 256
	type change struct {
		rev int64
		a   articles.Article
	}
	for {
		rows, err := db.pool.Query(ctx, "SELECT rev, "+articleColumns+" FROM articles WHERE rev > $1 ORDER BY rev LIMIT $2", afterRev, page)
		if err != nil {
			return fmt.Errorf("postgres: each changed: %w", err)
		}
		batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (change, error) {
			var c change
			a, err := scanArticle(revRow{r, &c.rev})
			c.a = a
			return c, err
		})
		if err != nil {
			return fmt.Errorf("postgres: each changed: %w", err)
		}
		for _, c := range batch {
			if err := fn(c.rev, c.a); err != nil {
				return err
			}
			afterRev = c.rev
		}
		if len(batch) < page {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// revRow reads a leading rev column, then hands the rest to scanArticle.
type revRow struct {
	r   pgx.Row
	rev *int64
}

func (r revRow) Scan(dest ...any) error { return r.r.Scan(append([]any{r.rev}, dest...)...) }

// SiteHosts maps the host of every article link stored from a feed to the
// article's site.
func (db *DB) SiteHosts(ctx context.Context) (map[string]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT DISTINCT site, url FROM articles WHERE feed_url <> '' AND url <> ''`)
	if err != nil {
		return nil, fmt.Errorf("postgres: site hosts: %w", err)
	}
	defer rows.Close()
	hosts := map[string]string{}
	for rows.Next() {
		var site, u string
		if err := rows.Scan(&site, &u); err != nil {
			return nil, fmt.Errorf("postgres: site hosts: %w", err)
		}
		if h := articles.HostOf(u); h != "" {
			if _, ok := hosts[h]; !ok {
				hosts[h] = site
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: site hosts: %w", err)
	}
	return hosts, nil
}

// LinkFailed reports whether the page at canonURL failed to be read and is
// not to be tried again before a time after now.
func (db *DB) LinkFailed(ctx context.Context, canonURL string, now time.Time) (bool, error) {
	var failed bool
	err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM page_failures WHERE url = $1 AND retry_at > $2)`,
		canonURL, timeNanos(now)).Scan(&failed)
	if err != nil {
		return false, fmt.Errorf("postgres: link failed: %w", err)
	}
	return failed, nil
}

// RecordLinkFailure remembers a failed read of canonURL until retryAt.
func (db *DB) RecordLinkFailure(ctx context.Context, canonURL, msg string, at, retryAt time.Time) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO page_failures (url, error, failed_at, retry_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (url) DO UPDATE SET error = excluded.error, failed_at = excluded.failed_at, retry_at = excluded.retry_at`,
		canonURL, msg, timeNanos(at), timeNanos(retryAt))
	if err != nil {
		return fmt.Errorf("postgres: record link failure: %w", err)
	}
	return nil
}
