package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bwmarrin/discordgo"
	dto "github.com/prometheus/client_model/go"

	"github.com/newsbot/newsbot/commands"
)

// recorder is a commands.Responder that records what it is asked to send.
type recorder struct {
	mu         sync.Mutex
	responses  []*discordgo.InteractionResponse
	edits      []*discordgo.WebhookEdit
	followups  []*discordgo.WebhookParams
	respondErr error // returned by InteractionRespond (after recording)
}

func (r *recorder) InteractionRespond(_ *discordgo.Interaction, resp *discordgo.InteractionResponse, _ ...discordgo.RequestOption) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.responses = append(r.responses, resp)
	return r.respondErr
}

func (r *recorder) InteractionResponseEdit(_ *discordgo.Interaction, e *discordgo.WebhookEdit, _ ...discordgo.RequestOption) (*discordgo.Message, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.edits = append(r.edits, e)
	return &discordgo.Message{}, nil
}

func (r *recorder) FollowupMessageCreate(_ *discordgo.Interaction, _ bool, p *discordgo.WebhookParams, _ ...discordgo.RequestOption) (*discordgo.Message, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.followups = append(r.followups, p)
	return &discordgo.Message{}, nil
}

func loadInteraction(t *testing.T, name string) *discordgo.InteractionCreate {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "interactions", name))
	if err != nil {
		t.Fatal(err)
	}
	var i discordgo.InteractionCreate
	if err := json.Unmarshal(b, &i); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &i
}

var errAcked = &discordgo.RESTError{
	Response: &http.Response{StatusCode: 400},
	Message:  &discordgo.APIErrorMessage{Code: 40060, Message: "Interaction has already been acknowledged."},
}

// echoCommand is a test command whose handlers record which of them ran and
// behave as told by the test.
type echoCommand struct {
	mu    sync.Mutex
	calls []string
	fail  error // returned by every handler
	panic bool
	resp  commands.Responder
}

func (e *echoCommand) handler(name string) commands.HandlerFunc {
	return func(ctx context.Context, i *discordgo.InteractionCreate) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("handler context without deadline")
		}
		e.mu.Lock()
		e.calls = append(e.calls, name)
		fail, pan := e.fail, e.panic
		e.mu.Unlock()
		if pan {
			panic("boom in " + name)
		}
		if fail != nil {
			return fail
		}
		return e.resp.InteractionRespond(i.Interaction, commands.Ephemeral("handled by "+name))
	}
}

func (e *echoCommand) command() commands.Command {
	return commands.Command{
		Definition:   &discordgo.ApplicationCommand{Name: "echo", Description: "Echo text."},
		Handle:       e.handler("handle"),
		Autocomplete: e.handler("autocomplete"),
		Components: map[string]commands.HandlerFunc{
			"echo":        e.handler("component:echo"),
			"echo:reply":  e.handler("component:echo:reply"),
			"echo:answer": e.handler("component:echo:answer"),
		},
	}
}

func newTestRouter(t *testing.T, rec *recorder, cmds ...commands.Command) (*Router, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return NewRouter(cmds, "300", rec, log), &logs
}

