package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/newsbot/newsbot/articles"
)

// The posting state machine, as in the SQLite store: every transition is
// one guarded UPDATE (the WHERE clause names the states it may leave).
// Here the claims (MarkSending, and MarkRetry and MarkFailed, which decide
// whether the next sender must look for an earlier attempt) also carry the
// leader's fencing epoch: they hold the leader row FOR SHARE and match only
// while this instance's epoch is the current one, so a takeover (which
// updates that row) either waits for them or makes them fail with
// ErrFenced. MarkPosted is not fenced: it records a message that exists.

// fence is the CTE that the fenced statements start with; $1 is the epoch.
const fence = `WITH fence AS (SELECT 1 FROM newsbot_leader WHERE id = 1 AND epoch = $1 FOR SHARE) `

// Due returns up to limit (limit <= 0: all) articles in state pending or
// sending, oldest first: by Published (unknown first), then FirstSeen,
// then ID descending.
func (db *DB) Due(ctx context.Context, limit int) ([]articles.Article, error) {
	as, err := db.queryArticles(ctx, "SELECT "+articleColumns+` FROM articles
		WHERE state IN ('pending', 'sending')
		ORDER BY published NULLS FIRST, first_seen, id DESC LIMIT $1`, pgLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: due: %w", err)
	}
	return as, nil
}

// Failed returns up to limit (limit <= 0: all) articles that failed for
// good, the most recent failure first.
func (db *DB) Failed(ctx context.Context, limit int) ([]articles.Article, error) {
	as, err := db.queryArticles(ctx, "SELECT "+articleColumns+` FROM articles
		WHERE state = 'failed' ORDER BY updated_at DESC, id DESC LIMIT $1`, pgLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: failed: %w", err)
	}
	return as, nil
}

// MarkSending records that a send is about to be attempted (Attempts+1),
// committed before it returns. It fails (and the caller must not send) when
// the article is not pending or sending, or with ErrFenced when this
// instance is not the leader.
func (db *DB) MarkSending(ctx context.Context, id int64) error {
	return db.transition(ctx, "mark sending", id, true,
		fence+`UPDATE articles SET state = 'sending', attempts = attempts + 1, updated_at = $2
		WHERE id = $3 AND state IN ('pending', 'sending') AND EXISTS (SELECT 1 FROM fence)`,
		nil, db.Epoch(), db.nowNanos(), id)
}

// MarkPosted records the message Discord created. An article already posted
// keeps its first message id (no-op). A failed article may be marked posted.
func (db *DB) MarkPosted(ctx context.Context, id int64, messageID string) error {
	return db.transition(ctx, "mark posted", id, false,
		`UPDATE articles SET state = 'posted', message_id = $1, last_error = '', updated_at = $2
		WHERE id = $3 AND state IN ('pending', 'sending', 'failed')`,
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
	return db.transition(ctx, "mark retry", id, true,
		fence+`UPDATE articles SET state = $2, last_error = $3, updated_at = $4
		WHERE id = $5 AND state IN ('pending', 'sending') AND EXISTS (SELECT 1 FROM fence)`,
		[]articles.State{articles.StatePosted, articles.StateFailed}, db.Epoch(), string(state), msg, db.nowNanos(), id)
}

// MarkFailed records a permanent refusal: never retried. A posted or
// already failed article is left alone (no-op).
func (db *DB) MarkFailed(ctx context.Context, id int64, msg string) error {
	return db.transition(ctx, "mark failed", id, true,
		fence+`UPDATE articles SET state = 'failed', last_error = $2, updated_at = $3
		WHERE id = $4 AND state IN ('pending', 'sending') AND EXISTS (SELECT 1 FROM fence)`,
		[]articles.State{articles.StatePosted, articles.StateFailed}, db.Epoch(), msg, db.nowNanos(), id)
}

// transition runs a guarded UPDATE. When it changes nothing, the article is
// either missing (articles.ErrNotFound), in one of the noop states (nil),
// fenced off (ErrFenced) or in a state the transition may not leave.
func (db *DB) transition(ctx context.Context, what string, id int64, fenced bool, query string, noop []articles.State, args ...any) error {
	tag, err := db.pool.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("postgres: %s %d: %w", what, id, err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var state string
	err = db.pool.QueryRow(ctx, "SELECT state FROM articles WHERE id = $1", id).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s %d: %w", what, id, articles.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: %s %d: %w", what, id, err)
	}
	for _, s := range noop {
		if articles.State(state) == s {
			return nil
		}
	}
	if fenced && (state == string(articles.StatePending) || state == string(articles.StateSending)) {
		return fmt.Errorf("postgres: %s %d: %w", what, id, ErrFenced)
	}
	return fmt.Errorf("postgres: %s %d: article is %s", what, id, state)
}
