package discordtest

import (
	"encoding/json"
	"strconv"

	"github.com/bwmarrin/discordgo"
)

func (s *Server) routes() {
	s.addRoute("GET", "/gateway", true, s.hGateway)
	s.handle("GET", "/gateway/bot", s.hGateway)
	s.handle("GET", "/users/@me", s.hMe)
	s.handle("GET", "/users/@me/guilds", s.hMyGuilds)
	s.handle("GET", "/users/{uid}", s.hUser)
	s.handle("POST", "/users/@me/channels", s.hCreateDM)
	s.handle("GET", "/applications/@me", s.hApplication)
	s.handle("GET", "/oauth2/applications/@me", s.hApplication)

	for _, base := range []string{"/applications/{app}/commands", "/applications/{app}/guilds/{gid}/commands"} {
		s.handle("GET", base, s.hListCommands)
		s.handle("PUT", base, s.hOverwriteCommands)
		s.handle("POST", base, s.hCreateCommand)
		s.handle("GET", base+"/{cmd}", s.hGetCommand)
		s.handle("PATCH", base+"/{cmd}", s.hEditCommand)
		s.handle("DELETE", base+"/{cmd}", s.hDeleteCommand)
	}

	s.handle("GET", "/guilds/{gid}", s.hGuild)
	s.handle("GET", "/guilds/{gid}/channels", s.hGuildChannels)
	s.handle("GET", "/guilds/{gid}/roles", s.hGuildRoles)
	s.handle("GET", "/guilds/{gid}/members", s.hGuildMembers)
	s.handle("GET", "/guilds/{gid}/members/{uid}", s.hGuildMember)
	s.handle("GET", "/guilds/{gid}/threads/active", s.hGuildActiveThreads)

	s.handle("GET", "/channels/{cid}", s.hChannel)
	s.handle("POST", "/channels/{cid}/typing", s.hTyping)
	s.handle("GET", "/channels/{cid}/messages", s.hListMessages)
	s.handle("POST", "/channels/{cid}/messages", s.hCreateMessage)
	s.handle("GET", "/channels/{cid}/messages/{mid}", s.hGetMessage)
	s.handle("PATCH", "/channels/{cid}/messages/{mid}", s.hEditMessage)
	s.handle("DELETE", "/channels/{cid}/messages/{mid}", s.hDeleteMessage)
	s.handle("POST", "/channels/{cid}/messages/{mid}/threads", s.hThreadFromMessage)
	s.handle("POST", "/channels/{cid}/messages/{mid}/crosspost", s.hCrosspost)
	s.handle("POST", "/channels/{cid}/threads", s.hThread)
	s.handle("GET", "/channels/{cid}/threads/active", s.hChannelActiveThreads)
	s.handle("GET", "/channels/{cid}/threads/archived/public", s.hArchivedPublicThreads)
	s.handle("GET", "/channels/{cid}/thread-members", s.hThreadMembers)
	s.handle("PUT", "/channels/{cid}/thread-members/{uid}", s.hAddThreadMember)
	s.handle("DELETE", "/channels/{cid}/thread-members/{uid}", s.hRemoveThreadMember)

	s.addRoute("POST", "/interactions/{iid}/{tok}/callback", true, s.hCallback)
	s.addRoute("POST", "/webhooks/{app}/{tok}", true, s.hFollowup)
	s.addRoute("GET", "/webhooks/{app}/{tok}/messages/{mid}", true, s.hWebhookGet)
	s.addRoute("PATCH", "/webhooks/{app}/{tok}/messages/{mid}", true, s.hWebhookEdit)
	s.addRoute("DELETE", "/webhooks/{app}/{tok}/messages/{mid}", true, s.hWebhookDelete)
}

func (s *Server) hGateway(c *call) answer {
	o := map[string]any{"url": "ws://" + s.srv.Listener.Addr().String() + "/gw/"}
	if c.path == "/gateway/bot" {
		o["shards"] = 1
		o["session_start_limit"] = map[string]any{"total": 1000, "remaining": 999, "reset_after": 86400000, "max_concurrency": 1}
	}
	return jsonAnswer(200, o)
}

func (s *Server) hMe(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.userObjectLocked(BotUserID)
	o["verified"], o["mfa_enabled"], o["flags"] = true, false, 0
	return jsonAnswer(200, o)
}

func (s *Server) hUser(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w.users[c.v("uid")] == nil {
		return errAnswer(404, 10013, "Unknown User")
	}
	return jsonAnswer(200, s.userObjectLocked(c.v("uid")))
}