func counterValue(t *testing.T, command, outcome string) float64 {
	t.Helper()
	var m dto.Metric
	if err := interactionsTotal.WithLabelValues(command, outcome).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestRouterRoutes(t *testing.T) {
	tests := []struct {
		file      string
		wantCall  string // "" when no handler may run
		wantReply string // content of the single response
		respType  discordgo.InteractionResponseType
		label     string
		outcome   string
	}{
		{"command.json", "handle", "handled by handle", discordgo.InteractionResponseChannelMessageWithSource, "echo", "ok"},
		{"autocomplete.json", "autocomplete", "handled by autocomplete", discordgo.InteractionResponseChannelMessageWithSource, "echo", "ok"},
		{"button.json", "component:echo:reply", "handled by component:echo:reply", discordgo.InteractionResponseChannelMessageWithSource, "echo/echo:reply", "ok"},
		{"modal.json", "component:echo:answer", "handled by component:echo:answer", discordgo.InteractionResponseChannelMessageWithSource, "echo/echo:answer", "ok"},
		{"dm_command.json", "", msgNotHere, discordgo.InteractionResponseChannelMessageWithSource, "echo", "refused"},
		{"other_guild_command.json", "", msgNotHere, discordgo.InteractionResponseChannelMessageWithSource, "echo", "refused"},
		{"other_guild_autocomplete.json", "", "", discordgo.InteractionApplicationCommandAutocompleteResult, "echo", "refused"},
		{"unknown_command.json", "", msgUnknown, discordgo.InteractionResponseChannelMessageWithSource, "unknown", "unknown"},
		{"unknown_button.json", "", msgUnknown, discordgo.InteractionResponseChannelMessageWithSource, "unknown", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rec := &recorder{}
			cmd := &echoCommand{resp: rec}
			r, logs := newTestRouter(t, rec, cmd.command())
			before := counterValue(t, tt.label, tt.outcome)
			r.Handle(context.Background(), loadInteraction(t, tt.file))

			if tt.wantCall == "" && len(cmd.calls) != 0 {
				t.Errorf("handlers ran: %v", cmd.calls)
			}
			if tt.wantCall != "" && (len(cmd.calls) != 1 || cmd.calls[0] != tt.wantCall) {
				t.Errorf("handlers ran: %v, want [%s]", cmd.calls, tt.wantCall)
			}
			if len(rec.responses) != 1 {
				t.Fatalf("%d responses, want 1", len(rec.responses))
			}
			resp := rec.responses[0]
			if resp.Type != tt.respType {
				t.Errorf("response type %d, want %d", resp.Type, tt.respType)
			}
			if resp.Type == discordgo.InteractionApplicationCommandAutocompleteResult {
				// discordgo omits an empty choices list; Discord reads that as none.
				if resp.Data == nil || len(resp.Data.Choices) != 0 {
					t.Errorf("autocomplete refusal: %+v, want no choices", resp.Data)
				}
			} else {
				if resp.Data.Content != tt.wantReply || resp.Data.Flags&discordgo.MessageFlagsEphemeral == 0 {
					t.Errorf("reply %q flags %d, want ephemeral %q", resp.Data.Content, resp.Data.Flags, tt.wantReply)
				}
				if resp.Data.AllowedMentions == nil || resp.Data.AllowedMentions.Parse == nil {
					t.Error("reply without allowed_mentions")
				}
			}
			if got := counterValue(t, tt.label, tt.outcome); got != before+1 {
				t.Errorf("counter %s/%s = %v, want %v", tt.label, tt.outcome, got, before+1)
			}
			if tt.outcome == "unknown" && !strings.Contains(logs.String(), `"level":"WARN"`) {
				t.Errorf("unknown interaction not logged as a warning: %s", logs.String())
			}
		})
	}
}

func TestRouterErrors(t *testing.T) {
	generic := commands.UserMessage(errors.New("x"))
	tests := []struct {
		name      string
		file      string
		fail      error
		panic     bool
		acked     bool
		wantText  string
		wantVia   string // respond, edit, followup
		outcome   string
		wantLevel string
	}{
		{"error before answering", "command.json", errors.New("db: disk full"), false, false, generic, "respond", "error", "ERROR"},
		{"user error shows its text", "command.json", commands.Userf("That question is empty."), false, false, "That question is empty.", "respond", "user_error", "INFO"},
		{"wrapped user error", "command.json", fmt.Errorf("ask: %w", commands.Userf("Slow down.")), false, false, "Slow down.", "respond", "user_error", "INFO"},
		{"panic is recovered", "command.json", nil, true, false, generic, "respond", "panic", "ERROR"},
		{"error after a deferred command edits the original", "command.json", errors.New("late"), false, true, generic, "edit", "error", "ERROR"},
		{"error after a component ack sends a follow-up", "button.json", errors.New("late"), false, true, generic, "followup", "error", "ERROR"},
		{"panic in a modal after ack sends a follow-up", "modal.json", nil, true, true, generic, "followup", "panic", "ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			if tt.acked {
				rec.respondErr = errAcked
			}
			cmd := &echoCommand{resp: rec, fail: tt.fail, panic: tt.panic}
			r, logs := newTestRouter(t, rec, cmd.command())
			i := loadInteraction(t, tt.file)
			r.Handle(context.Background(), i)

			var got string
			switch tt.wantVia {
			case "respond":
				if len(rec.responses) != 1 || len(rec.edits)+len(rec.followups) != 0 {
					t.Fatalf("responses %d edits %d followups %d", len(rec.responses), len(rec.edits), len(rec.followups))
				}
				got = rec.responses[0].Data.Content
				if rec.responses[0].Data.Flags&discordgo.MessageFlagsEphemeral == 0 {
					t.Error("error reply is not ephemeral")
				}
			case "edit":
				if len(rec.edits) != 1 || len(rec.followups) != 0 {
					t.Fatalf("edits %d followups %d", len(rec.edits), len(rec.followups))
				}
				got = *rec.edits[0].Content
			case "followup":
				if len(rec.edits) != 0 || len(rec.followups) != 1 {
					t.Fatalf("edits %d followups %d", len(rec.edits), len(rec.followups))
				}
				got = rec.followups[0].Content
				if rec.followups[0].Flags&discordgo.MessageFlagsEphemeral == 0 {
					t.Error("follow-up is not ephemeral")
				}
			}
			if got != tt.wantText {
				t.Errorf("member saw %q, want %q", got, tt.wantText)
			}
			var entry map[string]any
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var e map[string]any
				if json.Unmarshal([]byte(line), &e) == nil && e["interaction_id"] == i.ID {
					entry = e
				}
			}
			if entry == nil {
				t.Fatalf("no log line with interaction_id %s: %s", i.ID, logs.String())
			}
			if entry["level"] != tt.wantLevel || entry["command"] == nil || entry["error"] == nil {
				t.Errorf("log entry %v, want level %s with command and error", entry, tt.wantLevel)
			}
			if tt.panic && !strings.Contains(fmt.Sprint(entry["stack"]), "router_test.go") {
				t.Errorf("panic log without the stack: %v", entry)
			}
		})
	}
}

