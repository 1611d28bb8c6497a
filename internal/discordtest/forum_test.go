package discordtest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

func forumEmbed() *discordgo.MessageSend {
	return &discordgo.MessageSend{
		Embeds:          []*discordgo.MessageEmbed{{Title: "Go 1.26", URL: "https://go.dev/blog/go1.26", Description: "x"}},
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}},
	}
}

func TestForumPost(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	forum := addForum(s)
	news := s.ForumTagID(forum, "News")
	th, err := dg.ForumThreadStartComplex(forum, &discordgo.ThreadStart{Name: "Go 1.26 is out", AutoArchiveDuration: 1440,
		AppliedTags: []string{news, "479"}}, forumEmbed())
	if err != nil {
		t.Fatal(err)
	}
	if th.Type != discordgo.ChannelTypeGuildPublicThread || th.ParentID != forum || th.OwnerID != BotUserID ||
		th.GuildID != GuildID || th.Name != "Go 1.26 is out" || th.ThreadMetadata == nil ||
		th.ThreadMetadata.AutoArchiveDuration != 1440 || th.ThreadMetadata.Archived ||
		len(th.AppliedTags) != 2 || th.AppliedTags[0] != news || th.AppliedTags[1] != "479" {
		t.Fatalf("thread = %+v %+v", th, th.ThreadMetadata)
	}
	// The first message has the thread's id and is fetched in the thread.
	m, err := dg.ChannelMessage(th.ID, th.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.ChannelID != th.ID || m.Author.ID != BotUserID || len(m.Embeds) != 1 || m.Embeds[0].URL != "https://go.dev/blog/go1.26" {
		t.Fatalf("first message = %+v", m)
	}
	posts := s.ForumPosts(forum)
	if len(posts) != 1 || posts[0].Thread.ID != th.ID || posts[0].Message.ID != th.ID || posts[0].Message.AllowedMentions == nil {
		t.Fatalf("ForumPosts = %+v", posts)
	}
	if ths := s.Threads(forum); len(ths) != 1 || ths[0].ID != th.ID {
		t.Fatalf("Threads = %+v", ths)
	}

	// On the wire: the thread with its first message nested, no nonce, 201.
	body := map[string]any{"name": "second", "applied_tags": []string{news},
		"message": map[string]any{"content": "hi", "nonce": "n-1", "enforce_nonce": true}}
	raw, err := dg.RequestWithBucketID("POST", discordgo.EndpointChannelThreads(forum), body, "x")
	if err != nil {
		t.Fatal(err)
	}
	var wire struct {
		ID       string         `json:"id"`
		Type     int            `json:"type"`
		ParentID string         `json:"parent_id"`
		Message  map[string]any `json:"message"`
		Member   map[string]any `json:"member"`
	}
	if err := json.Unmarshal(raw, &wire); err != nil {
		t.Fatal(err)
	}
	if wire.Type != 11 || wire.Message["id"] != wire.ID || wire.Message["channel_id"] != wire.ID || wire.Message["content"] != "hi" || wire.Member == nil {
		t.Fatalf("wire = %s", raw)
	}
	if _, ok := wire.Message["nonce"]; ok {
		t.Errorf("a forum post echoes a nonce: %s", raw)
	}
	// No nonce dedupe: the same body makes another post.
	if _, err := dg.RequestWithBucketID("POST", discordgo.EndpointChannelThreads(forum), body, "x"); err != nil {
		t.Fatal(err)
	}
	if n := len(s.ForumPosts(forum)); n != 3 {
		t.Fatalf("%d posts, want 3", n)
	}
}

func TestForumPostRefusals(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	forum := addForum(s)
	news, security := s.ForumTagID(forum, "News"), s.ForumTagID(forum, "Security")
	start := func(ch string, ts discordgo.ThreadStart, m *discordgo.MessageSend) error {
		_, err := dg.ForumThreadStartComplex(ch, &ts, m)
		return err
	}
	tagged := func(tags ...string) discordgo.ThreadStart {
		return discordgo.ThreadStart{Name: "post", AppliedTags: tags}
	}
	wantCode(t, start(forum, tagged(), forumEmbed()), 400, 40067)
	wantCode(t, start(forum, discordgo.ThreadStart{Name: strings.Repeat("n", 101), AppliedTags: []string{news}}, forumEmbed()), 400, 50035)
	wantCode(t, start(forum, discordgo.ThreadStart{Name: "", AppliedTags: []string{news}}, forumEmbed()), 400, 50035)
	wantCode(t, start(forum, tagged(news, news, news, news, news, news), forumEmbed()), 400, 50035)
	wantCode(t, start(forum, tagged("123"), forumEmbed()), 400, 50035)
	long := forumEmbed()
	long.Embeds[0].Description = strings.Repeat("d", 4097)
	wantCode(t, start(forum, tagged(news), long), 400, 50035)
	wantCode(t, start(forum, tagged(news), &discordgo.MessageSend{}), 400, 50006)
	// A moderated tag needs Manage Threads.
	wantCode(t, start(forum, tagged(security), forumEmbed()), 403, 50013)
	s.SetRolePermissions(GuildID, BotRoleID, BotPerms|discordgo.PermissionManageThreads)
	if err := start(forum, tagged(security), forumEmbed()); err != nil {
		t.Fatalf("moderated tag with Manage Threads: %v", err)
	}
	// Send Messages in the forum; View Channel.
	s.SetOverwrites(forum, &discordgo.PermissionOverwrite{ID: BotRoleID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionSendMessages})
	wantCode(t, start(forum, tagged(news), forumEmbed()), 403, 50013)
	s.SetOverwrites(forum, &discordgo.PermissionOverwrite{ID: BotRoleID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionEmbedLinks})
	wantCode(t, start(forum, tagged(news), forumEmbed()), 403, 50013) // embed only, no Embed Links
	s.SetOverwrites(forum, &discordgo.PermissionOverwrite{ID: BotRoleID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionViewChannel})
	wantCode(t, start(forum, tagged(news), forumEmbed()), 403, 50001)
	// Not a forum, or no channel at all.
	wantCode(t, start(NewsChannelID, tagged(), forumEmbed()), 400, 50024)
	wantCode(t, start("999", tagged(news), forumEmbed()), 404, 10003)
	// Without REQUIRE_TAG a post needs no tag.
	if _, err := s.UpdateChannel(forum, func(c *discordgo.Channel) { c.Flags = 0; c.PermissionOverwrites = nil }); err != nil {
		t.Fatal(err)
	}
	if err := start(forum, tagged(), forumEmbed()); err != nil {
		t.Fatal(err)
	}
	if n := len(s.ForumPosts(forum)); n != 2 {
		t.Fatalf("%d posts, want 2", n)
	}
}

// A post made while its answer is held exists even when the client gives up: the
// crash-while-Discord-answers case, with a way back through the first message.
func TestForumPostHeldAnswer(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	forum := addForum(s)
	news := s.ForumTagID(forum, "News")
	h := s.HoldAnswer("POST", "/channels/*/threads")
	ctx, cancel := context.WithCancel(testCtx(t))
	errc := make(chan error, 1)
	go func() {
		_, err := dg.ForumThreadStartComplex(forum, &discordgo.ThreadStart{Name: "held", AppliedTags: []string{news}}, forumEmbed(),
			discordgo.WithContext(ctx))
		errc <- err
	}()
	if err := h.Wait(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	posts := s.ForumPosts(forum)
	if len(posts) != 1 || posts[0].Thread.Name != "held" {
		t.Fatalf("the post is not made while its answer is held: %+v", posts)
	}
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("the client got an answer")
	}
	r, err := s.WaitRequest(testCtx(t), Match("POST", "/channels/*/threads"))
	if err != nil || r.Status != 0 {
		t.Fatalf("recorded %+v %v", r, err)
	}
	h.Release()
	if n := len(s.ForumPosts(forum)); n != 1 {
		t.Fatalf("%d posts", n)
	}
	// Released: later posts are answered.
	if _, err := dg.ForumThreadStartComplex(forum, &discordgo.ThreadStart{Name: "next", AppliedTags: []string{news}}, forumEmbed()); err != nil {
		t.Fatal(err)
	}
}

// HoldAnswer then Release: the held client gets its answer.
func TestHoldAnswerRelease(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	h := s.HoldAnswer("POST", "/channels/400/messages")
	done := make(chan *discordgo.Message, 1)
	go func() {
		m, _ := dg.ChannelMessageSend(NewsChannelID, "held")
		done <- m
	}()
	if err := h.Wait(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Messages(NewsChannelID)); n != 1 {
		t.Fatalf("%d messages while the answer is held", n)
	}
	h.Release()
	m := recv(t, testCtx(t), done)
	if m == nil || m.Content != "held" {
		t.Fatalf("answer = %+v", m)
	}
}

// A post whose answer is lost (connection dropped after Discord made it) exists, and is
// found again among the guild's active threads, by name, owner and parent.
func TestForumPostDroppedAnswerIsFoundAgain(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	forum := addForum(s)
	s.AcceptThenFail("POST", "/channels/"+forum+"/threads", 0)
	_, err := dg.ForumThreadStartComplex(forum, &discordgo.ThreadStart{Name: "lost answer", AppliedTags: []string{"479"}}, forumEmbed())
	if err == nil {
		t.Fatal("the dropped answer reached the client")
	}
	act, err := dg.GuildThreadsActive(GuildID)
	if err != nil {
		t.Fatal(err)
	}
	var found []*discordgo.Channel
	for _, th := range act.Threads {
		if th.ParentID == forum && th.OwnerID == BotUserID && th.Name == "lost answer" {
			found = append(found, th)
		}
	}
	if len(found) != 1 {
		t.Fatalf("found %d posts", len(found))
	}
	first, err := dg.ChannelMessage(found[0].ID, found[0].ID)
	if err != nil || len(first.Embeds) != 1 || first.Embeds[0].URL != "https://go.dev/blog/go1.26" {
		t.Fatalf("first message %+v %v", first, err)
	}
}
