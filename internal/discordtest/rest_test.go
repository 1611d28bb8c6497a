package discordtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// nonceSend is how the bot sends a post: MessageSend plus nonce and enforce_nonce.
type nonceSend struct {
	*discordgo.MessageSend
	Nonce        string `json:"nonce,omitempty"`
	EnforceNonce bool   `json:"enforce_nonce,omitempty"`
}

func sendNonce(dg *discordgo.Session, ch, nonce string, m *discordgo.MessageSend, opts ...discordgo.RequestOption) (*discordgo.Message, error) {
	ep := discordgo.EndpointChannelMessages(ch)
	body, err := dg.RequestWithBucketID("POST", ep, nonceSend{m, nonce, true}, ep, opts...)
	if err != nil {
		return nil, err
	}
	var out discordgo.Message
	return &out, json.Unmarshal(body, &out)
}

func post() *discordgo.MessageSend {
	return &discordgo.MessageSend{
		Embeds:          []*discordgo.MessageEmbed{{Title: "Go 1.26", URL: "https://go.dev/blog/go1.26", Description: "x"}},
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}},
	}
}

func TestNonceDedupe(t *testing.T) {
	s := New(t, WithClock(fixedClock()), WithNonceWindow(5*time.Minute))
	dg, _ := session(t, s, false, false)
	m1, err := sendNonce(dg, NewsChannelID, "post-1", post())
	if err != nil {
		t.Fatal(err)
	}
	m2, err := sendNonce(dg, NewsChannelID, "post-1", post())
	if err != nil {
		t.Fatal(err)
	}
	if m1.ID != m2.ID || len(s.Messages(NewsChannelID)) != 1 {
		t.Fatalf("dedupe failed: %s %s, %d messages", m1.ID, m2.ID, len(s.Messages(NewsChannelID)))
	}
	msgs := s.Messages(NewsChannelID)
	if msgs[0].Nonce != "post-1" || !msgs[0].EnforceNonce || msgs[0].AllowedMentions == nil || len(msgs[0].AllowedMentions.Parse) != 0 {
		t.Fatalf("recorded %+v", msgs[0])
	}
	// Fetched messages carry no nonce.
	body, err := dg.RequestWithBucketID("GET", discordgo.EndpointChannelMessages(NewsChannelID)+"?limit=50", nil, "x")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte("nonce")) {
		t.Errorf("fetched message has a nonce: %s", body)
	}
	// After the window a second message is created.
	s.Advance(5*time.Minute + time.Second)
	m3, err := sendNonce(dg, NewsChannelID, "post-1", post())
	if err != nil {
		t.Fatal(err)
	}
	if m3.ID == m1.ID || len(s.Messages(NewsChannelID)) != 2 {
		t.Fatalf("after the window: %s vs %s", m3.ID, m1.ID)
	}
	// Without enforce_nonce no dedupe.
	_, _ = dg.ChannelMessageSend(NewsChannelID, "a")
	_, _ = dg.ChannelMessageSend(NewsChannelID, "a")
	if n := len(s.Messages(NewsChannelID)); n != 4 {
		t.Fatalf("%d messages", n)
	}
	got, err := dg.ChannelMessages(NewsChannelID, 2, "", "", "")
	if err != nil || len(got) != 2 || got[0].Content != "a" {
		t.Fatalf("list %v %v", got, err)
	}
	older, _ := dg.ChannelMessages(NewsChannelID, 50, got[1].ID, "", "")
	if len(older) != 2 || older[0].ID != m3.ID || older[1].ID != m1.ID {
		t.Fatalf("before: %d", len(older))
	}
}

