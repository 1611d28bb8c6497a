package postgres

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/newsbot/newsbot/internal/pgtest"
)

// Both stores have one list of schema versions: a migration added to one
// must be added to the other.
func TestSameVersionsAsSQLite(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("..", "sqlite", "migrations", "*.sql"))
	if err != nil || len(names) == 0 {
		t.Fatalf("sqlite migrations: %v, %v", names, err)
	}
	var want []int
	for _, n := range names {
		num, _, _ := strings.Cut(filepath.Base(n), "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		want = append(want, v)
	}
	sort.Ints(want)
	got, err := Versions()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("postgres/migrations versions = %v, sqlite/migrations = %v", got, want)
	}
}

// Instances starting together migrate once, one after the other.
func TestConcurrentMigrate(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := Open(ctx, url)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
	}
	db := openAt(t, url)
	v, err := db.SchemaVersion(ctx)
	if err != nil || v != LatestVersion() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, LatestVersion())
	}
	var n int
	if err := db.Pool().QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(mustVersions(t)) {
		t.Fatalf("schema_migrations rows = %d, %v", n, err)
	}
}

// A database migrated by a newer newsbot is left alone, and says so.
func TestNewerSchema(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	if _, err := db.Pool().Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future.sql', 0)",
		LatestVersion()+1); err != nil {
		t.Fatal(err)
	}
	err := db.Migrate(ctx)
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Migrate on a newer schema: %v", err)
	}
	if _, err := Open(ctx, pgURL(t, db)); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open on a newer schema: %v", err)
	}
}

func TestConnectRefusesOtherSchemes(t *testing.T) {
	for _, u := range []string{"mysql://u:secret@h/db", "newsbot.db", "file:x.db"} {
		_, err := Connect(context.Background(), u)
		if err == nil {
			t.Fatalf("Connect(%q) succeeded", u)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("the error shows the password: %v", err)
		}
	}
	// A URL that does not parse: the message must not echo it.
	_, err := Connect(context.Background(), "postgres://u:secret@h:notaport/db")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("Connect with a bad port: %v", err)
	}
}

func mustVersions(t *testing.T) []int {
	t.Helper()
	vs, err := Versions()
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// pgtestURL is a fresh database for this test.
func pgtestURL(tb testing.TB) string { tb.Helper(); return pgtest.NewDatabase(tb) }

func openAt(tb testing.TB, url string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// pgURL is the connection string db was opened with.
func pgURL(tb testing.TB, db *DB) string {
	tb.Helper()
	return db.cfg.ConnString()
}
