package app

import (
	"context"
	"fmt"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/bot"
	"github.com/newsbot/newsbot/internal/config"
)

// routesOf returns the configured routes for the poller and the store. feeds
// is what the run polls: in a dry run without FEED_URLS, the sample feed,
// which the implicit route then lists.
func routesOf(cfg config.Config, feeds []string) []articles.Route {
	if cfg.RoutesFile == "" {
		return []articles.Route{{Name: config.NewsRoute, Feeds: feeds, ChannelID: cfg.NewsChannelID, RoleID: cfg.NewsRoleID}}
	}
	out := make([]articles.Route, 0, len(cfg.Routes))
	for _, r := range cfg.Routes {
		out = append(out, articles.Route{Name: r.Name, Feeds: r.Feeds, ChannelID: r.ChannelID, RoleID: r.RoleID, Filter: r.Filter})
	}
	return out
}

// prepareDeliveries brings the database's deliveries in line with the
// routes before anything is posted: deliveries from before routes go to the
// news route's channel (or the start is refused when there is none), those
// no route leads to any more are dropped, and a feed a channel has not seen
// is read whole on the next poll so that the channel gets its backlog.
func prepareDeliveries(ctx context.Context, store articles.DeliveryStore, routes []articles.Route) (dropped int, err error) {
	if err := adoptDeliveries(ctx, store, routes); err != nil {
		return 0, err
	}
	if dropped, err = store.DropStaleDeliveries(ctx, routes); err != nil {
		return 0, err
	}
	if _, err := store.RefetchForNewChannels(ctx, routes); err != nil {
		return dropped, err
	}
	return dropped, nil
}

// routeChannels describes the route channels for the bot (nil without
// ROUTES_FILE: the bot then serves NEWS_CHANNEL_ID as before).
func routeChannels(cfg config.Config) []bot.RouteChannel {
	if cfg.RoutesFile == "" {
		return nil
	}
	var out []bot.RouteChannel
	at := map[string]int{}
	for _, r := range cfg.Routes {
		i, ok := at[r.ChannelID]
		if !ok {
			i = len(out)
			at[r.ChannelID] = i
			out = append(out, bot.RouteChannel{ID: r.ChannelID, Thread: r.Thread, Publish: r.Publish})
		}
		out[i].Routes = append(out[i].Routes, r.Name)
	}
	return out
}

// checkRouteKinds checks the keys that depend on a route channel's kind
// once the channels are read (channel returns nil for one that could not
// be read: it is reported elsewhere).
//
// moderator, when not nil, says whether the bot has Manage Threads in a
// forum: a required tag that is moderated is usable only then.
func checkRouteKinds(routes []config.Route, channel func(id string) *discordgo.Channel, moderator func(id string) bool) error {
	for _, r := range routes {
		ch := channel(r.ChannelID)
		if ch == nil {
			continue
		}
		kind := bot.KindName(ch.Type)
		switch ch.Type {
		case discordgo.ChannelTypeGuildForum:
			if r.ThreadSet {
				return r.Errorf("thread", "posts to forum %s, whose posts are threads already; remove thread", ch.ID)
			}
			if r.PublishSet {
				return r.Errorf("publish", "posts to forum %s, whose posts cannot be published; remove publish", ch.ID)
			}
			if r.ForumTag != "" && bot.ForumTagID(ch, r.ForumTag) == "" {
				return r.Errorf("forum_tag", "is %q, which is not a tag of forum %s (its tags: %s)", r.ForumTag, ch.ID, bot.ForumTagNames(ch))
			}
			if ch.Flags&discordgo.ChannelFlagRequireTag != 0 && r.ForumTag == "" {
				return r.Errorf("forum_tag", "is missing: forum %s requires a tag on each post; name one of its tags (%s) for articles whose categories match none", ch.ID, bot.ForumTagNames(ch))
			}
			if ch.Flags&discordgo.ChannelFlagRequireTag != 0 && moderator != nil && bot.ForumTagModerated(ch, r.ForumTag) && !moderator(ch.ID) {
				return r.Errorf("forum_tag", "is %q, a moderated tag of forum %s, which requires a tag: give the bot Manage Threads there, or name a tag that is not moderated", r.ForumTag, ch.ID)
			}
		case discordgo.ChannelTypeGuildText:
			if r.PublishSet {
				return r.Errorf("publish", "is set but channel %s is a text channel; only announcement channels publish", ch.ID)
			}
			fallthrough
		default:
			if r.ForumTag != "" {
				return r.Errorf("forum_tag", "is set but channel %s is a channel of kind %s, not a forum", ch.ID, kind)
			}
		}
	}
	return nil
}

// adoptDeliveries gives the deliveries recorded without a channel (by a
// version before routes, or by newsbot fetch without NEWS_CHANNEL_ID) to
// the channel of the route named news; without such a route it is an
// error naming ROUTES_FILE.
func adoptDeliveries(ctx context.Context, store articles.DeliveryStore, routes []articles.Route) error {
	n, err := store.UnadoptedDeliveries(ctx)
	if err != nil || n == 0 {
		return err
	}
	channel := ""
	for _, r := range routes {
		if r.Name == config.NewsRoute {
			channel = r.ChannelID
		}
	}
	if channel == "" {
		return fmt.Errorf("config: ROUTES_FILE names no route %q: the database holds %d news posts recorded without a channel (from before routes, or by newsbot fetch without NEWS_CHANNEL_ID); name the route of the old NEWS_CHANNEL_ID %q",
			config.NewsRoute, n, config.NewsRoute)
	}
	_, err = store.AdoptDeliveries(ctx, channel)
	return err
}
