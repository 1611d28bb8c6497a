package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/newsbot/newsbot/articles"
)

// Deliveries: one row per (article, channel), each with the posting state
// machine of posting.go (pending -> sending -> posted, or failed), written
// by the same kind of guarded UPDATE.

var _ articles.DeliveryStore = (*DB)(nil)

// routePoll records, in the poll's transaction, the deliveries the poll
// makes (articles.PlanDeliveries) and the channels that saw its feed for the
// first time.
func routePoll(ctx context.Context, tx *sql.Tx, p articles.Poll, items []*pollItem, backlogLimit int, at time.Time) error {
	if len(p.Routes) == 0 {
		return nil
	}
	ris := make([]articles.RouteItem, len(items))
	for i, it := range items {
		ris[i] = articles.RouteItem{ID: it.id, Article: it.article, Published: it.published, NewToFeed: it.newToFeed}
	}
	plan, seen, err := articles.PlanDeliveries(p.FeedURL, p.Routes, ris, backlogLimit, func(channelID string) (bool, error) {
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM channel_feeds WHERE channel_id = ? AND feed_url = ?", channelID, p.FeedURL).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return err
	}
	for _, ch := range seen {
		if _, err := tx.ExecContext(ctx, "INSERT INTO channel_feeds (channel_id, feed_url, first_at) VALUES (?, ?, ?)",
			ch, p.FeedURL, timeNanos(at)); err != nil {
			return err
		}
	}
	for _, d := range plan {
		if err := addDelivery(ctx, tx, d.ArticleID, d.Route, at); err != nil {
			return err
		}
	}
	return nil
}

// addDelivery records that route r takes article id to its channel: a new
// pending delivery, or one more route (and role) on a delivery still pending.
func addDelivery(ctx context.Context, tx *sql.Tx, id int64, r articles.Route, at time.Time) error {
	var routes, roles, state string
	err := tx.QueryRowContext(ctx, "SELECT routes, roles, state FROM deliveries WHERE article_id = ? AND channel_id = ?",
		id, r.ChannelID).Scan(&routes, &roles, &state)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.ExecContext(ctx, `INSERT INTO deliveries (article_id, channel_id, routes, roles, state, updated_at)
			VALUES (?, ?, ?, ?, 'pending', ?)`, id, r.ChannelID, r.Name, r.RoleID, timeNanos(at))
		return err
	}
	if err != nil || state != string(articles.StatePending) {
		return err // a delivery under way or done keeps its mentions
	}
	newRoutes, newRoles := articles.AddToList(routes, r.Name), articles.AddToList(roles, r.RoleID)
	if newRoutes == routes && newRoles == roles {
		return nil
	}
	_, err = tx.ExecContext(ctx, "UPDATE deliveries SET routes = ?, roles = ? WHERE article_id = ? AND channel_id = ? AND state = 'pending'",
		newRoutes, newRoles, id, r.ChannelID)
	return err
}

// AdoptDeliveries gives the deliveries (and the feeds seen) recorded
// without a channel to channelID; a delivery the channel already has wins.
func (db *DB) AdoptDeliveries(ctx context.Context, channelID string) (int, error) {
	if channelID == "" {
		return 0, errors.New("sqlite: adopt deliveries: empty channel")
	}
	var moved int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET channel_id = ? WHERE channel_id = ''
			AND article_id NOT IN (SELECT article_id FROM deliveries WHERE channel_id = ?)`, channelID, channelID)
		if err != nil {
			return err
		}
		if moved, err = res.RowsAffected(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM deliveries WHERE channel_id = ''"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO channel_feeds (channel_id, feed_url, first_at)
			SELECT ?, feed_url, first_at FROM channel_feeds WHERE channel_id = ''`, channelID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM channel_feeds WHERE channel_id = ''")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: adopt deliveries: %w", err)
	}
	return int(moved), nil
}

// UnadoptedDeliveries returns how many deliveries have no channel yet.
func (db *DB) UnadoptedDeliveries(ctx context.Context) (int, error) {
	var n int
	if err := db.db.QueryRowContext(ctx, "SELECT count(*) FROM deliveries WHERE channel_id = ''").Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: unadopted deliveries: %w", err)
	}
	return n, nil
}

