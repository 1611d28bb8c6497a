package discordtest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

func TestInteractionTypesParseInDiscordgo(t *testing.T) {
	s := New(t)
	ctx := testCtx(t)
	_, ints := session(t, s, true, false)
	if err := s.WaitIdentified(ctx); err != nil {
		t.Fatal(err)
	}

	// 2: command with string, integer and nested options.
	it, err := s.Interact(ctx, Command("related", Opt("query", "go"), Opt("count", 3), SubCommand("sub", Opt("flag", true))))
	if err != nil {
		t.Fatal(err)
	}
	i := recv(t, ctx, ints)
	if i.ID != it.ID || i.Token != it.Token || i.Type != discordgo.InteractionApplicationCommand {
		t.Fatalf("got %+v", i.Interaction)
	}
	d := i.ApplicationCommandData()
	if d.Name != "related" || d.Options[0].StringValue() != "go" || d.Options[1].IntValue() != 3 ||
		!d.Options[2].Options[0].BoolValue() {
		t.Fatalf("data %+v", d)
	}
	if i.Member == nil || i.Member.User.ID != MemberUserID || i.User != nil || i.GuildID != GuildID || i.ChannelID != GeneralChannelID {
		t.Fatalf("member %+v user %+v guild %s channel %s", i.Member, i.User, i.GuildID, i.ChannelID)
	}
	if i.Member.Permissions&discordgo.PermissionSendMessages == 0 || i.AppPermissions&discordgo.PermissionSendMessages == 0 {
		t.Errorf("permissions %b app %b", i.Member.Permissions, i.AppPermissions)
	}

	// 4: autocomplete with a focused option.
	if _, err := s.Interact(ctx, Autocomplete("related", Focused("query", "Écol")), FromUser("777", "zoe")); err != nil {
		t.Fatal(err)
	}
	i = recv(t, ctx, ints)
	ad := i.ApplicationCommandData()
	if i.Type != discordgo.InteractionApplicationCommandAutocomplete || !ad.Options[0].Focused || ad.Options[0].StringValue() != "Écol" || i.Member.User.Username != "zoe" {
		t.Fatalf("autocomplete %+v", ad)
	}
	if s.Permissions("777", GeneralChannelID) == 0 {
		t.Error("FromUser did not add the member")
	}

	// 3: a button on a stored message in the team channel, from the team member.
	mid := s.AddMessage(TeamChannelID, discordgo.Message{Content: "question #1"})
	if _, err := s.Interact(ctx, Button("ask:reply:1", mid), FromUser(TeamUserID, TeamUsername)); err != nil {
		t.Fatal(err)
	}
	i = recv(t, ctx, ints)
	if i.Type != discordgo.InteractionMessageComponent || i.MessageComponentData().CustomID != "ask:reply:1" ||
		i.Message == nil || i.Message.ID != mid || i.Message.Content != "question #1" || i.ChannelID != TeamChannelID {
		t.Fatalf("component %+v message %+v", i.MessageComponentData(), i.Message)
	}

	// 5: modal submit.
	if _, err := s.Interact(ctx, ModalSubmit("ask:answer:1", map[string]string{"answer": "hello", "b": "x"})); err != nil {
		t.Fatal(err)
	}
	i = recv(t, ctx, ints)
	md := i.ModalSubmitData()
	row := md.Components[0].(*discordgo.ActionsRow)
	if md.CustomID != "ask:answer:1" || row.Components[0].(*discordgo.TextInput).Value != "hello" {
		t.Fatalf("modal %+v", md)
	}

	// DM and another guild.
	if _, err := s.Interact(ctx, Command("ask"), InDM()); err != nil {
		t.Fatal(err)
	}
	i = recv(t, ctx, ints)
	if i.User == nil || i.Member != nil || i.GuildID != "" || i.ChannelID != s.DMChannel(MemberUserID) {
		t.Fatalf("DM interaction user %+v member %+v guild %q", i.User, i.Member, i.GuildID)
	}
	s.AddGuild("301", "Other", EveryonePerms, true)
	s.AddChannel(discordgo.Channel{ID: "450", GuildID: "301", Name: "x"})
	if _, err := s.Interact(ctx, Command("ask"), InGuild("301")); err != nil {
		t.Fatal(err)
	}
	i = recv(t, ctx, ints)
	if i.GuildID != "301" || i.ChannelID != "450" || i.Member == nil {
		t.Fatalf("other guild %s %s", i.GuildID, i.ChannelID)
	}
}

