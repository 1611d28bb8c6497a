package bot

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/bwmarrin/discordgo"
)

// The channels the bot serves: the news (route) channels and the team
// channel, read at start for the guild, and their permissions kept checked.

// findGuild reads the news channel to learn the guild, and checks
// DISCORD_GUILD_ID and the team channel against it.
func (b *Bot) findGuild(ctx context.Context) (string, error) {
	news, err := b.channel(ctx, "NEWS_CHANNEL_ID", b.o.NewsChannelID)
	var ae *accessError
	switch {
	case errors.As(err, &ae):
		// No access or no such channel: like a post that gets 403/404, it
		// is reported and news waits until it is fixed, if the guild can be
		// known otherwise; commands keep working meanwhile.
		g := b.fallbackGuild()
		if g == "" {
			return "", err
		}
		b.reportChannel("news_channel", ae)
		b.checkTeam(ctx, g)
		return g, nil
	case err != nil:
		return "", err
	}
	if news.GuildID == "" {
		return "", fmt.Errorf("discord: NEWS_CHANNEL_ID %s is not a server channel", news.ID)
	}
	if b.o.GuildID != "" && b.o.GuildID != news.GuildID {
		return "", fmt.Errorf("discord: DISCORD_GUILD_ID %s is not the guild of NEWS_CHANNEL_ID %s (that is %s)", b.o.GuildID, news.ID, news.GuildID)
	}
	if err := b.checkTeam(ctx, news.GuildID); err != nil {
		return "", err
	}
	return news.GuildID, nil
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
		id    string
		needs []Need
	}
	targets := []target{{b.o.NewsChannelID, NewsChannelNeeds}}
	if b.o.TeamChannelID != "" {
		targets = append(targets, target{b.o.TeamChannelID, TeamChannelNeeds})
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
