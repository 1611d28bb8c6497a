package discordtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Interaction is a dispatched interaction.
type Interaction struct {
	ID            string
	Token         string
	ApplicationID string
	Type          discordgo.InteractionType
	GuildID       string
	ChannelID     string
	UserID        string
	Payload       json.RawMessage // the INTERACTION_CREATE "d" (the POST body over HTTP)
	DispatchedAt  time.Time       // on the fake's clock
	Seq           int64           // gateway sequence number of the dispatch (0 over HTTP)
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
	// Delivery is the HTTP POST of the interaction (WithInteractionsEndpoint); nil when
	// it went over the gateway. Its answer, when valid, is the Response above.
	Delivery *Delivery
}

type exchange struct {
	it        Interaction
	resp      *Response
	refused   []RefusedCallback
	orig      *storedMsg
	edits     []json.RawMessage
	followups []*storedMsg
	compMsg   *storedMsg
	delivery  *Delivery
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
	if ex.delivery != nil {
		d := ex.delivery.clone()
		out.Delivery = &d
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
//
// With an interactions endpoint (WithInteractionsEndpoint, SetInteractionsEndpoint or
// ToEndpoint) it POSTs the interaction there instead, signed, in the background, and
// returns at once; the HTTP answer's body is then taken as the callback (see
// Exchange.Delivery, WaitDelivered, WaitResponse). No gateway session is needed.
func (s *Server) Interact(ctx context.Context, spec InteractionSpec, opts ...SpecOption) (*Interaction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	spec = spec.With(opts...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("discordtest: interact: server closed")
	}
	httpMode := s.httpModeLocked(&spec)
	if !httpMode && !s.connectedLocked() {
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
	ex := &exchange{it: it, compMsg: comp}
	if httpMode {
		if err := s.deliverLocked(ex, &spec, payload); err != nil {
			return nil, err
		}
	} else {
		it.Seq = s.dispatchLocked("INTERACTION_CREATE", json.RawMessage(payload))
		ex.it.Seq = it.Seq
	}
	s.ints[id] = ex
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
