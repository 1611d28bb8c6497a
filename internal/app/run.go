package app

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/archive"
	"github.com/newsbot/newsbot/articles/related"
	"github.com/newsbot/newsbot/bot"
	"github.com/newsbot/newsbot/commands"
	"github.com/newsbot/newsbot/internal/config"
	"github.com/newsbot/newsbot/postgres"
)

//go:embed sample/feed.xml
var sampleFeed []byte

// pollPatience is how long a run waits for slow feeds before it posts what
// the others brought (a hanging feed must not hold back the news); a slow
// feed's items are posted when its fetch ends (see runner.late).
var pollPatience = 5 * time.Second

// shutdownGrace bounds how long a stop waits for in-flight work: SIGTERM
// must end the process within 10 s.
var shutdownGrace = 6 * time.Second

func runVerb(ctx context.Context, args []string, io IO) error {
	fs := flags("run", io)
	dryRun := fs.Bool("dry-run", false, "no Discord: print each post instead of sending it")
	once := fs.Bool("once", false, "stop after the first poll")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	need := config.Need{Token: true, Channels: true, Feeds: true}
	if *dryRun {
		need = config.Need{}
	}
	cfg, err := loadConfig(io, need)
	if err != nil {
		return err
	}
	log := newLogger(io.Stderr, cfg.LogLevel)
	r := &runner{cfg: cfg, io: io, log: log, dryRun: *dryRun, once: *once, indexKick: make(chan struct{}, 1)}
	errc := make(chan error, 1)
	go func() { errc <- r.run(ctx) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Stopping: SIGTERM must end the process within 10 s whatever hangs.
	select {
	case err := <-errc:
		return err
	case <-time.After(stopDeadline):
		log.Warn("stopping: shutdown took too long; exiting anyway", "deadline", stopDeadline)
		return nil
	}
}

// stopDeadline bounds the whole shutdown after a signal.
var stopDeadline = 9 * time.Second

// runner is one run of the bot: what every instance keeps (the store,
// /healthz, the index) whether it leads or stands by.
type runner struct {
	cfg    config.Config
	io     IO
	log    *slog.Logger
	dryRun bool
	once   bool

	db      store
	pg      *postgres.DB // nil on SQLite
	leader  *postgres.Leader
	health  *bot.Health
	index   *related.Index
	syncer  *related.Syncer   // keeps index equal to the store (see run_index.go)
	archive *archive.Archive  // nil in a dry run
	ix      *httpInteractions // INTERACTIONS_ADDR
	shared  *sharedDiscord    // several instances: what every instance keeps of Discord

	indexKick chan struct{} // asks the indexer to sync now (see run_index.go)

	pollerMu sync.Mutex
	poller   *articles.Poller // the current duties' (the archive asks it what feeds said)
}

// duties are the leader's: polling, posting, backfilling, the Discord
// gateway and /ask's retries. On SQLite the process always leads; on
// PostgreSQL a new set starts at each takeover and ends when leadership
// is lost.
type duties struct {
	*runner
	poller *articles.Poller
	poster *channelPosters
	bot    *bot.Bot
	ask    *commands.Ask

	polled    chan struct{} // closed when the first poll has ended
	polledOne sync.Once
	ftKick    chan struct{} // asks the archive to read new summary-only articles
}

func (r *duties) kickFullText() {
	select {
	case r.ftKick <- struct{}{}:
	default:
	}
}

func (r *duties) fullTextKick() <-chan struct{} { return r.ftKick }

func (r *runner) run(ctx context.Context) error {
	feeds := r.cfg.FeedURLs
	if len(feeds) == 0 && r.dryRun {
		path, err := writeSampleFeed()
		if err != nil {
			return err
		}
		defer os.RemoveAll(filepath.Dir(path))
		feeds = []string{path}
		r.log.Info("no FEED_URLS: using the embedded sample feed")
	}

	// Several instances share a PostgreSQL database and one leads; a dry
	// run changes no posting state and needs no lock.
	replicated := r.cfg.DatabaseURL != "" && !r.dryRun
	db, pg, err := openStore(ctx, r.cfg, r.dryRun && !r.cfg.DatabaseSet, !replicated)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer db.Close()
	r.db, r.pg = db, pg

	r.health = bot.NewHealth()
	r.health.SetPinger(db.Ping)
	r.index = related.New()
	r.syncer = related.NewSyncer(r.index, db)
	fetcher := articles.NewFetcher(nil)
	if !r.dryRun {
		// Before Discord: /related reads unknown links with it (on every
		// instance), and the leader's job asks it for full text.
		r.archive = r.newArchive(fetcher)
		r.health.SetSection("archive", func() any { return r.archive.Status() })
	}
	if !replicated {
		if err := r.syncIndex(ctx); err != nil {
			return err
		}
		if !r.dryRun {
			bot.SetLeader(true) // one instance: always the leader
		}
		return r.newDuties().run(ctx, feeds, fetcher)
	}
	return r.runReplicated(ctx, feeds, fetcher)
}

func (r *runner) newDuties() *duties {
	return &duties{runner: r, ftKick: make(chan struct{}, 1), polled: make(chan struct{})}
}

// run opens what the duties need (Discord, unless dry) and runs them until
// ctx is cancelled (or, with --once, for one poll).
func (r *duties) run(ctx context.Context, feeds []string, fetcher *articles.Fetcher) error {
	r.poller = articles.NewPoller(r.db, fetcher, feeds, r.cfg.BacklogLimit, r.log)
	r.poller.Patience = pollPatience
	r.runner.pollerMu.Lock()
	r.runner.poller = r.poller
	r.runner.pollerMu.Unlock()
	routes := routesOf(r.cfg, feeds)
	if !r.dryRun {
		// The leader's: it changes what is to be posted.
		dropped, err := prepareDeliveries(ctx, r.db, routes)
		if err != nil {
			return err
		}
		if dropped > 0 {
			r.log.Info("dropped pending posts that no route leads to any more", "posts", dropped)
		}
	}
	r.poller.Routes = routes

	var sender bot.Sender
	if r.dryRun {
		r.health.SetDryRun(true)
		sender = bot.NewPrintSender(r.io.Stdout)
	} else {
		if err := r.openDiscord(ctx); err != nil {
			return err
		}
		defer r.bot.Close()
		sender = bot.NewDiscordSender(r.bot.Session())
	}
	var kinds *discordKinds
	if r.bot != nil {
		kinds = &discordKinds{b: r.bot, timeout: r.bot.Session().Client.Timeout}
	}
	r.poster = newChannelPosters(r.db, r.cfg, routes, r.cfg.RoutesFile != "", bot.PosterOptions{
		Sender:   sender,
		RoleID:   r.cfg.NewsRoleID, // without ROUTES_FILE: also for posts recorded without it
		Also:     r.alsoRead,
		Problems: r.health,
		Log:      r.log,
		DryRun:   r.dryRun,
	}, kinds)

	if !r.dryRun {
		if err := r.poster.ReportFailed(ctx); err != nil {
			r.log.Warn("cannot list failed posts", "error", err)
		}
	}
	if r.once {
		// One run, whole: every feed is waited for (each within its fetch
		// timeout).
		r.poller.Patience = 0
		r.job(ctx)
		return nil
	}
	// A feed that ends after the run stopped waiting for it is posted
	// then, not one schedule tick later.
	r.poller.Late = func(res articles.FeedResult) { r.late(ctx, res) }
	return r.serve(ctx, feeds, fetcher)
}

// serveHTTP serves /healthz and /metrics on HTTP_ADDR (when set), and the
// interactions endpoint when INTERACTIONS_ADDR is the same address, until
// start's context is cancelled.
func (r *runner) serveHTTP(start func(string, func(context.Context))) error {
	if r.cfg.HTTPAddr == "" {
		return nil
	}
	srv := &http.Server{Addr: r.cfg.HTTPAddr, Handler: r.httpHandler(), ReadHeaderTimeout: 5 * time.Second}
	ln, err := listen(r.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	start("http", func(ctx context.Context) {
		go func() {
			<-ctx.Done()
			shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(shut)
		}()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("http server stopped", "error", err)
		}
	})
	r.log.Info("serving /healthz and /metrics", "addr", ln.Addr().String())
	return nil
}

// serve runs the schedule and the background work until ctx is cancelled,
// then waits (boundedly) for in-flight work.
func (r *duties) serve(ctx context.Context, feeds []string, fetcher *articles.Fetcher) error {
	sched, err := bot.NewScheduler(r.cfg.Schedule, r.job, r.log)
	if err != nil {
		return usageError{fmt.Errorf("config: POST_SCHEDULE: %w", err)}
	}
	var wg sync.WaitGroup
	start := func(name string, fn func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(ctx)
			r.log.Debug("stopped", "worker", name)
		}()
	}
	if r.shared == nil {
		// One instance: /healthz, the interactions endpoint and the
		// indexer live as long as the duties (several: see runReplicated).
		if err := r.serveHTTP(start); err != nil {
			return err
		}
		if err := r.serveInteractions(start); err != nil {
			return err
		}
		start("indexer", r.runIndexer)
	}
	start("scheduler", func(ctx context.Context) {
		if err := sched.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			r.log.Error("scheduler stopped", "error", err)
		}
	})
	if r.ask != nil {
		start("ask", r.ask.Run)
		if r.shared != nil {
			start("ask-pickup", r.pickUpQuestions)
		}
	}
	if !r.dryRun {
		start("follow-ups", r.poster.Run)
	}
	if r.archive != nil {
		start("archive", func(ctx context.Context) { r.runArchive(ctx, feeds) })
	}
	r.log.Info("newsbot running", "feeds", len(feeds), "schedule", r.cfg.Schedule, "dry_run", r.dryRun)

	<-ctx.Done()
	r.log.Info("stopping: finishing in-flight work")
	done := make(chan struct{})
	go func() { wg.Wait(); r.poller.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownGrace):
		r.log.Warn("stopping: in-flight work did not finish in time", "grace", shutdownGrace)
	}
	return nil
}

