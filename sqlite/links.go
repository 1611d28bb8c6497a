package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/newsbot/newsbot/articles"
)

var _ articles.LinkStore = (*DB)(nil)

// SiteHosts maps the host of every article link stored from a feed to the
// article's site.
func (db *DB) SiteHosts(ctx context.Context) (map[string]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT DISTINCT site, url FROM articles WHERE feed_url <> '' AND url <> ''`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: site hosts: %w", err)
	}
	defer rows.Close()
	hosts := map[string]string{}
	for rows.Next() {
		var site, u string
		if err := rows.Scan(&site, &u); err != nil {
			return nil, fmt.Errorf("sqlite: site hosts: %w", err)
		}
		if h := articles.HostOf(u); h != "" {
			if _, ok := hosts[h]; !ok {
				hosts[h] = site
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: site hosts: %w", err)
	}
	return hosts, nil
}

// LinkFailed reports whether the page at canonURL failed to be read and is
// not to be tried again before a time after now.
func (db *DB) LinkFailed(ctx context.Context, canonURL string, now time.Time) (bool, error) {
	var n int
	err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM page_failures WHERE url = ? AND retry_at > ?`,
		canonURL, timeNanos(now)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("sqlite: link failed: %w", err)
	}
	return n > 0, nil
}

// RecordLinkFailure remembers a failed read of canonURL until retryAt.
func (db *DB) RecordLinkFailure(ctx context.Context, canonURL, msg string, at, retryAt time.Time) error {
	_, err := db.exec(ctx, `INSERT INTO page_failures (url, error, failed_at, retry_at) VALUES (?1, ?2, ?3, ?4)
		ON CONFLICT (url) DO UPDATE SET error = ?2, failed_at = ?3, retry_at = ?4`,
		canonURL, msg, timeNanos(at), timeNanos(retryAt))
	if err != nil {
		return fmt.Errorf("sqlite: record link failure: %w", err)
	}
	return nil
}
