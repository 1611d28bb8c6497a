// Package sqlite is newsbot's embedded store: articles.Store (and the ask
// questions) on SQLite through modernc.org/sqlite, pure Go, no cgo.
//
// The database runs in WAL mode with a busy timeout, so that `newsbot fetch`,
// `backfill` and `related` can run beside the bot on the same file. Write
// transactions begin IMMEDIATE (they take the write lock at BEGIN), so two
// writers queue on the busy timeout instead of failing with SQLITE_BUSY when
// a read transaction would have to be upgraded.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/newsbot/newsbot/articles"

	_ "modernc.org/sqlite" // driver "sqlite"
)

// busyTimeout is how long a statement waits for another connection's (or
// process's) lock before it fails with "database is locked".
const busyTimeout = 5 * time.Second

// DB is the SQLite store. It is safe for concurrent use.
type DB struct {
	db *sql.DB
	// now is the clock used for updated_at and defaults; tests may replace it.
	now func() time.Time
	// write holds one token: the right to write. In-process writers queue
	// here (ctx-aware, no time limit) rather than on SQLite's busy timeout,
	// which a queue of long transactions (several feeds' first polls at
	// once) could outlast; the busy timeout is left for other processes.
	write chan struct{}
}

var _ articles.Store = (*DB)(nil)

// Open opens (creating it if needed) the database at path, a file path or a
// "file:" URI, and applies the migrations it lacks. ":memory:" (or a
// "mode=memory" URI) gives a private in-memory database on one connection.
func Open(ctx context.Context, path string) (*DB, error) {
	dsn, memory, err := dataSource(path)
	if err != nil {
		return nil, err
	}
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	if memory {
		// Every connection to ":memory:" is a database of its own: keep one,
		// forever.
		sdb.SetMaxOpenConns(1)
		sdb.SetMaxIdleConns(1)
		sdb.SetConnMaxLifetime(0)
		sdb.SetConnMaxIdleTime(0)
	}
	db := &DB{db: sdb, now: time.Now, write: make(chan struct{}, 1)}
	if err := db.migrate(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	return db, nil
}

// dataSource builds the driver's DSN: the path plus the pragmas every pooled
// connection needs (set through DSN parameters, so that each new connection
// gets them).
func dataSource(path string) (dsn string, memory bool, err error) {
	p := strings.TrimSpace(path)
	if p == "" {
		return "", false, errors.New("sqlite: empty database path")
	}
	if i := strings.Index(p, "://"); i > 0 && !strings.HasPrefix(p, "file:") {
		return "", false, fmt.Errorf("sqlite: %q is not a file path or file: URI", path)
	}
	memory = p == ":memory:" || strings.HasPrefix(p, "file::memory:") || strings.Contains(p, "mode=memory")
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if !memory {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	q.Set("_txlock", "immediate")
	sep := "?"
	if strings.Contains(p, "?") {
		sep = "&"
	}
	return p + sep + q.Encode(), memory, nil
}

// Close closes the database.
func (db *DB) Close() error {
	if err := db.db.Close(); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// SQL returns the underlying handle, for the other files of this package
// (and for tests that inspect the schema).
func (db *DB) SQL() *sql.DB { return db.db }

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// lockWrite waits for this process's turn to write; the returned func ends
// it.
func (db *DB) lockWrite(ctx context.Context) (func(), error) {
	select {
	case db.write <- struct{}{}:
		return func() { <-db.write }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// exec runs one writing statement in its turn (see DB.write).
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	unlock, err := db.lockWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return db.db.ExecContext(ctx, query, args...)
}

// inTx runs fn in one write transaction (BEGIN IMMEDIATE), in its turn (see
// DB.write), committed when fn returns nil and rolled back otherwise.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	unlock, err := db.lockWrite(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Times are stored as unix nanoseconds (UTC), NULL for the zero time. The
// int64 range (years 1678..2262) is plenty for news; anything outside is
// clamped so that it still sorts where it belongs.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

func timeValue(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return timeNanos(t)
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

func timeFrom(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