// DropStaleDeliveries drops pending deliveries no route leads to any more:
// those of a channel no route names, and those whose every route is gone
// or now names another channel. A delivery some of whose routes remain
// keeps only those, and mentions their roles as configured now.
func (db *DB) DropStaleDeliveries(ctx context.Context, routes []articles.Route) (int, error) {
	live := articles.NewLiveRoutes(routes)
	dropped := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		dropped = 0
		rows, err := tx.QueryContext(ctx, "SELECT article_id, channel_id, routes, roles FROM deliveries WHERE state = 'pending' AND channel_id <> ''")
		if err != nil {
			return err
		}
		type change struct {
			id                     int64
			channel, routes, roles string
		}
		var changes []change
		for rows.Next() {
			var c change
			var names, oldRoles string
			if err := rows.Scan(&c.id, &c.channel, &names, &oldRoles); err != nil {
				rows.Close()
				return err
			}
			if c.routes, c.roles = live.Keep(c.channel, names); c.routes != names || c.roles != oldRoles {
				changes = append(changes, c)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range changes {
			if c.routes == "" {
				dropped++
				_, err = tx.ExecContext(ctx, "DELETE FROM deliveries WHERE article_id = ? AND channel_id = ? AND state = 'pending'", c.id, c.channel)
			} else {
				_, err = tx.ExecContext(ctx, "UPDATE deliveries SET routes = ?, roles = ? WHERE article_id = ? AND channel_id = ? AND state = 'pending'",
					c.routes, c.roles, c.id, c.channel)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: drop stale deliveries: %w", err)
	}
	return dropped, nil
}

// ChannelPosts returns the posting state machine of channelID's deliveries.
// Marking one posted queues the follow-ups follow asks for in the same
// UPDATE, so that a crash cannot lose them.
func (db *DB) ChannelPosts(channelID string, follow articles.FollowUps) articles.PostStore {
	return &channelPosts{db: db, channel: channelID, follow: follow}
}

// channelPosts is articles.PostStore over one channel's deliveries.
type channelPosts struct {
	db      *DB
	channel string
	follow  articles.FollowUps
}

const deliveryColumns = `a.id, a.site, a.key, a.guid, a.url, a.title, a.summary, a.text, a.author, a.published,
	a.image, a.categories, a.links, a.needs_full_text, a.feed_url, a.feed_title, a.first_seen,
	d.state, d.message_id, d.attempts, d.last_error, d.routes, d.roles, d.attempt_at`

// withExtra scans the columns scanArticle reads plus more.
type withExtra struct {
	s    scanner
	more []any
}

func (w withExtra) Scan(dest ...any) error { return w.s.Scan(append(dest, w.more...)...) }

func (c *channelPosts) query(ctx context.Context, where string, args ...any) ([]articles.Article, error) {
	rows, err := c.db.db.QueryContext(ctx, "SELECT "+deliveryColumns+` FROM deliveries d JOIN articles a ON a.id = d.article_id
		WHERE d.channel_id = ? AND `+where, append([]any{c.channel}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var as []articles.Article
	for rows.Next() {
		var routes, roles string
		var attemptAt sql.NullInt64
		a, err := scanArticle(withExtra{rows, []any{&routes, &roles, &attemptAt}})
		if err != nil {
			return nil, err
		}
		a.Routes, a.Roles, a.LastAttempt = articles.SplitList(routes), articles.SplitList(roles), timeFrom(attemptAt)
		as = append(as, a)
	}
	return as, rows.Err()
}

// Due returns the channel's pending and sending deliveries, oldest first
// (the order of DB.Due).
func (c *channelPosts) Due(ctx context.Context, limit int) ([]articles.Article, error) {
	as, err := c.query(ctx, `d.state IN ('pending', 'sending') ORDER BY a.published, a.first_seen, a.id DESC LIMIT ?`, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: due in channel %s: %w", c.channel, err)
	}
	return as, nil
}

// Failed returns the channel's deliveries refused for good, latest first.
func (c *channelPosts) Failed(ctx context.Context, limit int) ([]articles.Article, error) {
	as, err := c.query(ctx, `d.state = 'failed' ORDER BY d.updated_at DESC, a.id DESC LIMIT ?`, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: failed in channel %s: %w", c.channel, err)
	}
	return as, nil
}

func (c *channelPosts) MarkSending(ctx context.Context, id int64) error {
	return c.transition(ctx, "mark sending", id,
		`UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ?1, attempt_at = ?1
		WHERE article_id = ?2 AND channel_id = ?3 AND state IN ('pending', 'sending')`, nil, c.db.nowNanos(), id, c.channel)
}

func (c *channelPosts) MarkPosted(ctx context.Context, id int64, messageID string) error {
	return c.transition(ctx, "mark posted", id,
		`UPDATE deliveries SET state = 'posted', message_id = ?, last_error = '', updated_at = ?,
			publish_state = ?, thread_state = ?
		WHERE article_id = ? AND channel_id = ? AND state IN ('pending', 'sending', 'failed')`,
		[]articles.State{articles.StatePosted}, messageID, c.db.nowNanos(),
		queued(c.follow.Publish), queued(c.follow.Thread), id, c.channel)
}

func (c *channelPosts) MarkRetry(ctx context.Context, id int64, msg string, sent bool) error {
	state := articles.StatePending
	if sent {
		state = articles.StateSending
	}
	return c.transition(ctx, "mark retry", id,
		`UPDATE deliveries SET state = ?, last_error = ?, updated_at = ?
		WHERE article_id = ? AND channel_id = ? AND state IN ('pending', 'sending')`,
		[]articles.State{articles.StatePosted, articles.StateFailed}, string(state), msg, c.db.nowNanos(), id, c.channel)
}

func (c *channelPosts) MarkFailed(ctx context.Context, id int64, msg string) error {
	return c.transition(ctx, "mark failed", id,
		`UPDATE deliveries SET state = 'failed', last_error = ?, updated_at = ?
		WHERE article_id = ? AND channel_id = ? AND state IN ('pending', 'sending')`,
		[]articles.State{articles.StatePosted, articles.StateFailed}, msg, c.db.nowNanos(), id, c.channel)
}

// transition runs a guarded UPDATE of one delivery (see DB.transition).
func (c *channelPosts) transition(ctx context.Context, what string, id int64, query string, noop []articles.State, args ...any) error {
	res, err := c.db.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlite: %s %d in channel %s: %w", what, id, c.channel, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: %s %d in channel %s: %w", what, id, c.channel, err)
	} else if n > 0 {
		return nil
	}
	var state string
	err = c.db.db.QueryRowContext(ctx, "SELECT state FROM deliveries WHERE article_id = ? AND channel_id = ?", id, c.channel).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s %d in channel %s: %w", what, id, c.channel, articles.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: %s %d in channel %s: %w", what, id, c.channel, err)
	}
	for _, s := range noop {
		if articles.State(state) == s {
			return nil
		}
	}
	return fmt.Errorf("sqlite: %s %d in channel %s: delivery is %s", what, id, c.channel, state)
}

// RefetchForNewChannels clears the validators of feeds a route's channel
// has not seen yet.
func (db *DB) RefetchForNewChannels(ctx context.Context, routes []articles.Route) (int, error) {
	reset := 0
	for _, r := range routes {
		for _, f := range r.Feeds {
			res, err := db.db.ExecContext(ctx, `UPDATE feeds SET etag = '', last_modified = ''
				WHERE url = ? AND (etag <> '' OR last_modified <> '')
				AND NOT EXISTS (SELECT 1 FROM channel_feeds WHERE channel_id = ? AND feed_url = ?)`, f, r.ChannelID, f)
			if err != nil {
				return reset, fmt.Errorf("sqlite: refetch %q: %w", f, err)
			}
			n, _ := res.RowsAffected()
			reset += int(n)
		}
	}
	return reset, nil
}
