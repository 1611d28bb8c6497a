package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/bot"
	"github.com/newsbot/newsbot/internal/config"
)

// routes returns the configured routes for the poller and the store. feeds
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
func prepareDeliveries(ctx context.Context, store articles.DeliveryStore, cfg config.Config, routes []articles.Route) (dropped int, err error) {
	n, err := store.UnadoptedDeliveries(ctx)
	if err != nil {
		return 0, err
	}
	if n > 0 {
		channel := ""
		for _, r := range routes {
			if r.Name == config.NewsRoute {
				channel = r.ChannelID
			}
		}
		if channel == "" {
			return 0, fmt.Errorf("config: ROUTES_FILE names no route %q: the database holds %d news posts from before routes, whose channel only the route named %q can tell; name the route of the old NEWS_CHANNEL_ID %q",
				config.NewsRoute, n, config.NewsRoute, config.NewsRoute)
		}
		if _, err := store.AdoptDeliveries(ctx, channel); err != nil {
			return 0, err
		}
	}
	if dropped, err = store.DropStaleDeliveries(ctx, routes); err != nil {
		return 0, err
	}
	if _, err := store.RefetchForNewChannels(ctx, routes); err != nil {
		return dropped, err
	}
	return dropped, nil
}

// channelPosters holds one Poster per route channel, and the workers that
// publish posts and open threads on them: each channel posts on its own, so
// that a failure, a rate limit or a missing permission in one holds back
// only that channel, and follow-ups never hold back posting.
type channelPosters struct {
	posters []*bot.Poster
	workers []*bot.FollowUpWorker
}

// discordKinds is what per-kind posting needs from Discord (nil in a dry
// run: every channel is then printed as text).
type discordKinds struct {
	b       *bot.Bot
	timeout time.Duration // the HTTP client's
}

// routeChannelSpec is what the routes of one channel ask for.
type routeChannelSpec struct {
	id       string
	names    []string
	thread   bool
	publish  bool
	forumTag string
}

func channelSpecs(cfg config.Config, routes []articles.Route) []routeChannelSpec {
	var out []routeChannelSpec
	at := map[string]int{}
	for _, r := range routes {
		i, ok := at[r.ChannelID]
		if !ok {
			i = len(out)
			at[r.ChannelID] = i
			out = append(out, routeChannelSpec{id: r.ChannelID})
		}
		out[i].names = append(out[i].names, r.Name)
	}
	for _, r := range cfg.Routes { // routes of one channel agree (config)
		if i, ok := at[r.ChannelID]; ok && cfg.RoutesFile != "" {
			out[i].thread, out[i].publish, out[i].forumTag = r.Thread, r.Publish, r.ForumTag
		}
	}
	return out
}

// followUps says what follows a post in a channel of the kind ch has now
// (nil: unknown, nothing): publishing in an announcement channel, a thread
// in a text or announcement channel, nothing in a forum.
func (spec routeChannelSpec) followUps(ch *discordgo.Channel) articles.FollowUps {
	if ch == nil {
		return articles.FollowUps{}
	}
	switch ch.Type {
	case discordgo.ChannelTypeGuildNews:
		return articles.FollowUps{Publish: spec.publish, Thread: spec.thread}
	case discordgo.ChannelTypeGuildText:
		return articles.FollowUps{Thread: spec.thread}
	}
	return articles.FollowUps{}
}

// kindPosts is a channel's deliveries whose follow-ups, queued when a post
// is marked posted, follow the channel's kind at that moment.
type kindPosts struct {
	store   articles.DeliveryStore
	channel string
	follow  func() articles.FollowUps
}

func (k *kindPosts) view() articles.PostStore { return k.store.ChannelPosts(k.channel, k.follow()) }

func (k *kindPosts) Due(ctx context.Context, limit int) ([]articles.Article, error) {
	return k.view().Due(ctx, limit)
}

