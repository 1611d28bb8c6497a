package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/newsbot/newsbot/articles"
)

// Follow-ups of posted deliveries (publishing, threads on posts): queued by
// the UPDATE that marks a delivery posted, each kind with its own state,
// hold-off and last error columns.

// queued is the state of a follow-up asked for (pending) or not ("").
func queued(asked bool) string {
	if asked {
		return "pending"
	}
	return ""
}

// followColumns maps a follow-up kind to its state, hold-off and error
// columns (fixed names, never user input).
func followColumns(kind articles.FollowUpKind) (state, after, errCol string, err error) {
	switch kind {
	case articles.FollowPublish:
		return "publish_state", "publish_after", "publish_error", nil
	case articles.FollowThread:
		return "thread_state", "thread_after", "thread_error", nil
	}
	return "", "", "", fmt.Errorf("sqlite: unknown follow-up %q", kind)
}

// DueFollowUps returns channelID's posted deliveries whose follow-up kind
// is pending and not held off past now, oldest post first.
func (db *DB) DueFollowUps(ctx context.Context, channelID string, kind articles.FollowUpKind, now time.Time, limit int) ([]articles.FollowUp, error) {
	state, after, errCol, err := followColumns(kind)
	if err != nil {
		return nil, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT d.article_id, d.message_id, a.title, a.url, d.`+errCol+`
		FROM deliveries d JOIN articles a ON a.id = d.article_id
		WHERE d.channel_id = ? AND d.state = 'posted' AND d.`+state+` = 'pending'
			AND (d.`+after+` IS NULL OR d.`+after+` <= ?)
		ORDER BY a.published, a.first_seen, a.id DESC LIMIT ?`, channelID, timeNanos(now), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: due %s in channel %s: %w", kind, channelID, err)
	}
	defer rows.Close()
	var out []articles.FollowUp
	for rows.Next() {
		f := articles.FollowUp{Kind: kind, ChannelID: channelID}
		if err := rows.Scan(&f.ArticleID, &f.MessageID, &f.Title, &f.URL, &f.Error); err != nil {
			return nil, fmt.Errorf("sqlite: due %s in channel %s: %w", kind, channelID, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: due %s in channel %s: %w", kind, channelID, err)
	}
	return out, nil
}

// FollowUpDone ends a pending follow-up, done or failed for good.
func (db *DB) FollowUpDone(ctx context.Context, f articles.FollowUp, failed bool, msg string) error {
	state, after, errCol, err := followColumns(f.Kind)
	if err != nil {
		return err
	}
	to := "done"
	if failed {
		to = "failed"
	}
	_, err = db.db.ExecContext(ctx, `UPDATE deliveries SET `+state+` = ?, `+after+` = NULL, `+errCol+` = ?
		WHERE article_id = ? AND channel_id = ? AND `+state+` = 'pending'`, to, msg, f.ArticleID, f.ChannelID)
	if err != nil {
		return fmt.Errorf("sqlite: %s of %d in channel %s: %w", f.Kind, f.ArticleID, f.ChannelID, err)
	}
	return nil
}

// FollowUpLater holds a pending follow-up off until after.
func (db *DB) FollowUpLater(ctx context.Context, f articles.FollowUp, after time.Time, msg string) error {
	state, afterCol, errCol, err := followColumns(f.Kind)
	if err != nil {
		return err
	}
	_, err = db.db.ExecContext(ctx, `UPDATE deliveries SET `+afterCol+` = ?, `+errCol+` = ?
		WHERE article_id = ? AND channel_id = ? AND `+state+` = 'pending'`, timeNanos(after), msg, f.ArticleID, f.ChannelID)
	if err != nil {
		return fmt.Errorf("sqlite: hold off %s of %d in channel %s: %w", f.Kind, f.ArticleID, f.ChannelID, err)
	}
	return nil
}