func TestLimitsValidation(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	long := func(n int) string { return strings.Repeat("é", n) }
	cases := map[string]struct {
		m    *discordgo.MessageSend
		path []string
	}{
		"content":     {&discordgo.MessageSend{Content: long(2001)}, []string{"content"}},
		"title":       {&discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Title: long(257)}}}, []string{"embeds", "0", "title"}},
		"description": {&discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Description: long(4097)}}}, []string{"embeds", "0", "description"}},
		"field value": {&discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Title: "t", Fields: []*discordgo.MessageEmbedField{{Name: "n", Value: long(1025)}}}}}, []string{"embeds", "0", "fields", "0", "value"}},
		"footer":      {&discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Title: "t", Footer: &discordgo.MessageEmbedFooter{Text: long(2049)}}}}, []string{"embeds", "0", "footer", "text"}},
		"author":      {&discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Title: "t", Author: &discordgo.MessageEmbedAuthor{Name: long(257)}}}}, []string{"embeds", "0", "author", "name"}},
		"total":       {&discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Description: long(4000)}, {Description: long(2001)}}}, []string{"embeds"}},
		"11 embeds":   {&discordgo.MessageSend{Embeds: make11()}, []string{"embeds"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := dg.ChannelMessageSendComplex(NewsChannelID, c.m)
			wantCode(t, err, 400, 50035)
			var re *discordgo.RESTError
			errors.As(err, &re)
			var body map[string]any
			_ = json.Unmarshal(re.ResponseBody, &body)
			node := body["errors"]
			for _, p := range c.path {
				m, _ := node.(map[string]any)
				node = m[p]
			}
			if m, _ := node.(map[string]any); m == nil || m["_errors"] == nil {
				t.Fatalf("no error at %v: %s", c.path, re.ResponseBody)
			}
		})
	}
	// At the limits exactly: accepted.
	fields := make([]*discordgo.MessageEmbedField, 25)
	for i := range fields {
		fields[i] = &discordgo.MessageEmbedField{Name: "n", Value: "v"}
	}
	if _, err := dg.ChannelMessageSendComplex(NewsChannelID, &discordgo.MessageSend{Content: long(2000),
		Embeds: []*discordgo.MessageEmbed{{Title: long(256), Description: long(4096), Fields: fields}}}); err != nil {
		t.Fatal(err)
	}
	_, err := sendNonce(dg, NewsChannelID, strings.Repeat("n", 26), post())
	wantCode(t, err, 400, 50035)
	_, err = dg.ChannelMessageSendComplex(NewsChannelID, &discordgo.MessageSend{})
	wantCode(t, err, 400, 50006)
	if len(s.Messages(NewsChannelID)) != 1 {
		t.Fatal("a refused message was stored")
	}
}

func make11() []*discordgo.MessageEmbed {
	out := make([]*discordgo.MessageEmbed, 11)
	for i := range out {
		out[i] = &discordgo.MessageEmbed{Title: "t"}
	}
	return out
}

func TestMentionsFollowAllowedMentions(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	s.AddRole(GuildID, discordgo.Role{ID: "330", Name: "news", Mentionable: true})
	content := "@everyone <@&330> <@500>"
	// absent allowed_mentions: everything the bot may ping is pinged.
	if _, err := dg.ChannelMessageSend(NewsChannelID, content); err != nil {
		t.Fatal(err)
	}
	// only the role.
	if _, err := dg.ChannelMessageSendComplex(NewsChannelID, &discordgo.MessageSend{Content: content,
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}, Roles: []string{"330"}}}); err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages(NewsChannelID)
	a, b := msgs[0], msgs[1]
	if a.AllowedMentionsRaw != nil || a.MentionEveryone || len(a.MentionRoles) != 1 || len(a.Mentions) != 1 {
		t.Errorf("absent: raw %s everyone %v roles %v users %d", a.AllowedMentionsRaw, a.MentionEveryone, a.MentionRoles, len(a.Mentions))
	}
	if b.AllowedMentions == nil || b.MentionEveryone || len(b.MentionRoles) != 1 || len(b.Mentions) != 0 {
		t.Errorf("role only: everyone %v roles %v users %d", b.MentionEveryone, b.MentionRoles, len(b.Mentions))
	}
	s.SetRolePermissions(GuildID, BotRoleID, BotPerms|discordgo.PermissionMentionEveryone)
	_, _ = dg.ChannelMessageSend(NewsChannelID, content)
	if c := s.Messages(NewsChannelID)[2]; !c.MentionEveryone {
		t.Error("@everyone not pinged with Mention Everyone and no allowed_mentions")
	}
}

