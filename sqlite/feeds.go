package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/newsbot/newsbot/articles"
)

const feedColumns = `url, site, title, etag, last_modified, first_poll_at, last_poll_at, failures, last_error, next_attempt`

func scanFeed(s scanner) (articles.FeedState, error) {
	var (
		f                    articles.FeedState
		first, last, nextTry sql.NullInt64
	)
	err := s.Scan(&f.URL, &f.Site, &f.Title, &f.ETag, &f.LastModified, &first, &last, &f.Failures, &f.LastError, &nextTry)
	f.FirstPollAt, f.LastPollAt, f.NextAttempt = timeFrom(first), timeFrom(last), timeFrom(nextTry)
	return f, err
}

// FeedState returns the state of a feed; a feed never polled has a zero
// state with only URL set.
func (db *DB) FeedState(ctx context.Context, feedURL string) (articles.FeedState, error) {
	f, err := scanFeed(db.db.QueryRowContext(ctx, "SELECT "+feedColumns+" FROM feeds WHERE url = ?", feedURL))
	if errors.Is(err, sql.ErrNoRows) {
		return articles.FeedState{URL: feedURL}, nil
	}
	if err != nil {
		return articles.FeedState{}, fmt.Errorf("sqlite: feed state %q: %w", feedURL, err)
	}
	return f, nil
}

// Feeds returns the state of every feed ever polled (or tried), by URL.
func (db *DB) Feeds(ctx context.Context) ([]articles.FeedState, error) {
	rows, err := db.db.QueryContext(ctx, "SELECT "+feedColumns+" FROM feeds ORDER BY url")
	if err != nil {
		return nil, fmt.Errorf("sqlite: feeds: %w", err)
	}
	defer rows.Close()
	var fs []articles.FeedState
	for rows.Next() {
		f, err := scanFeed(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: feeds: %w", err)
		}
		fs = append(fs, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: feeds: %w", err)
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
// articles.FeedStore. Items are matched to stored articles within their site
// by key, else by canonical link; an item listed twice in one poll (same key
// or link) counts once. Seen counts those distinct articles.
//
// On the feed's first poll the newest backlogLimit items by Published (ties:
// the one listed first) are taken, and those of them still recorded become
// pending: an item another feed of the site already posted still takes its
// place, so a second feed's first poll never posts older backlog. On a later
// poll every item new to this feed becomes pending if it is recorded (the
// archive may have stored it before).
func (db *DB) RecordPoll(ctx context.Context, p articles.Poll, backlogLimit int) (articles.PollStats, error) {
	if p.FeedURL == "" {
		return articles.PollStats{}, errors.New("sqlite: record poll: empty feed URL")
	}
	var stats articles.PollStats
	at := p.At
	if at.IsZero() {
		at = db.now()
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		stats = articles.PollStats{}
		var firstPoll sql.NullInt64
		err := tx.QueryRowContext(ctx, "SELECT first_poll_at FROM feeds WHERE url = ?", p.FeedURL).Scan(&firstPoll)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		isFirst := !firstPoll.Valid

		items, err := db.storePollItems(ctx, tx, p, at, &stats)
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
			res, err := tx.ExecContext(ctx, "UPDATE articles SET state = 'pending', updated_at = ? WHERE id = ? AND state = 'recorded'",
				timeNanos(at), it.id)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			stats.Pending += int(n)
		}

		if err := routePoll(ctx, tx, p, items, backlogLimit, at); err != nil {
			return err
		}

		_, err = tx.ExecContext(ctx, `INSERT INTO feeds (url, site, title, etag, last_modified, first_poll_at, last_poll_at, failures, last_error, next_attempt)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 0, '', NULL)
			ON CONFLICT (url) DO UPDATE SET
				site = CASE WHEN excluded.site <> '' THEN excluded.site ELSE site END,
				title = CASE WHEN excluded.title <> '' THEN excluded.title ELSE title END,
				etag = excluded.etag, last_modified = excluded.last_modified,
				first_poll_at = coalesce(first_poll_at, excluded.first_poll_at),
				last_poll_at = excluded.last_poll_at,
				failures = 0, last_error = '', next_attempt = NULL`,
			p.FeedURL, p.Site, p.Title, p.ETag, p.LastModified, timeNanos(at))
		return err
	})
	if err != nil {
		return articles.PollStats{}, fmt.Errorf("sqlite: record poll %q: %w", p.FeedURL, err)
	}
	return stats, nil
}

// storePollItems stores (or fills) each distinct article of the poll and
// records that the feed lists it. It returns them in feed order.
func (db *DB) storePollItems(ctx context.Context, tx *sql.Tx, p articles.Poll, at time.Time, stats *articles.PollStats) ([]*pollItem, error) {
	w, err := newWriter(ctx, tx)
	if err != nil {
		return nil, err
	}
	defer w.close()
	feedItem, err := tx.PrepareContext(ctx, "INSERT OR IGNORE INTO feed_items (feed_url, article_id, first_seen) VALUES (?, ?, ?)")
	if err != nil {
		return nil, err
	}
	defer feedItem.Close()
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
		s, found, err := w.find(ctx, a)
		if err != nil {
			return nil, err
		}
		if found {
			if err := w.fillIn(ctx, s.id, a, at); err != nil {
				return nil, err
			}
		} else {
			id, err := w.insertNew(ctx, a, at)
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
		res, err := feedItem.ExecContext(ctx, p.FeedURL, s.id, timeNanos(at))
		if err != nil {
			return nil, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		it := &pollItem{id: s.id, state: s.state, published: a.Published, newToFeed: n > 0, article: a}
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
	_, err := db.exec(ctx, `INSERT INTO feeds (url, last_poll_at) VALUES (?1, ?2)
		ON CONFLICT (url) DO UPDATE SET last_poll_at = excluded.last_poll_at,
			failures = 0, last_error = '', next_attempt = NULL`,
		feedURL, timeNanos(at))
	if err != nil {
		return fmt.Errorf("sqlite: record not modified %q: %w", feedURL, err)
	}
	return nil
}

// RecordFeedError notes a failed poll and when to try again; it returns the
// number of consecutive failures including this one.
func (db *DB) RecordFeedError(ctx context.Context, feedURL, msg string, next time.Time) (int, error) {
	var failures int
	err := db.db.QueryRowContext(ctx, `INSERT INTO feeds (url, failures, last_error, next_attempt) VALUES (?1, 1, ?2, ?3)
		ON CONFLICT (url) DO UPDATE SET failures = failures + 1,
			last_error = excluded.last_error, next_attempt = excluded.next_attempt
		RETURNING failures`,
		feedURL, msg, timeValue(next)).Scan(&failures)
	if err != nil {
		return 0, fmt.Errorf("sqlite: record feed error %q: %w", feedURL, err)
	}
	return failures, nil
}
