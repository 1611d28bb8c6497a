package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/newsbot/newsbot/articles"
)

// The posting state machine. Every transition is one guarded UPDATE (the
// WHERE clause names the states it may leave), so a stale caller or a second
// process cannot move an article backwards; nothing ever leaves posted.
//
//	recorded -> pending                   (RecordPoll)
//	pending, sending -> sending           (MarkSending, attempts+1)
//	pending, sending, failed -> posted    (MarkPosted; posted: no-op)
//	pending, sending -> pending|sending   (MarkRetry)
//	pending, sending -> failed            (MarkFailed; failed, posted: no-op)

// Due returns up to limit (limit <= 0: all) articles in state pending or
// sending, oldest first: by Published, then FirstSeen, then ID descending,
// because one poll stores its items in feed order, newest first, so that of
// two items with the same date the later-listed one is the older.
func (db *DB) Due(ctx context.Context, limit int) ([]articles.Article, error) {
	as, err := db.queryArticles(ctx, "SELECT "+articleColumns+` FROM articles
		WHERE state IN ('pending', 'sending')
		ORDER BY published, first_seen, id DESC LIMIT ?`, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: due: %w", err)
	}
	return as, nil
}

// Failed returns up to limit (limit <= 0: all) articles that failed for
// good, the most recent failure first.
func (db *DB) Failed(ctx context.Context, limit int) ([]articles.Article, error) {
	as, err := db.queryArticles(ctx, "SELECT "+articleColumns+` FROM articles
		WHERE state = 'failed' ORDER BY updated_at DESC, id DESC LIMIT ?`, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: failed: %w", err)
	}
	return as, nil
}

// MarkSending records that a send is about to be attempted (Attempts+1),
// committed before it returns. It fails (and the caller must not send) when
// the article is not pending or sending, e.g. another process posted it.
func (db *DB) MarkSending(ctx context.Context, id int64) error {
	return db.transition(ctx, "mark sending", id,
		`UPDATE articles SET state = 'sending', attempts = attempts + 1, updated_at = ?
		WHERE id = ? AND state IN ('pending', 'sending')`, nil, db.nowNanos(), id)
}

// MarkPosted records the message Discord created. An article already posted
// keeps its first message id (no-op). A failed article may be marked posted:
// the message exists, whatever was recorded before.
func (db *DB) MarkPosted(ctx context.Context, id int64, messageID string) error {
	return db.transition(ctx, "mark posted", id,
		`UPDATE articles SET state = 'posted', message_id = ?, last_error = '', updated_at = ?
		WHERE id = ? AND state IN ('pending', 'sending', 'failed')`,
		[]articles.State{articles.StatePosted}, messageID, db.nowNanos(), id)
}

// MarkRetry records a transient failure: the article stays sending when the
// attempt may have reached Discord (sent), else it returns to pending. A
// posted or failed article is left alone (no-op).
func (db *DB) MarkRetry(ctx context.Context, id int64, msg string, sent bool) error {
	state := articles.StatePending
	if sent {
		state = articles.StateSending
	}
	return db.transition(ctx, "mark retry", id,
		`UPDATE articles SET state = ?, last_error = ?, updated_at = ?
		WHERE id = ? AND state IN ('pending', 'sending')`,
		[]articles.State{articles.StatePosted, articles.StateFailed}, string(state), msg, db.nowNanos(), id)
}

// MarkFailed records a permanent refusal: never retried. A posted or
// already failed article is left alone (no-op).
func (db *DB) MarkFailed(ctx context.Context, id int64, msg string) error {
	return db.transition(ctx, "mark failed", id,
		`UPDATE articles SET state = 'failed', last_error = ?, updated_at = ?
		WHERE id = ? AND state IN ('pending', 'sending')`,
		[]articles.State{articles.StatePosted, articles.StateFailed}, msg, db.nowNanos(), id)
}

// transition runs a guarded UPDATE. When it changes nothing, the article is
// either missing (articles.ErrNotFound), in one of the noop states (nil), or
// in a state the transition may not leave (an error naming it).
func (db *DB) transition(ctx context.Context, what string, id int64, query string, noop []articles.State, args ...any) error {
	res, err := db.exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlite: %s %d: %w", what, id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: %s %d: %w", what, id, err)
	} else if n > 0 {
		return nil
	}
	var state string
	err = db.db.QueryRowContext(ctx, "SELECT state FROM articles WHERE id = ?", id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s %d: %w", what, id, articles.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: %s %d: %w", what, id, err)
	}
	for _, s := range noop {
		if articles.State(state) == s {
			return nil
		}
	}
	return fmt.Errorf("sqlite: %s %d: article is %s", what, id, state)
}

func (db *DB) nowNanos() int64 { return timeNanos(db.now()) }

func sqlLimit(limit int) int {
	if limit <= 0 {
		return -1 // SQLite: no limit
	}
	return limit
}

func (db *DB) queryArticles(ctx context.Context, query string, args ...any) ([]articles.Article, error) {
	rows, err := db.db.QueryContext(ctx, query, args...)
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