func TestPermissionCodes(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	// No View Channel for the bot's role: 50001.
	s.SetOverwrites(NewsChannelID, &discordgo.PermissionOverwrite{ID: BotRoleID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionViewChannel})
	_, err := dg.ChannelMessageSendComplex(NewsChannelID, post())
	wantCode(t, err, 403, 50001)
	_, err = dg.Channel(NewsChannelID)
	wantCode(t, err, 403, 50001)
	// A member overwrite allowing it back beats the role deny.
	s.SetOverwrites(NewsChannelID,
		&discordgo.PermissionOverwrite{ID: BotRoleID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionViewChannel},
		&discordgo.PermissionOverwrite{ID: BotUserID, Type: discordgo.PermissionOverwriteTypeMember, Allow: discordgo.PermissionViewChannel})
	if _, err := dg.ChannelMessageSendComplex(NewsChannelID, post()); err != nil {
		t.Fatal(err)
	}
	// No Send Messages (@everyone overwrite + role without it): 50013.
	s.SetRolePermissions(GuildID, BotRoleID, discordgo.PermissionViewChannel)
	s.SetOverwrites(NewsChannelID, &discordgo.PermissionOverwrite{ID: GuildID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionSendMessages})
	_, err = dg.ChannelMessageSendComplex(NewsChannelID, post())
	wantCode(t, err, 403, 50013)
	// No Embed Links: an embed-only message is refused, text with an embed loses it.
	s.SetOverwrites(NewsChannelID, &discordgo.PermissionOverwrite{ID: GuildID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionEmbedLinks})
	_, err = dg.ChannelMessageSendComplex(NewsChannelID, post())
	wantCode(t, err, 403, 50013)
	p := post()
	p.Content = "hi"
	m, err := dg.ChannelMessageSendComplex(NewsChannelID, p)
	if err != nil || len(m.Embeds) != 0 {
		t.Fatalf("text+embed without Embed Links: %v %+v", err, m)
	}
	// Administrator overrides everything.
	s.SetBotRoles(GuildID, BotRoleID, "340")
	s.AddRole(GuildID, discordgo.Role{ID: "340", Permissions: discordgo.PermissionAdministrator})
	s.SetOverwrites(NewsChannelID, &discordgo.PermissionOverwrite{ID: BotUserID, Type: discordgo.PermissionOverwriteTypeMember, Deny: discordgo.PermissionViewChannel})
	if _, err := dg.ChannelMessageSendComplex(NewsChannelID, post()); err != nil {
		t.Fatal(err)
	}
	// Unknown channel, a voice channel, a channel of a guild without the bot.
	_, err = dg.ChannelMessageSend("999", "x")
	wantCode(t, err, 404, 10003)
	s.AddChannel(discordgo.Channel{ID: "410", GuildID: GuildID, Type: discordgo.ChannelTypeGuildCategory})
	_, err = dg.ChannelMessageSend("410", "x")
	wantCode(t, err, 400, 50008)
	s.AddGuild("302", "Elsewhere", EveryonePerms, false)
	s.AddChannel(discordgo.Channel{ID: "460", GuildID: "302"})
	_, err = dg.ChannelMessageSend("460", "x")
	wantCode(t, err, 403, 50001)
	_, err = dg.Guild("302")
	wantCode(t, err, 403, 50001)
}

