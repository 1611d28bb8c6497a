package discordtest

import (
	"slices"
	"time"

	"github.com/bwmarrin/discordgo"
)

// The default world's ids and the expected token.
const (
	Token            = "fake-token" // the bot token the fake accepts ("Bot fake-token" on the wire)
	BotUserID        = "100"
	BotUsername      = "newsbot"
	ApplicationID    = "200"
	GuildID          = "300"
	GuildName        = "Test Guild"
	EveryoneRoleID   = "300" // same as the guild id, as in Discord
	BotRoleID        = "310"
	TeamRoleID       = "320"
	NewsChannelID    = "400"
	TeamChannelID    = "401"
	GeneralChannelID = "402" // where members use commands by default
	MemberUserID     = "500" // a plain member; the default author of interactions
	MemberUsername   = "member"
	TeamUserID       = "600" // holds the team role
	TeamUsername     = "teammate"
	OwnerUserID      = "900" // the guild owner
	OwnerUsername    = "owner"
)

// Default permissions of the default world.
const (
	// EveryonePerms is what @everyone may do in the default guild.
	EveryonePerms int64 = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages |
		discordgo.PermissionReadMessageHistory | discordgo.PermissionEmbedLinks |
		discordgo.PermissionAttachFiles | discordgo.PermissionAddReactions |
		discordgo.PermissionUseExternalEmojis | discordgo.PermissionUseSlashCommands |
		discordgo.PermissionCreatePublicThreads | discordgo.PermissionCreatePrivateThreads |
		discordgo.PermissionSendMessagesInThreads | discordgo.PermissionCreateInstantInvite |
		discordgo.PermissionChangeNickname | discordgo.PermissionVoiceConnect | discordgo.PermissionVoiceSpeak
	// BotPerms is what the bot role grants.
	BotPerms int64 = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages |
		discordgo.PermissionEmbedLinks | discordgo.PermissionReadMessageHistory |
		discordgo.PermissionSendMessagesInThreads | discordgo.PermissionCreatePublicThreads |
		discordgo.PermissionCreatePrivateThreads
	// TeamPerms is what the team role grants.
	TeamPerms int64 = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages |
		discordgo.PermissionReadMessageHistory | discordgo.PermissionManageThreads
)

// allPerms is every permission bit Discord defines (as far as discordgo knows).
const allPerms int64 = 1<<47 - 1

type world struct {
	guilds     map[string]*guild
	guildOrder []string
	channels   map[string]*chanState
	chanOrder  []string
	users      map[string]*discordgo.User
	dms        map[string]string // user id -> DM channel id
	dmClosed   map[string]bool
}

type guild struct {
	id, name, owner string
	roles           []*discordgo.Role
	members         map[string]*memberState
	memberOrder     []string
}

type memberState struct {
	userID string
	roles  []string
	nick   string
	joined time.Time
}

type chanState struct {
	ch        discordgo.Channel
	msgs      []*storedMsg
	members   []string // thread members
	recipient string   // DM
}

func (w *world) init() {
	w.guilds = map[string]*guild{}
	w.channels = map[string]*chanState{}
	w.users = map[string]*discordgo.User{}
	w.dms = map[string]string{}
	w.dmClosed = map[string]bool{}
}

