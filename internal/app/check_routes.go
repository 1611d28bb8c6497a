package app

import (
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/bot"
	"github.com/newsbot/newsbot/internal/config"
)

// checkRouteChannels checks each route's channel: it exists, is a text,
// announcement or forum channel of one server, and the route's keys suit
// its kind (forum_tag, thread, publish, a forum's required tag). It returns
// the channels it could read, in route order, once each.
func (c *checklist) checkRouteChannels(s *discordgo.Session, cfg config.Config) []*discordgo.Channel {
	read := map[string]*discordgo.Channel{}
	failed := map[string]bool{}
	var out []*discordgo.Channel
	guildID := ""
	for _, r := range cfg.Routes {
		ch, done := read[r.ChannelID]
		if !done && !failed[r.ChannelID] {
			ch = c.readRouteChannel(s, cfg, r)
			if ch != nil && guildID != "" && ch.GuildID != guildID {
				c.bad(fmt.Sprintf("route %q: channel %s is in another server (%s) than the other routes' (%s)", r.Name, r.ChannelID, ch.GuildID, guildID),
					"newsbot serves one server: use channels of that server")
				ch = nil
			}
			if ch == nil {
				failed[r.ChannelID] = true
			} else {
				guildID = ch.GuildID
				read[r.ChannelID] = ch
				out = append(out, ch)
			}
		}
		if ch == nil {
			continue
		}
		if err := checkRouteKinds([]config.Route{r}, func(string) *discordgo.Channel { return ch }, nil); err != nil {
			c.bad(oneLine(err.Error()), "edit ROUTES_FILE to suit the channel's kind")
			continue
		}
		c.ok("route %q posts to %s channel #%s", r.Name, bot.KindName(ch.Type), ch.Name)
	}
	return out
}

func (c *checklist) readRouteChannel(s *discordgo.Session, cfg config.Config, r config.Route) *discordgo.Channel {
	name := fmt.Sprintf("route %q: channel", r.Name)
	ch, err := s.Channel(r.ChannelID)
	if err != nil {
		switch restStatus(err) {
		case 403:
			c.bad(fmt.Sprintf("%s %s: the bot cannot see this channel", name, r.ChannelID), "give the bot's role View Channel in it (or invite the bot to that server)")
		case 404:
			c.bad(fmt.Sprintf("%s %s: no such channel", name, r.ChannelID), "copy the id again: Developer Mode on, right-click the channel > Copy Channel ID")
		default:
			c.bad(fmt.Sprintf("%s %s: %s", name, r.ChannelID, describeRESTError(err, cfg)), "check the id and the bot's access")
		}
		return nil
	}
	if _, ok := bot.RouteKinds[ch.Type]; !ok {
		c.bad(fmt.Sprintf("%s %s (#%s) is a %s channel", name, r.ChannelID, ch.Name, bot.KindName(ch.Type)), "use a text, announcement or forum channel's id")
		return nil
	}
	if ch.GuildID == "" {
		c.bad(fmt.Sprintf("%s %s is not a server channel", name, r.ChannelID), "use a channel of your server")
		return nil
	}
	return ch
}

// checkRoutePermissions checks the permissions each route channel's kind
// takes (threads on posts need Create Public Threads and Send Messages in
// Threads).
func (c *checklist) checkRoutePermissions(g *discordgo.Guild, m *discordgo.Member, cfg config.Config, chans []*discordgo.Channel) {
	for _, ch := range chans {
		var names []string
		thread := false
		for _, r := range cfg.Routes {
			if r.ChannelID == ch.ID {
				names = append(names, fmt.Sprintf("%q", r.Name))
				thread = thread || r.Thread
			}
		}
		what := fmt.Sprintf("%s channel of route %s", bot.KindName(ch.Type), strings.Join(names, ", "))
		c.checkPermissions(g, m, ch, what, bot.RouteChannelNeeds(ch.Type, thread))
		moderator := bot.ComputePermissions(g, m, ch)&discordgo.PermissionManageThreads != 0
		for _, r := range cfg.Routes {
			if r.ChannelID != ch.ID {
				continue
			}
			one, read := []config.Route{r}, func(string) *discordgo.Channel { return ch }
			if checkRouteKinds(one, read, nil) != nil {
				continue // reported with the channel
			}
			if err := checkRouteKinds(one, read, func(string) bool { return moderator }); err != nil {
				c.bad(oneLine(err.Error()), fmt.Sprintf("give the bot's role Manage Threads in #%s, or set forum_tag to a tag that is not moderated", ch.Name))
			}
		}
	}
}
