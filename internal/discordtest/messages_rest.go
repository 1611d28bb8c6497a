package discordtest

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// ---- REST handlers for messages ----

// sendCheckLocked answers why the bot may not post in cs (nil: it may).
func (s *Server) sendCheckLocked(cs *chanState) *answer {
	if cs.ch.Type == discordgo.ChannelTypeDM {
		if s.w.dmClosed[cs.recipient] {
			a := errAnswer(403, 50007, "Cannot send messages to this user")
			return &a
		}
		return nil
	}
	if a := s.accessLocked(cs); a != nil {
		return a
	}
	perms := s.permsLocked(BotUserID, cs.ch.ID)
	need := int64(discordgo.PermissionSendMessages)
	if cs.ch.IsThread() {
		need = discordgo.PermissionSendMessagesInThreads
	}
	if perms&need == 0 {
		a := errAnswer(403, 50013, "Missing Permissions")
		return &a
	}
	switch cs.ch.Type {
	case discordgo.ChannelTypeGuildText, discordgo.ChannelTypeGuildNews, discordgo.ChannelTypeGuildVoice,
		discordgo.ChannelTypeGuildNewsThread, discordgo.ChannelTypeGuildPublicThread, discordgo.ChannelTypeGuildPrivateThread,
		discordgo.ChannelTypeGuildStageVoice:
		return nil
	}
	if isForum(cs.ch.Type) {
		a := errAnswer(400, 40058, "Cannot send a message in a forum channel")
		return &a
	}
	a := errAnswer(400, 50008, "Cannot send messages in a non-text channel")
	return &a
}

// accessLocked answers 403 50001 when the bot cannot see a guild channel (or thread).
func (s *Server) accessLocked(cs *chanState) *answer {
	if cs.ch.GuildID == "" {
		if cs.recipient != "" {
			return nil
		}
		a := errAnswer(403, 50001, "Missing Access")
		return &a
	}
	perms := s.permsLocked(BotUserID, cs.ch.ID)
	if perms&discordgo.PermissionViewChannel == 0 {
		a := errAnswer(403, 50001, "Missing Access")
		return &a
	}
	if cs.ch.Type == discordgo.ChannelTypeGuildPrivateThread && !slices.Contains(cs.members, BotUserID) &&
		perms&discordgo.PermissionManageThreads == 0 {
		a := errAnswer(403, 50001, "Missing Access")
		return &a
	}
	return nil
}

// channelLocked returns the channel of the request's {cid} when it exists
// and the bot can see it, else the answer that refuses the request.
func (s *Server) channelLocked(c *call) (*chanState, *answer) {
	cs := s.w.channels[c.v("cid")]
	if cs == nil {
		a := unknownChannel()
		return nil, &a
	}
	if a := s.accessLocked(cs); a != nil {
		return nil, a
	}
	return cs, nil
}

func unknownChannel() answer { return errAnswer(404, 10003, "Unknown Channel") }
func unknownMessage() answer { return errAnswer(404, 10008, "Unknown Message") }

