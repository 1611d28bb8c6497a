package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/newsbot/newsbot/internal/discordtest"
	"github.com/newsbot/newsbot/internal/pgtest"
	"github.com/newsbot/newsbot/postgres"
)

// newsbot check on PostgreSQL: the connection, the schema version (read
// only: an empty database stays empty) and which instance leads.
func TestCheckPostgres(t *testing.T) {
	fake := discordtest.New(t)
	env := checkEnv(t, fake)
	url := pgtest.NewDatabase(t)
	env["DATABASE_URL"] = url
	ctx := context.Background()

	code, out := runCheck(t, env)
	if code != 0 || !strings.Contains(out, "PostgreSQL answers") || !strings.Contains(out, "PostgreSQL database is empty") ||
		!strings.Contains(out, "no instance leads yet") {
		t.Fatalf("empty database: exit %d:\n%s", code, out)
	}
	db, err := postgres.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, _ := db.SchemaVersion(ctx); v != 0 {
		t.Fatalf("check migrated the database to %d", v)
	}

	// An instance leads.
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	lctx, cancel := context.WithCancel(ctx)
	leading := make(chan struct{})
	l := db.NewLeader(postgres.LeaderOptions{Holder: "node-a:42", Log: slog.New(slog.DiscardHandler), Lead: func(ctx context.Context, _ int64) {
		close(leading)
		<-ctx.Done()
	}})
	done := make(chan struct{})
	go func() { defer close(done); l.Run(lctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-leading:
	case <-time.After(20 * time.Second):
		t.Fatal("no leader")
	}
	code, out = runCheck(t, env)
	want := fmt.Sprintf("PostgreSQL schema version %d", postgres.LatestVersion())
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "leader: node-a:42 (epoch 1") {
		t.Fatalf("with a leader: exit %d, want %q and the leader:\n%s", code, want, out)
	}

	// A newer newsbot migrated it.
	if _, err := db.Pool().Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future.sql', 0)",
		postgres.LatestVersion()+1); err != nil {
		t.Fatal(err)
	}
	code, out = runCheck(t, env)
	if code == 0 || !strings.Contains(out, "newer than this newsbot knows") {
		t.Fatalf("newer schema: exit %d:\n%s", code, out)
	}
}

// A database that cannot be reached is one red line, without the password.
func TestCheckPostgresUnreachable(t *testing.T) {
	fake := discordtest.New(t)
	env := checkEnv(t, fake)
	env["DATABASE_URL"] = "postgres://newsbot:hunter2@127.0.0.1:1/newsbot?connect_timeout=5"
	code, out := runCheck(t, env)
	if code == 0 || !strings.Contains(out, "✗ PostgreSQL") || strings.Contains(out, "hunter2") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}