func (s *Server) defaultWorld() {
	now := s.nowLocked().Add(-24 * time.Hour)
	s.w.users[BotUserID] = &discordgo.User{ID: BotUserID, Username: BotUsername, Discriminator: "0", Bot: true}
	s.addUserLocked(OwnerUserID, OwnerUsername)
	s.addUserLocked(MemberUserID, MemberUsername)
	s.addUserLocked(TeamUserID, TeamUsername)
	s.addGuildLocked(GuildID, GuildName, EveryonePerms, true)
	g := s.w.guilds[GuildID]
	g.roles = append(g.roles,
		&discordgo.Role{ID: BotRoleID, Name: "newsbot", Permissions: BotPerms, Position: 2, Managed: true},
		&discordgo.Role{ID: TeamRoleID, Name: "team", Permissions: TeamPerms, Position: 1, Mentionable: false})
	g.setMember(OwnerUserID, nil, now)
	g.setMember(MemberUserID, nil, now)
	g.setMember(TeamUserID, []string{TeamRoleID}, now)
	g.setMember(BotUserID, []string{BotRoleID}, now)
	s.addChannelLocked(discordgo.Channel{ID: NewsChannelID, GuildID: GuildID, Name: "news", Type: discordgo.ChannelTypeGuildText, Position: 0})
	s.addChannelLocked(discordgo.Channel{ID: TeamChannelID, GuildID: GuildID, Name: "team", Type: discordgo.ChannelTypeGuildText, Position: 1,
		PermissionOverwrites: []*discordgo.PermissionOverwrite{
			{ID: EveryoneRoleID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionViewChannel},
			{ID: BotRoleID, Type: discordgo.PermissionOverwriteTypeRole, Allow: discordgo.PermissionViewChannel},
			{ID: TeamRoleID, Type: discordgo.PermissionOverwriteTypeRole, Allow: discordgo.PermissionViewChannel},
		}})
	s.addChannelLocked(discordgo.Channel{ID: GeneralChannelID, GuildID: GuildID, Name: "general", Type: discordgo.ChannelTypeGuildText, Position: 2})
}

func (g *guild) setMember(userID string, roles []string, joined time.Time) {
	if _, ok := g.members[userID]; !ok {
		g.memberOrder = append(g.memberOrder, userID)
	}
	g.members[userID] = &memberState{userID: userID, roles: slices.Clone(roles), joined: joined}
}

func (g *guild) role(id string) *discordgo.Role {
	for _, r := range g.roles {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func (s *Server) addUserLocked(id, name string) *discordgo.User {
	if u, ok := s.w.users[id]; ok {
		if name != "" {
			u.Username = name
		}
		return u
	}
	u := &discordgo.User{ID: id, Username: name, Discriminator: "0"}
	s.w.users[id] = u
	return u
}

func (s *Server) addGuildLocked(id, name string, everyonePerms int64, botMember bool) {
	g, ok := s.w.guilds[id]
	if !ok {
		g = &guild{id: id, members: map[string]*memberState{}}
		s.w.guilds[id] = g
		s.w.guildOrder = append(s.w.guildOrder, id)
	}
	g.name, g.owner = name, OwnerUserID
	if r := g.role(id); r != nil {
		r.Permissions = everyonePerms
	} else {
		g.roles = append([]*discordgo.Role{{ID: id, Name: "@everyone", Permissions: everyonePerms}}, g.roles...)
	}
	if _, ok := g.members[OwnerUserID]; !ok {
		s.addUserLocked(OwnerUserID, OwnerUsername)
		g.setMember(OwnerUserID, nil, s.nowLocked())
	}
	if botMember {
		if _, ok := g.members[BotUserID]; !ok {
			g.setMember(BotUserID, nil, s.nowLocked())
		}
	}
}

func (s *Server) addChannelLocked(c discordgo.Channel) {
	if c.Type == 0 && c.ID == "" {
		c.ID = s.nextIDLocked()
	}
	c.PermissionOverwrites = cloneOverwrites(c.PermissionOverwrites)
	s.normalizeChannelLocked(&c)
	if cs, ok := s.w.channels[c.ID]; ok {
		cs.ch = c
		return
	}
	s.w.channels[c.ID] = &chanState{ch: c}
	s.w.chanOrder = append(s.w.chanOrder, c.ID)
}

func cloneOverwrites(ows []*discordgo.PermissionOverwrite) []*discordgo.PermissionOverwrite {
	out := make([]*discordgo.PermissionOverwrite, 0, len(ows))
	for _, o := range ows {
		if o != nil {
			c := *o
			out = append(out, &c)
		}
	}
	return out
}

// SetToken changes the token the fake accepts (without "Bot ").
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// AddGuild adds a guild (or updates one) with its @everyone role (id = guild id,
// permissions everyonePerms), owned by OwnerUserID. The bot is a member of it when
// botMember is true. Guilds added after the bot identified reach it on its next IDENTIFY.
func (s *Server) AddGuild(id, name string, everyonePerms int64, botMember bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addGuildLocked(id, name, everyonePerms, botMember)
	s.broadcastLocked()
}

// AddChannel adds or replaces a channel. GuildID empty makes a channel outside any guild.
// Type defaults to text (0); announcement (5) and forum (15) channels behave as on
// Discord (crossposting, forum posts). A forum's AvailableTags without an ID get one,
// and Flags may hold discordgo.ChannelFlagRequireTag. An empty ID gets a new one.
// PermissionOverwrites are honoured. It returns the channel's id. The gateway learns of
// it on the next IDENTIFY or DispatchGuildCreate; use UpdateChannel to change a channel
// the bot already knows (CHANNEL_UPDATE).
func (s *Server) AddChannel(c discordgo.Channel) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == "" {
		c.ID = s.nextIDLocked()
	}
	s.addChannelLocked(c)
	s.broadcastLocked()
	return c.ID
}

// RemoveChannel deletes a channel (later requests get 404 code 10003).
func (s *Server) RemoveChannel(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.w.channels, id)
	s.w.chanOrder = slices.DeleteFunc(s.w.chanOrder, func(x string) bool { return x == id })
	s.broadcastLocked()
}