func (s *Server) hCreateMessage(c *call) answer {
	var b msgBody
	raw, files, err := parseBody(c, &b)
	if err != nil {
		return badJSON()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.w.channels[c.v("cid")]
	if cs == nil {
		return unknownChannel()
	}
	fe := formErrors{}
	b.validate(fe)
	if len(fe) > 0 {
		return invalidForm(fe)
	}
	if a := s.sendCheckLocked(cs); a != nil {
		return *a
	}
	if len(b.embeds()) > 0 && cs.ch.GuildID != "" && s.permsLocked(BotUserID, cs.ch.ID)&discordgo.PermissionEmbedLinks == 0 {
		if strings.TrimSpace(b.content()) == "" && len(files) == 0 && !hasComponents(b.Components) {
			return errAnswer(403, 50013, "Missing Permissions")
		}
		b.Embeds, b.Embed = nil, nil // Discord drops the embeds silently
	}
	if b.empty(len(files)) {
		return errAnswer(400, 50006, "Cannot send an empty message")
	}
	now := s.nowLocked()
	key := BotUserID + "\x00" + b.nonce()
	if b.EnforceNonce && b.nonce() != "" {
		if e, ok := s.nonces[key]; ok && now.Sub(e.at) < s.cfg.nonceWindow && !e.msg.deleted {
			return answer{status: 200, body: msgJSON(e.msg, true)}
		}
	}
	sm := s.newMessageLocked(cs.ch.ID, BotUserID, &b, raw, files)
	cs.msgs = append(cs.msgs, sm)
	if b.EnforceNonce && b.nonce() != "" {
		s.nonces[key] = nonceEntry{msg: sm, at: now}
	}
	if cs.ch.IsThread() {
		cs.ch.MessageCount++
	}
	s.broadcastLocked()
	return answer{status: 200, body: msgJSON(sm, true)}
}

func (s *Server) hListMessages(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.channelLocked(c)
	if a != nil {
		return *a
	}
	q := c.r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			fe := formErrors{}
			fe.add("NUMBER_TYPE_MAX", "int value should be less than or equal to 100.", "limit")
			return invalidForm(fe)
		}
		limit = n
	}
	if cs.ch.GuildID != "" && s.permsLocked(BotUserID, cs.ch.ID)&discordgo.PermissionReadMessageHistory == 0 {
		return answer{status: 200, body: []byte("[]")}
	}
	before, after, around := snow(q.Get("before")), snow(q.Get("after")), snow(q.Get("around"))
	var live []*storedMsg
	for _, sm := range cs.msgs {
		if !sm.deleted {
			live = append(live, sm)
		}
	}
	var picked []*storedMsg // newest first
	switch {
	case after > 0:
		for _, sm := range live {
			if snow(sm.msg.ID) > after && len(picked) < limit {
				picked = append(picked, sm)
			}
		}
		slices.Reverse(picked)
	case around > 0:
		idx := 0
		for i, sm := range live {
			if snow(sm.msg.ID) <= around {
				idx = i
			}
		}
		lo := max(0, idx-limit/2)
		hi := min(len(live), lo+limit)
		picked = append(picked, live[lo:hi]...)
		slices.Reverse(picked)
	default:
		for i := len(live) - 1; i >= 0 && len(picked) < limit; i-- {
			if before == 0 || snow(live[i].msg.ID) < before {
				picked = append(picked, live[i])
			}
		}
	}
	parts := make([]json.RawMessage, 0, len(picked))
	for _, sm := range picked {
		parts = append(parts, msgJSON(sm, false))
	}
	return answer{status: 200, body: mustJSON(parts)}
}

func snow(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

func (s *Server) hGetMessage(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.channelLocked(c)
	if a != nil {
		return *a
	}
	if cs.ch.GuildID != "" && s.permsLocked(BotUserID, cs.ch.ID)&discordgo.PermissionReadMessageHistory == 0 {
		return errAnswer(403, 50013, "Missing Permissions")
	}
	sm := s.findMsgLocked(cs.ch.ID, c.v("mid"))
	if sm == nil || sm.deleted {
		return unknownMessage()
	}
	return answer{status: 200, body: msgJSON(sm, false)}
}

func (s *Server) hEditMessage(c *call) answer {
	var b msgBody
	raw, _, err := parseBody(c, &b)
	if err != nil {
		return badJSON()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.channelLocked(c)
	if a != nil {
		return *a
	}
	sm := s.findMsgLocked(cs.ch.ID, c.v("mid"))
	if sm == nil || sm.deleted {
		return unknownMessage()
	}
	if sm.msg.Author == nil || sm.msg.Author.ID != BotUserID {
		return errAnswer(403, 50005, "Cannot edit a message authored by another user")
	}
	fe := formErrors{}
	b.validate(fe)
	if len(fe) > 0 {
		return invalidForm(fe)
	}
	drop := cs.ch.GuildID != "" && s.permsLocked(BotUserID, cs.ch.ID)&discordgo.PermissionEmbedLinks == 0
	s.editLocked(sm, &b, raw, drop)
	s.broadcastLocked()
	return answer{status: 200, body: msgJSON(sm, false)}
}

func (s *Server) hDeleteMessage(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.channelLocked(c)
	if a != nil {
		return *a
	}
	sm := s.findMsgLocked(cs.ch.ID, c.v("mid"))
	if sm == nil || sm.deleted {
		return unknownMessage()
	}
	if sm.msg.Author.ID != BotUserID && s.permsLocked(BotUserID, cs.ch.ID)&discordgo.PermissionManageMessages == 0 {
		return errAnswer(403, 50013, "Missing Permissions")
	}
	sm.deleted = true
	s.broadcastLocked()
	return answer{status: 204}
}
