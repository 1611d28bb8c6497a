package blackbox

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/internal/discordtest"
)

// httpAnswered waits for id's HTTP delivery and requires it to be answered
// 200 and taken as the interaction's one response.
func httpAnswered(t *testing.T, ctx context.Context, fake *discordtest.Server, p *proc, id string) *discordtest.Response {
	t.Helper()
	d, err := fake.WaitDelivered(ctx, id)
	if err != nil {
		t.Fatalf("interaction %s: %v\n%s", id, err, p.stderr.String())
	}
	if d.Status != http.StatusOK || !d.Accepted {
		t.Fatalf("interaction %s answered %d (accepted %v) %s %s\n%s", id, d.Status, d.Accepted, d.Answer, d.Err, p.stderr.String())
	}
	ex, _ := fake.Exchange(id)
	return ex.Response
}

// TestInteractionsOverHTTP: with INTERACTIONS_ADDR (here the same address
// as HTTP_ADDR) the fake Discord POSTs signed interactions to the binary;
// /related and /ask are answered in the HTTP response, once each; Reply
// opens the modal, whose submit delivers the answer; a bad signature or a
// stale timestamp gets 401 and no answer; /healthz is served beside.
func TestInteractionsOverHTTP(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "hx", 4)
	addr := freeAddr(t)
	endpoint := "http://" + addr + "/interactions"
	fake.SetInteractionsEndpoint(endpoint)
	env := botEnv(fake, t.TempDir(), f.url())
	env["HTTP_ADDR"] = addr
	env["INTERACTIONS_ADDR"] = addr
	env["DISCORD_PUBLIC_KEY"] = fake.PublicKey()
	p := startBot(t, fake, env)
	ctx := waitCtx(t, 40*time.Second)

	// As Discord checks the URL before saving it: PING, then a bad signature.
	if err := fake.ValidateEndpoint(ctx, endpoint); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	if status, body, err := healthz(addr); err != nil || status != http.StatusOK {
		t.Errorf("/healthz beside /interactions: %d %s %v", status, body, err)
	}

	var ids []string
	interact := func(spec discordtest.InteractionSpec, opts ...discordtest.SpecOption) string {
		t.Helper()
		in, err := fake.Interact(ctx, spec, opts...)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, in.ID)
		return in.ID
	}

	// /related
	id := interact(discordtest.Command("related", discordtest.Opt("query", "hx story 2")))
	resp := httpAnswered(t, ctx, fake, p, id)
	if resp.Type != discordgo.InteractionResponseChannelMessageWithSource || resp.Data == nil || len(resp.Data.Embeds) != 1 {
		t.Fatalf("/related answered %s", resp.Raw)
	}
	if !strings.Contains(string(resp.Raw), f.link(1)) && !strings.Contains(string(resp.Raw), f.link(3)) {
		t.Errorf("/related lists none of the other stories: %s", resp.Raw)
	}

	// Autocomplete of /related's query: choices in the HTTP answer.
	id = interact(discordtest.Autocomplete("related", discordtest.Focused("query", "hx sto")))
	resp = httpAnswered(t, ctx, fake, p, id)
	if resp.Type != discordgo.InteractionApplicationCommandAutocompleteResult || resp.Data == nil || len(resp.Data.Choices) == 0 {
		t.Fatalf("autocomplete answered %s", resp.Raw)
	}

	// /ask: the confirmation is the HTTP answer; the team gets the question.
	before := len(fake.Messages(discordtest.TeamChannelID))
	id = interact(discordtest.Command("ask", discordtest.Opt("question", "Does it work over HTTP?")),
		discordtest.FromUser(discordtest.MemberUserID, discordtest.MemberUsername))
	resp = httpAnswered(t, ctx, fake, p, id)
	if !resp.Ephemeral() || !strings.Contains(resp.Content(), "#1") {
		t.Fatalf("/ask confirmation %s", resp.Raw)
	}
	team, err := fake.WaitMessages(ctx, discordtest.TeamChannelID, before+1)
	if err != nil {
		t.Fatalf("question not forwarded: %v\n%s", err, p.stderr.String())
	}
	tm := team[before]

	// Reply: the modal is the HTTP answer; its submit delivers by DM.
	reply := button(tm.Raw, "Reply")
	if reply == "" {
		t.Fatalf("no Reply button: %s", tm.Raw)
	}
	teamOpts := []discordtest.SpecOption{discordtest.FromUser(discordtest.TeamUserID, discordtest.TeamUsername),
		discordtest.InChannel(discordtest.TeamChannelID), discordtest.WithRoles(discordtest.TeamRoleID)}
	id = interact(discordtest.Button(reply, tm.ID), teamOpts...)
	resp = httpAnswered(t, ctx, fake, p, id)
	if resp.Type != discordgo.InteractionResponseModal || resp.Data == nil {
		t.Fatalf("Reply answered %s", resp.Raw)
	}
	field := textInput(resp.Raw)
	id = interact(discordtest.ModalSubmit(resp.Data.CustomID, map[string]string{field: "Yes, it does."}),
		append(teamOpts, discordtest.OnMessage(tm.ID))...)
	httpAnswered(t, ctx, fake, p, id)
	if err := fake.WaitFor(ctx, func() bool { return len(fake.DMs(discordtest.MemberUserID)) == 1 }); err != nil {
		t.Fatalf("no DM: %v\n%s", err, p.stderr.String())
	}
	raw, _ := json.Marshal(fake.DMs(discordtest.MemberUserID)[0].Message)
	if !strings.Contains(string(raw), "Yes, it does.") {
		t.Errorf("DM %s", raw)
	}
	// The modal's deferred answer is edited with how it was delivered.
	if _, err := fake.WaitExchange(ctx, id, func(e discordtest.Exchange) bool { return len(e.Edits) > 0 }); err != nil {
		t.Fatalf("modal submit: deferred answer never edited: %v\n%s", err, p.stderr.String())
	}

	// Spoiled deliveries: 401, never handled, never answered.
	var spoiled []string
	for _, opt := range []discordtest.SpecOption{discordtest.BadSignature(), discordtest.StaleTimestamp(10 * time.Minute)} {
		in, err := fake.Interact(ctx, discordtest.Command("ask", discordtest.Opt("question", "forged")), opt)
		if err != nil {
			t.Fatal(err)
		}
		d, err := fake.WaitDelivered(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != http.StatusUnauthorized {
			t.Errorf("spoiled delivery answered %d %s, want 401", d.Status, d.Answer)
		}
		spoiled = append(spoiled, in.ID)
	}

	// Stop, then count: every interaction answered exactly once, none late;
	// the spoiled ones not at all, and no question came of them.
	p.term()
	for _, id := range ids {
		ex, _ := fake.Exchange(id)
		if ex.Response == nil || len(ex.Refused) > 0 || ex.Delivery == nil {
			t.Errorf("interaction %s: response %v, refused %+v, over HTTP %v", id, ex.Response != nil, ex.Refused, ex.Delivery != nil)
		}
	}
	for _, id := range spoiled {
		ex, _ := fake.Exchange(id)
		if ex.Response != nil || len(ex.Followups) > 0 || len(ex.Edits) > 0 {
			t.Errorf("spoiled interaction %s was answered", id)
		}
	}
	if n := len(fake.Messages(discordtest.TeamChannelID)); n != before+1 {
		t.Errorf("%d team messages, want %d: a spoiled /ask was handled", n, before+1)
	}
}

