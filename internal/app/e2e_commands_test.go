package app

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/internal/discordtest"
)

// startBot runs the bot as main does and waits until it answers
// interactions (its commands are registered and the first posts are out).
func startBot(t *testing.T, fake *discordtest.Server, env map[string]string) *syncBuffer {
	t.Helper()
	_, _, stderr := runMain(t, env, "run")
	ctx := waitCtx(t)
	if err := fake.WaitFor(ctx, func() bool { return len(fake.Commands("")) == 2 }); err != nil {
		t.Fatalf("commands never registered: %v\n%s", err, stderr.String())
	}
	if _, err := fake.WaitMessages(ctx, "400", 1); err != nil {
		t.Fatalf("no first post: %v\n%s", err, stderr.String())
	}
	return stderr
}

// TestRelatedThroughMain answers /related and its autocomplete from the
// articles the bot polled.
func TestRelatedThroughMain(t *testing.T) {
	fake := discordtest.New(t)
	feed := newFeedServer(t, 6)
	env := botEnv(fake, t.TempDir(), feed.url())
	stderr := startBot(t, fake, env)
	ctx := waitCtx(t)

	in, err := fake.Interact(ctx, discordtest.Command("related", discordtest.Opt("query", feed.srv.URL+"/story-6/?utm_source=x")))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := fake.WaitResponse(ctx, in.ID)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	raw, _ := json.Marshal(resp)
	body := string(raw)
	if !strings.Contains(body, "Also Read") || !strings.Contains(body, "/story-5/") || strings.Contains(body, "/story-6/") {
		t.Errorf("answer %s", body)
	}

	in, err = fake.Interact(ctx, discordtest.Autocomplete("related", discordtest.Focused("query", "STORY NUMBER")))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = fake.WaitResponse(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = json.Marshal(resp)
	if !strings.Contains(string(raw), "Story number") {
		t.Errorf("autocomplete %s", raw)
	}

	// From a DM: not available here.
	in, err = fake.Interact(ctx, discordtest.Command("related"), discordtest.InDM())
	if err != nil {
		t.Fatal(err)
	}
	resp, err = fake.WaitResponse(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(resp.Content()), "not available") || !resp.Ephemeral() {
		t.Errorf("DM answer %q", resp.Content())
	}
}

// TestAskThroughMain: a question reaches the team channel without pinging
// anyone, the team's answer reaches the member by DM.
func TestAskThroughMain(t *testing.T) {
	fake := discordtest.New(t)
	feed := newFeedServer(t, 1)
	env := botEnv(fake, t.TempDir(), feed.url())
	stderr := startBot(t, fake, env)
	ctx := waitCtx(t)

	question := "Is there a release date? @everyone <@&320> @here"
	in, err := fake.Interact(ctx, discordtest.Command("ask", discordtest.Opt("question", question)),
		discordtest.FromUser(discordtest.MemberUserID, discordtest.MemberUsername))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := fake.WaitResponse(ctx, in.ID)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !resp.Ephemeral() || !strings.Contains(resp.Content(), "#1") {
		t.Fatalf("confirmation %q (ephemeral %v)", resp.Content(), resp.Ephemeral())
	}
	team, err := fake.WaitMessages(ctx, "401", 1)
	if err != nil {
		t.Fatal(err)
	}
	tm := team[0]
	if len(tm.Embeds) == 0 || !strings.Contains(tm.Embeds[0].Description, "Is there a release date?") {
		t.Fatalf("team message %+v", tm.Message)
	}
	if tm.MentionEveryone || len(tm.MentionRoles) > 0 {
		t.Errorf("the question pinged: everyone %v roles %v", tm.MentionEveryone, tm.MentionRoles)
	}

	// The team answers: Reply opens a modal, its submit sends a DM.
	in, err = fake.Interact(ctx, discordtest.Button("ask:reply:1", tm.ID),
		discordtest.FromUser(discordtest.TeamUserID, "teammate"), discordtest.InChannel("401"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = fake.WaitResponse(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Type != discordgo.InteractionResponseModal {
		t.Fatalf("Reply answered type %d, want a modal", resp.Type)
	}
	in, err = fake.Interact(ctx, discordtest.ModalSubmit("ask:answer:1", map[string]string{"answer": "Next Tuesday."}),
		discordtest.FromUser(discordtest.TeamUserID, "teammate"), discordtest.InChannel("401"))
	if err != nil {
		t.Fatal(err)
	}
	if err := fake.WaitFor(ctx, func() bool { return len(fake.DMs(discordtest.MemberUserID)) == 1 }); err != nil {
		t.Fatalf("no DM: %v\n%s", err, stderr.String())
	}
	dm := fake.DMs(discordtest.MemberUserID)[0]
	raw, _ := json.Marshal(dm.Message)
	if !strings.Contains(string(raw), "Next Tuesday.") || strings.Contains(string(raw), "teammate") {
		t.Errorf("DM %s", raw)
	}
}
