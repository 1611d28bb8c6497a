package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/archive"
	"github.com/newsbot/newsbot/articles/related"
	"github.com/newsbot/newsbot/internal/config"
)

// fetchVerb polls every feed once into the database, without posting. It
// fails only when every feed failed.
func fetchVerb(ctx context.Context, args []string, io IO) error {
	fs := flags("fetch", io)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(io, config.Need{Feeds: true})
	if err != nil {
		return err
	}
	log := newLogger(io.Stderr, cfg.LogLevel)
	db, _, err := openStore(ctx, cfg, false, true)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer db.Close()
	p := articles.NewPoller(db, articles.NewFetcher(nil), cfg.FeedURLs, cfg.BacklogLimit, log)
	p.IgnoreBackoff = true // asked by hand: try every feed now
	p.Routes = routesOf(cfg, cfg.FeedURLs)
	results := p.PollAll(ctx)
	tw := tabwriter.NewWriter(io.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FEED\tSEEN\tNEW\tSTATUS")
	failed := 0
	for _, r := range results {
		status := "ok"
		switch {
		case r.Err != nil:
			failed++
			status = "error: " + oneLine(r.Err.Error())
		case r.Skipped:
			status = "skipped (backing off after errors)"
		case r.NotModified:
			status = "not modified"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", r.URL, r.Seen, r.New, status)
	}
	tw.Flush()
	for _, f := range cfg.FeedURLs {
		c, err := db.Checkpoint(ctx, f)
		if err == nil && c.Source == "none" {
			fmt.Fprintf(io.Stdout, "archive: %s has no archive newsbot can read (no WordPress REST API, no paged feed)\n", f)
		}
	}
	if failed == len(results) && failed > 0 {
		return silentError{code: exitFailure, msg: "every feed failed"}
	}
	return nil
}

// backfillVerb pulls the sites' archives in the foreground.
func backfillVerb(ctx context.Context, args []string, io IO) error {
	fs := flags("backfill", io)
	limit := fs.Int("limit", -1, "most articles per site (default BACKFILL_LIMIT)")
	restart := fs.Bool("restart", false, "start again from the newest page even where a backfill finished")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	need := config.Need{Feeds: fs.NArg() == 0}
	cfg, err := loadConfig(io, need)
	if err != nil {
		return err
	}
	feeds := cfg.FeedURLs
	if fs.NArg() > 0 {
		feeds = fs.Args()
		for _, f := range feeds {
			if !strings.HasPrefix(f, "http://") && !strings.HasPrefix(f, "https://") {
				return usageError{fmt.Errorf("%q is not an http(s) feed URL (local files have no archive)", f)}
			}
		}
	}
	if *limit >= 0 {
		cfg.BackfillLimit = *limit
	}
	if cfg.BackfillLimit == 0 {
		fmt.Fprintln(io.Stdout, "backfill is off (BACKFILL_LIMIT=0 or --limit 0)")
		return nil
	}
	log := newLogger(io.Stderr, cfg.LogLevel)
	db, _, err := openStore(ctx, cfg, false, true)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer db.Close()
	a := archive.New(archive.Options{
		Store:    db,
		Fetcher:  articles.NewFetcher(nil),
		Limit:    cfg.BackfillLimit,
		Rate:     cfg.BackfillRate,
		FullText: cfg.FullText,
		Log:      log,
		Progress: archive.ProgressBar(io.Stdout, io.IsTerminal),
		Restart:  *restart,
	})
	if err := a.Backfill(ctx, feeds); err != nil {
		return err
	}
	if cfg.FullText {
		if err := a.FullText(ctx); err != nil {
			return err
		}
	}
	return nil
}

// relatedJSON is one line of `newsbot related --json`.
type relatedJSON struct {
	Title     string    `json:"title"`
	URL       string    `json:"url"`
	Published time.Time `json:"published"`
	Score     float64   `json:"score"`
}

// relatedVerb prints the "Also Read" list the bot would answer.
func relatedVerb(ctx context.Context, args []string, io IO) error {
	fs := flags("related", io)
	asJSON := fs.Bool("json", false, "print a JSON array, best first")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(io, config.Need{})
	if err != nil {
		return err
	}
	db, _, err := openStore(ctx, cfg, false, true)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer db.Close()
	ix := related.New()
	// The same sync as the running bot's.
	if _, err := related.NewSyncer(ix, db).Sync(ctx); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	q := strings.TrimSpace(strings.Join(fs.Args(), " "))
	hits, _, named := ix.Resolve(q, 5)
	if _, link := related.LinkQuery(q); link && !named {
		// A link that names no stored article: its slug says nothing
		// reliable (and this verb reads no page).
		hits = nil
	}
	if *asJSON {
		out := make([]relatedJSON, 0, len(hits))
		for _, h := range hits {
			out = append(out, relatedJSON{Title: h.Title, URL: h.URL, Published: h.Published.UTC(), Score: h.Score})
		}
		enc := json.NewEncoder(io.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(hits) == 0 {
		fmt.Fprintln(io.Stdout, "No related articles found.")
		return nil
	}
	fmt.Fprintln(io.Stdout, "Also Read:")
	for i, h := range hits {
		date := ""
		if !h.Published.IsZero() {
			date = " (" + h.Published.UTC().Format("2006-01-02") + ")"
		}
		fmt.Fprintf(io.Stdout, "%d. %s%s\n   %s\n", i+1, h.Title, date, h.URL)
	}
	return nil
}

// healthVerb asks a running bot's /healthz, for container health checks.
func healthVerb(ctx context.Context, args []string, io IO) error {
	fs := flags("health", io)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(io, config.Need{HTTPAddr: true})
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(cfg.HTTPAddr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("no answer from %s: %w", cfg.HTTPAddr, err)
	}
	defer resp.Body.Close()
	var body json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&body)
	fmt.Fprintf(io.Stdout, "%s %s\n", resp.Status, strings.TrimSpace(string(body)))
	if resp.StatusCode != http.StatusOK {
		return silentError{code: exitFailure, msg: "unhealthy: " + resp.Status}
	}
	return nil
}
