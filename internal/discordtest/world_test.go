package discordtest

import (
	"testing"

	"github.com/bwmarrin/discordgo"
)

func TestWorldChanges(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	m, err := dg.ChannelMessageSend(NewsChannelID, "one")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := dg.ChannelMessage(NewsChannelID, m.ID); err != nil || got.Content != "one" {
		t.Fatalf("get %v %v", got, err)
	}
	if _, err := dg.ChannelMessageEdit(NewsChannelID, m.ID, "two"); err != nil {
		t.Fatal(err)
	}
	other := s.AddMessage(NewsChannelID, discordgo.Message{Content: "theirs", Author: &discordgo.User{ID: MemberUserID, Username: MemberUsername}})
	_, err = dg.ChannelMessageEdit(NewsChannelID, other, "mine now")
	wantCode(t, err, 403, 50005)
	if err := dg.ChannelMessageDelete(NewsChannelID, m.ID); err != nil {
		t.Fatal(err)
	}
	if msgs := s.Messages(NewsChannelID); len(msgs) != 1 || msgs[0].ID != other {
		t.Fatalf("after delete %d", len(msgs))
	}
	if old, ok := s.Message(NewsChannelID, m.ID); !ok || !old.Deleted || len(old.Edits) != 1 || old.Content != "two" {
		t.Fatalf("deleted message %+v", old)
	}

	s.RemoveChannel(NewsChannelID)
	_, err = dg.ChannelMessageSend(NewsChannelID, "x")
	wantCode(t, err, 404, 10003)

	s.AddMember(GuildID, discordgo.Member{User: &discordgo.User{ID: "700", Username: "new"}, Roles: []string{TeamRoleID}})
	if s.Permissions("700", TeamChannelID)&discordgo.PermissionViewChannel == 0 {
		t.Error("team role member cannot see the team channel")
	}
	if mem, err := dg.GuildMember(GuildID, "700"); err != nil || mem.User.Username != "new" {
		t.Fatalf("member %v %v", mem, err)
	}
	s.RemoveMember(GuildID, "700")
	_, err = dg.GuildMember(GuildID, "700")
	wantCode(t, err, 404, 10007)

	// The owner has every permission, whatever the overwrites.
	s.SetOverwrites(TeamChannelID, &discordgo.PermissionOverwrite{ID: OwnerUserID, Type: discordgo.PermissionOverwriteTypeMember, Deny: discordgo.PermissionViewChannel})
	if s.Permissions(OwnerUserID, TeamChannelID)&discordgo.PermissionAdministrator == 0 {
		t.Error("owner lost permissions")
	}

	s.SetToken("other")
	_, err = dg.User("@me")
	wantCode(t, err, 401, 0)
}

func TestSelectMenuDeferredUpdateAndList(t *testing.T) {
	s := New(t)
	ctx := testCtx(t)
	dg, ints := session(t, s, true, false)
	if err := s.WaitIdentified(ctx); err != nil {
		t.Fatal(err)
	}
	mid := s.AddMessage(TeamChannelID, discordgo.Message{Content: "pick"})
	_, _ = s.Interact(ctx, SelectMenu("choose", mid, "a", "b"), FromUser(TeamUserID, TeamUsername))
	i := recv(t, ctx, ints)
	if d := i.MessageComponentData(); d.CustomID != "choose" || len(d.Values) != 2 || d.ComponentType != discordgo.SelectMenuComponent {
		t.Fatalf("select %+v", d)
	}
	if err := dg.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}); err != nil {
		t.Fatal(err)
	}
	content := "picked"
	if _, err := dg.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &content}); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Message(TeamChannelID, mid); m.Content != "picked" {
		t.Fatalf("component message %q", m.Content)
	}
	// Type 6/7 are not valid for a command.
	_, _ = s.Interact(ctx, Command("x"))
	i2 := recv(t, ctx, ints)
	wantCode(t, dg.InteractionRespond(i2.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}), 400, 50035)
	all := s.Interactions()
	if len(all) != 2 || all[0].Response == nil || all[1].Response != nil || len(all[1].Refused) != 1 {
		t.Fatalf("interactions %+v", all)
	}
}