// SetOverwrites replaces a channel's permission overwrites.
func (s *Server) SetOverwrites(channelID string, ows ...*discordgo.PermissionOverwrite) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs, ok := s.w.channels[channelID]; ok {
		cs.ch.PermissionOverwrites = cloneOverwrites(ows)
	}
	s.broadcastLocked()
}

// AddRole adds or replaces a role of a guild.
func (s *Server) AddRole(guildID string, r discordgo.Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.w.guilds[guildID]
	if g == nil {
		return
	}
	if old := g.role(r.ID); old != nil {
		*old = r
	} else {
		rc := r
		g.roles = append(g.roles, &rc)
	}
	s.broadcastLocked()
}

// SetRolePermissions changes a role's permissions.
func (s *Server) SetRolePermissions(guildID, roleID string, perms int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.w.guilds[guildID]; g != nil {
		if r := g.role(roleID); r != nil {
			r.Permissions = perms
		}
	}
	s.broadcastLocked()
}

// AddMember adds or replaces a guild member (m.User must be set; the user becomes known).
func (s *Server) AddMember(guildID string, m discordgo.Member) {
	if m.User == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.w.guilds[guildID]
	if g == nil {
		return
	}
	u := s.addUserLocked(m.User.ID, m.User.Username)
	u.Bot = m.User.Bot
	u.GlobalName = m.User.GlobalName
	g.setMember(m.User.ID, m.Roles, s.nowLocked())
	g.members[m.User.ID].nick = m.Nick
	s.broadcastLocked()
}

// RemoveMember removes a member from a guild.
func (s *Server) RemoveMember(guildID, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.w.guilds[guildID]; g != nil {
		delete(g.members, userID)
		g.memberOrder = slices.DeleteFunc(g.memberOrder, func(x string) bool { return x == userID })
	}
	s.broadcastLocked()
}

// SetBotRoles replaces the bot member's roles in a guild.
func (s *Server) SetBotRoles(guildID string, roleIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.w.guilds[guildID]; g != nil {
		if m := g.members[BotUserID]; m != nil {
			m.roles = slices.Clone(roleIDs)
		}
	}
	s.broadcastLocked()
}

// SetDMsClosed makes message creates in the DM channel with userID fail with 403 code 50007.
func (s *Server) SetDMsClosed(userID string, closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.dmClosed[userID] = closed
	s.broadcastLocked()
}
