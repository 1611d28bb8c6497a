package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/commands"
)

// Texts the router answers with itself.
const (
	msgNotHere = "This bot is not available here."
	msgUnknown = "Unknown command. It may have been removed; please try again in a moment."
)

// DefaultHandlerTimeout bounds one handler (the interaction token itself is
// valid 15 minutes; a handler that defers has that long to edit its answer).
const DefaultHandlerTimeout = 2 * time.Minute

// replyTimeout bounds the router's own answers (refusals, error messages).
const replyTimeout = 5 * time.Second

// Discord JSON error codes the router reacts to.
const errCodeAlreadyAcknowledged = 40060

// Router sends each interaction to the handler that owns it: commands (type
// 2) and autocomplete (type 4) by command name, component clicks (3) and
// modal submits (5) by custom_id prefix. It answers what no handler can:
// interactions from another guild or a DM, unknown names, handler errors and
// panics. It is safe for concurrent use; each interaction runs in the
// caller's goroutine (discordgo gives every event its own), so nothing
// queues behind a slow handler.
type Router struct {
	resp    commands.Responder
	log     *slog.Logger
	timeout time.Duration

	cmds       map[string]commands.Command
	components []componentRoute // longest key first

	mu      sync.RWMutex
	guildID string

	inflight sync.WaitGroup
}

type componentRoute struct {
	key     string
	command string
	handle  commands.HandlerFunc
}

// NewRouter returns a router for cmds answering through r. guildID is the
// only guild whose interactions are served ("" serves every guild until
// SetGuild; DMs are always refused). Duplicate command names or component
// keys are a programming error and panic.
func NewRouter(cmds []commands.Command, guildID string, r commands.Responder, log *slog.Logger) *Router {
	if log == nil {
		log = slog.Default()
	}
	rt := &Router{
		resp:    r,
		log:     log,
		timeout: DefaultHandlerTimeout,
		cmds:    make(map[string]commands.Command, len(cmds)),
		guildID: guildID,
	}
	seen := map[string]bool{}
	for _, c := range cmds {
		if c.Definition == nil {
			panic("bot: command without a definition")
		}
		name := c.Definition.Name
		if _, dup := rt.cmds[name]; dup {
			panic("bot: duplicate command " + name)
		}
		rt.cmds[name] = c
		for key, h := range c.Components {
			if seen[key] || key == "" {
				panic(fmt.Sprintf("bot: duplicate or empty component key %q", key))
			}
			seen[key] = true
			rt.components = append(rt.components, componentRoute{key: key, command: name, handle: h})
		}
	}
	sort.Slice(rt.components, func(i, j int) bool {
		if len(rt.components[i].key) != len(rt.components[j].key) {
			return len(rt.components[i].key) > len(rt.components[j].key)
		}
		return rt.components[i].key < rt.components[j].key
	})
	return rt
}

// SetGuild sets the one guild whose interactions are served.
func (r *Router) SetGuild(guildID string) {
	r.mu.Lock()
	r.guildID = guildID
	r.mu.Unlock()
}

// SetHandlerTimeout changes the per-handler timeout (DefaultHandlerTimeout).
func (r *Router) SetHandlerTimeout(d time.Duration) {
	if d > 0 {
		r.timeout = d
	}
}

