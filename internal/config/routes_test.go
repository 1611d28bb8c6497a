package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const exampleRoutes = `routes:
  - name: announcements
    feeds: [https://example.com/feed/]
    channel: "1100000000000000010"
    role: 1100000000000000020
    include:
      categories: [Security]
      words: [vulnerability, "go 1.27"]
    exclude:
      categories: [Sponsored]
    thread: true
  - name: releases
    feeds: [https://example.com/feed/, https://example.com/releases/feed/]
    channel: 1100000000000000010
    thread: true
  - name: forum
    feeds: [https://example.com/feed/]
    channel: "1100000000000000011"
    publish: false
    forum_tag: News
`

func TestParseRoutes(t *testing.T) {
	rs, err := ParseRoutes("routes.yaml", []byte(exampleRoutes), "1100000000000000002")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 {
		t.Fatalf("%d routes", len(rs))
	}
	a := rs[0]
	if a.Name != "announcements" || a.ChannelID != "1100000000000000010" || a.RoleID != "1100000000000000020" ||
		!a.Thread || !a.Publish || a.PublishSet || a.Filter.Include == nil ||
		strings.Join(a.Filter.Include.Words, "|") != "vulnerability|go 1.27" ||
		strings.Join(a.Filter.Exclude.Categories, "|") != "Sponsored" {
		t.Errorf("route 0: %+v", a)
	}
	if rs[1].Filter.Include != nil || len(rs[1].Feeds) != 2 {
		t.Errorf("route 1: %+v", rs[1])
	}
	if f := rs[2]; f.Publish || !f.PublishSet || f.ForumTag != "News" || f.Thread {
		t.Errorf("route 2: %+v", f)
	}
	if got := strings.Join(RouteFeeds(rs), " "); got != "https://example.com/feed/ https://example.com/releases/feed/" {
		t.Errorf("feeds %q", got)
	}
	if err := rs[2].Errorf("forum_tag", "names no tag of forum %s", rs[2].ChannelID); err == nil ||
		err.Error() != `config: ROUTES_FILE routes.yaml:20: forum_tag: route "forum" names no tag of forum 1100000000000000011` {
		t.Errorf("Errorf: %v", err)
	}
}

func TestParseRoutesErrors(t *testing.T) {
	route := func(extra string) string {
		return "routes:\n  - name: a\n    feeds: [https://example.com/feed/]\n    channel: \"1100000000000000010\"\n" + extra
	}
	tests := []struct {
		name, file, want string
	}{
		{"unknown key", route("    chanel: 5\n"), "routes.yaml:5: chanel: unknown key (known keys: name, feeds"},
		{"unknown key in include", route("    include:\n      category: [x]\n"), "routes.yaml:6: category: unknown key (known keys: categories, words)"},
		{"unknown top key", "route: []\n", "routes.yaml:1: route: unknown key (known keys: routes)"},
		{"syntax", "routes:\n  - name: [a\n", "routes.yaml:1: yaml: is not valid YAML"},
		{"empty file", "", "routes.yaml:1: routes: the file is empty"},
		{"no routes", "routes: []\n", "routes.yaml:1: routes: lists no route"},
		{"missing name", "routes:\n  - feeds: [https://example.com/feed/]\n    channel: 5\n", "routes.yaml:2: name: is missing"},
		{"duplicate name", route("  - name: a\n    feeds: [https://example.com/feed/]\n    channel: 6\n"), "routes.yaml:5: name: \"a\" is also the name of the route at line 2"},
		{"not a snowflake", "routes:\n  - name: a\n    feeds: [https://example.com/feed/]\n    channel: \"#news\"\n", "routes.yaml:4: channel: is \"#news\", not a Discord id"},
		{"missing channel", "routes:\n  - name: a\n    feeds: [https://example.com/feed/]\n", "routes.yaml:2: channel: is missing"},
		{"missing feeds", "routes:\n  - name: a\n    channel: 5\n", "routes.yaml:2: feeds: is missing or empty"},
		{"bad feed", "routes:\n  - name: a\n    feeds: [ftp://x/feed]\n    channel: 5\n", "routes.yaml:3: feeds: has \"ftp://x/feed\""},
		{"bad role", route("    role: everyone\n"), "routes.yaml:5: role: is \"everyone\", not a Discord role id"},
		{"empty include", route("    include: {}\n"), "routes.yaml:5: include: is empty"},
		{"empty include lists", route("    include:\n      categories: []\n"), "routes.yaml:5: include: is empty"},
		{"blank word", route("    exclude:\n      words: [\"  \"]\n"), "routes.yaml:5: exclude: has an empty entry"},
		{"team channel", "routes:\n  - name: a\n    feeds: [https://example.com/feed/]\n    channel: 1100000000000000002\n", "routes.yaml:4: channel: is TEAM_CHANNEL_ID"},
		{"wrong type", route("    thread: often\n"), "routes.yaml:5: thread: has a string where true or false is expected"},
		{"list for a value", route("    role: [1, 2]\n"), "routes.yaml:5: role: has a list where a single value is expected"},
		{"shared channel disagrees", route("    thread: true\n  - name: b\n    feeds: [https://example.com/feed/]\n    channel: 1100000000000000010\n"),
			"routes.yaml:6: thread: route \"b\" shares channel 1100000000000000010 with route \"a\" but not its thread"},
		{"empty forum_tag", route("    forum_tag: \"\"\n"), "routes.yaml:5: forum_tag: is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRoutes("routes.yaml", []byte(tt.file), "1100000000000000002")
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "config: ROUTES_FILE "+tt.want) {
				t.Errorf("error %q\nwant prefix %q", msg, "config: ROUTES_FILE "+tt.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
		})
	}
}