// TestInteractionsOwnAddress: INTERACTIONS_ADDR apart from HTTP_ADDR gets
// its own listener, which serves only /interactions.
func TestInteractionsOwnAddress(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "hy", 1)
	addr, health := freeAddr(t), freeAddr(t)
	endpoint := "http://" + addr + "/interactions"
	fake.SetInteractionsEndpoint(endpoint)
	env := botEnv(fake, t.TempDir(), f.url())
	env["HTTP_ADDR"] = health
	env["INTERACTIONS_ADDR"] = addr
	env["DISCORD_PUBLIC_KEY"] = fake.PublicKey()
	p := startBot(t, fake, env)
	ctx := waitCtx(t, 20*time.Second)
	if err := fake.ValidateEndpoint(ctx, endpoint); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	if status, _, err := healthz(addr); err != nil || status != http.StatusNotFound {
		t.Errorf("/healthz on INTERACTIONS_ADDR: %d %v, want 404", status, err)
	}
	if status, _, err := healthz(health); err != nil || status != http.StatusOK {
		t.Errorf("/healthz on HTTP_ADDR: %d %v", status, err)
	}
	in, err := fake.Interact(ctx, discordtest.Command("related"))
	if err != nil {
		t.Fatal(err)
	}
	httpAnswered(t, ctx, fake, p, in.ID)
	p.term()
}

// TestInteractionsConfigRefused: INTERACTIONS_ADDR without a valid
// DISCORD_PUBLIC_KEY stops the start with one line naming the variable.
func TestInteractionsConfigRefused(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"", "not-a-key"} {
		env := botEnv(nil, t.TempDir(), "https://example.com/feed/")
		env["DISCORD_API_URL"] = "http://127.0.0.1:1/api/v9"
		env["INTERACTIONS_ADDR"] = "127.0.0.1:0"
		env["DISCORD_PUBLIC_KEY"] = key
		code, _, stderr := run(t, env, "run")
		if code == 0 || !strings.Contains(stderr, "DISCORD_PUBLIC_KEY") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("key %q: exit %d, stderr %q", key, code, stderr)
		}
	}
}