func (k *kindPosts) Failed(ctx context.Context, limit int) ([]articles.Article, error) {
	return k.view().Failed(ctx, limit)
}

func (k *kindPosts) MarkSending(ctx context.Context, id int64) error {
	return k.view().MarkSending(ctx, id)
}

func (k *kindPosts) MarkPosted(ctx context.Context, id int64, messageID string) error {
	return k.view().MarkPosted(ctx, id, messageID)
}

func (k *kindPosts) MarkRetry(ctx context.Context, id int64, msg string, sent bool) error {
	return k.view().MarkRetry(ctx, id, msg, sent)
}

func (k *kindPosts) MarkFailed(ctx context.Context, id int64, msg string) error {
	return k.view().MarkFailed(ctx, id, msg)
}

// newChannelPosters makes the posters of the routes' channels, each over
// the channel's deliveries, by the channel's kind; base gives the options
// they share. With named false (no ROUTES_FILE) the posters report problems
// as before routes, under the keys of the news channel.
func newChannelPosters(store articles.DeliveryStore, cfg config.Config, routes []articles.Route, named bool, base bot.PosterOptions, d *discordKinds) *channelPosters {
	cp := &channelPosters{}
	for _, spec := range channelSpecs(cfg, routes) {
		o := base
		o.ChannelID = spec.id
		o.RoleID = ""
		if named {
			o.Routes = spec.names
		}
		if d == nil {
			o.Store = store.ChannelPosts(spec.id, articles.FollowUps{})
			cp.posters = append(cp.posters, bot.NewPoster(o))
			continue
		}
		id := spec.id
		current := func() *discordgo.Channel { return d.b.RouteChannel(id) }
		o.Forum = &bot.Forum{
			Channel:     current,
			FallbackTag: spec.forumTag,
			Moderator:   func() bool { return d.b.HasPermission(id, discordgo.PermissionManageThreads) },
			Posts:       bot.NewDiscordForum(d.b.Session()),
			Timeout:     d.timeout,
		}
		o.Store = &kindPosts{store: store, channel: id, follow: func() articles.FollowUps { return spec.followUps(current()) }}
		cp.posters = append(cp.posters, bot.NewPoster(o))
		fs, _ := store.(bot.FollowUpStore)
		if ch := current(); fs == nil || (ch != nil && ch.Type == discordgo.ChannelTypeGuildForum) {
			continue // a forum neither publishes nor opens threads on posts
		}
		// Workers for what the routes ask, whatever the kind at start: an
		// admin may turn a text channel into an announcement channel.
		if spec.publish {
			cp.workers = append(cp.workers, bot.NewPublishWorker(id, o.Routes, fs, bot.NewDiscordPublisher(d.b.Session()), base.Problems, base.Log))
		}
		if spec.thread {
			cp.workers = append(cp.workers, bot.NewThreadWorker(id, o.Routes, fs, bot.NewDiscordThreads(d.b.Session()), base.Problems, base.Log))
		}
	}
	return cp
}

// Run runs the follow-up workers until ctx ends.
func (cp *channelPosters) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, w := range cp.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Run(ctx)
		}()
	}
	wg.Wait()
}

// PostDue runs every channel's poster at once and returns how many posts
// went out; the error is the first store error met.
func (cp *channelPosters) PostDue(ctx context.Context) (int, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
		first error
	)
	for _, p := range cp.posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := p.PostDue(ctx)
			mu.Lock()
			defer mu.Unlock()
			total += n
			if err != nil && first == nil {
				first = err
			}
		}()
	}
	wg.Wait()
	for _, w := range cp.workers {
		w.Kick()
	}
	return total, first
}

// ReportFailed shows every channel's refused posts on /healthz.
func (cp *channelPosters) ReportFailed(ctx context.Context) error {
	for _, p := range cp.posters {
		if err := p.ReportFailed(ctx); err != nil {
			return err
		}
	}
	return nil
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
