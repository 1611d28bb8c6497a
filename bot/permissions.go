package bot

import (
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// allPermissions is what an owner or an administrator has: every bit
// (discordgo's PermissionAll leaves out the newer thread permissions).
const allPermissions = ^int64(0)

// Need is one permission the bot needs, with its name as Discord's client
// shows it.
type Need struct {
	Perm int64
	Name string
}

// NewsChannelNeeds is what posting articles in the news channel takes
// (history: to find an earlier post before re-sending).
var NewsChannelNeeds = []Need{
	{discordgo.PermissionViewChannel, "View Channel"},
	{discordgo.PermissionSendMessages, "Send Messages"},
	{discordgo.PermissionEmbedLinks, "Embed Links"},
	{discordgo.PermissionReadMessageHistory, "Read Message History"},
}

// RouteChannelNeeds is what posting in a route channel of kind takes:
// a text or announcement channel as NewsChannelNeeds (publishing the bot's
// own posts needs nothing more), plus Create Public Threads and Send
// Messages in Threads for a thread on each post; a forum takes Send
// Messages and Embed Links for its posts and Read Message History to find
// an uncertain post again among the archived ones.
func RouteChannelNeeds(kind discordgo.ChannelType, thread bool) []Need {
	needs := append([]Need(nil), NewsChannelNeeds...)
	if kind != discordgo.ChannelTypeGuildForum && thread {
		needs = append(needs,
			Need{discordgo.PermissionCreatePublicThreads, "Create Public Threads"},
			Need{discordgo.PermissionSendMessagesInThreads, "Send Messages in Threads"})
	}
	return needs
}

// TeamChannelNeeds is what forwarding questions to the team channel takes:
// each question gets a thread for the team's discussion.
var TeamChannelNeeds = []Need{
	{discordgo.PermissionViewChannel, "View Channel"},
	{discordgo.PermissionSendMessages, "Send Messages"},
	{discordgo.PermissionEmbedLinks, "Embed Links"},
	{discordgo.PermissionReadMessageHistory, "Read Message History"},
	{discordgo.PermissionCreatePublicThreads, "Create Public Threads"},
	{discordgo.PermissionSendMessagesInThreads, "Send Messages in Threads"},
}

// Missing returns the names of the needs that have lacks, in the order of needs.
func Missing(have int64, needs []Need) []string {
	var out []string
	for _, n := range needs {
		if have&n.Perm != n.Perm {
			out = append(out, n.Name)
		}
	}
	return out
}

// ComputePermissions returns member's effective permissions in channel,
// following Discord's documented rules ("Permissions": permission hierarchy,
// permission overwrites, implicit permissions):
//
//   - the guild owner and anyone with Administrator have everything;
//   - base permissions are the @everyone role's (role id = guild id) plus
//     those of the member's roles;
//   - then the channel's overwrites, in order: @everyone (deny, then allow),
//     the member's roles (all their denies, then all their allows), the
//     member itself (deny, then allow); so an allow on a more specific level
//     beats a deny on a broader one, and on one level allow beats deny;
//   - without View Channel there is nothing at all in the channel; without
//     Send Messages, no TTS, Embed Links, Attach Files or Mention Everyone;
//   - a thread has no overwrites of its own: those of its parent (looked up
//     in guild.Channels by ParentID) apply.
//
// A nil guild, member or channel gives 0. The function is pure.
func ComputePermissions(guild *discordgo.Guild, member *discordgo.Member, channel *discordgo.Channel) int64 {
	if guild == nil || member == nil || channel == nil {
		return 0
	}
	userID := ""
	if member.User != nil {
		userID = member.User.ID
	}
	if userID != "" && userID == guild.OwnerID {
		return allPermissions
	}

	roles := make(map[string]int64, len(guild.Roles))
	for _, r := range guild.Roles {
		if r != nil {
			roles[r.ID] = r.Permissions
		}
	}
	perms := roles[guild.ID] // @everyone
	for _, id := range member.Roles {
		perms |= roles[id]
	}
	if perms&discordgo.PermissionAdministrator != 0 {
		return allPermissions
	}

	if channel.IsThread() {
		if parent := findChannel(guild, channel.ParentID); parent != nil {
			channel = parent
		}
	}
	var everyone, memberOW *discordgo.PermissionOverwrite
	var roleAllow, roleDeny int64
	memberRoles := make(map[string]bool, len(member.Roles))
	for _, id := range member.Roles {
		memberRoles[id] = true
	}
	for _, ow := range channel.PermissionOverwrites {
		if ow == nil {
			continue
		}
		switch {
		case ow.Type == discordgo.PermissionOverwriteTypeRole && ow.ID == guild.ID:
			everyone = ow
		case ow.Type == discordgo.PermissionOverwriteTypeRole && memberRoles[ow.ID]:
			roleAllow |= ow.Allow
			roleDeny |= ow.Deny
		case ow.Type == discordgo.PermissionOverwriteTypeMember && userID != "" && ow.ID == userID:
			memberOW = ow
		}
	}
	if everyone != nil {
		perms &^= everyone.Deny
		perms |= everyone.Allow
	}
	perms &^= roleDeny
	perms |= roleAllow
	if memberOW != nil {
		perms &^= memberOW.Deny
		perms |= memberOW.Allow
	}

	if perms&discordgo.PermissionViewChannel == 0 {
		return 0
	}
	if perms&discordgo.PermissionSendMessages == 0 {
		perms &^= discordgo.PermissionSendTTSMessages | discordgo.PermissionEmbedLinks |
			discordgo.PermissionAttachFiles | discordgo.PermissionMentionEveryone
	}
	return perms
}

func findChannel(g *discordgo.Guild, id string) *discordgo.Channel {
	if id == "" {
		return nil
	}
	for _, c := range g.Channels {
		if c != nil && c.ID == id {
			return c
		}
	}
	return nil
}

// permissionProblem is the Health key and the message for one missing
// permission: "missing permission Embed Links in #news (400)".
func permissionProblem(perm, channelName, channelID string) (key, msg string) {
	name := strings.TrimPrefix(channelName, "#")
	if name == "" {
		name = channelID
	}
	return permissionKey(channelID, perm),
		fmt.Sprintf("missing permission %s in #%s (%s)", perm, name, channelID)
}

// permissionKey is the /healthz key of a permission missing in a channel.
func permissionKey(channelID, perm string) string {
	return "permission:" + channelID + ":" + perm
}

// provenBySend are the permissions a news post that Discord accepted proves
// the bot has in its channel.
var provenBySend = []string{"View Channel", "Send Messages", "Embed Links"}

// PublicChannel reports whether a member with no role but @everyone can
// see ch (a team channel must not be public).
func PublicChannel(g *discordgo.Guild, ch *discordgo.Channel) bool {
	if g == nil || ch == nil {
		return false
	}
	nobody := &discordgo.Member{GuildID: g.ID, User: &discordgo.User{ID: "0"}}
	return ComputePermissions(g, nobody, ch)&discordgo.PermissionViewChannel != 0
}
