// Package postgres is newsbot's shared store: articles.Store, the /ask
// questions and the archive's state on PostgreSQL (pgx v5, a pool), for
// several instances on one database. Exactly one of them leads (see
// Leader): the holder of a session-level advisory lock, whose fencing epoch
// every outgoing claim (an article moving to "sending", a question's
// forward) carries, so that a deposed leader cannot send.
//
// The schema is the SQLite store's, version for version (migrations/ holds
// the same list of NNNN_name.sql versions as sqlite/migrations), with times
// as BIGINT unix nanoseconds so that both stores sort and compare alike.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/commands"
)

// ErrFenced is returned by a claim (MarkSending, a forward attempt...) made
// by an instance that does not hold the current leader epoch: another
// instance took over, and this one must not send.
var ErrFenced = errors.New("postgres: fenced: another instance leads now")

// DB is the PostgreSQL store. It is safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	cfg  *pgxpool.Config
	// epoch is the leader epoch this instance holds (0: none, it stands
	// by); set by Leader.
	epoch atomic.Int64
	// now is the clock used for updated_at and defaults; tests may replace it.
	now func() time.Time
}

var (
	_ articles.Store         = (*DB)(nil)
	_ commands.QuestionStore = (*DB)(nil)
)

// IsURL reports whether s names a PostgreSQL database (postgres:// or
// postgresql://).
func IsURL(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Connect opens a pool on the database at url (postgres:// or
// postgresql://) and checks that it answers. It applies no migration:
// call Migrate (the leader does, and the one-shot verbs).
func Connect(ctx context.Context, url string) (*DB, error) {
	if !IsURL(url) {
		return nil, errors.New("postgres: the URL must start with postgres:// or postgresql://")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included: keep it out.
		return nil, errors.New("postgres: the URL does not parse (check its form: postgres://user:password@host:port/database)")
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "newsbot"
	}
	cfg.MaxConnIdleTime = time.Minute
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", safeErr(err))
	}
	db := &DB{pool: pool, cfg: cfg, now: time.Now}
	if err := db.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Open connects (see Connect) and applies the migrations the database
// lacks (see Migrate).
func Open(ctx context.Context, url string) (*DB, error) {
	db, err := Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Pool returns the underlying pool (for tests that inspect the schema).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("postgres: ping: %w", safeErr(err))
	}
	return nil
}

// Epoch returns the leader epoch this instance holds (0 when it stands by).
func (db *DB) Epoch() int64 { return db.epoch.Load() }

// safeErr keeps a connection error's text free of the password: pgconn's
// connect errors name the host and user, never the password, but a
// config error may quote the whole string.
func safeErr(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("the database URL does not parse")
	}
	return err
}

// inTx runs fn in one transaction, committed when fn returns nil and rolled
// back otherwise.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.pool, fn)
}

// Times are stored as unix nanoseconds (UTC), NULL for the zero time; out
// of the int64 range they are clamped so that they still sort where they
// belong (as in the SQLite store).
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

func timeValue(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := timeNanos(t)
	return &n
}

func timeNanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func timeFrom(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

func (db *DB) nowNanos() int64 { return timeNanos(db.now()) }

// pgLimit turns "limit <= 0: all" into SQL: LIMIT NULL is no limit.
func pgLimit(limit int) *int64 {
	if limit <= 0 {
		return nil
	}
	n := int64(limit)
	return &n
}
