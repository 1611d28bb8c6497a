package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"
)

// InteractionSpec describes an interaction to dispatch. Build it with Command,
// Autocomplete, Button, SelectMenu or ModalSubmit, and adjust it with SpecOptions.
// Unset fields get defaults at dispatch: user MemberUserID ("member"), guild GuildID,
// channel GeneralChannelID (a component's channel is its message's), roles and
// permissions from the world.
type InteractionSpec struct {
	Type      discordgo.InteractionType
	Data      any    // marshalled as "data"
	GuildID   string // "" with DM
	ChannelID string
	DM        bool // user instead of member; no guild
	User      discordgo.User
	Roles     []string // the member's roles in the payload; nil: from the world
	// Permissions of the member in the channel ("permissions"); zero means computed
	// from the world.
	Permissions int64
	MessageID   string // the message a component (or a modal opened from one) belongs to
	Locale      string
}

// SpecOption adjusts an InteractionSpec.
type SpecOption func(*InteractionSpec)

// With returns a copy of spec with opts applied.
func (spec InteractionSpec) With(opts ...SpecOption) InteractionSpec {
	for _, o := range opts {
		if o != nil {
			o(&spec)
		}
	}
	return spec
}

// Command builds an application command interaction (type 2).
func Command(name string, options ...*discordgo.ApplicationCommandInteractionDataOption) InteractionSpec {
	return InteractionSpec{Type: discordgo.InteractionApplicationCommand, Data: &discordgo.ApplicationCommandInteractionData{
		Name: name, CommandType: discordgo.ChatApplicationCommand, Options: options,
	}}
}

// Autocomplete builds an autocomplete interaction (type 4); mark the focused option with Focused.
func Autocomplete(name string, options ...*discordgo.ApplicationCommandInteractionDataOption) InteractionSpec {
	spec := Command(name, options...)
	spec.Type = discordgo.InteractionApplicationCommandAutocomplete
	return spec
}

// Button builds a button click (type 3) on messageID with custom_id customID.
func Button(customID, messageID string) InteractionSpec {
	return InteractionSpec{Type: discordgo.InteractionMessageComponent, MessageID: messageID,
		Data: map[string]any{"custom_id": customID, "component_type": discordgo.ButtonComponent}}
}

// SelectMenu builds a string select (type 3) on messageID with the chosen values.
func SelectMenu(customID, messageID string, values ...string) InteractionSpec {
	if values == nil {
		values = []string{}
	}
	return InteractionSpec{Type: discordgo.InteractionMessageComponent, MessageID: messageID,
		Data: map[string]any{"custom_id": customID, "component_type": discordgo.SelectMenuComponent, "values": values}}
}

// ModalSubmit builds a modal submit (type 5): one action row with one text input per
// value, in sorted key order. Use OnMessage when the modal was opened from a button.
func ModalSubmit(customID string, values map[string]string) InteractionSpec {
	rows := []any{}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		rows = append(rows, map[string]any{"type": 1, "components": []any{
			map[string]any{"type": 4, "custom_id": k, "value": values[k]},
		}})
	}
	return InteractionSpec{Type: discordgo.InteractionModalSubmit, Data: map[string]any{"custom_id": customID, "components": rows}}
}

// Opt builds a command option; its type follows value: string 3, int/int64 4 (sent as a
// JSON number), bool 5, float64 10.
func Opt(name string, value any) *discordgo.ApplicationCommandInteractionDataOption {
	t := discordgo.ApplicationCommandOptionString
	switch value.(type) {
	case int, int64, int32:
		t = discordgo.ApplicationCommandOptionInteger
	case bool:
		t = discordgo.ApplicationCommandOptionBoolean
	case float64, float32:
		t = discordgo.ApplicationCommandOptionNumber
	}
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: t, Value: value}
}

// Focused is Opt with focused set (for Autocomplete). Discord sends the partial
// input of a focused option as a string whatever the option's type.
func Focused(name string, value any) *discordgo.ApplicationCommandInteractionDataOption {
	o := Opt(name, value)
	o.Focused = true
	return o
}

