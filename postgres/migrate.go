package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/newsbot/newsbot/internal/migrations"
)

// ErrNewerSchema says that the database was migrated by a newer newsbot
// than this one: this binary must not write to it (it stands by).
var ErrNewerSchema = errors.New("the database schema is newer than this newsbot knows")

// Every migrations/NNNN_name.sql file is applied once, in version order, in
// one transaction that holds a transaction-level advisory lock, so that
// instances starting together migrate one after the other.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLockKey is the pg_advisory_xact_lock key of migrations (and of
// the leader table's creation); leaderLockKey is the leader's.
const (
	migrateLockKey int64 = 0x6e657773626f7401 // "newsbot" 01
	leaderLockKey  int64 = 0x6e657773626f7402
)

type migration = migrations.Migration

// Versions returns the embedded migration versions, ascending (a test
// holds them equal to the SQLite store's).
func Versions() ([]int, error) {
	ms, err := migrations.Load(migrationFS)
	if err != nil {
		return nil, err
	}
	vs := make([]int, len(ms))
	for i, m := range ms {
		vs[i] = m.Version
	}
	return vs, nil
}

// LatestVersion is the highest schema version this binary knows.
func LatestVersion() int {
	ms, err := migrations.Load(migrationFS)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// Migrate applies the migrations the database lacks, all in one
// transaction under pg_advisory_xact_lock: a second instance waits, then
// finds them applied. It returns an error wrapping ErrNewerSchema (and
// changes nothing) when the database is at a version this binary does not
// know.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := migrations.Load(migrationFS)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return db.applyMigrations(ctx, ms)
}

func (db *DB) applyMigrations(ctx context.Context, ms []migration) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at BIGINT NOT NULL
		)`); err != nil {
			return err
		}
		if err := createLeaderTable(ctx, tx); err != nil {
			return err
		}
		applied := map[int]bool{}
		rows, err := tx.Query(ctx, "SELECT version FROM schema_migrations")
		if err != nil {
			return err
		}
		current := 0
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			applied[v] = true
			current = max(current, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if n := len(ms); n > 0 && current > ms[n-1].Version {
			return fmt.Errorf("%w: the database is at version %d, this newsbot knows up to %d", ErrNewerSchema, current, ms[n-1].Version)
		}
		for _, m := range ms {
			if applied[m.Version] {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
				m.Version, m.Name, db.nowNanos()); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// SchemaVersion returns the highest migration applied (0 for none, or when
// the database was never migrated).
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var exists bool
	if err := db.pool.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v *int64
	if err := db.pool.QueryRow(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return int(*v), nil
}
