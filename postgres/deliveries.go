package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/newsbot/newsbot/articles"
)

// Deliveries: one row per (article, channel), each with the posting state
// machine of posting.go (pending -> sending -> posted, or failed), written
// by the same kind of guarded UPDATE, the claims fenced by the leader's
// epoch as there.

var _ articles.DeliveryStore = (*DB)(nil)

// routePoll records, in the poll's transaction, the deliveries the poll
// makes (articles.PlanDeliveries) and the channels that saw its feed for the
// first time.
func routePoll(ctx context.Context, tx pgx.Tx, p articles.Poll, items []*pollItem, backlogLimit int, at time.Time) error {
	if len(p.Routes) == 0 {
		return nil
	}
	ris := make([]articles.RouteItem, len(items))
	for i, it := range items {
		ris[i] = articles.RouteItem{ID: it.id, Article: it.article, Published: it.published, NewToFeed: it.newToFeed}
	}
	plan, seen, err := articles.PlanDeliveries(p.FeedURL, p.Routes, ris, backlogLimit, func(channelID string) (bool, error) {
		var seen bool
		err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM channel_feeds WHERE channel_id = $1 AND feed_url = $2)",
			channelID, p.FeedURL).Scan(&seen)
		return !seen, err
	})
	if err != nil {
		return err
	}
	for _, ch := range seen {
		if _, err := tx.Exec(ctx, "INSERT INTO channel_feeds (channel_id, feed_url, first_at) VALUES ($1, $2, $3)",
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
func addDelivery(ctx context.Context, tx pgx.Tx, id int64, r articles.Route, at time.Time) error {
	var routes, roles, state string
	err := tx.QueryRow(ctx, "SELECT routes, roles, state FROM deliveries WHERE article_id = $1 AND channel_id = $2",
		id, r.ChannelID).Scan(&routes, &roles, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		_, err = tx.Exec(ctx, `INSERT INTO deliveries (article_id, channel_id, routes, roles, state, updated_at)
			VALUES ($1, $2, $3, $4, 'pending', $5)`, id, r.ChannelID, r.Name, r.RoleID, timeNanos(at))
		return err
	}
	if err != nil || state != string(articles.StatePending) {
		return err // a delivery under way or done keeps its mentions
	}
	newRoutes, newRoles := articles.AddToList(routes, r.Name), articles.AddToList(roles, r.RoleID)
	if newRoutes == routes && newRoles == roles {
		return nil
	}
	_, err = tx.Exec(ctx, "UPDATE deliveries SET routes = $1, roles = $2 WHERE article_id = $3 AND channel_id = $4 AND state = 'pending'",
		newRoutes, newRoles, id, r.ChannelID)
	return err
}

// AdoptDeliveries gives the deliveries (and the feeds seen) recorded
// without a channel to channelID; a delivery the channel already has wins.
func (db *DB) AdoptDeliveries(ctx context.Context, channelID string) (int, error) {
	if channelID == "" {
		return 0, errors.New("postgres: adopt deliveries: empty channel")
	}
	var moved int64
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE deliveries SET channel_id = $1 WHERE channel_id = ''
			AND article_id NOT IN (SELECT article_id FROM deliveries WHERE channel_id = $1)`, channelID)
		if err != nil {
			return err
		}
		moved = tag.RowsAffected()
		if _, err := tx.Exec(ctx, "DELETE FROM deliveries WHERE channel_id = ''"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO channel_feeds (channel_id, feed_url, first_at)
			SELECT $1, feed_url, first_at FROM channel_feeds WHERE channel_id = '' ON CONFLICT DO NOTHING`, channelID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "DELETE FROM channel_feeds WHERE channel_id = ''")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: adopt deliveries: %w", err)
	}
	return int(moved), nil
}

// UnadoptedDeliveries returns how many deliveries have no channel yet.
func (db *DB) UnadoptedDeliveries(ctx context.Context) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM deliveries WHERE channel_id = ''").Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: unadopted deliveries: %w", err)
	}
	return n, nil
}

// DropStaleDeliveries drops pending deliveries no route leads to any more,
// and gives the others the roles their routes have now (see the SQLite
// store).
func (db *DB) DropStaleDeliveries(ctx context.Context, routes []articles.Route) (int, error) {
	live := articles.NewLiveRoutes(routes)
	dropped := 0
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		dropped = 0
		rows, err := tx.Query(ctx, "SELECT article_id, channel_id, routes, roles FROM deliveries WHERE state = 'pending' AND channel_id <> '' FOR UPDATE")
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
				_, err = tx.Exec(ctx, "DELETE FROM deliveries WHERE article_id = $1 AND channel_id = $2 AND state = 'pending'", c.id, c.channel)
			} else {
				_, err = tx.Exec(ctx, "UPDATE deliveries SET routes = $1, roles = $2 WHERE article_id = $3 AND channel_id = $4 AND state = 'pending'",
					c.routes, c.roles, c.id, c.channel)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: drop stale deliveries: %w", err)
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
	r    pgx.Row
	more []any
}

func (w withExtra) Scan(dest ...any) error { return w.r.Scan(append(dest, w.more...)...) }