// SubCommand builds a sub-command option (type 1) holding options.
func SubCommand(name string, options ...*discordgo.ApplicationCommandInteractionDataOption) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionSubCommand, Options: options}
}

// FromUser makes the interaction come from user id/name (added to the guild as a
// member with no extra role when missing).
func FromUser(id, name string) SpecOption {
	return func(s *InteractionSpec) { s.User = discordgo.User{ID: id, Username: name} }
}

// WithRoles sets the member's roles in the payload (the world is not changed).
func WithRoles(roleIDs ...string) SpecOption {
	return func(s *InteractionSpec) { s.Roles = append([]string{}, roleIDs...) }
}

// WithPermissions sets the member's permissions in the payload.
func WithPermissions(p int64) SpecOption { return func(s *InteractionSpec) { s.Permissions = p } }

// InChannel sets the channel (and its guild, when the channel is known).
func InChannel(id string) SpecOption { return func(s *InteractionSpec) { s.ChannelID = id } }

// InGuild sets the guild id (the channel defaults to the guild's first text channel).
func InGuild(id string) SpecOption {
	return func(s *InteractionSpec) { s.GuildID = id; s.DM = false }
}

// InDM makes it a DM interaction: "user" instead of "member", no guild, the DM channel
// with the bot.
func InDM() SpecOption {
	return func(s *InteractionSpec) { s.DM = true; s.GuildID = ""; s.ChannelID = "" }
}

// OnMessage sets the message a component or modal belongs to.
func OnMessage(messageID string) SpecOption {
	return func(s *InteractionSpec) { s.MessageID = messageID }
}

// Interaction is a dispatched interaction.
type Interaction struct {
	ID            string
	Token         string
	ApplicationID string
	Type          discordgo.InteractionType
	GuildID       string
	ChannelID     string
	UserID        string
	Payload       json.RawMessage // the INTERACTION_CREATE "d"
	DispatchedAt  time.Time       // on the fake's clock
	Seq           int64           // gateway sequence number of the dispatch
}

// Response is an accepted interaction callback.
type Response struct {
	Type discordgo.InteractionResponseType
	Data *discordgo.InteractionResponseData // nil when the body had none
	Raw  json.RawMessage                    // the body as received (payload_json for multipart)
	At   time.Time
}

// Content is Data.Content or "".
func (r *Response) Content() string {
	if r == nil || r.Data == nil {
		return ""
	}
	return r.Data.Content
}

// Ephemeral reports flag 64.
func (r *Response) Ephemeral() bool {
	return r != nil && r.Data != nil && r.Data.Flags&discordgo.MessageFlagsEphemeral != 0
}

// RefusedCallback is a callback the fake refused (late, second, invalid).
type RefusedCallback struct {
	Status int
	Code   int
	Raw    json.RawMessage
	At     time.Time
}

// Exchange is everything that happened to one interaction.
type Exchange struct {
	Interaction Interaction
	Response    *Response          // the accepted callback, nil before it
	Refused     []RefusedCallback  // refused callbacks, in order
	Original    *discordgo.Message // the @original message (type 4/5 callback, or the component's message for 6/7), nil if none
	Edits       []json.RawMessage  // PATCH @original bodies, in order
	Followups   []*discordgo.Message
}

type exchange struct {
	it        Interaction
	resp      *Response
	refused   []RefusedCallback
	orig      *storedMsg
	edits     []json.RawMessage
	followups []*storedMsg
	compMsg   *storedMsg
}

func (ex *exchange) view() Exchange {
	out := Exchange{Interaction: ex.it, Refused: slices.Clone(ex.refused), Edits: slices.Clone(ex.edits)}
	out.Interaction.Payload = cloneRaw(ex.it.Payload)
	if ex.resp != nil {
		r := *ex.resp
		if r.Data != nil {
			r.Data = parseRespData(r.Raw)
		}
		out.Response = &r
	}
	if ex.orig != nil && !ex.orig.deleted {
		out.Original = copyMessage(ex.orig.msg)
	}
	for _, f := range ex.followups {
		out.Followups = append(out.Followups, copyMessage(f.msg))
	}
	return out
}

