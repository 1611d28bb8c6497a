package bot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// The channels the bot serves: the news (route) channels and the team
// channel, read at start for the guild, and their permissions kept checked.

// RouteChannel is a channel that routes post to.
type RouteChannel struct {
	ID      string
	Routes  []string // the routes that lead there (names)
	Thread  bool     // a thread on each post
	Publish bool     // publish each post (announcement channels)
}

// routeChannels returns the channels posts go to: Options.RouteChannels,
// else NEWS_CHANNEL_ID as the one channel (of no named route).
func (b *Bot) routeChannels() []RouteChannel {
	if len(b.o.RouteChannels) > 0 {
		return b.o.RouteChannels
	}
	return []RouteChannel{{ID: b.o.NewsChannelID}}
}

// label names a route channel in errors: its routes, or NEWS_CHANNEL_ID.
func (rc RouteChannel) label() string {
	switch len(rc.Routes) {
	case 0:
		return "NEWS_CHANNEL_ID " + rc.ID
	case 1:
		return fmt.Sprintf("route %q: channel %s", rc.Routes[0], rc.ID)
	default:
		return fmt.Sprintf("routes %q: channel %s", strings.Join(rc.Routes, `", "`), rc.ID)
	}
}

// problemKey is the /healthz key of a route channel that cannot be read:
// the key its poster reports a 403/404 under (Poster.key), so that the
// poster's first post there clears what the start found.
func (rc RouteChannel) problemKey() string {
	if len(rc.Routes) == 0 {
		return problemChannel
	}
	return problemChannel + ":" + rc.ID
}

// RouteKinds are the kinds of channel a route may post to.
var RouteKinds = map[discordgo.ChannelType]string{
	discordgo.ChannelTypeGuildText:  "text",
	discordgo.ChannelTypeGuildNews:  "announcement",
	discordgo.ChannelTypeGuildForum: "forum",
}

// KindName names a channel type for messages.
func KindName(t discordgo.ChannelType) string {
	if n, ok := RouteKinds[t]; ok {
		return n
	}
	switch t {
	case discordgo.ChannelTypeGuildVoice:
		return "voice"
	case discordgo.ChannelTypeGuildCategory:
		return "category"
	case discordgo.ChannelTypeGuildStageVoice:
		return "stage"
	case discordgo.ChannelTypeGuildMedia:
		return "media"
	case discordgo.ChannelTypeGuildPublicThread, discordgo.ChannelTypeGuildPrivateThread, discordgo.ChannelTypeGuildNewsThread:
		return "thread"
	case discordgo.ChannelTypeDM, discordgo.ChannelTypeGroupDM:
		return "direct message"
	}
	return fmt.Sprintf("type %d", int(t))
}

// findGuild reads every route channel (at start: their kinds are kept, and
// kept current from CHANNEL_UPDATE) to learn the guild, and checks that
// they, DISCORD_GUILD_ID and the team channel agree on it. A channel of
// another kind than text, announcement or forum stops the start; one the
// bot cannot read is reported and its posts wait until it is fixed.
func (b *Bot) findGuild(ctx context.Context) (string, error) {
	guildID, first := "", ""
	var firstErr error
	for _, rc := range b.routeChannels() {
		name := "NEWS_CHANNEL_ID"
		if len(rc.Routes) > 0 {
			name = rc.label()
		}
		ch, err := b.channel(ctx, name, rc.ID)
		var ae *accessError
		switch {
		case errors.As(err, &ae):
			b.reportChannel(rc.problemKey(), ae)
			if firstErr == nil {
				firstErr = err
			}
			continue
		case err != nil:
			return "", err
		}
		if ch.GuildID == "" {
			return "", fmt.Errorf("discord: %s is not a server channel", rc.label())
		}
		if _, ok := RouteKinds[ch.Type]; !ok {
			return "", fmt.Errorf("discord: %s is a %s channel; news goes to a text, announcement or forum channel", rc.label(), KindName(ch.Type))
		}
		if b.o.GuildID != "" && b.o.GuildID != ch.GuildID {
			return "", fmt.Errorf("discord: DISCORD_GUILD_ID %s is not the guild of %s (that is %s)", b.o.GuildID, rc.label(), ch.GuildID)
		}
		if guildID != "" && ch.GuildID != guildID {
			return "", fmt.Errorf("discord: %s is in guild %s, not in guild %s of %s; newsbot serves one guild", rc.label(), ch.GuildID, guildID, first)
		}
		guildID, first = ch.GuildID, rc.label()
		b.keepChannel(ch)
	}
	if guildID == "" {
		// No news channel can be read: like a post that gets 403/404, it is
		// reported and news waits until it is fixed, if the guild can be
		// known otherwise; commands keep working meanwhile.
		g := b.fallbackGuild()
		if g == "" {
			return "", firstErr
		}
		b.checkTeam(ctx, g)
		return g, nil
	}
	if err := b.checkTeam(ctx, guildID); err != nil {
		return "", err
	}
	return guildID, nil
}

