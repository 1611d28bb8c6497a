package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/newsbot/newsbot/internal/config"
	"github.com/newsbot/newsbot/internal/discordtest"
)

// TestReadmeSetUp follows the README's "Set up" steps from .env on against
// the fake Discord and the sample feed: copy .env.example to .env, fill it
// in, `newsbot check` is green, `newsbot run --dry-run --once` shows posts.
func TestReadmeSetUp(t *testing.T) {
	fake := discordtest.New(t)
	dir := t.TempDir()
	feed := filepath.Join(dir, "feed.xml")
	if err := os.WriteFile(feed, sampleFeed, 0o600); err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	fill := map[string]string{
		"DISCORD_TOKEN":   discordtest.Token,
		"NEWS_CHANNEL_ID": "400",
		"TEAM_CHANNEL_ID": "401",
		"FEED_URLS":       feed,
		"DATABASE_URL":    filepath.Join(dir, "newsbot.db"),
		"DISCORD_API_URL": fake.APIURL(),
		"HTTP_ADDR":       "",
	}
	var env strings.Builder
	filled := map[string]bool{}
	for _, line := range strings.Split(string(example), "\n") {
		name, _, ok := strings.Cut(line, "=")
		if v, want := fill[name]; ok && want && !strings.HasPrefix(line, "#") {
			line = name + "=" + v
			filled[name] = true
		}
		env.WriteString(line + "\n")
	}
	for name := range fill {
		if !filled[name] {
			t.Fatalf(".env.example has no %s line", name)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(env.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv, err := config.Environ(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Only the .env file speaks: the test's own environment must not.
	fromFile := func(name string) (string, bool) {
		if _, set := os.LookupEnv(name); set {
			t.Logf("ignoring %s from the test environment", name)
		}
		return getenv(name)
	}

	// Step 4 is the invite; the fake already has the bot in its server.
	// Step 5: check.
	fake.SetCommands("", commandDefinitions()) // as after a first start
	var out syncBuffer
	if code := Main(context.Background(), []string{"check"}, IO{Stdout: &out, Stderr: &out, Getenv: fromFile}); code != 0 {
		t.Fatalf("newsbot check exit %d:\n%s", code, out.String())
	}
	// Step 6: dry run.
	out = syncBuffer{}
	var errb syncBuffer
	if code := Main(context.Background(), []string{"run", "--dry-run", "--once"}, IO{Stdout: &out, Stderr: &errb, Getenv: fromFile}); code != 0 {
		t.Fatalf("dry run exit %d:\n%s", code, errb.String())
	}
	if n := strings.Count(out.String(), "url:"); n != 3 {
		t.Errorf("dry run showed %d posts, want BACKLOG_LIMIT=3:\n%s", n, out.String())
	}
	if len(fake.Messages("400")) != 0 {
		t.Error("the dry run posted to Discord")
	}
}
