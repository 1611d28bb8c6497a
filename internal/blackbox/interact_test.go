package blackbox

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/internal/discordtest"
)

// startBot runs the bot and waits until it answers interactions: commands
// registered and the first post out.
func startBot(t *testing.T, fake *discordtest.Server, env map[string]string) *proc {
	t.Helper()
	p := start(t, env, "run")
	ctx := waitCtx(t, 20*time.Second)
	if err := fake.WaitFor(ctx, func() bool { return len(fake.Commands("")) == 2 }); err != nil {
		t.Fatalf("commands never registered: %v\n%s", err, p.stderr.String())
	}
	if _, err := fake.WaitMessages(ctx, "400", 1); err != nil {
		t.Fatalf("no first post: %v\n%s", err, p.stderr.String())
	}
	return p
}

// findComponent walks raw JSON (a message or a modal callback) for the first
// component object matching match and returns its custom_id. (The fake's
// decoded Components can come back empty, so the raw body is read.)
func findComponent(raw json.RawMessage, match func(map[string]any) bool) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	var walk func(v any) string
	walk = func(v any) string {
		switch v := v.(type) {
		case map[string]any:
			if _, ok := v["custom_id"]; ok && match(v) {
				id, _ := v["custom_id"].(string)
				return id
			}
			for _, c := range v {
				if id := walk(c); id != "" {
					return id
				}
			}
		case []any:
			for _, c := range v {
				if id := walk(c); id != "" {
					return id
				}
			}
		}
		return ""
	}
	return walk(v)
}

// button finds the custom id of the button labelled label.
func button(raw json.RawMessage, label string) string {
	return findComponent(raw, func(m map[string]any) bool {
		l, _ := m["label"].(string)
		return m["type"] == float64(2) && strings.EqualFold(l, label)
	})
}

// textInput finds the custom id of the first text input of a modal.
func textInput(raw json.RawMessage) string {
	return findComponent(raw, func(m map[string]any) bool { return m["type"] == float64(4) })
}