func writeRoutes(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadWithRoutesFile(t *testing.T) {
	env := valid()
	delete(env, "FEED_URLS")
	delete(env, "NEWS_CHANNEL_ID")
	env["ROUTES_FILE"] = writeRoutes(t, exampleRoutes)
	c, err := Load(MapEnv(env), runNeed)
	if err != nil {
		t.Fatal(err)
	}
	if c.NewsChannelID != "" || len(c.Routes) != 3 || len(c.FeedURLs) != 2 {
		t.Errorf("routes config: %+v", c)
	}

	for _, name := range []string{"FEED_URLS", "NEWS_CHANNEL_ID", "NEWS_ROLE_ID"} {
		env := valid()
		delete(env, "FEED_URLS")
		delete(env, "NEWS_CHANNEL_ID")
		env[name] = valid()["NEWS_CHANNEL_ID"]
		env["ROUTES_FILE"] = writeRoutes(t, exampleRoutes)
		_, err := Load(MapEnv(env), runNeed)
		if err == nil || !strings.HasPrefix(err.Error(), "config: ROUTES_FILE is set, so "+name+" must be unset") {
			t.Errorf("%s with ROUTES_FILE: %v", name, err)
		}
	}

	env["ROUTES_FILE"] = filepath.Join(t.TempDir(), "missing.yaml")
	if _, err := Load(MapEnv(env), runNeed); err == nil || !strings.HasPrefix(err.Error(), "config: ROUTES_FILE "+env["ROUTES_FILE"]+" cannot be read") {
		t.Errorf("missing file: %v", err)
	}
}

func TestImplicitNewsRoute(t *testing.T) {
	env := valid()
	env["NEWS_ROLE_ID"] = "42"
	c, err := Load(MapEnv(env), runNeed)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Routes) != 1 {
		t.Fatalf("routes %+v", c.Routes)
	}
	r := c.Routes[0]
	if r.Name != NewsRoute || r.ChannelID != env["NEWS_CHANNEL_ID"] || r.RoleID != "42" || r.Publish || r.Thread ||
		len(r.Feeds) != 2 || r.Filter.Include != nil {
		t.Errorf("implicit route %+v", r)
	}
}

func FuzzParseRoutes(f *testing.F) {
	f.Add([]byte(exampleRoutes))
	f.Add([]byte("routes:\n  - name: a\n    chanel: 1\n"))
	f.Add([]byte("routes: {a: b}\n"))
	f.Add([]byte("- 1\n- 2\n"))
	f.Add([]byte("routes:\n  - include: {categories: [[x]]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseRoutes("r.yaml", data, "2")
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "config: ROUTES_FILE r.yaml:") || strings.Contains(msg, "\n") {
				t.Fatalf("error not one line naming the file: %q", msg)
			}
			return
		}
		if len(rs) == 0 {
			t.Fatal("no routes and no error")
		}
		names := map[string]bool{}
		for _, r := range rs {
			if r.Name == "" || names[r.Name] || r.ChannelID == "" || r.ChannelID == "2" || len(r.Feeds) == 0 {
				t.Fatalf("invalid route accepted: %+v", r)
			}
			names[r.Name] = true
			if r.Filter.Include != nil && r.Filter.Include.Empty() {
				t.Fatalf("empty include accepted: %+v", r)
			}
		}
	})
}

// The README's example routes file is valid.
func TestReadmeRoutesExample(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Routes\n")
	if !ok {
		t.Fatal("README has no Routes section")
	}
	_, block, ok := strings.Cut(section, "```yaml\n")
	if !ok {
		t.Fatal("README's Routes section has no yaml block")
	}
	block, _, _ = strings.Cut(block, "```")
	rs, err := ParseRoutes("README.md", []byte(block), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 || rs[0].RoleID == "" || rs[2].ForumTag != "News" {
		t.Errorf("README routes: %+v", rs)
	}
}
