package blackbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/internal/discordtest"
)

const (
	annChannel   = "460"
	forumChannel = "470"
)

// routesEnv is botEnv with a routes file instead of FEED_URLS and
// NEWS_CHANNEL_ID.
func routesEnv(t *testing.T, fake *discordtest.Server, dir, routes string) map[string]string {
	t.Helper()
	env := botEnv(fake, dir)
	delete(env, "FEED_URLS")
	delete(env, "NEWS_CHANNEL_ID")
	path := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(path, []byte(routes), 0o600); err != nil {
		t.Fatal(err)
	}
	env["ROUTES_FILE"] = path
	return env
}

func addAnnouncement(fake *discordtest.Server) {
	fake.AddChannel(discordgo.Channel{ID: annChannel, GuildID: discordtest.GuildID, Name: "announcements", Type: discordtest.ChannelTypeAnnouncement})
}

func addForum(fake *discordtest.Server) {
	fake.AddChannel(discordgo.Channel{ID: forumChannel, GuildID: discordtest.GuildID, Name: "stories", Type: discordtest.ChannelTypeForum,
		Flags: discordtest.ChannelFlagRequireTag, AvailableTags: []discordgo.ForumTag{{Name: "News"}, {Name: "Go"}}})
}

func forumNames(fake *discordtest.Server) []string {
	var out []string
	for _, p := range fake.ForumPosts(forumChannel) {
		out = append(out, p.Thread.Name)
	}
	return out
}

