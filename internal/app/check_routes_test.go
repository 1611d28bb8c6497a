package app

import (
	"context"
	"fmt"
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

// routesCheckEnv is checkEnv with a routes file instead of FEED_URLS and
// NEWS_CHANNEL_ID.
func routesCheckEnv(t *testing.T, fake *discordtest.Server, routes string) map[string]string {
	t.Helper()
	env := checkEnv(t, fake)
	path := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(routes, env["FEED_URLS"])), 0o600); err != nil {
		t.Fatal(err)
	}
	delete(env, "FEED_URLS")
	delete(env, "NEWS_CHANNEL_ID")
	env["ROUTES_FILE"] = path
	return env
}

func TestCheckRoutes(t *testing.T) {
	fake := discordtest.New(t)
	fake.AddChannel(discordgo.Channel{ID: "460", GuildID: discordtest.GuildID, Name: "announcements", Type: discordtest.ChannelTypeAnnouncement})
	fake.AddChannel(discordgo.Channel{ID: "470", GuildID: discordtest.GuildID, Name: "stories", Type: discordtest.ChannelTypeForum,
		Flags: discordtest.ChannelFlagRequireTag, AvailableTags: []discordgo.ForumTag{{Name: "News"}}})
	fake.AddChannel(discordgo.Channel{ID: "471", GuildID: discordtest.GuildID, Name: "staff-stories", Type: discordtest.ChannelTypeForum,
		Flags: discordtest.ChannelFlagRequireTag, AvailableTags: []discordgo.ForumTag{{Name: "Staff", Moderated: true}}})
	fake.AddChannel(discordgo.Channel{ID: "480", GuildID: discordtest.GuildID, Name: "voice", Type: discordgo.ChannelTypeGuildVoice})
	green := `routes:
  - name: text
    feeds: [%[1]s]
    channel: "400"
    thread: true
  - name: announce
    feeds: [%[1]s]
    channel: "460"
  - name: forum
    feeds: [%[1]s]
    channel: "470"
    forum_tag: news
`
	code, out := runCheck(t, routesCheckEnv(t, fake, green))
	if code != 0 || strings.Contains(out, "✗") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{`route "text" posts to text channel #news`, `route "announce" posts to announcement channel #announcements`,
		`route "forum" posts to forum channel #stories`, `every permission it needs in #stories`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}

	bad := `routes:
  - name: notag
    feeds: [%[1]s]
    channel: "470"
  - name: voice
    feeds: [%[1]s]
    channel: "480"
  - name: tagged-text
    feeds: [%[1]s]
    channel: "400"
    forum_tag: News
    thread: true
  - name: staff
    feeds: [%[1]s]
    channel: "471"
    forum_tag: staff
`
	fake.SetOverwrites("400", &discordgo.PermissionOverwrite{ID: "310", Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionCreatePublicThreads})
	code, out = runCheck(t, routesCheckEnv(t, fake, bad))
	if code == 0 {
		t.Fatalf("exit 0:\n%s", out)
	}
	for _, want := range []string{
		`:2: forum_tag: route "notag" is missing: forum 470 requires a tag`,
		`route "voice": channel 480 (#voice) is a voice channel`,
		`forum_tag: route "tagged-text" is set but channel 400`,
		`in the text channel of route "tagged-text" #news the bot lacks: Create Public Threads`,
		`forum_tag: route "staff" is "staff", a moderated tag of forum 471`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// Routes need no permission beyond the invite's: the link stays the same
// and says what the routes use.
func TestInviteWithRoutes(t *testing.T) {
	fake := discordtest.New(t)
	env := routesCheckEnv(t, fake, "routes:\n  - name: text\n    feeds: [%[1]s]\n    channel: \"400\"\n    thread: true\n")
	var out syncBuffer
	if code := Main(context.Background(), []string{"invite"}, IO{Stdout: &out, Stderr: &out, Getenv: config.MapEnv(env)}); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	line, _, _ := strings.Cut(out.String(), "\n")
	u, err := url.Parse(line)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Query().Get("permissions"), strconv.FormatInt(invitePermissionBits(), 10); got != want {
		t.Errorf("permissions %s, want %s", got, want)
	}
	if !strings.Contains(out.String(), `Create Public Threads: a thread on each forwarded question; a thread on each post of routes "text"`) {
		t.Errorf("invite does not say what the routes use:\n%s", out.String())
	}
}