func TestReadEndpoints(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	u, err := dg.User("@me")
	if err != nil || u.ID != BotUserID || !u.Bot || u.Username != BotUsername {
		t.Fatalf("@me %+v %v", u, err)
	}
	app, err := dg.Application("@me")
	if err != nil || app.ID != ApplicationID {
		t.Fatalf("app %+v %v", app, err)
	}
	g, err := dg.Guild(GuildID)
	if err != nil || g.Name != GuildName || g.OwnerID != OwnerUserID || len(g.Roles) != 3 {
		t.Fatalf("guild %+v %v", g, err)
	}
	chans, err := dg.GuildChannels(GuildID)
	if err != nil || len(chans) != 3 {
		t.Fatalf("channels %d %v", len(chans), err)
	}
	roles, err := dg.GuildRoles(GuildID)
	if err != nil || roles[0].ID != EveryoneRoleID || roles[0].Permissions != EveryonePerms {
		t.Fatalf("roles %+v %v", roles, err)
	}
	m, err := dg.GuildMember(GuildID, BotUserID)
	if err != nil || len(m.Roles) != 1 || m.Roles[0] != BotRoleID {
		t.Fatalf("member %+v %v", m, err)
	}
	_, err = dg.GuildMember(GuildID, "12345")
	wantCode(t, err, 404, 10007)
	c, err := dg.Channel(TeamChannelID)
	if err != nil || len(c.PermissionOverwrites) != 3 {
		t.Fatalf("team channel %+v %v", c, err)
	}
	gw, err := dg.Gateway()
	if err != nil || gw != s.GatewayURL() {
		t.Fatalf("gateway %q %v", gw, err)
	}
}

func TestDMsClosed(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	ch, err := dg.UserChannelCreate(MemberUserID)
	if err != nil || ch.Type != discordgo.ChannelTypeDM || ch.Recipients[0].ID != MemberUserID {
		t.Fatalf("DM %+v %v", ch, err)
	}
	if _, err := dg.ChannelMessageSend(ch.ID, "answer"); err != nil {
		t.Fatal(err)
	}
	s.SetDMsClosed(MemberUserID, true)
	_, err = dg.ChannelMessageSend(ch.ID, "answer 2")
	wantCode(t, err, 403, 50007)
	if dms := s.DMs(MemberUserID); len(dms) != 1 || dms[0].Content != "answer" {
		t.Fatalf("DMs %v", dms)
	}
	again, _ := dg.UserChannelCreate(MemberUserID)
	if again.ID != ch.ID {
		t.Error("a second DM channel was opened")
	}
	_, err = dg.UserChannelCreate("31337")
	wantCode(t, err, 400, 50033)
}

func TestThreads(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	m, err := dg.ChannelMessageSend(TeamChannelID, "question")
	if err != nil {
		t.Fatal(err)
	}
	th, err := dg.MessageThreadStartComplex(TeamChannelID, m.ID, &discordgo.ThreadStart{Name: "Question #1", AutoArchiveDuration: 1440})
	if err != nil {
		t.Fatal(err)
	}
	if th.ID != m.ID || th.ParentID != TeamChannelID || th.Type != discordgo.ChannelTypeGuildPublicThread {
		t.Fatalf("thread %+v", th)
	}
	_, err = dg.MessageThreadStartComplex(TeamChannelID, m.ID, &discordgo.ThreadStart{Name: "again", AutoArchiveDuration: 60})
	wantCode(t, err, 400, 160004)
	_, err = dg.MessageThreadStartComplex(TeamChannelID, "1", &discordgo.ThreadStart{Name: "x", AutoArchiveDuration: 60})
	wantCode(t, err, 404, 10008)
	if _, err := dg.ChannelMessageSend(th.ID, "let's discuss"); err != nil {
		t.Fatal(err)
	}
	if msgs := s.Messages(th.ID); len(msgs) != 1 {
		t.Fatalf("thread messages %d", len(msgs))
	}
	_, err = dg.MessageThreadStartComplex(TeamChannelID, m.ID, &discordgo.ThreadStart{Name: strings.Repeat("x", 101), AutoArchiveDuration: 60})
	wantCode(t, err, 400, 50035)

	// Private thread with the member in the general channel.
	pt, err := dg.ThreadStartComplex(GeneralChannelID, &discordgo.ThreadStart{Name: "Answer", Type: discordgo.ChannelTypeGuildPrivateThread, Invitable: false, AutoArchiveDuration: 10080})
	if err != nil {
		t.Fatal(err)
	}
	if err := dg.ThreadMemberAdd(pt.ID, MemberUserID); err != nil {
		t.Fatal(err)
	}
	if got := s.ThreadMembers(pt.ID); len(got) != 2 || got[1] != MemberUserID {
		t.Fatalf("members %v", got)
	}
	wantCode(t, dg.ThreadMemberAdd(pt.ID, "4242"), 404, 10007)
	if _, err := dg.ChannelMessageSend(pt.ID, "<@500> here is the answer"); err != nil {
		t.Fatal(err)
	}
	if len(s.Threads(GeneralChannelID)) != 1 || len(s.Threads(TeamChannelID)) != 1 {
		t.Fatal("Threads")
	}
	// Without Create Private Threads / Send Messages in Threads.
	s.SetRolePermissions(GuildID, BotRoleID, BotPerms&^discordgo.PermissionCreatePrivateThreads)
	s.SetRolePermissions(GuildID, EveryoneRoleID, EveryonePerms&^(discordgo.PermissionCreatePrivateThreads|discordgo.PermissionSendMessagesInThreads))
	_, err = dg.ThreadStartComplex(GeneralChannelID, &discordgo.ThreadStart{Name: "x", Type: discordgo.ChannelTypeGuildPrivateThread})
	wantCode(t, err, 403, 50013)
	s.SetRolePermissions(GuildID, BotRoleID, BotPerms&^discordgo.PermissionSendMessagesInThreads)
	_, err = dg.ChannelMessageSend(th.ID, "x")
	wantCode(t, err, 403, 50013)
}