// parseRespData decodes a callback body's data with discordgo's component decoder.
func parseRespData(body json.RawMessage) *discordgo.InteractionResponseData {
	var outer struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(body, &outer) != nil || len(outer.Data) == 0 || string(outer.Data) == "null" {
		return nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(outer.Data, &fields) != nil {
		return nil
	}
	comps := fields["components"]
	delete(fields, "components")
	var d discordgo.InteractionResponseData
	_ = json.Unmarshal(mustJSON(fields), &d)
	d.Components = parseComponents(comps)
	return &d
}

// Interact dispatches an INTERACTION_CREATE on the open gateway connection and records
// it. It fails with ErrNoSession when no identified connection is open.
func (s *Server) Interact(ctx context.Context, spec InteractionSpec, opts ...SpecOption) (*Interaction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	spec = spec.With(opts...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connectedLocked() {
		return nil, fmt.Errorf("interact: %w (no identified websocket open)", ErrNoSession)
	}
	if spec.User.ID == "" {
		spec.User = discordgo.User{ID: MemberUserID, Username: MemberUsername}
	}
	u := s.addUserLocked(spec.User.ID, spec.User.Username)
	id := s.nextIDLocked()
	it := Interaction{ID: id, Token: "itok-" + id, ApplicationID: ApplicationID, Type: spec.Type, UserID: u.ID}
	d := map[string]any{
		"id": id, "application_id": ApplicationID, "type": int(spec.Type), "token": it.Token, "version": 1,
		"locale": "en-US", "entitlements": []any{},
	}
	if spec.Locale != "" {
		d["locale"] = spec.Locale
	}
	var comp *storedMsg
	if spec.MessageID != "" {
		for _, cid := range s.w.chanOrder {
			if spec.ChannelID != "" && cid != spec.ChannelID {
				continue
			}
			if sm := s.findMsgLocked(cid, spec.MessageID); sm != nil {
				comp = sm
				spec.ChannelID = cid
				break
			}
		}
	}
	if spec.DM {
		spec.ChannelID = s.dmLocked(u.ID)
		d["user"] = s.userObjectLocked(u.ID)
		d["context"] = 1
		d["authorizing_integration_owners"] = map[string]any{"0": ApplicationID}
	} else {
		if spec.ChannelID != "" && spec.GuildID == "" {
			if cs := s.w.channels[spec.ChannelID]; cs != nil {
				spec.GuildID = cs.ch.GuildID
			}
		}
		if spec.GuildID == "" {
			spec.GuildID = GuildID
		}
		if spec.ChannelID == "" {
			spec.ChannelID = s.firstTextChannelLocked(spec.GuildID)
		}
		g := s.w.guilds[spec.GuildID]
		member := map[string]any{"user": s.userObjectLocked(u.ID), "roles": []string{}, "nick": nil,
			"joined_at": s.nowLocked().UTC().Format(time.RFC3339), "deaf": false, "mute": false, "flags": 0}
		if g != nil {
			if g.members[u.ID] == nil {
				g.setMember(u.ID, nil, s.nowLocked())
			}
			member = s.memberObjectLocked(g, u.ID)
		}
		if spec.Roles != nil {
			member["roles"] = spec.Roles
		}
		perms := spec.Permissions
		if perms == 0 {
			perms = s.permsLocked(u.ID, spec.ChannelID)
		}
		member["permissions"] = strconv.FormatInt(perms, 10)
		d["member"] = member
		d["guild_id"] = spec.GuildID
		d["guild_locale"] = "en-US"
		d["context"] = 0
		d["authorizing_integration_owners"] = map[string]any{"0": spec.GuildID}
		d["app_permissions"] = strconv.FormatInt(s.permsLocked(BotUserID, spec.ChannelID), 10)
	}
	d["channel_id"] = spec.ChannelID
	if cs := s.w.channels[spec.ChannelID]; cs != nil {
		d["channel"] = s.channelObjectLocked(cs)
	} else {
		d["channel"] = map[string]any{"id": spec.ChannelID, "type": 0, "guild_id": spec.GuildID}
	}
	if cd, ok := spec.Data.(*discordgo.ApplicationCommandInteractionData); ok && cd != nil {
		c := *cd
		if c.ID == "" {
			c.ID = s.commandIDLocked(spec.GuildID, c.Name)
		}
		spec.Data = &c
	}
	if spec.Data != nil {
		d["data"] = spec.Data
	}
	if spec.MessageID != "" {
		if comp != nil {
			d["message"] = json.RawMessage(msgJSON(comp, false))
		} else {
			d["message"] = map[string]any{"id": spec.MessageID, "channel_id": spec.ChannelID, "type": 0, "content": "",
				"author": s.userObjectLocked(BotUserID), "timestamp": s.nowLocked().Format(time.RFC3339),
				"embeds": []any{}, "attachments": []any{}, "mentions": []any{}, "components": []any{}}
		}
	}
	payload := mustJSON(d)
	it.GuildID, it.ChannelID, it.Payload, it.DispatchedAt = spec.GuildID, spec.ChannelID, payload, s.nowLocked()
	it.Seq = s.dispatchLocked("INTERACTION_CREATE", json.RawMessage(payload))
	s.ints[id] = &exchange{it: it, compMsg: comp}
	s.intOrder = append(s.intOrder, id)
	s.tokens[it.Token] = id
	s.broadcastLocked()
	out := it
	return &out, nil
}

func (s *Server) firstTextChannelLocked(guildID string) string {
	if guildID == GuildID {
		if _, ok := s.w.channels[GeneralChannelID]; ok {
			return GeneralChannelID
		}
	}
	for _, id := range s.w.chanOrder {
		cs := s.w.channels[id]
		if cs.ch.GuildID == guildID && cs.ch.Type == discordgo.ChannelTypeGuildText {
			return id
		}
	}
	return guildID + "0"
}

func (s *Server) commandIDLocked(guildID, name string) string {
	for _, scope := range []string{guildID, ""} {
		for _, c := range s.cmds[scope] {
			if c.Name == name {
				return c.ID
			}
		}
	}
	return s.nextIDLocked()
}

// Exchange returns a copy of what happened to an interaction so far.
func (s *Server) Exchange(interactionID string) (Exchange, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ex := s.ints[interactionID]
	if ex == nil {
		return Exchange{}, false
	}
	return ex.view(), true
}

// Interactions returns the exchanges of every dispatched interaction, in dispatch order.
func (s *Server) Interactions() []Exchange {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Exchange, 0, len(s.intOrder))
	for _, id := range s.intOrder {
		out = append(out, s.ints[id].view())
	}
	return out
}

// WaitExchange waits until cond holds for the interaction's exchange.
func (s *Server) WaitExchange(ctx context.Context, interactionID string, cond func(Exchange) bool) (Exchange, error) {
	var ex Exchange
	err := s.WaitFor(ctx, func() bool {
		var ok bool
		ex, ok = s.Exchange(interactionID)
		return ok && cond(ex)
	})
	return ex, err
}

// WaitResponse waits for the interaction's accepted callback.
func (s *Server) WaitResponse(ctx context.Context, interactionID string) (*Response, error) {
	ex, err := s.WaitExchange(ctx, interactionID, func(e Exchange) bool { return e.Response != nil })
	if err != nil {
		return nil, err
	}
	return ex.Response, nil
}

// ---- callback and webhook handlers ----

func (s *Server) refuse(ex *exchange, raw []byte, a answer) answer {
	ex.refused = append(ex.refused, RefusedCallback{Status: a.status, Code: a.code, Raw: cloneRaw(raw), At: s.nowLocked()})
	s.broadcastLocked()
	return a
}

func (s *Server) hCallback(c *call) answer {
	var body struct {
		Type int             `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	raw, files, err := parseBody(c, &body)
	if err != nil {
		return badJSON()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ex := s.ints[c.v("iid")]
	if ex == nil || ex.it.Token != c.v("tok") {
		return errAnswer(404, 10062, "Unknown interaction")
	}
	if ex.resp != nil {
		return s.refuse(ex, raw, errAnswer(400, 40060, "Interaction has already been acknowledged."))
	}
	if s.nowLocked().Sub(ex.it.DispatchedAt) > s.cfg.deadline {
		return s.refuse(ex, raw, errAnswer(404, 10062, "Unknown interaction"))
	}
	rt := discordgo.InteractionResponseType(body.Type)
	it := ex.it.Type
	allowed := false
	switch rt {
	case discordgo.InteractionResponseChannelMessageWithSource, discordgo.InteractionResponseDeferredChannelMessageWithSource:
		allowed = it != discordgo.InteractionApplicationCommandAutocomplete
	case discordgo.InteractionResponseDeferredMessageUpdate, discordgo.InteractionResponseUpdateMessage:
		allowed = it == discordgo.InteractionMessageComponent || (it == discordgo.InteractionModalSubmit && ex.compMsg != nil)
	case discordgo.InteractionApplicationCommandAutocompleteResult:
		allowed = it == discordgo.InteractionApplicationCommandAutocomplete
	case discordgo.InteractionResponseModal:
		allowed = it == discordgo.InteractionApplicationCommand || it == discordgo.InteractionMessageComponent
	}
	if !allowed {
		fe := formErrors{}
		fe.add("INTERACTION_RESPONSE_TYPE_INVALID", fmt.Sprintf("Interaction response type %d is not valid for interaction type %d", body.Type, it), "type")
		return s.refuse(ex, raw, invalidForm(fe))
	}
	var mb msgBody
	if len(body.Data) > 0 && string(body.Data) != "null" {
		if json.Unmarshal(body.Data, &mb) != nil {
			return s.refuse(ex, raw, badJSON())
		}
	}
	fe := formErrors{}
	switch rt {
	case discordgo.InteractionResponseChannelMessageWithSource, discordgo.InteractionResponseUpdateMessage:
		mb.validate(fe, "data")
	case discordgo.InteractionApplicationCommandAutocompleteResult:
		validateChoices(fe, mb.Choices)
	case discordgo.InteractionResponseModal:
		validateModal(fe, body.Data)
	}
	if len(fe) > 0 {
		return s.refuse(ex, raw, invalidForm(fe))
	}
	if rt == discordgo.InteractionResponseChannelMessageWithSource && mb.empty(len(files)) {
		return s.refuse(ex, raw, errAnswer(400, 50006, "Cannot send an empty message"))
	}
	resp := &Response{Type: rt, Raw: cloneRaw(raw), At: s.nowLocked()}
	resp.Data = parseRespData(raw)
	ex.resp = resp
	switch rt {
	case discordgo.InteractionResponseChannelMessageWithSource:
		ex.orig = s.interactionMessageLocked(ex, &mb, body.Data, files)
	case discordgo.InteractionResponseDeferredChannelMessageWithSource:
		mb.Content, mb.Embeds, mb.Embed, mb.Components = nil, nil, nil, nil
		ex.orig = s.interactionMessageLocked(ex, &mb, body.Data, nil)
		ex.orig.msg.Flags |= discordgo.MessageFlagsLoading
	case discordgo.InteractionResponseDeferredMessageUpdate:
		ex.orig = ex.compMsg
	case discordgo.InteractionResponseUpdateMessage:
		ex.orig = ex.compMsg
		if ex.orig != nil {
			s.editLocked(ex.orig, &mb, body.Data, false)
		}
	}
	s.broadcastLocked()
	return answer{status: 204}
}

// interactionMessageLocked creates a message answering an interaction; ephemeral ones are
// not added to the channel.
func (s *Server) interactionMessageLocked(ex *exchange, b *msgBody, raw json.RawMessage, files []File) *storedMsg {
	sm := s.newMessageLocked(ex.it.ChannelID, BotUserID, b, raw, files)
	sm.msg.WebhookID = ApplicationID
	if ex.it.Type == discordgo.InteractionApplicationCommand {
		sm.msg.Type = discordgo.MessageTypeChatInputCommand
	}
	if sm.msg.Flags&discordgo.MessageFlagsEphemeral == 0 {
		if cs := s.w.channels[ex.it.ChannelID]; cs != nil {
			cs.msgs = append(cs.msgs, sm)
		}
	}
	return sm
}

// webhookLocked finds the interaction of a webhook route.
func (s *Server) webhookLocked(c *call) (*exchange, *answer) {
	id, ok := s.tokens[c.v("tok")]
	if c.v("app") != ApplicationID || !ok {
		a := errAnswer(404, 10015, "Unknown Webhook")
		return nil, &a
	}
	ex := s.ints[id]
	if s.nowLocked().Sub(ex.it.DispatchedAt) > s.cfg.tokenLife {
		a := errAnswer(401, 50027, "Invalid Webhook Token")
		return nil, &a
	}
	if ex.resp == nil {
		a := errAnswer(404, 10015, "Unknown Webhook")
		return nil, &a
	}
	return ex, nil
}

func (ex *exchange) target(mid string) *storedMsg {
	if mid == "@original" {
		return ex.orig
	}
	for _, f := range ex.followups {
		if f.msg.ID == mid {
			return f
		}
	}
	return nil
}

func (s *Server) hWebhookGet(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	ex, a := s.webhookLocked(c)
	if a != nil {
		return *a
	}
	sm := ex.target(c.v("mid"))
	if sm == nil || sm.deleted {
		return unknownMessage()
	}
	return answer{status: 200, body: msgJSON(sm, false)}
}

func (s *Server) hWebhookEdit(c *call) answer {
	var b msgBody
	raw, _, err := parseBody(c, &b)
	if err != nil {
		return badJSON()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ex, a := s.webhookLocked(c)
	if a != nil {
		return *a
	}
	sm := ex.target(c.v("mid"))
	if sm == nil || sm.deleted {
		return unknownMessage()
	}
	fe := formErrors{}
	b.validate(fe)
	if len(fe) > 0 {
		return invalidForm(fe)
	}
	s.editLocked(sm, &b, raw, false)
	if c.v("mid") == "@original" {
		ex.edits = append(ex.edits, cloneRaw(raw))
	}
	s.broadcastLocked()
	return answer{status: 200, body: msgJSON(sm, false)}
}

func (s *Server) hWebhookDelete(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	ex, a := s.webhookLocked(c)
	if a != nil {
		return *a
	}
	sm := ex.target(c.v("mid"))
	if sm == nil || sm.deleted {
		return unknownMessage()
	}
	sm.deleted = true
	s.broadcastLocked()
	return answer{status: 204}
}

func (s *Server) hFollowup(c *call) answer {
	var b msgBody
	raw, files, err := parseBody(c, &b)
	if err != nil {
		return badJSON()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ex, a := s.webhookLocked(c)
	if a != nil {
		return *a
	}
	fe := formErrors{}
	b.validate(fe)
	if len(fe) > 0 {
		return invalidForm(fe)
	}
	if b.empty(len(files)) {
		return errAnswer(400, 50006, "Cannot send an empty message")
	}
	sm := s.interactionMessageLocked(ex, &b, raw, files)
	sm.msg.Type = discordgo.MessageTypeDefault
	ex.followups = append(ex.followups, sm)
	s.broadcastLocked()
	if c.r.URL.Query().Get("wait") != "true" {
		return answer{status: 204}
	}
	return answer{status: 200, body: msgJSON(sm, false)}
}
