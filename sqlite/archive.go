package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/newsbot/newsbot/articles"
)

// StoreArchived stores articles met by the backfill of a site, in one
// transaction. A new one is recorded (never posted); one already stored
// (matched within its site by key, else canonical link) keeps its identity
// and state and only gains what it lacked. It returns how many were new.
func (db *DB) StoreArchived(ctx context.Context, items []articles.Article) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	var added int
	now := db.now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		added = 0
		w, err := newWriter(ctx, tx)
		if err != nil {
			return err
		}
		defer w.close()
		for _, raw := range items {
			a := normalise(raw, "")
			if a.Site == "" {
				return fmt.Errorf("article %q has no site", a.URL)
			}
			s, found, err := w.find(ctx, a)
			if err != nil {
				return err
			}
			if found {
				if err := w.fillIn(ctx, s.id, a, now); err != nil {
					return err
				}
				continue
			}
			if _, err := w.insertNew(ctx, a, now); err != nil {
				return err
			}
			added++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: store archived: %w", err)
	}
	return added, nil
}

// Checkpoint returns the backfill checkpoint of a feed; zero with FeedURL
// set when there is none.
func (db *DB) Checkpoint(ctx context.Context, feedURL string) (articles.Checkpoint, error) {
	c := articles.Checkpoint{FeedURL: feedURL}
	var updated sql.NullInt64
	err := db.db.QueryRowContext(ctx, `SELECT site, source, cursor, stored, done, last_error, updated_at
		FROM backfill_checkpoints WHERE feed_url = ?`, feedURL).
		Scan(&c.Site, &c.Source, &c.Cursor, &c.Stored, &c.Done, &c.LastError, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return articles.Checkpoint{FeedURL: feedURL}, nil
	}
	if err != nil {
		return articles.Checkpoint{}, fmt.Errorf("sqlite: checkpoint %q: %w", feedURL, err)
	}
	c.UpdatedAt = timeFrom(updated)
	return c, nil
}

// SaveCheckpoint stores (replaces) a feed's backfill checkpoint; a zero
// UpdatedAt is stored as now.
func (db *DB) SaveCheckpoint(ctx context.Context, c articles.Checkpoint) error {
	if c.FeedURL == "" {
		return errors.New("sqlite: save checkpoint: empty feed URL")
	}
	at := c.UpdatedAt
	if at.IsZero() {
		at = db.now()
	}
	_, err := db.exec(ctx, `INSERT INTO backfill_checkpoints
		(feed_url, site, source, cursor, stored, done, last_error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (feed_url) DO UPDATE SET site = excluded.site, source = excluded.source,
			cursor = excluded.cursor, stored = excluded.stored, done = excluded.done,
			last_error = excluded.last_error, updated_at = excluded.updated_at`,
		c.FeedURL, c.Site, c.Source, c.Cursor, c.Stored, c.Done, c.LastError, timeNanos(at))
	if err != nil {
		return fmt.Errorf("sqlite: save checkpoint %q: %w", c.FeedURL, err)
	}
	return nil
}

// NeedFullText returns up to limit (limit <= 0: all) articles whose page
// should be read for their text (NeedsFullText and never tried), newest
// first.
func (db *DB) NeedFullText(ctx context.Context, limit int) ([]articles.Article, error) {
	as, err := db.queryArticles(ctx, "SELECT "+articleColumns+` FROM articles
		WHERE needs_full_text = 1 AND full_text_state = ''
		ORDER BY published DESC, id DESC LIMIT ?`, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: need full text: %w", err)
	}
	return as, nil
}

// SetFullText stores the text read from an article's page; text "" records
// a failed try, so the page is not read again. The summary is replaced only
// when summary is not "". articles.ErrNotFound when there is no such article.
func (db *DB) SetFullText(ctx context.Context, id int64, text, summary string) error {
	var res sql.Result
	var err error
	if text == "" {
		res, err = db.exec(ctx, `UPDATE articles SET full_text_state = 'failed',
			summary = CASE WHEN ?1 <> '' THEN ?1 ELSE summary END, updated_at = ?2 WHERE id = ?3`,
			summary, db.nowNanos(), id)
	} else {
		res, err = db.exec(ctx, `UPDATE articles SET full_text_state = 'ok', needs_full_text = 0, text = ?1,
			summary = CASE WHEN ?2 <> '' THEN ?2 ELSE summary END, updated_at = ?3 WHERE id = ?4`,
			text, summary, db.nowNanos(), id)
	}
	if err != nil {
		return fmt.Errorf("sqlite: set full text %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: set full text %d: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("sqlite: set full text %d: %w", id, articles.ErrNotFound)
	}
	return nil
}