func TestCommandsBulkOverwrite(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	defs := []*discordgo.ApplicationCommand{
		{Name: "related", Description: "Related stories", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionString, Name: "query", Description: "q", Autocomplete: true}}},
		{Name: "ask", Description: "Ask the team", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionString, Name: "question", Description: "q", Required: true, MaxLength: 1500}}},
	}
	got, err := dg.ApplicationCommandBulkOverwrite(ApplicationID, GuildID, defs)
	if err != nil || len(got) != 2 || got[0].ID == "" || got[0].ApplicationID != ApplicationID {
		t.Fatalf("overwrite %v %v", got, err)
	}
	firstID := got[0].ID
	got, err = dg.ApplicationCommandBulkOverwrite(ApplicationID, GuildID, defs[:1])
	if err != nil || len(got) != 1 || got[0].ID != firstID {
		t.Fatalf("second overwrite %v %v", got, err)
	}
	list, err := dg.ApplicationCommands(ApplicationID, GuildID)
	if err != nil || len(list) != 1 || list[0].Name != "related" {
		t.Fatalf("list %v %v", list, err)
	}
	if len(s.Commands(GuildID)) != 1 || len(s.Commands("")) != 0 || s.CommandWrites(GuildID) != 2 {
		t.Fatal("recorded commands")
	}
	_, err = dg.ApplicationCommandBulkOverwrite(ApplicationID, "", []*discordgo.ApplicationCommand{{Name: "Bad Name", Description: "x"}})
	wantCode(t, err, 400, 50035)
	_, err = dg.ApplicationCommandBulkOverwrite(ApplicationID, "", []*discordgo.ApplicationCommand{{Name: "ok", Description: strings.Repeat("d", 101)}})
	wantCode(t, err, 400, 50035)
	if _, err := dg.ApplicationCommandBulkOverwrite(ApplicationID, "", defs); err != nil {
		t.Fatal(err)
	}
	if len(s.Commands("")) != 2 {
		t.Fatal("global commands")
	}
	_, err = dg.ApplicationCommandBulkOverwrite(ApplicationID, "302", defs)
	wantCode(t, err, 404, 10004)
}