func (c *channelPosts) query(ctx context.Context, where string, args ...any) ([]articles.Article, error) {
	rows, err := c.db.pool.Query(ctx, "SELECT "+deliveryColumns+` FROM deliveries d JOIN articles a ON a.id = d.article_id
		WHERE d.channel_id = $1 AND `+where, append([]any{c.channel}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var as []articles.Article
	for rows.Next() {
		var routes, roles string
		var attemptAt *int64
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
	as, err := c.query(ctx, `d.state IN ('pending', 'sending') ORDER BY a.published NULLS FIRST, a.first_seen, a.id DESC LIMIT $2`, pgLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: due in channel %s: %w", c.channel, err)
	}
	return as, nil
}

// Failed returns the channel's deliveries refused for good, latest first.
func (c *channelPosts) Failed(ctx context.Context, limit int) ([]articles.Article, error) {
	as, err := c.query(ctx, `d.state = 'failed' ORDER BY d.updated_at DESC, a.id DESC LIMIT $2`, pgLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: failed in channel %s: %w", c.channel, err)
	}
	return as, nil
}

// MarkSending claims the delivery for a send (fenced: ErrFenced when this
// instance does not lead).
func (c *channelPosts) MarkSending(ctx context.Context, id int64) error {
	return c.transition(ctx, "mark sending", id, true,
		fence+`UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = $2, attempt_at = $2
		WHERE article_id = $3 AND channel_id = $4 AND state IN ('pending', 'sending') AND EXISTS (SELECT 1 FROM fence)`,
		nil, c.db.Epoch(), c.db.nowNanos(), id, c.channel)
}

// MarkPosted records the message (not fenced: it exists) and queues its
// follow-ups.
func (c *channelPosts) MarkPosted(ctx context.Context, id int64, messageID string) error {
	return c.transition(ctx, "mark posted", id, false,
		`UPDATE deliveries SET state = 'posted', message_id = $1, last_error = '', updated_at = $2,
			publish_state = $3, thread_state = $4
		WHERE article_id = $5 AND channel_id = $6 AND state IN ('pending', 'sending', 'failed')`,
		[]articles.State{articles.StatePosted}, messageID, c.db.nowNanos(),
		queued(c.follow.Publish), queued(c.follow.Thread), id, c.channel)
}

func (c *channelPosts) MarkRetry(ctx context.Context, id int64, msg string, sent bool) error {
	state := articles.StatePending
	if sent {
		state = articles.StateSending
	}
	return c.transition(ctx, "mark retry", id, true,
		fence+`UPDATE deliveries SET state = $2, last_error = $3, updated_at = $4
		WHERE article_id = $5 AND channel_id = $6 AND state IN ('pending', 'sending') AND EXISTS (SELECT 1 FROM fence)`,
		[]articles.State{articles.StatePosted, articles.StateFailed}, c.db.Epoch(), string(state), msg, c.db.nowNanos(), id, c.channel)
}

func (c *channelPosts) MarkFailed(ctx context.Context, id int64, msg string) error {
	return c.transition(ctx, "mark failed", id, true,
		fence+`UPDATE deliveries SET state = 'failed', last_error = $2, updated_at = $3
		WHERE article_id = $4 AND channel_id = $5 AND state IN ('pending', 'sending') AND EXISTS (SELECT 1 FROM fence)`,
		[]articles.State{articles.StatePosted, articles.StateFailed}, c.db.Epoch(), msg, c.db.nowNanos(), id, c.channel)
}

// transition runs a guarded UPDATE of one delivery (see DB.transition).
func (c *channelPosts) transition(ctx context.Context, what string, id int64, fenced bool, query string, noop []articles.State, args ...any) error {
	tag, err := c.db.pool.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("postgres: %s %d in channel %s: %w", what, id, c.channel, err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var state string
	err = c.db.pool.QueryRow(ctx, "SELECT state FROM deliveries WHERE article_id = $1 AND channel_id = $2", id, c.channel).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s %d in channel %s: %w", what, id, c.channel, articles.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: %s %d in channel %s: %w", what, id, c.channel, err)
	}
	for _, s := range noop {
		if articles.State(state) == s {
			return nil
		}
	}
	if fenced && (state == string(articles.StatePending) || state == string(articles.StateSending)) {
		return fmt.Errorf("postgres: %s %d in channel %s: %w", what, id, c.channel, ErrFenced)
	}
	return fmt.Errorf("postgres: %s %d in channel %s: delivery is %s", what, id, c.channel, state)
}

// RefetchForNewChannels clears the validators of feeds a route's channel
// has not seen yet.
func (db *DB) RefetchForNewChannels(ctx context.Context, routes []articles.Route) (int, error) {
	reset := 0
	for _, r := range routes {
		for _, f := range r.Feeds {
			tag, err := db.pool.Exec(ctx, `UPDATE feeds SET etag = '', last_modified = ''
				WHERE url = $1 AND (etag <> '' OR last_modified <> '')
				AND NOT EXISTS (SELECT 1 FROM channel_feeds WHERE channel_id = $2 AND feed_url = $1)`, f, r.ChannelID)
			if err != nil {
				return reset, fmt.Errorf("postgres: refetch %q: %w", f, err)
			}
			reset += int(tag.RowsAffected())
		}
	}
	return reset, nil
}
