package bot

// Interactions over HTTP against the in-repo fake Discord: it POSTs signed
// interactions to the endpoint and takes the HTTP answer as the callback;
// edits and follow-ups go to its webhook routes through discordgo.

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/commands"
	"github.com/newsbot/newsbot/internal/discordtest"
	"github.com/newsbot/newsbot/internal/testutil"
)

type httpFake struct {
	srv     *discordtest.Server
	release chan struct{} // closing it lets the slow handlers answer
	second  chan error    // what a second answer of "twice" got
	logs    *testutil.Buffer
}

// newHTTPFake serves test commands at an endpoint the fake delivers to;
// handlers that take longer than deferAfter are answered deferred.
func newHTTPFake(t *testing.T, deferAfter time.Duration) *httpFake {
	t.Helper()
	f := &httpFake{srv: discordtest.New(t), release: make(chan struct{}), second: make(chan error, 1), logs: &testutil.Buffer{}}
	s, err := discordgo.New("Bot " + discordtest.Token)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = f.srv.HTTPClient() // no discordgo global is touched
	resp := NewHTTPResponder(s)
	wait := func(ctx context.Context) error {
		select {
		case <-f.release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	respond := func(ctx context.Context, i *discordgo.InteractionCreate, r *discordgo.InteractionResponse) error {
		return resp.InteractionRespond(i.Interaction, r, discordgo.WithContext(ctx))
	}
	cmd := func(name string, h commands.HandlerFunc) commands.Command {
		return commands.Command{Definition: &discordgo.ApplicationCommand{Name: name, Description: name}, Handle: h}
	}
	cmds := []commands.Command{
		cmd("quick", func(ctx context.Context, i *discordgo.InteractionCreate) error {
			return respond(ctx, i, commands.Ephemeral("pong"))
		}),
		cmd("twice", func(ctx context.Context, i *discordgo.InteractionCreate) error {
			if err := respond(ctx, i, commands.Ephemeral("first")); err != nil {
				return err
			}
			f.second <- respond(ctx, i, commands.Ephemeral("second"))
			return nil
		}),
		cmd("fail", func(context.Context, *discordgo.InteractionCreate) error { return errors.New("disk full") }),
		cmd("slow", func(ctx context.Context, i *discordgo.InteractionCreate) error {
			if err := wait(ctx); err != nil {
				return err
			}
			return respond(ctx, i, commands.Ephemeral("late answer"))
		}),
		cmd("slowpublic", func(ctx context.Context, i *discordgo.InteractionCreate) error {
			if err := wait(ctx); err != nil {
				return err
			}
			return respond(ctx, i, &discordgo.InteractionResponse{
				Type: discordgo.InteractionResponseChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{Content: "for everyone", AllowedMentions: commands.NoMentions()},
			})
		}),
		{
			Definition: &discordgo.ApplicationCommand{Name: "knobs", Description: "knobs"},
			Components: map[string]commands.HandlerFunc{
				"knob": func(ctx context.Context, i *discordgo.InteractionCreate) error {
					if err := wait(ctx); err != nil {
						return err
					}
					return respond(ctx, i, &discordgo.InteractionResponse{
						Type: discordgo.InteractionResponseUpdateMessage,
						Data: &discordgo.InteractionResponseData{Content: "updated", Components: []discordgo.MessageComponent{}},
					})
				},
				"think": func(ctx context.Context, i *discordgo.InteractionCreate) error {
					if err := wait(ctx); err != nil {
						return err
					}
					if err := respond(ctx, i, &discordgo.InteractionResponse{
						Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
						Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
					}); err != nil {
						return err
					}
					for _, msg := range []string{"working", "done"} {
						if _, err := resp.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &msg}, discordgo.WithContext(ctx)); err != nil {
							return err
						}
					}
					return nil
				},
			},
		},
	}
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	router := NewRouter(cmds, discordtest.GuildID, resp, log)
	key, err := hex.DecodeString(f.srv.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	ix := NewHTTPInteractions(HTTPInteractionsOptions{PublicKey: key, Responder: resp, Handler: router, Log: log, DeferAfter: deferAfter})
	mux := http.NewServeMux()
	mux.Handle(InteractionsPath, ix)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		select {
		case <-f.release:
		default:
			close(f.release)
		}
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ix.Close(ctx); err != nil {
			t.Errorf("handlers still running: %v", err)
		}
	})
	f.srv.SetInteractionsEndpoint(hs.URL + InteractionsPath)
	return f
}