// TestAsk: a question with @everyone reaches the team without pinging; the
// member gets "#N" in time; Reply opens a modal whose submit reaches the
// member by DM, or, with DMs closed, in a private thread with the member.
func TestAsk(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "ask", 1)
	env := botEnv(fake, t.TempDir(), f.url())
	p := startBot(t, fake, env)
	ctx := waitCtx(t, 30*time.Second)

	ask := func(question string) (discordtest.Message, string) {
		t.Helper()
		before := len(fake.Messages("401"))
		in, err := fake.Interact(ctx, discordtest.Command("ask", discordtest.Opt("question", question)),
			discordtest.FromUser(discordtest.MemberUserID, discordtest.MemberUsername), discordtest.InChannel(discordtest.GeneralChannelID))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := fake.WaitResponse(ctx, in.ID)
		if err != nil {
			t.Fatalf("no confirmation within the deadline: %v\n%s", err, p.stderr.String())
		}
		if !resp.Ephemeral() || !strings.Contains(resp.Content(), "#") {
			t.Fatalf("confirmation %q (ephemeral %v)", resp.Content(), resp.Ephemeral())
		}
		team, err := fake.WaitMessages(ctx, "401", before+1)
		if err != nil {
			t.Fatal(err)
		}
		return team[before], resp.Content()
	}
	answer := func(tm discordtest.Message, text string) {
		t.Helper()
		reply := button(tm.Raw, "Reply")
		if reply == "" {
			t.Fatalf("no Reply button on the team message: %+v\n%s", tm.Components, tm.Raw)
		}
		in, err := fake.Interact(ctx, discordtest.Button(reply, tm.ID),
			discordtest.FromUser(discordtest.TeamUserID, discordtest.TeamUsername), discordtest.InChannel(discordtest.TeamChannelID),
			discordtest.WithRoles(discordtest.TeamRoleID))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := fake.WaitResponse(ctx, in.ID)
		if err != nil {
			t.Fatalf("%v\n%s", err, p.stderr.String())
		}
		if resp.Type != discordgo.InteractionResponseModal || resp.Data == nil {
			t.Fatalf("Reply answered type %d, want a modal", resp.Type)
		}
		field := textInput(resp.Raw)
		if field == "" {
			t.Fatalf("modal without a text input: %s", resp.Raw)
		}
		in, err = fake.Interact(ctx, discordtest.ModalSubmit(resp.Data.CustomID, map[string]string{field: text}),
			discordtest.FromUser(discordtest.TeamUserID, discordtest.TeamUsername), discordtest.InChannel(discordtest.TeamChannelID),
			discordtest.WithRoles(discordtest.TeamRoleID), discordtest.OnMessage(tm.ID))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fake.WaitResponse(ctx, in.ID); err != nil {
			t.Fatalf("modal submit not answered: %v\n%s", err, p.stderr.String())
		}
	}

	tm, conf := ask("When is the next release? @everyone @here <@&320> <@600>")
	if tm.MentionEveryone || len(tm.MentionRoles) > 0 {
		t.Errorf("the question pinged: everyone %v roles %v", tm.MentionEveryone, tm.MentionRoles)
	}
	raw, _ := json.Marshal(tm.Message)
	if !strings.Contains(string(raw), "When is the next release?") {
		t.Errorf("team message lacks the question: %s", raw)
	}
	if !strings.Contains(conf, "#1") {
		t.Errorf("confirmation %q, want #1", conf)
	}
	answer(tm, "Next Tuesday.")
	if err := fake.WaitFor(ctx, func() bool { return len(fake.DMs(discordtest.MemberUserID)) == 1 }); err != nil {
		t.Fatalf("no DM: %v\n%s", err, p.stderr.String())
	}
	dm := fake.DMs(discordtest.MemberUserID)[0]
	raw, _ = json.Marshal(dm.Message)
	if !strings.Contains(string(raw), "Next Tuesday.") || strings.Contains(string(raw), discordtest.TeamUsername) {
		t.Errorf("DM %s", raw)
	}

	// DMs closed: a private thread with the member in the question's channel.
	fake.SetDMsClosed(discordtest.MemberUserID, true)
	tm, _ = ask("Second question, DMs closed")
	answer(tm, "Answer in a thread.")
	var thread discordgo.Channel
	err := fake.WaitFor(ctx, func() bool {
		for _, th := range fake.Threads(discordtest.GeneralChannelID) {
			for _, m := range fake.ThreadMembers(th.ID) {
				if m == discordtest.MemberUserID {
					thread = th
					return len(fake.Messages(th.ID)) > 0
				}
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("no private thread with the member and the answer: threads %+v\n%s", fake.Threads(discordtest.GeneralChannelID), p.stderr.String())
	}
	if thread.Type != discordgo.ChannelTypeGuildPrivateThread {
		t.Errorf("thread type %d, want a private thread", thread.Type)
	}
	raw, _ = json.Marshal(fake.Messages(thread.ID)[0].Message)
	if !strings.Contains(string(raw), "Answer in a thread.") {
		t.Errorf("thread message %s", raw)
	}
	if n := len(fake.DMs(discordtest.MemberUserID)); n != 1 {
		t.Errorf("%d DMs with DMs closed", n)
	}
	p.term()
}

// TestRelatedBurst: 100 /related from 20 members at once, each answered
// exactly once within the fake's deadline.
func TestRelatedBurst(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "burst", 8)
	env := botEnv(fake, t.TempDir(), f.url())
	env["BACKLOG_LIMIT"] = "1"
	p := startBot(t, fake, env)
	ctx := waitCtx(t, 40*time.Second)

	const n = 100
	ids := make([]string, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprint(1000 + i%20)
			q := fmt.Sprintf("burst story %d", i%8+1)
			in, err := fake.Interact(ctx, discordtest.Command("related", discordtest.Opt("query", q)), discordtest.FromUser(user, "user"+user))
			if err != nil {
				errs <- err
				return
			}
			ids[i] = in.ID
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, id := range ids {
		resp, err := fake.WaitResponse(ctx, id)
		if err != nil {
			t.Fatalf("interaction %d not answered: %v\n%s", i, err, p.stderr.String())
		}
		ex, err := fake.WaitExchange(ctx, id, func(e discordtest.Exchange) bool {
			return resp.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || len(e.Edits) > 0
		})
		if err != nil {
			t.Fatalf("interaction %d deferred and never edited: %v", i, err)
		}
		if len(ex.Refused) > 0 {
			t.Errorf("interaction %d: refused callbacks %+v", i, ex.Refused)
		}
	}
	// Nothing else arrives late: stop the bot, then count.
	p.term()
	for i, id := range ids {
		ex, _ := fake.Exchange(id)
		if len(ex.Refused) > 0 || ex.Response == nil {
			t.Errorf("interaction %d: response %v, refused %+v", i, ex.Response != nil, ex.Refused)
		}
	}
}

// TestAskAnswerAfterRestart: the team answers a question asked before a
// restart (buttons carry no in-memory state); a second answer is delivered
// too, after the first.
func TestAskAnswerAfterRestart(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "askrestart", 1)
	env := botEnv(fake, t.TempDir(), f.url())
	p := startBot(t, fake, env)
	ctx := waitCtx(t, 30*time.Second)
	in, err := fake.Interact(ctx, discordtest.Command("ask", discordtest.Opt("question", "Asked before a restart?")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitResponse(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	team, err := fake.WaitMessages(ctx, "401", 1)
	if err != nil {
		t.Fatal(err)
	}
	p.term()

	p = start(t, env, "run")
	if err := fake.WaitIdentified(ctx); err != nil {
		t.Fatal(err)
	}
	for i, text := range []string{"First answer.", "Second answer."} {
		reply := button(team[0].Raw, "Reply")
		in, err := fake.Interact(ctx, discordtest.Button(reply, team[0].ID),
			discordtest.FromUser(discordtest.TeamUserID, discordtest.TeamUsername), discordtest.InChannel("401"), discordtest.WithRoles(discordtest.TeamRoleID))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := fake.WaitResponse(ctx, in.ID)
		if err != nil {
			t.Fatalf("Reply after a restart not answered: %v\n%s", err, p.dump())
		}
		if resp.Type != discordgo.InteractionResponseModal {
			t.Fatalf("Reply after a restart answered %d %s", resp.Type, resp.Raw)
		}
		in, err = fake.Interact(ctx, discordtest.ModalSubmit(resp.Data.CustomID, map[string]string{textInput(resp.Raw): text}),
			discordtest.FromUser(discordtest.TeamUserID, discordtest.TeamUsername), discordtest.InChannel("401"), discordtest.WithRoles(discordtest.TeamRoleID), discordtest.OnMessage(team[0].ID))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fake.WaitResponse(ctx, in.ID); err != nil {
			t.Fatal(err)
		}
		if err := fake.WaitFor(ctx, func() bool { return len(fake.DMs(discordtest.MemberUserID)) == i+1 }); err != nil {
			t.Fatalf("answer %d not delivered: %v\n%s", i+1, err, p.stderr.String())
		}
	}
	p.term()
	dms := fake.DMs(discordtest.MemberUserID)
	if len(dms) != 2 || !strings.Contains(string(dms[0].Raw), "First answer.") || !strings.Contains(string(dms[1].Raw), "Second answer.") {
		t.Errorf("DMs %d: %q", len(dms), titles(dms))
	}
}

// TestRelatedHostileQuery: a /related query that tries to ping is answered
// without pinging anyone.
func TestRelatedHostileQuery(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "relq", 3)
	env := botEnv(fake, t.TempDir(), f.url())
	p := startBot(t, fake, env)
	ctx := waitCtx(t, 20*time.Second)
	for _, q := range []string{"@everyone relq story", "<@&320> @here", strings.Repeat("x", 3000), "https://evil.example/?q=@everyone"} {
		in, err := fake.Interact(ctx, discordtest.Command("related", discordtest.Opt("query", q)))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := fake.WaitResponse(ctx, in.ID)
		if err != nil {
			t.Fatalf("%q not answered: %v\n%s", q, err, p.stderr.String())
		}
		ex, err := fake.WaitExchange(ctx, in.ID, func(e discordtest.Exchange) bool {
			return resp.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || len(e.Edits) > 0
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(ex.Refused) > 0 {
			t.Errorf("%q: refused callbacks %+v", q, ex.Refused)
		}
		if o := ex.Original; o != nil && (o.MentionEveryone || len(o.MentionRoles) > 0 || len(o.Mentions) > 0) {
			t.Errorf("%q: the answer pings: %s", q, resp.Raw)
		}
	}
	p.term()
}

// TestAskCrashExactlyOnce: the team channel creates the question's message
// but the answer is lost, and the process is SIGKILLed: after a restart the
// question is in the team channel once, with its discussion thread.
func TestAskCrashExactlyOnce(t *testing.T) {
	t.Parallel()
	skipShort(t)
	fake := discordtest.New(t)
	f := newFeed(t, "askcrash", 1)
	env := botEnv(fake, t.TempDir(), f.url())
	p := startBot(t, fake, env)
	ctx := waitCtx(t, 40*time.Second)
	fake.AcceptThenFail("POST", "/channels/401/messages", 0)
	in, err := fake.Interact(ctx, discordtest.Command("ask", discordtest.Opt("question", "Lost answer, crash, restart?")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitMessages(ctx, "401", 1); err != nil {
		t.Fatal(err)
	}
	p.kill()
	if ex, _ := fake.Exchange(in.ID); ex.Response != nil && !strings.Contains(ex.Response.Data.Content, "#1") {
		t.Errorf("confirmation %q", ex.Response.Data.Content)
	}

	p = start(t, env, "run")
	err = fake.WaitFor(ctx, func() bool { return len(fake.Threads("401")) > 0 })
	if err != nil {
		t.Fatalf("the restarted bot never finished the forward (no team thread): %v\nteam messages %d\n%s", err, len(fake.Messages("401")), p.stderr.String())
	}
	p.term()
	if n := len(fake.Messages("401")); n != 1 {
		t.Errorf("%d team messages for one question", n)
	}
}

// TestAskAcceptedThen502: the team channel creates the question's message
// and answers 502, with Discord's nonce already forgotten: the question is
// in the team channel once.
func TestAskAcceptedThen502(t *testing.T) {
	t.Parallel()
	skipShort(t)
	fake := discordtest.New(t, discordtest.WithNonceWindow(time.Nanosecond))
	f := newFeed(t, "ask502", 1)
	env := botEnv(fake, t.TempDir(), f.url())
	p := startBot(t, fake, env)
	ctx := waitCtx(t, 30*time.Second)
	fake.AcceptThenFail("POST", "/channels/401/messages", 502)
	in, err := fake.Interact(ctx, discordtest.Command("ask", discordtest.Opt("question", "Accepted then 502?")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitResponse(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	// The forward is done once its discussion thread exists.
	if err := fake.WaitFor(ctx, func() bool { return len(fake.Threads("401")) > 0 }); err != nil {
		t.Fatalf("no team thread: %v\n%s", err, p.stderr.String())
	}
	p.term()
	if n := len(fake.Messages("401")); n != 1 {
		t.Errorf("%d team messages for one question\n%s", n, p.stderr.String())
	}
}