// keepChannel records a route channel as read.
func (b *Bot) keepChannel(ch *discordgo.Channel) {
	c := *ch
	b.mu.Lock()
	b.channels[ch.ID] = &c
	b.mu.Unlock()
}

// onChannelUpdate keeps a route channel's kind, flags and tags current.
func (b *Bot) onChannelUpdate(_ *discordgo.Session, u *discordgo.ChannelUpdate) {
	if u.Channel != nil {
		for _, rc := range b.routeChannels() {
			if rc.ID != u.ID {
				continue
			}
			if before := b.RouteChannel(u.ID); before == nil || before.Type != u.Type {
				b.log.Info("news channel kind is now "+KindName(u.Type), "channel_id", u.ID)
			}
			b.keepChannel(u.Channel)
		}
	}
	b.checkPermissions()
}

// RouteChannel returns a route channel as last read (at start, or from a
// CHANNEL_UPDATE): kind, flags, forum tags. nil when it could not be read.
func (b *Bot) RouteChannel(id string) *discordgo.Channel {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.channels[id]; ok {
		cc := *c
		return &cc
	}
	return nil
}

// checkTeam checks that the team channel is in the guild; one the bot
// cannot read is reported (questions stay queued until it is fixed).
func (b *Bot) checkTeam(ctx context.Context, guildID string) error {
	if b.o.TeamChannelID == "" {
		return nil
	}
	team, err := b.channel(ctx, "TEAM_CHANNEL_ID", b.o.TeamChannelID)
	var ae *accessError
	if errors.As(err, &ae) {
		b.reportChannel("team_channel", ae)
		return nil
	}
	if err != nil {
		return err
	}
	if team.GuildID != guildID {
		return fmt.Errorf("discord: TEAM_CHANNEL_ID %s is not in the news channel's guild %s", team.ID, guildID)
	}
	return nil
}

func (b *Bot) reportChannel(key string, ae *accessError) {
	b.health.SetProblem(key, ae.msg)
	b.log.Error(ae.msg)
}

// fallbackGuild is the guild to serve when the news channel cannot be read:
// DISCORD_GUILD_ID, else the only guild the bot is in.
func (b *Bot) fallbackGuild() string {
	if b.o.GuildID != "" {
		return b.o.GuildID
	}
	b.s.State.RLock()
	defer b.s.State.RUnlock()
	if len(b.s.State.Guilds) == 1 {
		return b.s.State.Guilds[0].ID
	}
	return ""
}

// accessError is a channel the bot cannot see (403) or that does not
// exist (404).
type accessError struct{ msg string }

func (e *accessError) Error() string { return e.msg }

func (b *Bot) channel(ctx context.Context, name, id string) (*discordgo.Channel, error) {
	if id == "" {
		return nil, fmt.Errorf("discord: %s is not set", name)
	}
	var c *discordgo.Channel
	err := b.retryStart(ctx, "reading channel "+id, func() (err error) {
		c, err = b.s.Channel(id, discordgo.WithContext(ctx))
		return err
	})
	if err == nil {
		return c, nil
	}
	// The gateway's GUILD_CREATE may already have told us the channel.
	if c, serr := b.s.State.Channel(id); serr == nil && c.GuildID != "" {
		b.log.Warn("reading the channel failed; using the gateway's copy", "channel_id", id, "error", err)
		return c, nil
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		switch re.Response.StatusCode {
		case 404:
			return nil, &accessError{fmt.Sprintf("discord: %s %s: no such channel (check the id, and that the bot is in that server)", name, id)}
		case 403:
			return nil, &accessError{fmt.Sprintf("discord: %s %s: the bot cannot see this channel (give it View Channel there)", name, id)}
		}
	}
	return nil, classifyConnErr(err, b.o.APIURL)
}