// job is one scheduled run: poll the feeds, learn the new articles, post.
func (r *duties) job(ctx context.Context) {
	results := r.poller.PollAll(ctx)
	r.polledOne.Do(func() { close(r.polled) })
	for _, res := range results {
		r.noteFeed(res)
	}
	r.post(ctx)
}

// late posts what a slow feed brought, once its fetch has ended.
func (r *duties) late(ctx context.Context, res articles.FeedResult) {
	r.noteFeed(res)
	// What it stored is known to /related at once, posted or not.
	r.kickIndex()
	if res.Err == nil && res.Pending > 0 && ctx.Err() == nil {
		r.log.Info("slow feed ended; posting its new items", "feed_url", res.URL, "pending", res.Pending)
		r.post(ctx)
	}
}

// noteFeed shows a feed's failure (or its recovery) on /healthz.
func (r *runner) noteFeed(res articles.FeedResult) {
	key := "feed:" + res.URL
	switch {
	case res.InProgress:
		// Still being fetched: its outcome is noted when it ends.
	case res.Err != nil:
		r.health.SetProblem(key, fmt.Sprintf("feed %s failing (%d in a row): %v", res.URL, res.Failures, res.Err))
	case !res.Skipped:
		r.health.ClearProblem(key)
	}
}

// post learns the new articles and posts what is due.
func (r *duties) post(ctx context.Context) {
	if err := r.syncIndex(ctx); err != nil {
		r.log.Error("index sync failed", "error", err)
	}
	if !r.dryRun {
		// newsbot fetch beside the bot, without NEWS_CHANNEL_ID, records its
		// new items for the news route without a channel.
		if err := adoptDeliveries(ctx, r.db, r.poller.Routes); err != nil && ctx.Err() == nil {
			r.log.Warn("posts recorded without a channel wait", "error", err)
		}
	}
	if _, err := r.poster.PostDue(ctx); err != nil && ctx.Err() == nil {
		r.log.Warn("posting stopped for this run", "error", err)
	}
	if r.archive != nil && r.cfg.FullText {
		r.kickFullText()
	}
}

// alsoRead picks the "Also Read" links of a news post.
func (r *runner) alsoRead(a articles.Article) []articles.Article {
	hits := r.index.RelatedTo(a, 3)
	out := make([]articles.Article, 0, len(hits))
	for _, h := range hits {
		out = append(out, articles.Article{ID: h.ID, Title: h.Title, URL: h.URL, Published: h.Published})
	}
	return out
}

func writeSampleFeed() (string, error) {
	dir, err := os.MkdirTemp("", "newsbot-sample-")
	if err != nil {
		return "", fmt.Errorf("sample feed: %w", err)
	}
	path := filepath.Join(dir, "feed.xml")
	if err := os.WriteFile(path, sampleFeed, 0o600); err != nil {
		return "", fmt.Errorf("sample feed: %w", err)
	}
	return path, nil
}
