package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/newsbot/newsbot/articles"
)

const feedColumns = `url, site, title, etag, last_modified, first_poll_at, last_poll_at, failures, last_error, next_attempt`

func scanFeed(s pgx.Row) (articles.FeedState, error) {
	var (
		f                    articles.FeedState
		first, last, nextTry *int64
	)
	err := s.Scan(&f.URL, &f.Site, &f.Title, &f.ETag, &f.LastModified, &first, &last, &f.Failures, &f.LastError, &nextTry)
	f.FirstPollAt, f.LastPollAt, f.NextAttempt = timeFrom(first), timeFrom(last), timeFrom(nextTry)
	return f, err
}

// FeedState returns the state of a feed; a feed never polled has a zero
// state with only URL set.
func (db *DB) FeedState(ctx context.Context, feedURL string) (articles.FeedState, error) {
	f, err := scanFeed(db.pool.QueryRow(ctx, "SELECT "+feedColumns+" FROM feeds WHERE url = $1", feedURL))
	if errors.Is(err, pgx.ErrNoRows) {
		return articles.FeedState{URL: feedURL}, nil
	}
	if err != nil {
		return articles.FeedState{}, fmt.Errorf("postgres: feed state %q: %w", feedURL, err)
	}
	return f, nil
}

// Feeds returns the state of every feed ever polled (or tried), by URL
// (bytewise, as SQLite orders them).
func (db *DB) Feeds(ctx context.Context) ([]articles.FeedState, error) {
	rows, err := db.pool.Query(ctx, "SELECT "+feedColumns+` FROM feeds ORDER BY url COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("postgres: feeds: %w", err)
	}
	defer rows.Close()
	var fs []articles.FeedState
	for rows.Next() {
		f, err := scanFeed(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: feeds: %w", err)
		}
		fs = append(fs, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: feeds: %w", err)
	}
	return fs, nil
}

// pollItem is one distinct article of a poll.
type pollItem struct {
	id        int64
	state     articles.State
	published time.Time
	newToFeed bool
	article   articles.Article // as normalised from the poll, for route filters
}

// RecordPoll stores one successful poll in one transaction; see
// articles.FeedStore and the SQLite store, whose rules it follows. Writers
// of articles take turns (see lockRevs), as they do on SQLite.
func (db *DB) RecordPoll(ctx context.Context, p articles.Poll, backlogLimit int) (articles.PollStats, error) {
	if p.FeedURL == "" {
		return articles.PollStats{}, errors.New("postgres: record poll: empty feed URL")
	}
	var stats articles.PollStats
	at := p.At
	if at.IsZero() {
		at = db.now()
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		stats = articles.PollStats{}
		if err := lockRevs(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO feeds (url) VALUES ($1) ON CONFLICT (url) DO NOTHING", p.FeedURL); err != nil {
			return err
		}
		var firstPoll *int64
		if err := tx.QueryRow(ctx, "SELECT first_poll_at FROM feeds WHERE url = $1 FOR UPDATE", p.FeedURL).Scan(&firstPoll); err != nil {
			return err
		}
		isFirst := firstPoll == nil

		items, err := storePollItems(ctx, tx, p, at, &stats)
		if err != nil {
			return err
		}
		stats.Seen = len(items)

		var promote []*pollItem
		if isFirst {
			byAge := append([]*pollItem(nil), items...)
			sort.SliceStable(byAge, func(i, j int) bool { return byAge[i].published.After(byAge[j].published) })
			if backlogLimit < 0 {
				backlogLimit = 0
			}
			promote = byAge[:min(backlogLimit, len(byAge))]
		} else {
			for _, it := range items {
				if it.newToFeed {
					promote = append(promote, it)
				}
			}
		}
		for _, it := range promote {
			if it.state != articles.StateRecorded {
				continue
			}
			tag, err := tx.Exec(ctx, "UPDATE articles SET state = 'pending', updated_at = $1 WHERE id = $2 AND state = 'recorded'",
				timeNanos(at), it.id)
			if err != nil {
				return err
			}
			stats.Pending += int(tag.RowsAffected())
		}

		if err := routePoll(ctx, tx, p, items, backlogLimit, at); err != nil {
			return err
		}

		_, err = tx.Exec(ctx, `UPDATE feeds SET
				site = CASE WHEN $2::text <> '' THEN $2::text ELSE site END,
				title = CASE WHEN $3::text <> '' THEN $3::text ELSE title END,
				etag = $4, last_modified = $5,
				first_poll_at = coalesce(first_poll_at, $6::bigint),
				last_poll_at = $6::bigint,
				failures = 0, last_error = '', next_attempt = NULL
			WHERE url = $1`,
			p.FeedURL, p.Site, p.Title, p.ETag, p.LastModified, timeNanos(at))
		return err
	})
	if err != nil {
		return articles.PollStats{}, fmt.Errorf("postgres: record poll %q: %w", p.FeedURL, err)
	}
	return stats, nil
}

// storePollItems stores (or fills) each distinct article of the poll and
// records that the feed lists it. It returns them in feed order.
func storePollItems(ctx context.Context, tx pgx.Tx, p articles.Poll, at time.Time, stats *articles.PollStats) ([]*pollItem, error) {
	byID := make(map[int64]*pollItem, len(p.Items))
	items := make([]*pollItem, 0, len(p.Items))
	for _, raw := range p.Items {
		a := normalise(raw, p.Site)
		a.FeedURL = p.FeedURL
		if a.FeedTitle == "" {
			a.FeedTitle = p.Title
		}
		if a.FirstSeen.IsZero() {
			a.FirstSeen = at
		}
		s, found, err := find(ctx, tx, a)
		if err != nil {
			return nil, err
		}
		if found {
			if err := fillIn(ctx, tx, s.id, a, at); err != nil {
				return nil, err
			}
		} else {
			id, err := insertNew(ctx, tx, a, at)
			if err != nil {
				return nil, err
			}
			s = stored{id: id, state: articles.StateRecorded}
			stats.Stored++
		}
		if it, dup := byID[s.id]; dup {
			// Listed twice in this poll: keep the newest publication date.
			if a.Published.After(it.published) {
				it.published = a.Published
			}
			continue
		}
		tag, err := tx.Exec(ctx, "INSERT INTO feed_items (feed_url, article_id, first_seen) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
			p.FeedURL, s.id, timeNanos(at))
		if err != nil {
			return nil, err
		}
		it := &pollItem{id: s.id, state: s.state, published: a.Published, newToFeed: tag.RowsAffected() > 0, article: a}
		if it.newToFeed {
			stats.New++
		}
		byID[s.id] = it
		items = append(items, it)
	}
	return items, nil
}

// RecordNotModified notes a 304: the feed answered and nothing changed.
func (db *DB) RecordNotModified(ctx context.Context, feedURL string, at time.Time) error {
	if at.IsZero() {
		at = db.now()
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO feeds (url, last_poll_at) VALUES ($1, $2)
		ON CONFLICT (url) DO UPDATE SET last_poll_at = excluded.last_poll_at,
			failures = 0, last_error = '', next_attempt = NULL`,
		feedURL, timeNanos(at))
	if err != nil {
		return fmt.Errorf("postgres: record not modified %q: %w", feedURL, err)
	}
	return nil
}

// RecordFeedError notes a failed poll and when to try again; it returns the
// number of consecutive failures including this one.
func (db *DB) RecordFeedError(ctx context.Context, feedURL, msg string, next time.Time) (int, error) {
	var failures int
	err := db.pool.QueryRow(ctx, `INSERT INTO feeds (url, failures, last_error, next_attempt) VALUES ($1, 1, $2, $3)
		ON CONFLICT (url) DO UPDATE SET failures = feeds.failures + 1,
			last_error = excluded.last_error, next_attempt = excluded.next_attempt
		RETURNING failures`,
		feedURL, msg, timeValue(next)).Scan(&failures)
	if err != nil {
		return 0, fmt.Errorf("postgres: record feed error %q: %w", feedURL, err)
	}
	return failures, nil
}
