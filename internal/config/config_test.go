package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const secret = "MTAxNTk.secret-token.value"

func valid() map[string]string {
	return map[string]string{
		"DISCORD_TOKEN":   secret,
		"NEWS_CHANNEL_ID": "1100000000000000001",
		"TEAM_CHANNEL_ID": "1100000000000000002",
		"FEED_URLS":       "https://example.com/feed/, https://example.com/category/news/feed/",
	}
}

var runNeed = Need{Token: true, Channels: true, Feeds: true}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(MapEnv(valid()), runNeed)
	if err != nil {
		t.Fatal(err)
	}
	if c.Token != secret || c.Schedule != DefaultSchedule || c.DatabasePath != "newsbot.db" ||
		c.BacklogLimit != 3 || c.APIURL != "https://discord.com/api/v9/" || c.BackfillLimit != 5000 ||
		c.BackfillRate != 2 || !c.FullText || c.AskLimit != 3 || c.AskPeriod != 10*time.Minute ||
		c.LogLevel != slog.LevelInfo {
		t.Errorf("defaults: %+v", c)
	}
	if len(c.FeedURLs) != 2 || c.FeedURLs[1] != "https://example.com/category/news/feed/" {
		t.Errorf("feeds: %q", c.FeedURLs)
	}
}

func TestLoadValues(t *testing.T) {
	env := valid()
	env["DISCORD_TOKEN"] = "Bot " + secret
	env["POST_SCHEDULE"] = "CRON_TZ=Europe/Paris @every 5m"
	env["DATABASE_URL"] = "file:/tmp/x.db?cache=shared"
	env["BACKLOG_LIMIT"] = "0"
	env["DISCORD_API_URL"] = "http://127.0.0.1:9999/api/v9//"
	env["HTTP_ADDR"] = "127.0.0.1:8080"
	env["FULL_TEXT"] = "off"
	env["ASK_LIMIT"] = "5/1h"
	env["LOG_LEVEL"] = "DEBUG"
	env["NEWS_ROLE_ID"] = "42"
	c, err := Load(MapEnv(env), runNeed)
	if err != nil {
		t.Fatal(err)
	}
	if c.Token != secret {
		t.Errorf("Bot prefix not removed")
	}
	if c.APIURL != "http://127.0.0.1:9999/api/v9/" || c.BacklogLimit != 0 || c.FullText || c.AskLimit != 5 ||
		c.AskPeriod != time.Hour || c.LogLevel != slog.LevelDebug || c.NewsRoleID != "42" {
		t.Errorf("values: %+v", c)
	}
}