// TestRoutesEachChannelGetsWhatItsRoutesAccept: a filtered text channel
// with threads, an announcement channel reached by two routes (one
// filtered) under a tight publishing limit, a forum that requires a tag.
func TestRoutesEachChannelGetsWhatItsRoutesAccept(t *testing.T) {
	t.Parallel()
	skipShort(t)
	// One publish per 4 s per channel: the third post cannot be published
	// before 8 s have passed, yet every post goes out at once.
	fake := discordtest.New(t, discordtest.WithPublishLimit(1, 4*time.Second))
	addAnnouncement(fake)
	addForum(fake)
	f := newFeed(t, "routes", 0)
	f.add(item{Title: "Security fix in net/http"})
	f.add(item{Title: "Release notes"})
	f.add(item{Title: "A security audit"})
	env := routesEnv(t, fake, t.TempDir(), fmt.Sprintf(`routes:
  - name: security-text
    feeds: [%[1]s]
    channel: "400"
    include:
      words: [security]
    thread: true
  - name: all-news
    feeds: [%[1]s]
    channel: %[2]s
    role: "700"
  - name: security-news
    feeds: [%[1]s]
    channel: %[2]s
    role: "701"
    include: {words: [Security]}
  - name: forum
    feeds: [%[1]s]
    channel: "%[3]s"
    forum_tag: news
`, f.url(), annChannel, forumChannel))
	env["BACKLOG_LIMIT"] = "5"
	ctx := waitCtx(t, 60*time.Second)
	p := start(t, env, "run")

	if _, err := fake.WaitMessages(ctx, annChannel, 3); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	// Posting did not wait for publishing.
	if n := len(fake.Crossposted(annChannel)); n > 1 {
		t.Errorf("%d posts published within the first 4 s window of 1", n)
	}
	if _, err := fake.WaitMessages(ctx, discordtest.NewsChannelID, 2); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	if err := fake.WaitFor(ctx, func() bool { return len(fake.ForumPosts(forumChannel)) == 3 }); err != nil {
		t.Fatalf("forum posts %q: %v\n%s", forumNames(fake), err, p.stderr.String())
	}

	f.add(item{Title: "Security news"})
	if _, err := fake.WaitMessages(ctx, annChannel, 4); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	if _, err := fake.WaitMessages(ctx, discordtest.NewsChannelID, 3); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	if err := fake.WaitFor(ctx, func() bool { return len(fake.ForumPosts(forumChannel)) == 4 }); err != nil {
		t.Fatalf("forum posts %q: %v\n%s", forumNames(fake), err, p.stderr.String())
	}
	// Every announcement post is published in the end, waiting out 429s.
	if err := fake.WaitFor(ctx, func() bool { return len(fake.Crossposted(annChannel)) == 4 }); err != nil {
		t.Fatalf("published %d of 4: %v\n%s", len(fake.Crossposted(annChannel)), err, p.stderr.String())
	}
	// Each text post has its thread.
	text := fake.Messages(discordtest.NewsChannelID)
	if err := fake.WaitFor(ctx, func() bool {
		for _, m := range text {
			if _, ok := fake.MessageThread(discordtest.NewsChannelID, m.ID); !ok {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatalf("not every text post has its thread: %v\n%s", err, p.stderr.String())
	}
	p.term()

	if got, want := titles(fake.Messages(discordtest.NewsChannelID)), []string{"Security fix in net/http", "A security audit", "Security news"}; !slices.Equal(got, want) {
		t.Errorf("text channel holds %q, want %q", got, want)
	}
	ann := fake.Messages(annChannel)
	if got, want := titles(ann), []string{"Security fix in net/http", "Release notes", "A security audit", "Security news"}; !slices.Equal(got, want) {
		t.Errorf("announcement channel holds %q, want %q", got, want)
	}
	wantRoles := [][]string{{"700", "701"}, {"700"}, {"700", "701"}, {"700", "701"}}
	for i, m := range ann {
		if i < len(wantRoles) {
			got := m.AllowedMentions
			if got == nil || !slices.Equal(got.Roles, wantRoles[i]) {
				t.Errorf("announcement post %d allows mentions %+v, want roles %v", i, got, wantRoles[i])
			}
			for _, r := range wantRoles[i] {
				if !strings.Contains(m.Content, "<@&"+r+">") {
					t.Errorf("announcement post %d content %q does not mention role %s", i, m.Content, r)
				}
			}
		}
	}
	if got, want := forumNames(fake), []string{"Security fix in net/http", "Release notes", "A security audit", "Security news"}; !slices.Equal(got, want) {
		t.Errorf("forum posts %q, want %q", got, want)
	}
	news := fake.ForumTagID(forumChannel, "News")
	for _, fp := range fake.ForumPosts(forumChannel) {
		if !slices.Equal(fp.Thread.AppliedTags, []string{news}) || len(fp.Message.Embeds) != 1 {
			t.Errorf("forum post %q: tags %v, embeds %d", fp.Thread.Name, fp.Thread.AppliedTags, len(fp.Message.Embeds))
		}
	}
}

// TestRoutesForumPostOnceAfterKill: the bot is killed while Discord holds
// the answer to a forum post it made; the restarted bot finds the post
// among the forum's threads instead of making it again.
func TestRoutesForumPostOnceAfterKill(t *testing.T) {
	t.Parallel()
	skipShort(t)
	fake := discordtest.New(t)
	addForum(fake)
	f := newFeed(t, "forumkill", 2)
	env := routesEnv(t, fake, t.TempDir(), fmt.Sprintf(`routes:
  - name: forum
    feeds: [%s]
    channel: %s
    forum_tag: News
`, f.url(), forumChannel))
	ctx := waitCtx(t, 60*time.Second)
	hold := fake.HoldAnswer("POST", "/channels/"+forumChannel+"/threads")
	p := start(t, env, "run")
	select {
	case <-hold.Arrived():
	case <-ctx.Done():
		t.Fatalf("no forum post arrived\n%s", p.stderr.String())
	}
	p.kill()
	hold.Release()

	p2 := start(t, env, "run")
	if err := fake.WaitFor(ctx, func() bool { return len(fake.ForumPosts(forumChannel)) >= 2 }); err != nil {
		t.Fatalf("forum posts %q: %v\n%s", forumNames(fake), err, p2.stderr.String())
	}
	p2.term()
	if got, want := forumNames(fake), f.titles(0); !slices.Equal(got, want) {
		t.Errorf("forum posts %q, want %q\nfirst run:\n%s\nsecond run:\n%s", got, want, p.stderr.String(), p2.stderr.String())
	}
}

// TestRoutesAddedLaterPostsOnlyBacklog: a route added to the file later
// posts only the newest BACKLOG_LIMIT of its feed in its channel.
func TestRoutesAddedLaterPostsOnlyBacklog(t *testing.T) {
	t.Parallel()
	skipShort(t)
	fake := discordtest.New(t)
	addAnnouncement(fake)
	f := newFeed(t, "later", 5)
	dir := t.TempDir()
	first := fmt.Sprintf("routes:\n  - name: text\n    feeds: [%s]\n    channel: \"400\"\n", f.url())
	env := routesEnv(t, fake, dir, first)
	env["BACKLOG_LIMIT"] = "2"
	ctx := waitCtx(t, 40*time.Second)
	p := start(t, env, "run")
	if _, err := fake.WaitMessages(ctx, discordtest.NewsChannelID, 2); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	f.add(item{})
	if _, err := fake.WaitMessages(ctx, discordtest.NewsChannelID, 3); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	p.term()

	second := first + fmt.Sprintf("  - name: announce\n    feeds: [%s]\n    channel: %s\n    publish: false\n", f.url(), annChannel)
	env = routesEnv(t, fake, dir, second)
	env["BACKLOG_LIMIT"] = "2"
	p2 := start(t, env, "run")
	if _, err := fake.WaitMessages(ctx, annChannel, 2); err != nil {
		t.Fatalf("%v\n%s", err, p2.stderr.String())
	}
	f.add(item{})
	if _, err := fake.WaitMessages(ctx, annChannel, 3); err != nil {
		t.Fatalf("%v\n%s", err, p2.stderr.String())
	}
	if _, err := fake.WaitMessages(ctx, discordtest.NewsChannelID, 4); err != nil {
		t.Fatalf("%v\n%s", err, p2.stderr.String())
	}
	p2.term()
	if got, want := titles(fake.Messages(annChannel)), f.titles(4); !slices.Equal(got, want) {
		t.Errorf("added route's channel holds %q, want only %q", got, want)
	}
	if got, want := titles(fake.Messages(discordtest.NewsChannelID)), f.titles(3); !slices.Equal(got, want) {
		t.Errorf("first route's channel holds %q, want %q", got, want)
	}
	if n := len(fake.Crossposted(annChannel)); n != 0 {
		t.Errorf("publish: false, yet %d posts were published", n)
	}
}

// TestRoutesFileRefused: a misspelt key, and ROUTES_FILE with FEED_URLS,
// stop the start with one line naming them.
func TestRoutesFileRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := routesEnv(t, nil, dir, "routes:\n  - name: a\n    feeds: [https://example.com/feed/]\n    chanel: \"400\"\n")
	code, _, stderr := run(t, env, "run")
	if code == 0 || !strings.Contains(stderr, "ROUTES_FILE "+env["ROUTES_FILE"]+":4: chanel: unknown key") {
		t.Errorf("misspelt key: exit %d, stderr:\n%s", code, stderr)
	}
	if n := strings.Count(strings.TrimSpace(stderr), "\n"); n > 1 {
		t.Errorf("the refusal takes %d lines:\n%s", n+1, stderr)
	}

	env = routesEnv(t, nil, t.TempDir(), "routes:\n  - name: a\n    feeds: [https://example.com/feed/]\n    channel: \"400\"\n")
	env["FEED_URLS"] = "https://example.com/feed/"
	code, _, stderr = run(t, env, "run")
	if code == 0 || !strings.Contains(stderr, "ROUTES_FILE") || !strings.Contains(stderr, "FEED_URLS") {
		t.Errorf("ROUTES_FILE with FEED_URLS: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestRoutesChannelsAreIndependent: a route whose channel refuses the bot
// holds back only its own posts, and /healthz names it.
func TestRoutesChannelsAreIndependent(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	addAnnouncement(fake)
	fake.SetOverwrites(annChannel, &discordgo.PermissionOverwrite{ID: "310", Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionSendMessages})
	f := newFeed(t, "indep", 3)
	env := routesEnv(t, fake, t.TempDir(), fmt.Sprintf(`routes:
  - name: blocked
    feeds: [%[1]s]
    channel: %[2]s
  - name: open
    feeds: [%[1]s]
    channel: "400"
`, f.url(), annChannel))
	addr := freeAddr(t)
	env["HTTP_ADDR"] = addr
	ctx := waitCtx(t, 30*time.Second)
	p := start(t, env, "run")
	if _, err := fake.WaitMessages(ctx, discordtest.NewsChannelID, 3); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	_, body, err := waitHealthz(ctx, addr, func(_ int, body string) bool {
		return strings.Contains(body, `route \"blocked\"`)
	})
	if err != nil {
		t.Fatalf("/healthz does not name the blocked route: %v\n%s\n%s", err, body, p.stderr.String())
	}
	p.term()
	if n := len(fake.Messages(annChannel)); n != 0 {
		t.Errorf("%d posts in a channel that refuses the bot", n)
	}
}

// TestRoutesForumTagChangedByAdmin: an admin renames the forum's tag that
// forum_tag names; the next post cannot be tagged (Discord 40067), stays
// pending and shows on /healthz; renamed back (CHANNEL_UPDATE), it is posted
// once.
func TestRoutesForumTagChangedByAdmin(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	addForum(fake)
	f := newFeed(t, "tagged", 1)
	env := routesEnv(t, fake, t.TempDir(), fmt.Sprintf("routes:\n  - name: stories\n    feeds: [%s]\n    channel: %s\n    forum_tag: News\n", f.url(), forumChannel))
	addr := freeAddr(t)
	env["HTTP_ADDR"] = addr
	ctx := waitCtx(t, 30*time.Second)
	p := start(t, env, "run")
	if err := fake.WaitFor(ctx, func() bool { return len(fake.ForumPosts(forumChannel)) == 1 }); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	rename := func(from, to string) {
		t.Helper()
		if _, err := fake.UpdateChannel(forumChannel, func(c *discordgo.Channel) {
			for i := range c.AvailableTags {
				if c.AvailableTags[i].Name == from {
					c.AvailableTags[i].Name = to
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	rename("News", "Updates")
	f.add(item{})
	_, body, err := waitHealthz(ctx, addr, func(_ int, body string) bool { return strings.Contains(body, "40067") })
	if err != nil {
		t.Fatalf("/healthz does not show the refused tag: %v\n%s\n%s", err, body, p.stderr.String())
	}
	if !strings.Contains(body, `route \"stories\"`) {
		t.Errorf("/healthz problem does not name the route:\n%s", body)
	}
	rename("Updates", "News")
	if err := fake.WaitFor(ctx, func() bool { return len(fake.ForumPosts(forumChannel)) == 2 }); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	if _, body, err := waitHealthz(ctx, addr, func(_ int, body string) bool { return !strings.Contains(body, "40067") }); err != nil {
		t.Errorf("problem not cleared after the post went out: %v\n%s", err, body)
	}
	p.term()
	if got, want := forumNames(fake), f.titles(0); !slices.Equal(got, want) {
		t.Errorf("forum posts %q, want %q", got, want)
	}
}

// TestRoutesKindErrorsStopStart: once the channels are read, a route to a
// channel of another kind, or a key its kind does not take, stops the start
// with one line naming the route (and the file's line for a key).
func TestRoutesKindErrorsStopStart(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	addForum(fake)
	fake.AddChannel(discordgo.Channel{ID: "480", GuildID: discordtest.GuildID, Name: "lobby", Type: discordgo.ChannelTypeGuildVoice})
	f := newFeed(t, "kinds", 1)
	for _, tc := range []struct{ routes, want string }{
		{"routes:\n  - name: talk\n    feeds: [%s]\n    channel: \"480\"\n", `route "talk": channel 480 is a voice channel`},
		{"routes:\n  - name: stories\n    feeds: [%s]\n    channel: \"470\"\n    forum_tag: News\n    thread: true\n", `:6: thread: route "stories" posts to forum 470`},
		{"routes:\n  - name: stories\n    feeds: [%s]\n    channel: \"470\"\n", `:2: forum_tag: route "stories" is missing: forum 470 requires a tag`},
	} {
		env := routesEnv(t, fake, t.TempDir(), fmt.Sprintf(tc.routes, f.url()))
		code, _, stderr := run(t, env, "run")
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("exit %d, want a line with %q; stderr:\n%s", code, tc.want, stderr)
		}
	}
	if n := len(fake.ForumPosts(forumChannel)); n != 0 {
		t.Errorf("%d forum posts made by a refused start", n)
	}
}

// TestRoutesKindFollowsChannelUpdate: a text channel that an admin turns
// into an announcement channel (CHANNEL_UPDATE) has its later posts
// published.
func TestRoutesKindFollowsChannelUpdate(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "kindupdate", 1)
	env := routesEnv(t, fake, t.TempDir(), fmt.Sprintf("routes:\n  - name: news\n    feeds: [%s]\n    channel: \"400\"\n", f.url()))
	ctx := waitCtx(t, 30*time.Second)
	p := start(t, env, "run")
	// The first post recorded as sent in a text channel (not published).
	if err := waitStderr(ctx, p, "news posted"); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	if _, err := fake.UpdateChannel(discordtest.NewsChannelID, func(c *discordgo.Channel) { c.Type = discordtest.ChannelTypeAnnouncement }); err != nil {
		t.Fatal(err)
	}
	// A post sent before the bot heard of the change is, rightly, not
	// published: the new item waits for the bot to say it heard.
	if err := waitStderr(ctx, p, "news channel kind is now announcement"); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	f.add(item{})
	if err := fake.WaitFor(ctx, func() bool { return len(fake.Crossposted(discordtest.NewsChannelID)) == 1 }); err != nil {
		t.Fatalf("the post after the change is not published: %v\n%s", err, p.stderr.String())
	}
	p.term()
	ms := fake.Messages(discordtest.NewsChannelID)
	if got := fake.Crossposted(discordtest.NewsChannelID); len(ms) != 2 || !slices.Equal(got, []string{ms[1].ID}) {
		t.Errorf("published %v of %d messages, want only the second", got, len(ms))
	}
}

// waitStderr polls the process's log (an outside process offers no event
// to wait on) until it holds s or ctx ends.
func waitStderr(ctx context.Context, p *proc, s string) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(p.stderr.String(), s) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("log has no %q: %w", s, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// TestRoutesPublishQueueSurvivesRestart: posts whose publishing waits for
// the channel's limit when the bot stops are published by the next run,
// each once.
func TestRoutesPublishQueueSurvivesRestart(t *testing.T) {
	t.Parallel()
	skipShort(t)
	fake := discordtest.New(t, discordtest.WithPublishLimit(1, 6*time.Second))
	addAnnouncement(fake)
	f := newFeed(t, "pubrestart", 3)
	dir := t.TempDir()
	env := routesEnv(t, fake, dir, fmt.Sprintf("routes:\n  - name: ann\n    feeds: [%s]\n    channel: %s\n", f.url(), annChannel))
	ctx := waitCtx(t, 60*time.Second)
	p := start(t, env, "run")
	if _, err := fake.WaitMessages(ctx, annChannel, 3); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	if err := waitStderr(ctx, p, "publish held off"); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	p.term()
	before := len(fake.Crossposted(annChannel))
	if before >= 3 {
		t.Fatalf("all published within one 6 s window of 1: the limit did not apply")
	}
	p2 := start(t, env, "run")
	if err := fake.WaitFor(ctx, func() bool { return len(fake.Crossposted(annChannel)) == 3 }); err != nil {
		t.Fatalf("published %d of 3 after the restart: %v\n%s", len(fake.Crossposted(annChannel)), err, p2.stderr.String())
	}
	p2.term()
	ms := fake.Messages(annChannel)
	got := fake.Crossposted(annChannel)
	slices.Sort(got)
	var want []string
	for _, m := range ms {
		want = append(want, m.ID)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) || len(ms) != 3 {
		t.Errorf("published %v, want each of the 3 posts %v once", got, want)
	}
}