func (f *httpFake) interact(t *testing.T, ctx context.Context, spec discordtest.InteractionSpec, opts ...discordtest.SpecOption) string {
	t.Helper()
	it, err := f.srv.Interact(ctx, spec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return it.ID
}

// onlyAnswer checks that id was answered once, by its HTTP delivery, with
// a response of type want, and returns the response.
func (f *httpFake) onlyAnswer(t *testing.T, ctx context.Context, id string, want discordgo.InteractionResponseType) *discordtest.Response {
	t.Helper()
	d, err := f.srv.WaitDelivered(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ex, _ := f.srv.Exchange(id)
	if d.Status != http.StatusOK || !d.Accepted || ex.Response == nil || len(ex.Refused) != 0 {
		t.Fatalf("delivery %d accepted=%v %q, refused %+v", d.Status, d.Accepted, d.Answer, ex.Refused)
	}
	if ex.Response.Type != want {
		t.Fatalf("answered with type %d, want %d: %s", ex.Response.Type, want, ex.Response.Raw)
	}
	return ex.Response
}

func TestHTTPInteractionAnsweredInResponse(t *testing.T) {
	f := newHTTPFake(t, time.Minute)
	ctx := testCtx(t)

	id := f.interact(t, ctx, discordtest.Command("quick"))
	r := f.onlyAnswer(t, ctx, id, discordgo.InteractionResponseChannelMessageWithSource)
	if r.Content() != "pong" || !r.Ephemeral() {
		t.Errorf("answer %s", r.Raw)
	}

	// A second answer fails as Discord's callback route would.
	id = f.interact(t, ctx, discordtest.Command("twice"))
	r = f.onlyAnswer(t, ctx, id, discordgo.InteractionResponseChannelMessageWithSource)
	if r.Content() != "first" {
		t.Errorf("answer %s", r.Raw)
	}
	if err := <-f.second; !isAlreadyAcknowledged(err) {
		t.Errorf("second answer: %v, want 40060", err)
	}

	// A failing handler: the router's apology is the HTTP answer.
	id = f.interact(t, ctx, discordtest.Command("fail"))
	r = f.onlyAnswer(t, ctx, id, discordgo.InteractionResponseChannelMessageWithSource)
	if r.Content() != commands.UserMessage(errors.New("x")) || !r.Ephemeral() {
		t.Errorf("answer %s", r.Raw)
	}

	// Another guild: refused in the HTTP answer, as over the gateway.
	id = f.interact(t, ctx, discordtest.Command("quick"), discordtest.InGuild("999"))
	if r = f.onlyAnswer(t, ctx, id, discordgo.InteractionResponseChannelMessageWithSource); r.Content() != msgNotHere {
		t.Errorf("answer %s", r.Raw)
	}
}

func TestHTTPInteractionSlowHandlerDeferred(t *testing.T) {
	f := newHTTPFake(t, 10*time.Millisecond)
	ctx := testCtx(t)
	msgID := f.srv.AddMessage(discordtest.GeneralChannelID, discordgo.Message{Content: "panel"})

	slow := f.interact(t, ctx, discordtest.Command("slow"))
	public := f.interact(t, ctx, discordtest.Command("slowpublic"))
	knob := f.interact(t, ctx, discordtest.Button("knob", msgID))
	think := f.interact(t, ctx, discordtest.Button("think", msgID))
	// Every one is answered deferred while its handler still waits.
	for _, id := range []string{slow, public} {
		if r := f.onlyAnswer(t, ctx, id, discordgo.InteractionResponseDeferredChannelMessageWithSource); !r.Ephemeral() {
			t.Errorf("deferral %s not ephemeral", r.Raw)
		}
	}
	f.onlyAnswer(t, ctx, knob, discordgo.InteractionResponseDeferredMessageUpdate)
	f.onlyAnswer(t, ctx, think, discordgo.InteractionResponseDeferredMessageUpdate)
	close(f.release)

	// The ephemeral answer edits the deferred original.
	if _, err := f.srv.WaitExchange(ctx, slow, func(e discordtest.Exchange) bool {
		return e.Original != nil && e.Original.Content == "late answer" && e.Original.Flags&discordgo.MessageFlagsLoading == 0
	}); err != nil {
		t.Fatalf("slow: %v", err)
	}
	// The public one is a public follow-up; the ephemeral placeholder goes.
	ex, err := f.srv.WaitExchange(ctx, public, func(e discordtest.Exchange) bool { return len(e.Followups) == 1 && e.Original == nil })
	if err != nil {
		t.Fatalf("slowpublic: %v", err)
	}
	if fu := ex.Followups[0]; fu.Content != "for everyone" || fu.Flags&discordgo.MessageFlagsEphemeral != 0 {
		t.Errorf("follow-up %+v", fu)
	}
	// An update after a deferred update edits the component's message.
	if _, err := f.srv.WaitExchange(ctx, knob, func(e discordtest.Exchange) bool {
		return e.Original != nil && e.Original.ID == msgID && e.Original.Content == "updated"
	}); err != nil {
		t.Fatalf("knob: %v", err)
	}
	// A handler that defers and edits its original after a deferred
	// update gets one ephemeral follow-up, edited; the panel is untouched.
	ex, err = f.srv.WaitExchange(ctx, think, func(e discordtest.Exchange) bool {
		return len(e.Followups) == 1 && e.Followups[0].Content == "done"
	})
	if err != nil {
		t.Fatalf("think: %v", err)
	}
	if ex.Followups[0].Flags&discordgo.MessageFlagsEphemeral == 0 {
		t.Error("think: follow-up not ephemeral")
	}
	for _, m := range f.srv.Messages(discordtest.GeneralChannelID) {
		if m.ID == msgID && m.Content != "updated" {
			t.Errorf("panel %q changed by think", m.Content)
		}
	}
}
