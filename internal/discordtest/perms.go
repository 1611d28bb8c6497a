package discordtest

import (
	"slices"

	"github.com/bwmarrin/discordgo"
)

// Permissions computes userID's effective permissions in channelID as Discord does
// (owner, administrator, @everyone, roles, overwrites in order, implicit rules; a thread
// uses its parent's overwrites). It is 0 when the user is not in the channel's guild.
func (s *Server) Permissions(userID, channelID string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.permsLocked(userID, channelID)
}

func (s *Server) permsLocked(userID, channelID string) int64 {
	cs := s.w.channels[channelID]
	if cs == nil {
		return 0
	}
	if cs.ch.GuildID == "" {
		if cs.recipient != "" {
			return discordgo.PermissionViewChannel | discordgo.PermissionSendMessages |
				discordgo.PermissionReadMessageHistory | discordgo.PermissionEmbedLinks | discordgo.PermissionAttachFiles
		}
		return 0
	}
	target := cs
	if cs.ch.IsThread() {
		if p := s.w.channels[cs.ch.ParentID]; p != nil {
			target = p
		}
	}
	g := s.w.guilds[cs.ch.GuildID]
	if g == nil {
		return 0
	}
	m := g.members[userID]
	if m == nil {
		return 0
	}
	if g.owner == userID {
		return allPerms
	}
	var perms int64
	if r := g.role(g.id); r != nil {
		perms = r.Permissions
	}
	for _, rid := range m.roles {
		if r := g.role(rid); r != nil {
			perms |= r.Permissions
		}
	}
	if perms&discordgo.PermissionAdministrator != 0 {
		return allPerms
	}
	ows := target.ch.PermissionOverwrites
	for _, o := range ows {
		if o.Type == discordgo.PermissionOverwriteTypeRole && o.ID == g.id {
			perms &^= o.Deny
			perms |= o.Allow
		}
	}
	var allow, deny int64
	for _, o := range ows {
		if o.Type == discordgo.PermissionOverwriteTypeRole && o.ID != g.id && slices.Contains(m.roles, o.ID) {
			allow |= o.Allow
			deny |= o.Deny
		}
	}
	perms &^= deny
	perms |= allow
	for _, o := range ows {
		if o.Type == discordgo.PermissionOverwriteTypeMember && o.ID == userID {
			perms &^= o.Deny
			perms |= o.Allow
		}
	}
	// Implicit permissions.
	if perms&discordgo.PermissionViewChannel == 0 {
		return 0
	}
	if perms&discordgo.PermissionSendMessages == 0 {
		perms &^= discordgo.PermissionMentionEveryone | discordgo.PermissionSendTTSMessages |
			discordgo.PermissionAttachFiles | discordgo.PermissionEmbedLinks
	}
	return perms
}

// basePermsLocked is a member's guild-level permissions (no channel overwrites).
func (s *Server) basePermsLocked(g *guild, userID string) int64 {
	m := g.members[userID]
	if m == nil {
		return 0
	}
	if g.owner == userID {
		return allPerms
	}
	var p int64
	if r := g.role(g.id); r != nil {
		p = r.Permissions
	}
	for _, rid := range m.roles {
		if r := g.role(rid); r != nil {
			p |= r.Permissions
		}
	}
	if p&discordgo.PermissionAdministrator != 0 {
		return allPerms
	}
	return p
}
