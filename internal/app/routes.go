package app

import (
	"context"
	"fmt"
	"sync"

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

// channelPosters holds one Poster per route channel: each channel posts on
// its own, so that a failure, a rate limit or a missing permission in one
// holds back only that channel.
type channelPosters struct {
	posters []*bot.Poster
}

// newChannelPosters makes the posters of the routes' channels, each over
// the channel's deliveries; base gives the options they share.
// With named false (no ROUTES_FILE) the posters report problems as before
// routes, under the keys of the news channel.
func newChannelPosters(store articles.DeliveryStore, routes []articles.Route, named bool, base bot.PosterOptions) *channelPosters {
	names := map[string][]string{}
	var order []string
	for _, r := range routes {
		if _, ok := names[r.ChannelID]; !ok {
			order = append(order, r.ChannelID)
		}
		names[r.ChannelID] = append(names[r.ChannelID], r.Name)
	}
	cp := &channelPosters{}
	for _, ch := range order {
		o := base
		o.Store = store.ChannelPosts(ch)
		o.ChannelID = ch
		o.RoleID = ""
		if named {
			o.Routes = names[ch]
		}
		cp.posters = append(cp.posters, bot.NewPoster(o))
	}
	return cp
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
