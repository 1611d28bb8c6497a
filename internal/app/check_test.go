package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/internal/config"
	"github.com/newsbot/newsbot/internal/discordtest"
)

// checkEnv is a setup that newsbot check finds all green: the fake's default
// world, the sample feed as a local file, a database that does not exist yet
// and the commands already registered.
func checkEnv(t *testing.T, fake *discordtest.Server) map[string]string {
	t.Helper()
	dir := t.TempDir()
	feed := filepath.Join(dir, "feed.xml")
	if err := os.WriteFile(feed, sampleFeed, 0o600); err != nil {
		t.Fatal(err)
	}
	fake.SetCommands("", commandDefinitions())
	return map[string]string{
		"DISCORD_TOKEN":   discordtest.Token,
		"NEWS_CHANNEL_ID": "400",
		"TEAM_CHANNEL_ID": "401",
		"FEED_URLS":       feed,
		"DATABASE_URL":    filepath.Join(dir, "newsbot.db"),
		"DISCORD_API_URL": fake.APIURL(),
	}
}

func runCheck(t *testing.T, env map[string]string) (int, string) {
	t.Helper()
	var out syncBuffer
	code := Main(context.Background(), []string{"check"}, IO{Stdout: &out, Stderr: &out, Getenv: config.MapEnv(env)})
	if strings.Contains(out.String(), discordtest.Token) {
		t.Errorf("check printed the token:\n%s", out.String())
	}
	return code, out.String()
}

func TestCheckAllGreen(t *testing.T) {
	fake := discordtest.New(t)
	env := checkEnv(t, fake)
	code, out := runCheck(t, env)
	if code != 0 || strings.Contains(out, "✗") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"token accepted", "NEWS_CHANNEL_ID is #news", "TEAM_CHANNEL_ID is #team", "every permission", "is private", "20 items", "does not exist yet", "slash commands registered"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Read-only: nothing was written to Discord, no database was created.
	for _, r := range fake.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("check sent %s %s", r.Method, r.Path)
		}
	}
	if _, err := os.Stat(env["DATABASE_URL"]); err == nil {
		t.Error("check created the database")
	}
}

