// Package pgtest gives tests a fresh PostgreSQL database of their own on
// the server that NEWSBOT_TEST_POSTGRES names (.ci/postgres.sh starts one).
// Without that variable PostgreSQL tests skip locally and fail in CI
// (CI=true), so that a CI run never passes without them.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL is the variable naming the test server (a database on it that the
// user may connect to, with the right to create databases).
const EnvURL = "NEWSBOT_TEST_POSTGRES"

// ServerURL returns NEWSBOT_TEST_POSTGRES, skipping (locally) or failing (CI)
// the test when it is not set.
func ServerURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set: CI must run the PostgreSQL tests (.ci/run starts a server with .ci/postgres.sh)", EnvURL)
		}
		tb.Skipf("%s is not set (eval \"$(.ci/postgres.sh start)\" starts a throw-away server)", EnvURL)
	}
	return u
}

// NewDatabase creates an empty database for this test, dropped (its
// sessions ended) by the test's cleanup, and returns its URL.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	base := ServerURL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("pgtest: connect to %s: %v", EnvURL, err)
	}
	defer admin.Close(context.Background())
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	name := "newsbot_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Logf("pgtest: drop %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("pgtest: drop %s: %v", name, err)
		}
	})
	u, err := withDatabase(base, name)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// withDatabase returns the URL base with its database replaced by name.
func withDatabase(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("pgtest: %s does not parse as a URL", EnvURL)
	}
	u.Path = "/" + name
	return u.String(), nil
}
