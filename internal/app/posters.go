package app

import (
	"context"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/bot"
	"github.com/newsbot/newsbot/internal/config"
)

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
		if named {
			o.Routes, o.RoleID = spec.names, "" // roles come with each delivery
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