func TestCheckFindsProblems(t *testing.T) {
	cases := []struct {
		name  string
		setup func(fake *discordtest.Server, env map[string]string)
		want  []string
	}{
		{"bad token", func(fake *discordtest.Server, env map[string]string) { fake.SetToken("another-token") },
			[]string{"refused the token", "Reset Token"}},
		{"embed links denied on the bot's role", func(fake *discordtest.Server, env map[string]string) {
			fake.SetOverwrites("400", &discordgo.PermissionOverwrite{ID: "310", Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionEmbedLinks})
		}, []string{"lacks: Embed Links", "#news"}},
		{"view denied to everyone and not allowed back", func(fake *discordtest.Server, env map[string]string) {
			fake.SetOverwrites("400", &discordgo.PermissionOverwrite{ID: "300", Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionViewChannel})
			fake.SetRolePermissions("300", "310", 0)
		}, []string{"View Channel"}},
		{"administrator passes every overwrite", func(fake *discordtest.Server, env map[string]string) {
			fake.SetOverwrites("400", &discordgo.PermissionOverwrite{ID: "310", Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionAll})
			fake.SetRolePermissions("300", "310", discordgo.PermissionAdministrator)
		}, nil},
		{"voice channel", func(fake *discordtest.Server, env map[string]string) {
			env["NEWS_CHANNEL_ID"] = fake.AddChannel(discordgo.Channel{GuildID: "300", Name: "voice", Type: discordgo.ChannelTypeGuildVoice})
		}, []string{"is a voice channel", "use a text, announcement or forum channel"}},
		{"news forum requiring a tag", func(fake *discordtest.Server, env map[string]string) {
			// run refuses it (the implicit route has no forum_tag): check says so too.
			env["NEWS_CHANNEL_ID"] = fake.AddChannel(discordgo.Channel{GuildID: "300", Name: "stories", Type: discordtest.ChannelTypeForum,
				Flags: discordtest.ChannelFlagRequireTag, AvailableTags: []discordgo.ForumTag{{Name: "News"}}})
		}, []string{"requires a tag"}},
		{"team channel that is a forum", func(fake *discordtest.Server, env map[string]string) {
			env["TEAM_CHANNEL_ID"] = fake.AddChannel(discordgo.Channel{GuildID: "300", Name: "forum", Type: discordtest.ChannelTypeForum})
		}, []string{"TEAM_CHANNEL_ID", "is not a text channel"}},
		{"channel of another server", func(fake *discordtest.Server, env map[string]string) {
			fake.AddGuild("700", "Other Guild", discordgo.PermissionViewChannel|discordgo.PermissionSendMessages, true)
			env["TEAM_CHANNEL_ID"] = fake.AddChannel(discordgo.Channel{GuildID: "700", Name: "elsewhere", Type: discordgo.ChannelTypeGuildText})
		}, []string{"another server"}},
		{"no such channel", func(fake *discordtest.Server, env map[string]string) { env["NEWS_CHANNEL_ID"] = "4040" },
			[]string{"no such channel", "Copy Channel ID"}},
		{"news role not mentionable", func(fake *discordtest.Server, env map[string]string) {
			fake.AddRole("300", discordgo.Role{ID: "330", Name: "news"})
			env["NEWS_ROLE_ID"] = "330"
		}, []string{"cannot be mentioned", "Allow anyone to @mention"}},
		{"team channel visible to everyone", func(fake *discordtest.Server, env map[string]string) {
			fake.SetOverwrites("401") // no overwrite: @everyone sees it
		}, []string{"visible to @everyone", "make it private"}},
		{"commands not registered", func(fake *discordtest.Server, env map[string]string) { fake.SetCommands("", nil) },
			[]string{"differ", "newsbot run"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := discordtest.New(t)
			env := checkEnv(t, fake)
			tc.setup(fake, env)
			code, out := runCheck(t, env)
			if tc.want == nil {
				if code != 0 {
					t.Fatalf("exit %d, want all green:\n%s", code, out)
				}
				return
			}
			if code == 0 {
				t.Fatalf("exit 0, want a failure:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestCheckFeedIsAWebPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><html><head><title>Blog</title>
<link rel="alternate" type="application/rss+xml" title="Blog feed" href="/feed/">
</head><body><h1>Welcome</h1></body></html>`)
	}))
	t.Cleanup(srv.Close)
	fake := discordtest.New(t)
	env := checkEnv(t, fake)
	env["FEED_URLS"] = srv.URL + "/blog/"
	code, out := runCheck(t, env)
	if code == 0 || !strings.Contains(out, "is a web page") || !strings.Contains(out, "FEED_URLS="+srv.URL+"/feed/") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestInvite(t *testing.T) {
	fake := discordtest.New(t)
	var out syncBuffer
	env := map[string]string{"DISCORD_TOKEN": discordtest.Token, "DISCORD_API_URL": fake.APIURL(), "DISCORD_GUILD_ID": "300"}
	if code := Main(context.Background(), []string{"invite"}, IO{Stdout: &out, Stderr: &out, Getenv: config.MapEnv(env)}); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	line, _, _ := strings.Cut(out.String(), "\n")
	u, err := url.Parse(line)
	if err != nil || u.Host != "discord.com" {
		t.Fatalf("first line is not the invite URL: %q", line)
	}
	q := u.Query()
	if q.Get("client_id") != "200" || q.Get("scope") != "bot applications.commands" || q.Get("guild_id") != "300" {
		t.Errorf("query %v", q)
	}
	perms, err := strconv.ParseInt(q.Get("permissions"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(discordgo.PermissionViewChannel | discordgo.PermissionSendMessages | discordgo.PermissionEmbedLinks |
		discordgo.PermissionReadMessageHistory | discordgo.PermissionSendMessagesInThreads |
		discordgo.PermissionCreatePublicThreads | discordgo.PermissionCreatePrivateThreads)
	if perms != want {
		t.Errorf("permissions %d, want %d", perms, want)
	}
	if perms&(discordgo.PermissionMentionEveryone|discordgo.PermissionAdministrator|discordgo.PermissionManageThreads) != 0 {
		t.Error("the invite asks for more than the bot needs")
	}
}