func TestCallbackOnceLateTwice(t *testing.T) {
	s := New(t, WithClock(fixedClock()), WithInteractionDeadline(3*time.Second))
	ctx := testCtx(t)
	dg, ints := session(t, s, true, false)
	if err := s.WaitIdentified(ctx); err != nil {
		t.Fatal(err)
	}
	it, err := s.Interact(ctx, Command("ask", Opt("question", "why?")))
	if err != nil {
		t.Fatal(err)
	}
	i := recv(t, ctx, ints)
	reply := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "sent as #1", Flags: discordgo.MessageFlagsEphemeral}}
	s.Advance(3 * time.Second) // exactly at the deadline: still accepted
	if err := dg.InteractionRespond(i.Interaction, reply); err != nil {
		t.Fatal(err)
	}
	r, err := s.WaitResponse(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != discordgo.InteractionResponseChannelMessageWithSource || r.Content() != "sent as #1" || !r.Ephemeral() {
		t.Fatalf("response %+v", r)
	}
	wantCode(t, dg.InteractionRespond(i.Interaction, reply), 400, 40060)
	if len(s.Messages(GeneralChannelID)) != 0 {
		t.Error("an ephemeral reply landed in the channel")
	}

	// Late: 3 s + 1 ns after dispatch on the fake's clock.
	if _, err := s.Interact(ctx, Command("ask")); err != nil {
		t.Fatal(err)
	}
	i2 := recv(t, ctx, ints)
	s.Advance(3*time.Second + 1)
	wantCode(t, dg.InteractionRespond(i2.Interaction, reply), 404, 10062)
	ex, _ := s.Exchange(i2.ID)
	if ex.Response != nil || len(ex.Refused) != 1 || ex.Refused[0].Code != 10062 {
		t.Fatalf("exchange %+v", ex)
	}

	// Wrong response type for autocomplete, then invalid choices: refused, not consumed.
	if _, err := s.Interact(ctx, Autocomplete("related", Focused("query", "x"))); err != nil {
		t.Fatal(err)
	}
	i3 := recv(t, ctx, ints)
	wantCode(t, dg.InteractionRespond(i3.Interaction, reply), 400, 50035)
	long := make([]byte, 101)
	for k := range long {
		long[k] = 'a'
	}
	bad := &discordgo.InteractionResponse{Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: []*discordgo.ApplicationCommandOptionChoice{{Name: string(long), Value: "v"}}}}
	wantCode(t, dg.InteractionRespond(i3.Interaction, bad), 400, 50035)
	bad.Data.Choices[0].Name = "ok"
	if err := dg.InteractionRespond(i3.Interaction, bad); err != nil {
		t.Fatal(err)
	}
}