func TestRouterGuildlessRouterStillRefusesDMs(t *testing.T) {
	rec := &recorder{}
	cmd := &echoCommand{resp: rec}
	r := NewRouter([]commands.Command{cmd.command()}, "", rec, slog.New(slog.DiscardHandler))
	r.Handle(context.Background(), loadInteraction(t, "other_guild_command.json"))
	r.Handle(context.Background(), loadInteraction(t, "dm_command.json"))
	if len(cmd.calls) != 1 || len(rec.responses) != 2 || rec.responses[1].Data.Content != msgNotHere {
		t.Errorf("calls %v, responses %d", cmd.calls, len(rec.responses))
	}
	r.SetGuild("300")
	r.Handle(context.Background(), loadInteraction(t, "other_guild_command.json"))
	if len(cmd.calls) != 1 {
		t.Errorf("after SetGuild, another guild was served: %v", cmd.calls)
	}
}

// A slow handler must not delay another interaction.
func TestRouterDoesNotSerialise(t *testing.T) {
	rec := &recorder{}
	release := make(chan struct{})
	started := make(chan struct{})
	slow := commands.Command{
		Definition: &discordgo.ApplicationCommand{Name: "echo", Description: "slow"},
		Handle: func(ctx context.Context, i *discordgo.InteractionCreate) error {
			close(started)
			<-release
			return rec.InteractionRespond(i.Interaction, commands.Ephemeral("slow"))
		},
		Components: map[string]commands.HandlerFunc{
			"echo": func(ctx context.Context, i *discordgo.InteractionCreate) error {
				return rec.InteractionRespond(i.Interaction, commands.Ephemeral("fast"))
			},
		},
	}
	r := NewRouter([]commands.Command{slow}, "300", rec, slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() { r.Handle(context.Background(), loadInteraction(t, "command.json")); close(done) }()
	<-started
	r.Handle(context.Background(), loadInteraction(t, "button.json")) // echo:reply:42 -> "echo"
	rec.mu.Lock()
	n := len(rec.responses)
	rec.mu.Unlock()
	if n != 1 {
		t.Fatalf("fast interaction not answered while the slow one runs (%d responses)", n)
	}
	waitCtx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Wait(waitCtx); err == nil {
		t.Error("Wait returned nil with a handler in flight")
	}
	close(release)
	<-done
	if err := r.Wait(context.Background()); err != nil {
		t.Errorf("Wait: %v", err)
	}
}

func TestNewRouterRejectsDuplicates(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("duplicate component key accepted")
		}
	}()
	a := commands.Command{Definition: &discordgo.ApplicationCommand{Name: "a"}, Components: map[string]commands.HandlerFunc{"k": nil}}
	b := commands.Command{Definition: &discordgo.ApplicationCommand{Name: "b"}, Components: map[string]commands.HandlerFunc{"k": nil}}
	NewRouter([]commands.Command{a, b}, "", &recorder{}, nil)
}