func (s *Server) hMyGuilds(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, id := range s.w.guildOrder {
		g := s.w.guilds[id]
		if _, ok := g.members[BotUserID]; ok {
			out = append(out, map[string]any{"id": g.id, "name": g.name, "owner": false,
				"permissions": strconv.FormatInt(s.basePermsLocked(g, BotUserID), 10), "features": []string{}})
		}
	}
	return jsonAnswer(200, out)
}

func (s *Server) hApplication(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return jsonAnswer(200, map[string]any{
		"id": ApplicationID, "name": BotUsername, "icon": nil, "description": "", "bot_public": true,
		"bot_require_code_grant": false, "verify_key": s.ix.publicKeyHex(), "flags": 0,
		"owner": s.userObjectLocked(OwnerUserID), "bot": s.userObjectLocked(BotUserID),
		"approximate_guild_count": len(s.w.guilds),
		// null: interactions come over the gateway.
		"interactions_endpoint_url": s.ix.appURLLocked(),
	})
}

// ---- guilds ----

func (s *Server) guildForBotLocked(id string) (*guild, *answer) {
	g := s.w.guilds[id]
	if g == nil {
		a := errAnswer(404, 10004, "Unknown Guild")
		return nil, &a
	}
	if _, ok := g.members[BotUserID]; !ok {
		a := errAnswer(403, 50001, "Missing Access")
		return nil, &a
	}
	return g, nil
}

func (s *Server) hGuild(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, a := s.guildForBotLocked(c.v("gid"))
	if a != nil {
		return *a
	}
	return jsonAnswer(200, s.guildObjectLocked(g, false))
}

func (s *Server) hGuildChannels(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, a := s.guildForBotLocked(c.v("gid"))
	if a != nil {
		return *a
	}
	out := []json.RawMessage{}
	for _, id := range s.w.chanOrder {
		cs := s.w.channels[id]
		if cs.ch.GuildID == g.id && !cs.ch.IsThread() {
			out = append(out, s.channelObjectLocked(cs))
		}
	}
	return jsonAnswer(200, out)
}

func (s *Server) hGuildRoles(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, a := s.guildForBotLocked(c.v("gid"))
	if a != nil {
		return *a
	}
	return jsonAnswer(200, s.rolesLocked(g))
}

func (s *Server) hGuildMember(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, a := s.guildForBotLocked(c.v("gid"))
	if a != nil {
		return *a
	}
	if g.members[c.v("uid")] == nil {
		return errAnswer(404, 10007, "Unknown Member")
	}
	return jsonAnswer(200, s.memberObjectLocked(g, c.v("uid")))
}

func (s *Server) hGuildMembers(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, a := s.guildForBotLocked(c.v("gid"))
	if a != nil {
		return *a
	}
	limit := 1
	if v := c.r.URL.Query().Get("limit"); v != "" {
		limit, _ = strconv.Atoi(v)
	}
	out := []any{}
	for _, uid := range g.memberOrder {
		if len(out) < limit {
			out = append(out, s.memberObjectLocked(g, uid))
		}
	}
	return jsonAnswer(200, out)
}

// ---- channels ----

func (s *Server) hChannel(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.channelLocked(c)
	if a != nil {
		return *a
	}
	return answer{status: 200, body: s.channelObjectLocked(cs)}
}

func (s *Server) hTyping(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.w.channels[c.v("cid")]
	if cs == nil {
		return unknownChannel()
	}
	if a := s.sendCheckLocked(cs); a != nil {
		return *a
	}
	return answer{status: 204}
}

// ---- DMs ----

func (s *Server) hCreateDM(c *call) answer {
	var b struct {
		RecipientID string `json:"recipient_id"`
	}
	if _, _, err := parseBody(c, &b); err != nil {
		return badJSON()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.RecipientID == "" || s.w.users[b.RecipientID] == nil || b.RecipientID == BotUserID {
		return errAnswer(400, 50033, "Invalid Recipient(s)")
	}
	id := s.dmLocked(b.RecipientID)
	s.broadcastLocked()
	return answer{status: 200, body: s.channelObjectLocked(s.w.channels[id])}
}

func (s *Server) dmLocked(userID string) string {
	if id, ok := s.w.dms[userID]; ok {
		return id
	}
	id := s.nextIDLocked()
	s.w.channels[id] = &chanState{ch: discordgo.Channel{ID: id, Type: discordgo.ChannelTypeDM}, recipient: userID}
	s.w.chanOrder = append(s.w.chanOrder, id)
	s.w.dms[userID] = id
	return id
}

// DMChannel returns the id of the DM channel opened with userID, or "".
func (s *Server) DMChannel(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.dms[userID]
}

// DMs returns the messages the bot sent to userID in their DM channel, oldest first.
func (s *Server) DMs(userID string) []Message {
	ch := s.DMChannel(userID)
	if ch == "" {
		return nil
	}
	return s.Messages(ch)
}
