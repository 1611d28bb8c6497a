package app

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/archive"
	"github.com/newsbot/newsbot/bot"
	"github.com/newsbot/newsbot/commands"
)

// openDiscord connects to Discord and registers the commands.
func (r *duties) openDiscord(ctx context.Context) error {
	bot.SetAPIBase(r.cfg.APIURL)
	s, err := bot.NewSession(r.cfg.Token)
	if err != nil {
		return err
	}
	var cmds []commands.Command
	if sh := r.shared; sh != nil {
		// Several instances: the commands and the /ask that answers them
		// are the process's (a standby answers over HTTP too); this term
		// has its own gateway session and /ask retry loop.
		r.ask = r.newAsk(sh.askDC)
		cmds = sh.cmds
	} else {
		resp, askDC := r.responders(s)
		r.ask = r.newAsk(askDC)
		cmds = r.commands(resp, r.ask)
		r.newInteractions(cmds)
	}
	r.bot = bot.New(bot.Options{
		Session:       s,
		GuildID:       r.cfg.GuildID,
		NewsChannelID: r.cfg.NewsChannelID,
		RouteChannels: routeChannels(r.cfg),
		TeamChannelID: r.cfg.TeamChannelID,
		Commands:      cmds,
		Health:        r.health,
		Log:           r.log,
	})
	if err := r.bot.Open(ctx); err != nil {
		return err
	}
	r.setInteractionsGuild(r.bot.GuildID())
	return checkRouteKinds(r.cfg.Routes, r.bot.RouteChannel, func(id string) bool {
		return r.bot.HasPermission(id, discordgo.PermissionManageThreads)
	})
}

// commands are the slash commands, answering through resp.
func (r *runner) commands(resp commands.Responder, ask *commands.Ask) []commands.Command {
	return []commands.Command{
		commands.NewRelatedWith(commands.RelatedOptions{
			Index: r.index, Responder: resp, Fresh: r.syncer, Log: r.log,
			Links: &linkReader{r: r, now: time.Now},
		}),
		ask.Command(),
	}
}

// newAsk is /ask on the store, answering through dc.
func (r *runner) newAsk(dc commands.AskDiscord) *commands.Ask {
	return commands.NewAsk(commands.AskOptions{
		Store:         r.db,
		Discord:       dc,
		TeamChannelID: r.cfg.TeamChannelID,
		GuildID:       r.cfg.GuildID,
		Limit:         r.cfg.AskLimit,
		Period:        r.cfg.AskPeriod,
		Log:           r.log,
		Problems:      r.health,
	})
}

func (r *runner) newArchive(fetcher *articles.Fetcher) *archive.Archive {
	return archive.New(archive.Options{
		Store:    r.db,
		Fetcher:  fetcher,
		Limit:    r.cfg.BackfillLimit,
		Rate:     r.cfg.BackfillRate,
		FullText: r.cfg.FullText,
		Log:      r.log,
		Known:    r.knownFeed,
		// The index learns what the archive stored (the text took a new
		// rev): the indexer syncs it soon, and /related syncs before it
		// answers anyway.
		OnText:   func(int64) { r.kickIndex() },
		Progress: func(archive.Progress) { r.kickIndex() },
	})
}

// knownFeed is what the current duties' poller learnt of a feed (the
// archive's Options.Known).
func (r *runner) knownFeed(feedURL string) (articles.FeedMeta, bool) {
	r.pollerMu.Lock()
	p := r.poller
	r.pollerMu.Unlock()
	if p == nil {
		return articles.FeedMeta{}, false
	}
	return p.Meta(feedURL)
}

// backfillEvery is how often an unfinished backfill (a site that was down,
// a long Retry-After) is resumed; a finished one costs no request.
var backfillEvery = time.Hour

// runArchive backfills the sites (resuming an interrupted backfill, and
// again every backfillEvery until each is done), and reads article pages
// for summary-only feeds whenever a poll asks.
func (r *duties) runArchive(ctx context.Context, feeds []string) {
	backfill := func() {
		if r.cfg.BackfillLimit == 0 {
			return
		}
		if err := r.archive.Backfill(ctx, feeds); err != nil && ctx.Err() == nil {
			r.log.Warn("backfill stopped; it resumes later", "error", err, "retry_in", backfillEvery)
		}
		if err := r.syncIndex(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("index sync failed", "error", err)
		}
	}
	// After the first poll: what the feeds said of themselves then tells
	// where their archives are, with no second request to them.
	select {
	case <-ctx.Done():
		return
	case <-r.polled:
	}
	backfill()
	tick := time.NewTicker(backfillEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			backfill()
		case <-r.fullTextKick():
			if !r.cfg.FullText {
				continue
			}
			if err := r.archive.FullText(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("full text stopped", "error", err)
			}
		}
	}
}

func listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: 30 * time.Second}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}