func TestRateLimitHeadersAnd429(t *testing.T) {
	s := New(t, WithClock(fixedClock()), WithRateLimit("POST", "/channels/*/messages", 2, 5*time.Second))
	c := s.HTTPClient()
	send := func(ch string) *http.Response {
		req, _ := http.NewRequest("POST", "https://discord.com/api/v9/channels/"+ch+"/messages", strings.NewReader(`{"content":"x"}`))
		req.Header.Set("Authorization", "Bot "+Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	r1 := send(NewsChannelID)
	r1.Body.Close()
	if r1.StatusCode != 200 || r1.Header.Get("X-RateLimit-Limit") != "2" || r1.Header.Get("X-RateLimit-Remaining") != "1" ||
		r1.Header.Get("X-RateLimit-Reset-After") != "5.001" || r1.Header.Get("X-RateLimit-Bucket") == "" {
		t.Fatalf("headers %v", r1.Header)
	}
	send(NewsChannelID).Body.Close()
	r3 := send(NewsChannelID)
	body, _ := io.ReadAll(r3.Body)
	r3.Body.Close()
	var rl struct {
		Message    string  `json:"message"`
		RetryAfter float64 `json:"retry_after"`
		Global     bool    `json:"global"`
	}
	if err := json.Unmarshal(body, &rl); err != nil || r3.StatusCode != 429 || rl.RetryAfter != 5 || rl.Global ||
		rl.Message != "You are being rate limited." || r3.Header.Get("Retry-After") != "5" {
		t.Fatalf("429: %d %s %v", r3.StatusCode, body, r3.Header)
	}
	// Another channel has its own bucket; time passing resets the window.
	if r := send(TeamChannelID); r.StatusCode != 200 {
		t.Fatalf("team channel %d", r.StatusCode)
	}
	s.Advance(5 * time.Second)
	if r := send(NewsChannelID); r.StatusCode != 200 {
		t.Fatalf("after the window %d", r.StatusCode)
	}
	if s.RateLimited() != 1 || len(s.Messages(NewsChannelID)) != 3 {
		t.Fatalf("429s %d, messages %d", s.RateLimited(), len(s.Messages(NewsChannelID)))
	}
	// Every answer carries the headers, errors included.
	req, _ := http.NewRequest("GET", "https://discord.com/api/v9/users/@me", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("X-RateLimit-Reset-After") == "" {
		t.Fatalf("401 headers %v", resp.Header)
	}
}

func TestDiscordgoRateLimitAndFaults(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	// 429 then success: discordgo sleeps retry_after and retries.
	s.RateLimitNext("POST", "/channels/400/messages", 1, 10*time.Millisecond)
	if _, err := dg.ChannelMessageSendComplex(NewsChannelID, post()); err != nil {
		t.Fatal(err)
	}
	// Without retry: a *RateLimitError.
	s.RateLimitNext("POST", "/channels/400/messages", 1, 10*time.Millisecond)
	_, err := dg.ChannelMessageSendComplex(NewsChannelID, post(), discordgo.WithRetryOnRatelimit(false))
	var rle *discordgo.RateLimitError
	if !errors.As(err, &rle) {
		t.Fatalf("want RateLimitError, got %v", err)
	}
	if s.RateLimited() != 2 || len(s.Messages(NewsChannelID)) != 1 {
		t.Fatalf("429s %d messages %d", s.RateLimited(), len(s.Messages(NewsChannelID)))
	}
	// 500 with a code, then fine.
	s.FailNext("POST", "/channels/*/messages", 1, 500, 0)
	_, err = dg.ChannelMessageSendComplex(NewsChannelID, post())
	wantCode(t, err, 500, 0)
	s.Fail("POST", "/channels/400/messages", Fault{Status: 403, Code: 50013, Message: "Missing Permissions"})
	_, err = dg.ChannelMessageSendComplex(NewsChannelID, post())
	wantCode(t, err, 403, 50013)
	// Dropped connection: an error, nothing created.
	s.DropNext("POST", "/channels/400/messages", 1)
	if _, err = dg.ChannelMessageSendComplex(NewsChannelID, post()); err == nil {
		t.Fatal("dropped request succeeded")
	}
	if len(s.Messages(NewsChannelID)) != 1 {
		t.Fatal("a dropped request created a message")
	}
	// Crash after accept: created, then 500 / dropped; the nonce retry returns it.
	s.AcceptThenFail("POST", "/channels/400/messages", 500)
	_, err = sendNonce(dg, NewsChannelID, "item-7", post())
	wantCode(t, err, 500, 0)
	s.AcceptThenFail("POST", "/channels/400/messages", 0)
	if _, err = sendNonce(dg, NewsChannelID, "item-7", post()); err == nil {
		t.Fatal("dropped accept succeeded")
	}
	m, err := sendNonce(dg, NewsChannelID, "item-7", post())
	if err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages(NewsChannelID)
	if len(msgs) != 2 || msgs[1].ID != m.ID {
		t.Fatalf("after accept-then-fail: %d messages", len(msgs))
	}
	reqs := s.Requests()
	var statuses []int
	for _, r := range reqs {
		statuses = append(statuses, r.Status)
	}
	want := []int{429, 200, 429, 500, 403, 0, 500, 0, 200}
	if len(statuses) != len(want) {
		t.Fatalf("statuses %v want %v", statuses, want)
	}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("statuses %v want %v", statuses, want)
		}
	}
}

func TestHold(t *testing.T) {
	s := New(t)
	ctx := testCtx(t)
	dg, _ := session(t, s, false, false)
	h := s.Hold("POST", "/channels/400/messages")
	done := make(chan error, 1)
	go func() {
		_, err := dg.ChannelMessageSend(NewsChannelID, "held")
		done <- err
	}()
	select {
	case <-h.Arrived():
	case <-ctx.Done():
		t.Fatal("never arrived")
	}
	if len(s.Messages(NewsChannelID)) != 0 {
		t.Fatal("held request performed early")
	}
	h.Release()
	if err := recv(t, ctx, done); err != nil {
		t.Fatal(err)
	}
	if len(s.Messages(NewsChannelID)) != 1 {
		t.Fatal("released request not performed")
	}
	// A client that gives up: nothing performed, recorded with status 0.
	h2 := s.Hold("POST", "/channels/401/messages")
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		_, err := dg.ChannelMessageSend(TeamChannelID, "x", discordgo.WithContext(cctx))
		done <- err
	}()
	if err := h2.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := recv(t, ctx, done); err == nil {
		t.Fatal("cancelled request succeeded")
	}
	r, err := s.WaitRequest(ctx, func(r Request) bool { return r.Path == "/channels/401/messages" })
	if err != nil || r.Status != 0 {
		t.Fatalf("recorded %+v %v", r, err)
	}
	h2.Release()
	if len(s.Messages(TeamChannelID)) != 0 {
		t.Fatal("abandoned request performed")
	}
}