// postgres:// and postgresql:// select the PostgreSQL store; the URL is
// kept whole (the store needs its password), and no SQLite path is set.
func TestLoadPostgresURL(t *testing.T) {
	for _, u := range []string{"postgres://newsbot:hunter2@db:5432/newsbot?sslmode=disable", "POSTGRESQL://db/newsbot"} {
		env := valid()
		env["DATABASE_URL"] = u
		c, err := Load(MapEnv(env), runNeed)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if c.DatabaseURL != u || c.DatabasePath != "" || !c.DatabaseSet {
			t.Errorf("%s: DatabaseURL %q, DatabasePath %q, set %v", u, c.DatabaseURL, c.DatabasePath, c.DatabaseSet)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "feed.xml")
	if err := os.WriteFile(file, []byte("<rss/>"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, key, value, want string
	}{
		{"missing token", "DISCORD_TOKEN", "", "DISCORD_TOKEN is not set"},
		{"token with space", "DISCORD_TOKEN", "abc def", "DISCORD_TOKEN is malformed"},
		{"token is only the prefix", "DISCORD_TOKEN", "Bot", "DISCORD_TOKEN is malformed"},
		{"channel not snowflake", "NEWS_CHANNEL_ID", "#news", "NEWS_CHANNEL_ID"},
		{"channel zero", "TEAM_CHANNEL_ID", "0", "TEAM_CHANNEL_ID"},
		{"missing feeds", "FEED_URLS", " ", "FEED_URLS is not set"},
		{"feed not url", "FEED_URLS", "ftp://x/feed", "FEED_URLS has"},
		{"feed missing file", "FEED_URLS", "/nonexistent/feed.xml", "FEED_URLS has"},
		{"bad cron", "POST_SCHEDULE", "every ten minutes", "POST_SCHEDULE"},
		{"db scheme", "DATABASE_URL", "mysql://user:hunter2@db/newsbot", "DATABASE_URL uses the scheme \"mysql\""},
		{"backlog negative", "BACKLOG_LIMIT", "-1", "BACKLOG_LIMIT"},
		{"backlog word", "BACKLOG_LIMIT", "three", "BACKLOG_LIMIT"},
		{"guild", "DISCORD_GUILD_ID", "abc", "DISCORD_GUILD_ID"},
		{"role", "NEWS_ROLE_ID", "@news", "NEWS_ROLE_ID"},
		{"api url", "DISCORD_API_URL", "discord.com", "DISCORD_API_URL"},
		{"http addr", "HTTP_ADDR", "8080", "HTTP_ADDR"},
		{"backfill limit", "BACKFILL_LIMIT", "lots", "BACKFILL_LIMIT"},
		{"backfill rate zero", "BACKFILL_RATE", "0", "BACKFILL_RATE"},
		{"full text", "FULL_TEXT", "yes", "FULL_TEXT"},
		{"ask limit", "ASK_LIMIT", "3 per 10m", "ASK_LIMIT"},
		{"ask limit zero", "ASK_LIMIT", "0/10m", "ASK_LIMIT"},
		{"log level", "LOG_LEVEL", "verbose", "LOG_LEVEL"},
		{"same channels", "TEAM_CHANNEL_ID", "1100000000000000001", "TEAM_CHANNEL_ID is the same channel"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := valid()
			env[tc.key] = tc.value
			_, err := Load(MapEnv(env), runNeed)
			if err == nil {
				t.Fatalf("no error for %s=%q", tc.key, tc.value)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not contain %q", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, "hunter2") {
				t.Errorf("error leaks a secret: %q", msg)
			}
		})
	}
	// A local file is a valid feed.
	env := valid()
	env["FEED_URLS"] = file + ",file://" + file + ",file:" + file
	if _, err := Load(MapEnv(env), runNeed); err != nil {
		t.Errorf("local file feed: %v", err)
	}
}

func TestNeeds(t *testing.T) {
	// Dry run needs nothing.
	if _, err := Load(MapEnv(map[string]string{}), Need{}); err != nil {
		t.Errorf("dry run: %v", err)
	}
	// A malformed optional value still stops the start.
	if _, err := Load(MapEnv(map[string]string{"BACKLOG_LIMIT": "x"}), Need{}); err == nil {
		t.Error("malformed optional value accepted")
	}
	if _, err := Load(MapEnv(map[string]string{}), Need{HTTPAddr: true}); err == nil || !strings.Contains(err.Error(), "HTTP_ADDR") {
		t.Errorf("health without HTTP_ADDR: %v", err)
	}
}

func TestEnvironDotEnv(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("NEWSBOT_TEST_A=from-file\nNEWSBOT_TEST_B=from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NEWSBOT_TEST_B", "from-env")
	get, err := Environ(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := get("NEWSBOT_TEST_A"); v != "from-file" {
		t.Errorf("A = %q", v)
	}
	if v, _ := get("NEWSBOT_TEST_B"); v != "from-env" {
		t.Errorf("B = %q, the real environment must win", v)
	}
	if _, ok := get("NEWSBOT_TEST_C"); ok {
		t.Error("C should be unset")
	}
	// No .env file at all is fine.
	if _, err := Environ(t.TempDir()); err != nil {
		t.Errorf("no .env: %v", err)
	}
}
