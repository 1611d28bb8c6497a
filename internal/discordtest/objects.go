package discordtest

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/bwmarrin/discordgo"
)

// guildJSONLocked is a guild as GET /guilds/{id} and GUILD_CREATE show it.
func (s *Server) guildObjectLocked(g *guild, full bool) map[string]any {
	o := map[string]any{
		"id": g.id, "name": g.name, "owner_id": g.owner, "roles": s.rolesLocked(g),
		"emojis": []any{}, "features": []string{}, "verification_level": 0,
		"default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0,
		"system_channel_flags": 0, "premium_tier": 0, "nsfw_level": 0, "preferred_locale": "en-US",
		"approximate_member_count": len(g.members),
	}
	if full {
		chans, threads := []json.RawMessage{}, []json.RawMessage{}
		for _, id := range s.w.chanOrder {
			cs := s.w.channels[id]
			if cs.ch.GuildID != g.id {
				continue
			}
			if cs.ch.IsThread() {
				threads = append(threads, s.channelObjectLocked(cs))
			} else {
				chans = append(chans, s.channelObjectLocked(cs))
			}
		}
		members := make([]any, 0, len(g.memberOrder))
		for _, uid := range g.memberOrder {
			members = append(members, s.memberObjectLocked(g, uid))
		}
		o["channels"] = chans
		o["threads"] = threads
		o["members"] = members
		o["member_count"] = len(g.members)
		o["joined_at"] = s.nowLocked().Format(time.RFC3339)
		o["large"] = false
		o["unavailable"] = false
		o["voice_states"] = []any{}
		o["presences"] = []any{}
	}
	return o
}

func (s *Server) rolesLocked(g *guild) []discordgo.Role {
	out := make([]discordgo.Role, 0, len(g.roles))
	for _, r := range g.roles {
		out = append(out, *r)
	}
	return out
}

func (s *Server) userObjectLocked(id string) map[string]any {
	u := s.w.users[id]
	if u == nil {
		u = &discordgo.User{ID: id, Username: "user" + id, Discriminator: "0"}
	}
	o := map[string]any{"id": u.ID, "username": u.Username, "discriminator": "0", "avatar": nil, "bot": u.Bot}
	if u.GlobalName != "" {
		o["global_name"] = u.GlobalName
	} else {
		o["global_name"] = nil
	}
	return o
}

func (s *Server) memberObjectLocked(g *guild, userID string) map[string]any {
	m := g.members[userID]
	roles := []string{}
	nick := any(nil)
	joined := s.nowLocked()
	if m != nil {
		roles = append(roles, m.roles...)
		if m.nick != "" {
			nick = m.nick
		}
		joined = m.joined
	}
	return map[string]any{
		"user": s.userObjectLocked(userID), "roles": roles, "nick": nick,
		"joined_at": joined.UTC().Format(time.RFC3339), "deaf": false, "mute": false, "flags": 0,
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Channel returns a copy of a channel (guild, DM or thread).
func (s *Server) Channel(id string) (discordgo.Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, ok := s.w.channels[id]
	if !ok {
		return discordgo.Channel{}, false
	}
	return s.channelViewLocked(cs), true
}

// channelViewLocked is a deep enough copy of a channel for callers and JSON.
func (s *Server) channelViewLocked(cs *chanState) discordgo.Channel {
	c := cs.ch
	c.PermissionOverwrites = cloneOverwrites(cs.ch.PermissionOverwrites)
	c.Messages = nil
	c.AvailableTags = slices.Clone(cs.ch.AvailableTags)
	c.AppliedTags = slices.Clone(cs.ch.AppliedTags)
	if md := cs.ch.ThreadMetadata; md != nil {
		mc := *md
		c.ThreadMetadata = &mc
	}
	if cs.recipient != "" {
		if u := s.w.users[cs.recipient]; u != nil {
			uc := *u
			c.Recipients = []*discordgo.User{&uc}
		}
	}
	if c.IsThread() {
		c.MemberCount = len(cs.members)
		c.MessageCount = len(cs.msgs)
	}
	return c
}

// channelObjectLocked is a channel as the API and the gateway send it: discordgo's
// form, with forum tags carrying emoji_id and emoji_name (null when unset) as Discord's do.
func (s *Server) channelObjectLocked(cs *chanState) json.RawMessage {
	v := s.channelViewLocked(cs)
	b := mustJSON(v)
	if v.AvailableTags == nil {
		return b
	}
	tags := make([]map[string]any, 0, len(v.AvailableTags))
	for _, t := range v.AvailableTags {
		o := map[string]any{"id": t.ID, "name": t.Name, "moderated": t.Moderated, "emoji_id": nil, "emoji_name": nil}
		if t.EmojiID != "" {
			o["emoji_id"] = t.EmojiID
		}
		if t.EmojiName != "" {
			o["emoji_name"] = t.EmojiName
		}
		tags = append(tags, o)
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	m["available_tags"] = mustJSON(tags)
	return mustJSON(m)
}