func TestMultipartAndRecording(t *testing.T) {
	s := New(t)
	ctx := testCtx(t)
	dg, _ := session(t, s, false, false)
	_, err := dg.ChannelMessageSendComplex(NewsChannelID, &discordgo.MessageSend{Content: "file",
		Files: []*discordgo.File{{Name: "a.txt", ContentType: "text/plain", Reader: strings.NewReader("hello")}}})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := s.WaitMessages(ctx, NewsChannelID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs[0].Files) != 1 || string(msgs[0].Files[0].Data) != "hello" || len(msgs[0].Attachments) != 1 || msgs[0].Content != "file" {
		t.Fatalf("multipart %+v", msgs[0])
	}
	r, err := s.WaitRequest(ctx, Match("POST", "/channels/*/messages"))
	if err != nil || !r.Authorized || r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		t.Fatalf("request %+v %v", r, err)
	}
	if !Match("", "/channels/**")(r) || Match("GET", "/channels/**")(r) {
		t.Error("Match")
	}
}

// A client that obeys the headers (discordgo's bucket) never meets a 429.
func TestDiscordgoHonoursRateLimitHeaders(t *testing.T) {
	s := New(t, WithRateLimit("POST", "/channels/*/messages", 3, 100*time.Millisecond))
	dg, _ := session(t, s, false, false)
	for i := range 7 {
		if _, err := dg.ChannelMessageSend(NewsChannelID, strings.Repeat("x", i+1), discordgo.WithRetryOnRatelimit(false)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if s.RateLimited() != 0 {
		t.Fatalf("%d 429s", s.RateLimited())
	}
	msgs := s.Messages(NewsChannelID)
	for i, m := range msgs {
		if len(m.Content) != i+1 {
			t.Fatalf("order: message %d is %q", i, m.Content)
		}
	}
}