// Wait blocks until every handler in flight has returned, or ctx is done.
func (r *Router) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { r.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dispatch is what Handle decided for one interaction.
type dispatch struct {
	label   string // metric label and log "command": bounded by the definitions
	handle  commands.HandlerFunc
	kind    discordgo.InteractionType
	refused bool
}

// Handle answers one interaction. It never panics and never returns an
// error: failures are answered to the member and logged here.
func (r *Router) Handle(ctx context.Context, i *discordgo.InteractionCreate) {
	if i == nil || i.Interaction == nil {
		return
	}
	start := time.Now()
	r.inflight.Add(1)
	defer r.inflight.Done()

	rt := r.resolve(i)
	log := r.log.With("interaction_id", i.ID, "command", rt.label, "user_id", interactionUserID(i))
	outcome := "ok"
	defer func() {
		interactionsTotal.WithLabelValues(rt.label, outcome).Inc()
		interactionSeconds.WithLabelValues(rt.label).Observe(time.Since(start).Seconds())
	}()

	switch {
	case rt.kind == discordgo.InteractionPing:
		outcome = "ignored"
		return
	case rt.refused:
		outcome = "refused"
		log.Info("interaction refused: not from the bot's guild", "guild_id", i.GuildID)
		r.refuse(ctx, i, rt.kind, msgNotHere, log)
		return
	case rt.handle == nil:
		outcome = "unknown"
		log.Warn("interaction for an unknown command or component", "name", rawName(i))
		r.refuse(ctx, i, rt.kind, msgUnknown, log)
		return
	}

	hctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	err := r.call(hctx, rt.handle, i)
	if err == nil {
		return
	}
	var pe *panicError
	var ue *commands.UserError
	switch {
	case errors.As(err, &pe):
		outcome = "panic"
		log.Error("interaction handler panicked", "error", pe.value, "stack", string(pe.stack))
	case errors.As(err, &ue):
		outcome = "user_error"
		log.Info("interaction refused by its handler", "error", err)
	default:
		outcome = "error"
		log.Error("interaction handler failed", "error", err)
	}
	if rt.kind == discordgo.InteractionApplicationCommandAutocomplete {
		r.refuse(ctx, i, rt.kind, "", log)
		return
	}
	r.reportError(ctx, i, rt.kind, commands.UserMessage(err), log)
}

type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

func (r *Router) call(ctx context.Context, h commands.HandlerFunc, i *discordgo.InteractionCreate) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: fmt.Sprint(v), stack: debug.Stack()}
		}
	}()
	return h(ctx, i)
}

func (r *Router) resolve(i *discordgo.InteractionCreate) dispatch {
	rt := dispatch{kind: i.Type, label: "unknown"}
	if i.Type == discordgo.InteractionPing {
		rt.label = "ping"
		return rt
	}
	r.mu.RLock()
	guild := r.guildID
	r.mu.RUnlock()
	name := rawName(i)
	switch i.Type {
	case discordgo.InteractionApplicationCommand, discordgo.InteractionApplicationCommandAutocomplete:
		if c, ok := r.cmds[name]; ok {
			rt.label = name
			if i.Type == discordgo.InteractionApplicationCommand {
				rt.handle = c.Handle
			} else {
				rt.handle = c.Autocomplete
			}
		}
	case discordgo.InteractionMessageComponent, discordgo.InteractionModalSubmit:
		for _, c := range r.components {
			if name == c.key || strings.HasPrefix(name, c.key+":") {
				rt.label = c.command + "/" + c.key
				rt.handle = c.handle
				break
			}
		}
	}
	if i.GuildID == "" || (guild != "" && i.GuildID != guild) {
		rt.refused = true
	}
	return rt
}

// rawName is the command name or custom_id of i ("" when absent).
func rawName(i *discordgo.InteractionCreate) string {
	switch d := i.Data.(type) {
	case discordgo.ApplicationCommandInteractionData:
		return d.Name
	case discordgo.MessageComponentInteractionData:
		return d.CustomID
	case discordgo.ModalSubmitInteractionData:
		return d.CustomID
	}
	return ""
}

func interactionUserID(i *discordgo.InteractionCreate) string {
	switch {
	case i.Member != nil && i.Member.User != nil:
		return i.Member.User.ID
	case i.User != nil:
		return i.User.ID
	}
	return ""
}

// replyContext keeps the values of ctx but not its end: the member must
// hear back even when the handler ran out of time.
func replyContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), replyTimeout)
}

// refuse answers an interaction no handler took: an ephemeral message, or
// empty choices for autocomplete.
func (r *Router) refuse(ctx context.Context, i *discordgo.InteractionCreate, kind discordgo.InteractionType, msg string, log *slog.Logger) {
	rctx, cancel := replyContext(ctx)
	defer cancel()
	resp := commands.Ephemeral(msg)
	if kind == discordgo.InteractionApplicationCommandAutocomplete {
		resp = &discordgo.InteractionResponse{
			Type: discordgo.InteractionApplicationCommandAutocompleteResult,
			Data: &discordgo.InteractionResponseData{Choices: []*discordgo.ApplicationCommandOptionChoice{}},
		}
	}
	if err := r.resp.InteractionRespond(i.Interaction, resp, discordgo.WithContext(rctx)); err != nil {
		log.Warn("cannot answer interaction", "error", err)
	}
}