// checkPermissions computes the bot's permissions in the news and team
// channels from the state and reports each missing one once (a Health
// problem and a warn line); one that is granted again is cleared.
func (b *Bot) checkPermissions() {
	b.mu.Lock()
	guildID, botID := b.guildID, b.botID
	b.mu.Unlock()
	if guildID == "" || botID == "" || b.s.State == nil {
		return
	}
	if !b.guildAvailable(guildID) {
		return
	}
	guild, err := b.s.State.Guild(guildID)
	if err != nil {
		return
	}
	member, err := b.s.State.Member(guildID, botID)
	if err != nil {
		b.log.Debug("bot member not in state; channel permissions not checked", "guild_id", guildID)
		return
	}
	type target struct {
		id     string
		needs  []Need
		routes []string
	}
	var targets []target
	for _, rc := range b.routeChannels() {
		needs := NewsChannelNeeds
		if ch := b.RouteChannel(rc.ID); ch != nil {
			needs = RouteChannelNeeds(ch.Type, rc.Thread)
		}
		targets = append(targets, target{rc.ID, needs, rc.Routes})
	}
	if b.o.TeamChannelID != "" {
		targets = append(targets, target{b.o.TeamChannelID, TeamChannelNeeds, nil})
	}
	type missingPerm struct{ msg, channelID, perm string }
	now := map[string]missingPerm{}
	for _, t := range targets {
		ch, err := b.s.State.Channel(t.id)
		if err != nil {
			continue
		}
		b.s.State.RLock()
		have := ComputePermissions(guild, member, ch)
		name := ch.Name
		b.s.State.RUnlock()
		for _, perm := range Missing(have, t.needs) {
			key, msg := permissionProblem(perm, name, t.id)
			if len(t.routes) > 0 {
				msg = routesLabel(t.routes, t.id) + ": " + msg
			}
			now[key] = missingPerm{msg, t.id, perm}
		}
		if t.id == b.o.TeamChannelID {
			b.s.State.RLock()
			public := PublicChannel(guild, ch)
			b.s.State.RUnlock()
			if public {
				now["team_channel_public"] = missingPerm{fmt.Sprintf(
					"the team channel #%s (%s) is visible to @everyone: members can read questions and press the team's buttons; make it private",
					name, t.id), t.id, "private channel"}
			}
		}
	}
	b.mu.Lock()
	var added, cleared []string
	for key := range now {
		if !b.missing[key] {
			b.missing[key] = true
			added = append(added, key)
		}
	}
	for key := range b.missing {
		if _, ok := now[key]; !ok {
			delete(b.missing, key)
			cleared = append(cleared, key)
		}
	}
	b.mu.Unlock()
	sort.Strings(added)
	for _, key := range added {
		m := now[key]
		b.health.SetProblem(key, m.msg)
		b.log.Warn(m.msg, "channel_id", m.channelID, "permission", m.perm)
	}
	for _, key := range cleared {
		b.health.ClearProblem(key)
		b.log.Info("permission granted again", "problem", key)
	}
}

// HasPermission reports whether the bot holds perm in channelID, by the
// gateway's state (false when it cannot tell).
func (b *Bot) HasPermission(channelID string, perm int64) bool {
	b.mu.Lock()
	guildID, botID := b.guildID, b.botID
	b.mu.Unlock()
	if guildID == "" || botID == "" || b.s.State == nil {
		return false
	}
	guild, err := b.s.State.Guild(guildID)
	if err != nil {
		return false
	}
	member, err := b.s.State.Member(guildID, botID)
	if err != nil {
		return false
	}
	ch, err := b.s.State.Channel(channelID)
	if err != nil {
		return false
	}
	b.s.State.RLock()
	defer b.s.State.RUnlock()
	return ComputePermissions(guild, member, ch)&perm == perm
}
