package bot

import (
	"reflect"
	"testing"

	"github.com/bwmarrin/discordgo"
)

const (
	pView    int64 = discordgo.PermissionViewChannel
	pSend    int64 = discordgo.PermissionSendMessages
	pEmbed   int64 = discordgo.PermissionEmbedLinks
	pHistory int64 = discordgo.PermissionReadMessageHistory
	pAttach  int64 = discordgo.PermissionAttachFiles
	pMention int64 = discordgo.PermissionMentionEveryone
	pThreads int64 = discordgo.PermissionSendMessagesInThreads
	pCreateT int64 = discordgo.PermissionCreatePublicThreads
	pAdmin   int64 = discordgo.PermissionAdministrator
)

func role(id string, perms int64) *discordgo.Role { return &discordgo.Role{ID: id, Permissions: perms} }

func roleOW(id string, allow, deny int64) *discordgo.PermissionOverwrite {
	return &discordgo.PermissionOverwrite{ID: id, Type: discordgo.PermissionOverwriteTypeRole, Allow: allow, Deny: deny}
}

func memberOW(id string, allow, deny int64) *discordgo.PermissionOverwrite {
	return &discordgo.PermissionOverwrite{ID: id, Type: discordgo.PermissionOverwriteTypeMember, Allow: allow, Deny: deny}
}

func TestComputePermissions(t *testing.T) {
	const g, me, owner = "1", "10", "99"
	base := pView | pSend | pEmbed | pHistory
	guild := func(roles ...*discordgo.Role) *discordgo.Guild {
		return &discordgo.Guild{ID: g, OwnerID: owner, Roles: roles}
	}
	member := func(id string, roles ...string) *discordgo.Member {
		return &discordgo.Member{User: &discordgo.User{ID: id}, Roles: roles}
	}
	channel := func(ows ...*discordgo.PermissionOverwrite) *discordgo.Channel {
		return &discordgo.Channel{ID: "400", GuildID: g, PermissionOverwrites: ows}
	}
	tests := []struct {
		name    string
		guild   *discordgo.Guild
		member  *discordgo.Member
		channel *discordgo.Channel
		want    int64
	}{
		{"everyone role only", guild(role(g, base)), member(me), channel(), base},
		{"roles add to everyone", guild(role(g, pView|pSend), role("r1", pEmbed), role("r2", pHistory)), member(me, "r1", "r2"), channel(), base},
		{"role the member lacks does not count", guild(role(g, pView|pSend), role("r1", pEmbed)), member(me), channel(), pView | pSend},
		{"owner has everything", guild(role(g, 0)), member(owner), channel(roleOW(g, 0, pView)), allPermissions},
		{"administrator has everything despite overwrites", guild(role(g, 0), role("a", pAdmin)), member(me, "a"), channel(roleOW(g, 0, pView), memberOW(me, 0, pView)), allPermissions},
		{"everyone overwrite denies", guild(role(g, base)), member(me), channel(roleOW(g, 0, pEmbed)), pView | pSend | pHistory},
		{"everyone overwrite allows", guild(role(g, pView|pSend)), member(me), channel(roleOW(g, pEmbed, 0)), pView | pSend | pEmbed},
		{"role allow beats everyone deny", guild(role(g, base), role("r", 0)), member(me, "r"), channel(roleOW(g, 0, pEmbed), roleOW("r", pEmbed, 0)), base},
		{"role allow beats another role's deny", guild(role(g, base), role("r1", 0), role("r2", 0)), member(me, "r1", "r2"), channel(roleOW("r1", 0, pEmbed), roleOW("r2", pEmbed, 0)), base},
		{"role deny beats base", guild(role(g, base), role("r", 0)), member(me, "r"), channel(roleOW("r", 0, pHistory)), pView | pSend | pEmbed},
		{"overwrite of a role the member lacks is ignored", guild(role(g, base)), member(me), channel(roleOW("r", 0, pEmbed)), base},
		{"member deny beats role allow", guild(role(g, base), role("r", 0)), member(me, "r"), channel(roleOW("r", pAttach, 0), memberOW(me, 0, pAttach|pEmbed)), pView | pSend | pHistory},
		{"member allow beats role deny", guild(role(g, base), role("r", 0)), member(me, "r"), channel(roleOW("r", 0, pEmbed), memberOW(me, pEmbed, 0)), base},
		{"member overwrite of someone else is ignored", guild(role(g, base)), member(me), channel(memberOW("11", 0, pEmbed)), base},
		{"a member-type overwrite with the guild id is not @everyone", guild(role(g, base)), member(me), channel(memberOW(g, 0, pEmbed)), base},
		{"no view channel means nothing", guild(role(g, base|pAttach)), member(me), channel(roleOW(g, 0, pView)), 0},
		{"no send messages removes embed, attach, mention", guild(role(g, base|pAttach|pMention)), member(me), channel(roleOW(g, 0, pSend)), pView | pHistory},
		{"nil member", guild(role(g, base)), nil, channel(), 0},
		{"nil guild", nil, member(me), channel(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ComputePermissions(tt.guild, tt.member, tt.channel)
			if got != tt.want {
				t.Errorf("ComputePermissions = %b, want %b (missing %b, extra %b)", got, tt.want, tt.want&^got, got&^tt.want)
			}
		})
	}
}

func TestComputePermissionsThreadUsesParent(t *testing.T) {
	parent := &discordgo.Channel{ID: "401", GuildID: "1", PermissionOverwrites: []*discordgo.PermissionOverwrite{
		roleOW("1", 0, pView), roleOW("team", pView, 0),
	}}
	thread := &discordgo.Channel{ID: "700", GuildID: "1", ParentID: "401", Type: discordgo.ChannelTypeGuildPublicThread}
	guild := &discordgo.Guild{ID: "1", OwnerID: "99",
		Roles:    []*discordgo.Role{role("1", pView|pSend|pThreads), role("team", 0)},
		Channels: []*discordgo.Channel{parent, thread}}
	outsider := &discordgo.Member{User: &discordgo.User{ID: "10"}}
	insider := &discordgo.Member{User: &discordgo.User{ID: "11"}, Roles: []string{"team"}}
	if got := ComputePermissions(guild, outsider, thread); got != 0 {
		t.Errorf("outsider in thread of a private channel: %b, want 0", got)
	}
	if got, want := ComputePermissions(guild, insider, thread), pView|pSend|pThreads; got != want {
		t.Errorf("team member in thread: %b, want %b", got, want)
	}
}

func TestMissing(t *testing.T) {
	have := pView | pSend | pHistory
	if got, want := Missing(have, NewsChannelNeeds), []string{"Embed Links"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Missing news = %v, want %v", got, want)
	}
	if got, want := Missing(have, TeamChannelNeeds), []string{"Embed Links", "Create Public Threads", "Send Messages in Threads"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Missing team = %v, want %v", got, want)
	}
	if got := Missing(allPermissions, TeamChannelNeeds); got != nil {
		t.Errorf("Missing(all) = %v, want none", got)
	}
	if got := Missing(0, NewsChannelNeeds); len(got) != len(NewsChannelNeeds) {
		t.Errorf("Missing(0) = %v, want all %d", got, len(NewsChannelNeeds))
	}
	_, msg := permissionProblem("Embed Links", "news", "400")
	if msg != "missing permission Embed Links in #news (400)" {
		t.Errorf("message = %q", msg)
	}
}