// reportError tells the member that their interaction failed. It answers
// the interaction when the handler had not; otherwise it edits a command's
// (deferred) original answer, or sends an ephemeral follow-up for a
// component or modal (whose original is the message holding the buttons,
// which must stay as it is).
func (r *Router) reportError(ctx context.Context, i *discordgo.InteractionCreate, kind discordgo.InteractionType, msg string, log *slog.Logger) {
	rctx, cancel := replyContext(ctx)
	defer cancel()
	err := r.resp.InteractionRespond(i.Interaction, commands.Ephemeral(msg), discordgo.WithContext(rctx))
	if err == nil {
		return
	}
	if !isAlreadyAcknowledged(err) {
		log.Warn("cannot tell the member about the failure", "error", err)
		return
	}
	if kind == discordgo.InteractionApplicationCommand {
		_, err = r.resp.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{
			Content:         &msg,
			Embeds:          &[]*discordgo.MessageEmbed{},
			Components:      &[]discordgo.MessageComponent{},
			AllowedMentions: commands.NoMentions(),
		}, discordgo.WithContext(rctx))
		if err == nil {
			return
		}
	}
	_, err = r.resp.FollowupMessageCreate(i.Interaction, false, &discordgo.WebhookParams{
		Content:         msg,
		Flags:           discordgo.MessageFlagsEphemeral,
		AllowedMentions: commands.NoMentions(),
	}, discordgo.WithContext(rctx))
	if err != nil {
		log.Warn("cannot tell the member about the failure", "error", err)
	}
}

func isAlreadyAcknowledged(err error) bool {
	var re *discordgo.RESTError
	return errors.As(err, &re) && re.Message != nil && re.Message.Code == errCodeAlreadyAcknowledged
}

// RegisterCommands makes Discord's slash commands for appID (in guildID, or
// global when "") exactly defs, with one bulk overwrite (so removed commands
// disappear), and only when the registered set differs from defs by name,
// type, description, options, default member permissions, NSFW or contexts.
// Global commands are made guild-only (contexts [guild], no DMs). It reports
// whether it wrote.
func RegisterCommands(ctx context.Context, s *discordgo.Session, appID, guildID string, defs []*discordgo.ApplicationCommand) (changed bool, err error) {
	want := make([]*discordgo.ApplicationCommand, 0, len(defs))
	for _, d := range defs {
		c := *d
		c.ID, c.ApplicationID, c.GuildID, c.Version = "", "", "", ""
		if guildID == "" {
			c.Contexts = &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild}
			no := false
			c.DMPermission = &no
		} else {
			// Contexts and DM permission apply to global commands only;
			// Discord may answer null for them on guild commands, which
			// would make every start overwrite.
			c.Contexts, c.DMPermission = nil, nil
		}
		if c.Options == nil {
			c.Options = []*discordgo.ApplicationCommandOption{}
		}
		want = append(want, &c)
	}
	have, err := s.ApplicationCommands(appID, guildID, discordgo.WithContext(ctx))
	var re *discordgo.RESTError
	switch {
	case err == nil:
		if SameCommands(want, have) && contextsSet(want, have) {
			return false, nil
		}
	case errors.As(err, &re) && re.Response != nil && re.Response.StatusCode != http.StatusUnauthorized:
		// Cannot compare (a proxy without the list route, a hiccup): the
		// overwrite is idempotent, so write.
	default:
		return false, fmt.Errorf("discord: listing slash commands: %w", err)
	}
	if _, err := s.ApplicationCommandBulkOverwrite(appID, guildID, want, discordgo.WithContext(ctx)); err != nil {
		return false, fmt.Errorf("discord: registering slash commands: %w", err)
	}
	commandRegistrations.Inc()
	return true, nil
}

