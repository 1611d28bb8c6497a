package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/bot"
	"github.com/newsbot/newsbot/commands"
	"github.com/newsbot/newsbot/postgres"
)

// askPickUpEvery is how often the leader's /ask retry loop looks for
// questions that other instances queued.
var askPickUpEvery = 10 * time.Second

// runReplicated runs one of several instances on a PostgreSQL database: the
// leader lock loop, and the duties (polling, posting, the archive, the
// gateway, /ask's retries, migrations, command registration) whenever this
// instance holds the lock. A standby keeps /healthz (and its lock loop).
func (r *runner) runReplicated(ctx context.Context, feeds []string, fetcher *articles.Fetcher) error {
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var (
		fatalMu sync.Mutex
		fatal   error
	)
	r.leader = r.pg.NewLeader(postgres.LeaderOptions{
		Log:      r.log,
		Ready:    r.schemaKnown,
		OnChange: bot.SetLeader,
		Lead: func(lctx context.Context, epoch int64) {
			err := r.lead(lctx, feeds, fetcher)
			if err != nil && lctx.Err() == nil {
				if errors.Is(err, postgres.ErrNewerSchema) {
					return // stands by again (Ready says why)
				}
				fatalMu.Lock()
				fatal = err
				fatalMu.Unlock()
				stopRun()
				return
			}
			if r.once && lctx.Err() == nil {
				stopRun()
			}
		},
	})
	r.health.SetRole(func() bot.Role {
		return bot.Role{Leader: r.leader.Leading(), LockLoop: r.leader.Running(), Reason: r.leader.StandbyReason()}
	})
	if err := r.setupShared(); err != nil {
		return err
	}
	// What every instance serves for the whole run, leader or standby.
	var wg sync.WaitGroup
	defer wg.Wait()
	start := func(name string, fn func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(runCtx)
			r.log.Debug("stopped", "worker", name)
		}()
	}
	if !r.once {
		if err := r.serveHTTP(start); err != nil {
			return err
		}
		if err := r.serveInteractions(start); err != nil {
			return err
		}
		start("indexer", r.runIndexer)
		if r.cfg.GuildID == "" && r.ix != nil {
			start("guild", r.learnGuild)
		}
	}
	r.log.Info("newsbot instance started on PostgreSQL; taking the leader lock or standing by")
	if err := r.leader.Run(runCtx); err != nil {
		stopRun()
		return err
	}
	stopRun()
	fatalMu.Lock()
	defer fatalMu.Unlock()
	return fatal
}

// sharedDiscord is what every instance of several keeps of Discord for the
// whole run: a REST session, the commands and the /ask that answers them
// (over HTTP with INTERACTIONS_ADDR, else over the leader's gateway).
type sharedDiscord struct {
	s     *discordgo.Session
	askDC commands.AskDiscord
	ask   *commands.Ask
	cmds  []commands.Command
}

func (r *runner) setupShared() error {
	bot.SetAPIBase(r.cfg.APIURL)
	s, err := bot.NewSession(r.cfg.Token)
	if err != nil {
		return err
	}
	resp, askDC := r.responders(s)
	ask := r.newAsk(askDC)
	cmds := r.commands(resp, ask)
	r.newInteractions(cmds)
	r.shared = &sharedDiscord{s: s, askDC: askDC, ask: ask, cmds: cmds}
	return nil
}

// learnGuild restricts a standby's HTTP interactions to the bot's guild,
// the team channel's (always configured, whatever the routes), as the
// leader's gateway does (DISCORD_GUILD_ID unset).
func (r *runner) learnGuild(ctx context.Context) {
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ch, err := r.shared.s.Channel(r.cfg.TeamChannelID, discordgo.WithContext(cctx))
		cancel()
		if err == nil && ch.GuildID != "" {
			r.setInteractionsGuild(ch.GuildID)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(indexEvery):
		}
	}
}

// schemaKnown keeps an instance standing by while the database is at a
// schema version newer than this binary knows (a newer release leads).
func (r *runner) schemaKnown(ctx context.Context) error {
	v, err := r.pg.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if latest := postgres.LatestVersion(); v > latest {
		return fmt.Errorf("%w: the database is at version %d, this newsbot knows up to %d; standing by until a newer newsbot leads",
			postgres.ErrNewerSchema, v, latest)
	}
	return nil
}

// lead runs the duties of the leader until lctx is cancelled (leadership
// lost, or the process stops).
func (r *runner) lead(lctx context.Context, feeds []string, fetcher *articles.Fetcher) error {
	if err := r.pg.Migrate(lctx); err != nil {
		if errors.Is(err, postgres.ErrNewerSchema) {
			r.log.Warn("standing by: " + err.Error())
		} else if lctx.Err() == nil {
			r.log.Error("migrations failed", "error", err)
			return fmt.Errorf("database: %w", err)
		}
		return err
	}
	if err := r.syncIndex(lctx); err != nil {
		if lctx.Err() != nil {
			return nil
		}
		return err
	}
	return r.newDuties().run(lctx, feeds, fetcher)
}

// pickUpQuestions wakes this term's /ask retry loop now and then: another
// instance may have stored (and failed to forward) a question it does not
// know of.
func (r *duties) pickUpQuestions(ctx context.Context) {
	tick := time.NewTicker(askPickUpEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			r.ask.Kick()
		}
	}
}
