package discordtest

import (
	"encoding/json"
	"fmt"

	"github.com/bwmarrin/discordgo"
)

func (s *Server) refuse(ex *exchange, raw []byte, a answer) answer {
	ex.refused = append(ex.refused, RefusedCallback{Status: a.status, Code: a.code, Raw: cloneRaw(raw), At: s.nowLocked()})
	s.broadcastLocked()
	return a
}

// callbackBody is an interaction response: a REST callback's body, or the body of the
// HTTP answer to an interaction POSTed to the bot's endpoint.
type callbackBody struct {
	Type int             `json:"type"`
	Data json.RawMessage `json:"data"`
}

func (s *Server) hCallback(c *call) answer {
	var body callbackBody
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
	return s.callbackLocked(ex, &body, raw, files)
}

// callbackLocked accepts or refuses (and records) an interaction's response, however it
// came: once, within the deadline, of a type that fits the interaction, within limits.
func (s *Server) callbackLocked(ex *exchange, body *callbackBody, raw []byte, files []File) answer {
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