// SameCommands reports whether two lists of commands (definitions and what
// Discord has registered, in either order) agree by name, type, description,
// options, default member permissions and NSFW, ignoring ids, versions and
// order. Contexts are compared only when both sides set them: definitions
// usually leave them to RegisterCommands.
func SameCommands(want, have []*discordgo.ApplicationCommand) bool {
	if len(want) != len(have) {
		return false
	}
	byName := make(map[string]*discordgo.ApplicationCommand, len(have))
	for _, h := range have {
		if h == nil {
			return false
		}
		byName[canonType(h.Type)+"/"+h.Name] = h
	}
	for _, w := range want {
		h, ok := byName[canonType(w.Type)+"/"+w.Name]
		if !ok || !sameCommand(w, h) {
			return false
		}
	}
	return true
}

// contextsSet reports whether every command of want that sets contexts is
// registered with contexts too (SameCommands skips a side without them).
func contextsSet(want, have []*discordgo.ApplicationCommand) bool {
	set := map[string]bool{}
	for _, h := range have {
		set[canonType(h.Type)+"/"+h.Name] = h.Contexts != nil
	}
	for _, w := range want {
		if w.Contexts != nil && !set[canonType(w.Type)+"/"+w.Name] {
			return false
		}
	}
	return true
}

func canonType(t discordgo.ApplicationCommandType) string {
	if t == 0 {
		t = discordgo.ChatApplicationCommand
	}
	return fmt.Sprint(int(t))
}

func sameCommand(w, h *discordgo.ApplicationCommand) bool {
	if w.Description != h.Description || boolOf(w.NSFW) != boolOf(h.NSFW) {
		return false
	}
	if permsOf(w.DefaultMemberPermissions) != permsOf(h.DefaultMemberPermissions) {
		return false
	}
	if w.Contexts != nil && h.Contexts != nil && !sameContexts(*w.Contexts, h.Contexts) {
		return false
	}
	return reflect.DeepEqual(canonOptions(w.Options), canonOptions(h.Options))
}

func boolOf(b *bool) bool { return b != nil && *b }

func permsOf(p *int64) string {
	if p == nil {
		return ""
	}
	return fmt.Sprint(*p)
}

func sameContexts(w []discordgo.InteractionContextType, h *[]discordgo.InteractionContextType) bool {
	hv := *h
	set := func(v []discordgo.InteractionContextType) map[discordgo.InteractionContextType]bool {
		m := map[discordgo.InteractionContextType]bool{}
		for _, c := range v {
			m[c] = true
		}
		return m
	}
	return reflect.DeepEqual(set(w), set(hv))
}

// canonOption is an option as Discord stores it: empty and absent agree.
type canonOption struct {
	Type         int
	Name, Desc   string
	Required     bool
	Autocomplete bool
	Choices      []string
	ChannelTypes []int
	MinValue     string
	MaxValue     float64
	MinLength    int
	MaxLength    int
	Options      []canonOption
}

func canonOptions(opts []*discordgo.ApplicationCommandOption) []canonOption {
	out := make([]canonOption, 0, len(opts))
	for _, o := range opts {
		if o == nil {
			continue
		}
		c := canonOption{
			Type: int(o.Type), Name: o.Name, Desc: o.Description,
			Required: o.Required, Autocomplete: o.Autocomplete,
			MaxValue: o.MaxValue, MaxLength: o.MaxLength,
			Options: canonOptions(o.Options),
		}
		for _, ch := range o.Choices {
			if ch != nil {
				c.Choices = append(c.Choices, ch.Name+"="+fmt.Sprint(ch.Value))
			}
		}
		for _, t := range o.ChannelTypes {
			c.ChannelTypes = append(c.ChannelTypes, int(t))
		}
		sort.Ints(c.ChannelTypes)
		if o.MinValue != nil {
			c.MinValue = fmt.Sprint(*o.MinValue)
		}
		if o.MinLength != nil {
			c.MinLength = *o.MinLength
		}
		out = append(out, c)
	}
	return out
}
