package discordtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

func TestCommandCRUD(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	s.SetCommands("", []*discordgo.ApplicationCommand{{Name: "old", Description: "Old."}})
	old := s.Commands("")[0]
	c, err := dg.ApplicationCommandCreate(ApplicationID, "", &discordgo.ApplicationCommand{Name: "new", Description: "New."})
	if err != nil {
		t.Fatal(err)
	}
	again, err := dg.ApplicationCommandCreate(ApplicationID, "", &discordgo.ApplicationCommand{Name: "new", Description: "Newer."})
	if err != nil || again.ID != c.ID || len(s.Commands("")) != 2 {
		t.Fatalf("upsert %+v %v", again, err)
	}
	got, err := dg.ApplicationCommand(ApplicationID, "", old.ID)
	if err != nil || got.Name != "old" {
		t.Fatalf("get %+v %v", got, err)
	}
	ed, err := dg.ApplicationCommandEdit(ApplicationID, "", old.ID, &discordgo.ApplicationCommand{Name: "old", Description: "Edited."})
	if err != nil || ed.Description != "Edited." || ed.Version == old.Version {
		t.Fatalf("edit %+v %v", ed, err)
	}
	if err := dg.ApplicationCommandDelete(ApplicationID, "", old.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, dg.ApplicationCommandDelete(ApplicationID, "", old.ID), 404, 10063)
	if n := s.CommandWrites(""); n != 4 {
		t.Fatalf("writes %d", n)
	}
	_, err = dg.ApplicationCommands("999", "")
	wantCode(t, err, 403, 50001)
}

func TestWebhookGetDeleteAndThreadMembers(t *testing.T) {
	s := New(t)
	ctx := testCtx(t)
	dg, ints := session(t, s, true, false)
	if err := s.WaitIdentified(ctx); err != nil {
		t.Fatal(err)
	}
	_, _ = s.Interact(ctx, Command("ask"), InChannel(NewsChannelID), WithRoles("330"), WithPermissions(discordgo.PermissionViewChannel))
	i := recv(t, ctx, ints)
	if i.ChannelID != NewsChannelID || i.Member.Roles[0] != "330" || i.Member.Permissions != discordgo.PermissionViewChannel {
		t.Fatalf("spec options: %s %v %b", i.ChannelID, i.Member.Roles, i.Member.Permissions)
	}
	if err := dg.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "public"}}); err != nil {
		t.Fatal(err)
	}
	orig, err := dg.InteractionResponse(i.Interaction)
	if err != nil || orig.Content != "public" {
		t.Fatalf("get original %+v %v", orig, err)
	}
	if len(s.Messages(NewsChannelID)) != 1 {
		t.Fatal("public reply not in the channel")
	}
	if err := dg.InteractionResponseDelete(i.Interaction); err != nil {
		t.Fatal(err)
	}
	if len(s.Messages(NewsChannelID)) != 0 {
		t.Fatal("deleted reply still in the channel")
	}
	_, err = dg.InteractionResponse(i.Interaction)
	wantCode(t, err, 404, 10008)
	s.Advance(16 * time.Minute)
	_, err = dg.InteractionResponse(i.Interaction)
	wantCode(t, err, 401, 50027)

	th, err := dg.ThreadStart(GeneralChannelID, "t", discordgo.ChannelTypeGuildPublicThread, 60)
	if err != nil {
		t.Fatal(err)
	}
	if err := dg.ThreadMemberAdd(th.ID, MemberUserID); err != nil {
		t.Fatal(err)
	}
	members, err := dg.ThreadMembers(th.ID, 10, false, "")
	if err != nil || len(members) != 2 {
		t.Fatalf("members %v %v", members, err)
	}
	if err := dg.ThreadMemberRemove(th.ID, MemberUserID); err != nil {
		t.Fatal(err)
	}
	if got := s.ThreadMembers(th.ID); len(got) != 1 || got[0] != BotUserID {
		t.Fatalf("after remove %v", got)
	}
	wantCode(t, dg.ThreadMemberAdd(NewsChannelID, MemberUserID), 400, 50024)
}

func TestMiscEndpointsAndFaultControl(t *testing.T) {
	s := New(t, WithHeartbeatInterval(50*time.Millisecond), WithLog(t.Logf))
	dg, _ := session(t, s, false, false)
	gs, err := dg.UserGuilds(10, "", "", false)
	if err != nil || len(gs) != 1 || gs[0].ID != GuildID {
		t.Fatalf("guilds %v %v", gs, err)
	}
	if u, err := dg.User(MemberUserID); err != nil || u.Username != MemberUsername {
		t.Fatalf("user %v %v", u, err)
	}
	if err := dg.ChannelTyping(NewsChannelID); err != nil {
		t.Fatal(err)
	}
	ms, err := dg.GuildMembers(GuildID, "", 10)
	if err != nil || len(ms) != 4 {
		t.Fatalf("members %d %v", len(ms), err)
	}
	// Faults and limits can be cleared.
	s.FailNext("", "/users/**", 5, 502, 0)
	h := s.Hold("GET", "/guilds/*")
	s.ClearFaults()
	select {
	case <-h.Arrived():
		t.Fatal("arrived")
	default:
	}
	if _, err := dg.User("@me"); err != nil {
		t.Fatal(err)
	}
	if _, err := dg.Guild(GuildID); err != nil {
		t.Fatal(err)
	}
	s.SetRateLimit("GET", "/users/@me", 1, time.Hour)
	s.SetRateLimit("GET", "/users/@me", 0, 0)
	for range 3 {
		if _, err := dg.User("@me"); err != nil {
			t.Fatal(err)
		}
	}
	// Bad JSON.
	req, _ := http.NewRequest("POST", s.APIURL()+"/channels/400/messages", strings.NewReader("{"))
	req.Header.Set("Authorization", "Bot "+Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ Code int }
	_ = json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 400 || e.Code != 50109 {
		t.Fatalf("bad JSON: %d %d", resp.StatusCode, e.Code)
	}
	if !s.Now().After(time.Time{}) || s.Connected() {
		t.Fatal("Now/Connected")
	}
	// HELLO carries the configured interval.
	c := dialRaw(t, s)
	if f := readRaw(t, c); string(f.D) != `{"heartbeat_interval":50}` {
		t.Fatalf("hello %s", f.D)
	}
}
