package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/internal/migrations"
)

// MustOpen opens a fresh database file in a temporary directory, closed by
// the test's cleanup.
func MustOpen(tb testing.TB) *DB {
	tb.Helper()
	return mustOpenPath(tb, filepath.Join(tb.TempDir(), "newsbot.db"))
}

func mustOpenPath(tb testing.TB, path string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("Open(%q): %v", path, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// latestVersion is the highest embedded migration.
func latestVersion(tb testing.TB) int {
	tb.Helper()
	ms, err := migrations.Load(migrationFS)
	if err != nil {
		tb.Fatal(err)
	}
	return ms[len(ms)-1].Version
}

func TestOpenPragmas(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	// Several connections at once, so that the pragmas are checked on more
	// than the first pooled one.
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		c, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	for i, c := range conns {
		for pragma, want := range map[string]string{
			"journal_mode": "wal",
			"foreign_keys": "1",
			"busy_timeout": fmt.Sprint(busyTimeout.Milliseconds()),
			"synchronous":  "1", // NORMAL
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("conn %d: PRAGMA %s: %v", i, pragma, err)
			}
			if got != want {
				t.Errorf("conn %d: PRAGMA %s = %q, want %q", i, pragma, got, want)
			}
		}
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil || v != latestVersion(t) {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, latestVersion(t))
	}
}

func TestOpenMemory(t *testing.T) {
	ctx := context.Background()
	for _, path := range []string{":memory:", "file::memory:"} {
		t.Run(path, func(t *testing.T) {
			db := mustOpenPath(t, path)
			if v, err := db.SchemaVersion(ctx); err != nil || v != latestVersion(t) {
				t.Fatalf("SchemaVersion = %d, %v", v, err)
			}
			// The schema must be visible on every use: one connection.
			if _, err := db.RecordPoll(ctx, poll("https://ex.com/feed", item("https://ex.com/a", "A", day(1))), 3); err != nil {
				t.Fatal(err)
			}
			due, err := db.Due(ctx, 0)
			if err != nil || len(due) != 1 {
				t.Fatalf("Due = %v, %v", due, err)
			}
			// EachArticle's callback may use the store even on one connection.
			err = db.EachArticle(ctx, 0, func(a articles.Article) error {
				_, err := db.ArticleByID(ctx, a.ID)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOpenFileURI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "uri.db")
	db := mustOpenPath(t, "file:"+path+"?cache=private")
	if err := db.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := db.SQL().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
}

func TestOpenRefusesOtherSchemes(t *testing.T) {
	for _, p := range []string{"", "postgres://u@h/db", "mysql://x"} {
		if db, err := Open(context.Background(), p); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

// version1File builds, by hand, a database as a newsbot that knew only
// migration 0001 left it, holding one article.
func version1File(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	body, err := migrationFS.ReadFile("migrations/0001_articles.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		string(body),
		`INSERT INTO schema_migrations VALUES (1, '0001_articles.sql', 1)`,
		`INSERT INTO articles (site, key, url, canonical_url, title, first_seen, state, message_id, updated_at)
			VALUES ('ex.com', 'guid:old', 'https://ex.com/old', 'https://ex.com/old', 'Old', 1, 'posted', 'm1', 1)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	return path
}

func TestMigrateOldFile(t *testing.T) {
	ctx := context.Background()
	path := version1File(t)

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := db.SchemaVersion(ctx); err != nil || v != latestVersion(t) {
		t.Fatalf("SchemaVersion after migrating = %d, %v; want %d", v, err, latestVersion(t))
	}
	a, err := db.ArticleByURL(ctx, "https://ex.com/old/")
	if err != nil || a.State != articles.StatePosted || a.MessageID != "m1" {
		t.Fatalf("old article after migrating = %+v, %v", a, err)
	}
	before := appliedRows(t, db.SQL())
	db.Close()

	// Reopening an up-to-date file changes nothing.
	db = mustOpenPath(t, path)
	if after := appliedRows(t, db.SQL()); after != before {
		t.Fatalf("reopen changed schema_migrations:\n%s\nwant\n%s", after, before)
	}
}

func appliedRows(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var v, at int64
		var name string
		if err := rows.Scan(&v, &name, &at); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d %s %d\n", v, name, at)
	}
	return b.String()
}

// openBare opens an in-memory database without applying any migration.
func openBare(t *testing.T) *DB {
	t.Helper()
	dsn, _, err := dataSource(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	t.Cleanup(func() { raw.Close() })
	return &DB{db: raw, now: time.Now, write: make(chan struct{}, 1)}
}

// TestMigrationRunner drives the runner with migrations of its own: several
// statements in one file, version order rather than listing order, a
// failing migration rolled back whole, and a database newer than the code.
func TestMigrationRunner(t *testing.T) {
	ctx := context.Background()
	fsys := fstest.MapFS{
		"migrations/0010_b.sql": {Data: []byte("ALTER TABLE t ADD COLUMN b TEXT; INSERT INTO t (a, b) VALUES (2, 'two');")},
		"migrations/0002_a.sql": {Data: []byte("CREATE TABLE t (a INTEGER);\nINSERT INTO t (a) VALUES (1);\n")},
	}
	ms, err := migrations.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 2 || ms[1].Version != 10 {
		t.Fatalf("loadMigrations order = %+v", ms)
	}
	db := openBare(t)
	if err := db.applyMigrations(ctx, ms); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.SQL().QueryRow("SELECT count(*) FROM t WHERE b = 'two' OR a = 1").Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows from multi-statement migrations = %d, %v", n, err)
	}
	if v, _ := db.SchemaVersion(ctx); v != 10 {
		t.Fatalf("SchemaVersion = %d, want 10", v)
	}
	// Applying again is a no-op (the INSERTs would otherwise add rows).
	if err := db.applyMigrations(ctx, ms); err != nil {
		t.Fatal(err)
	}
	db.SQL().QueryRow("SELECT count(*) FROM t").Scan(&n)
	if n != 2 {
		t.Fatalf("rows after re-applying = %d, want 2", n)
	}

	// A failing migration leaves nothing behind.
	bad := migration{Version: 11, Name: "0011_bad.sql", SQL: "CREATE TABLE u (x); INSERT INTO nowhere VALUES (1);"}
	if err := db.applyMigrations(ctx, append(ms, bad)); err == nil {
		t.Fatal("a failing migration did not fail")
	}
	if err := db.SQL().QueryRow("SELECT count(*) FROM u").Scan(&n); err == nil {
		t.Fatal("table u of the failed migration exists")
	}
	if v, _ := db.SchemaVersion(ctx); v != 10 {
		t.Fatalf("SchemaVersion after failure = %d, want 10", v)
	}

	// Code that knows only version 2 refuses a database at 10.
	if err := db.applyMigrations(ctx, ms[:1]); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("older code on a newer database: err = %v", err)
	}

	for name, fsys := range map[string]fstest.MapFS{
		"bad name":  {"migrations/first.sql": {Data: []byte("SELECT 1")}},
		"duplicate": {"migrations/0001_a.sql": {Data: []byte("SELECT 1")}, "migrations/01_b.sql": {Data: []byte("SELECT 1")}},
	} {
		if _, err := migrations.Load(fsys); err == nil {
			t.Errorf("%s: loadMigrations succeeded", name)
		}
	}
}

// TestConcurrentHandles writes through two handles on one file at once, as
// the bot and `newsbot fetch` or `backfill` do: WAL and the busy timeout
// must keep "database is locked" away.
func TestConcurrentHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	a := mustOpenPath(t, path)
	b := mustOpenPath(t, path)

	const rounds = 10
	var wg sync.WaitGroup
	errs := make(chan error, 4*rounds)
	for w, db := range []*DB{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			feed := fmt.Sprintf("https://ex.com/feed%d", w)
			for r := range rounds {
				it := item(fmt.Sprintf("https://ex.com/w%d/r%d", w, r), "T", day(r+1))
				if _, err := db.RecordPoll(ctx, poll(feed, it), 3); err != nil {
					errs <- err
					return
				}
				if _, err := db.StoreArchived(ctx, []articles.Article{item(fmt.Sprintf("https://ex.com/arch/%d/%d", w, r), "Arch", day(r))}); err != nil {
					errs <- err
					return
				}
				due, err := db.Due(ctx, 1)
				if err != nil {
					errs <- err
					return
				}
				for _, d := range due {
					// Another worker may have moved it on: only real
					// database errors count.
					if err := db.MarkSending(ctx, d.ID); err != nil && !strings.Contains(err.Error(), "article is") {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	counts, err := a.CountArticles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts["ex.com"] != 4*rounds*2 {
		t.Fatalf("stored %d articles, want %d", counts["ex.com"], 4*rounds*2)
	}
}

func TestTimeRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	loc := time.FixedZone("X", 5*3600)
	pub := time.Date(2024, 2, 29, 23, 59, 58, 123456789, loc)
	seen := time.Date(2024, 3, 1, 0, 0, 0, 1, time.UTC)
	it := item("https://ex.com/t", "T", pub)
	it.FirstSeen = seen
	if _, err := db.StoreArchived(ctx, []articles.Article{it}); err != nil {
		t.Fatal(err)
	}
	a, err := db.ArticleByURL(ctx, "https://ex.com/t")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Published.Equal(pub) || a.Published.Location() != time.UTC || !a.FirstSeen.Equal(seen) {
		t.Fatalf("times = %v / %v, want %v / %v in UTC", a.Published, a.FirstSeen, pub, seen)
	}

	// Out of range and zero times.
	if got := timeNanos(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)); got >= timeNanos(time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("year 1 does not sort before 1700: %d", got)
	}
	if got := timeNanos(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)); got <= timeNanos(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("year 9999 does not sort after 2200: %d", got)
	}
	if timeValue(time.Time{}) != nil || !timeFrom(sql.NullInt64{}).IsZero() {
		t.Error("zero time is not stored as NULL")
	}
}

func TestNotFound(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	if _, err := db.ArticleByID(ctx, 42); !errors.Is(err, articles.ErrNotFound) {
		t.Errorf("ArticleByID: %v", err)
	}
	for _, u := range []string{"https://ex.com/none", "not a url", ""} {
		if _, err := db.ArticleByURL(ctx, u); !errors.Is(err, articles.ErrNotFound) {
			t.Errorf("ArticleByURL(%q): %v", u, err)
		}
	}
	if err := db.SetFullText(ctx, 42, "x", ""); !errors.Is(err, articles.ErrNotFound) {
		t.Errorf("SetFullText: %v", err)
	}
	for name, err := range map[string]error{
		"MarkSending": db.MarkSending(ctx, 42),
		"MarkPosted":  db.MarkPosted(ctx, 42, "m"),
		"MarkRetry":   db.MarkRetry(ctx, 42, "x", true),
		"MarkFailed":  db.MarkFailed(ctx, 42, "x"),
	} {
		if !errors.Is(err, articles.ErrNotFound) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