func TestDeferredEditAndFollowups(t *testing.T) {
	s := New(t)
	ctx := testCtx(t)
	dg, ints := session(t, s, true, false)
	if err := s.WaitIdentified(ctx); err != nil {
		t.Fatal(err)
	}
	it, _ := s.Interact(ctx, Command("related"))
	i := recv(t, ctx, ints)
	if err := dg.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}); err != nil {
		t.Fatal(err)
	}
	content := "Also Read: @everyone"
	m, err := dg.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &content,
		Embeds: &[]*discordgo.MessageEmbed{{Title: "A", URL: "https://example.com/a"}}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Content != content || len(m.Embeds) != 1 {
		t.Fatalf("edited %+v", m)
	}
	f, err := dg.FollowupMessageCreate(i.Interaction, true, &discordgo.WebhookParams{Content: "more", Flags: discordgo.MessageFlagsEphemeral})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dg.FollowupMessageEdit(i.Interaction, f.ID, &discordgo.WebhookEdit{Content: ptr("more!")}); err != nil {
		t.Fatal(err)
	}
	ex, err := s.WaitExchange(ctx, it.ID, func(e Exchange) bool { return len(e.Followups) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if ex.Response.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || ex.Original.Content != content ||
		len(ex.Edits) != 1 || ex.Followups[0].Content != "more!" {
		t.Fatalf("exchange %+v", ex)
	}
	if ex.Original.MentionEveryone {
		t.Error("@everyone pinged without Mention Everyone permission")
	}
	msgs := s.Messages(GeneralChannelID)
	if len(msgs) != 1 || msgs[0].ID != ex.Original.ID || msgs[0].AllowedMentionsRaw != nil {
		t.Fatalf("channel holds %d messages (the ephemeral follow-up must not be there)", len(msgs))
	}
	// A follow-up before any callback is refused.
	_, _ = s.Interact(ctx, Command("related"))
	i2 := recv(t, ctx, ints)
	_, err = dg.FollowupMessageCreate(i2.Interaction, true, &discordgo.WebhookParams{Content: "x"})
	wantCode(t, err, 404, 10015)
}

func TestUpdateMessageAndModal(t *testing.T) {
	s := New(t)
	ctx := testCtx(t)
	dg, ints := session(t, s, true, false)
	if err := s.WaitIdentified(ctx); err != nil {
		t.Fatal(err)
	}
	mid := s.AddMessage(TeamChannelID, discordgo.Message{Content: "Q"})
	_, _ = s.Interact(ctx, Button("reply", mid), FromUser(TeamUserID, TeamUsername))
	i := recv(t, ctx, ints)
	modal := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
		CustomID: "answer", Title: "Answer",
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.TextInput{CustomID: "text", Label: "Answer", Style: discordgo.TextInputParagraph, MaxLength: 3000},
		}}},
	}}
	if err := dg.InteractionRespond(i.Interaction, modal); err != nil {
		t.Fatal(err)
	}
	r, _ := s.WaitResponse(ctx, i.ID)
	if r.Data == nil || r.Data.Title != "Answer" || len(r.Data.Components) != 1 {
		t.Fatalf("modal response %+v", r.Data)
	}
	_, _ = s.Interact(ctx, ModalSubmit("answer", map[string]string{"text": "42"}), OnMessage(mid), FromUser(TeamUserID, TeamUsername))
	i = recv(t, ctx, ints)
	upd := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage, Data: &discordgo.InteractionResponseData{Content: "Q — answered"}}
	if err := dg.InteractionRespond(i.Interaction, upd); err != nil {
		t.Fatal(err)
	}
	m, _ := s.Message(TeamChannelID, mid)
	if m.Content != "Q — answered" || len(m.Edits) != 1 {
		t.Fatalf("team message %+v", m.Message)
	}
	// A modal with a 4001 max length is refused.
	_, _ = s.Interact(ctx, Command("x"))
	i = recv(t, ctx, ints)
	modal.Data.Components = []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.TextInput{CustomID: "text", Label: "Answer", Style: discordgo.TextInputParagraph, MaxLength: 4001},
	}}}
	err := dg.InteractionRespond(i.Interaction, modal)
	wantCode(t, err, 400, 50035)
	var re *discordgo.RESTError
	_ = asErr(err, &re)
	var body struct {
		Errors map[string]any `json:"errors"`
	}
	_ = json.Unmarshal(re.ResponseBody, &body)
	if body.Errors["data"] == nil {
		t.Errorf("errors %s", re.ResponseBody)
	}
}

func TestInteractWithoutGateway(t *testing.T) {
	s := New(t)
	if _, err := s.Interact(testCtx(t), Command("x")); err == nil {
		t.Fatal("Interact without a connection succeeded")
	}
	if err := s.Dispatch("X", nil); err == nil {
		t.Fatal("Dispatch without a session succeeded")
	}
}

func ptr[T any](v T) *T { return &v }
