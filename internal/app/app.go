// Package app wires newsbot together: it reads the configuration, opens the
// database and runs the verb the command line names. cmd/newsbot is a thin
// shell around Main, and end-to-end tests call Main the same way.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/internal/config"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the verb ran and failed
	exitUsage   = 2 // bad command line or configuration
)

// IO is where a verb reads its environment and writes its output.
type IO struct {
	Stdout, Stderr io.Writer
	Getenv         config.Getenv
	// IsTerminal says whether Stdout is a terminal (progress bars).
	IsTerminal bool
}

// Main runs newsbot with args (without the program name) and returns the
// process exit code. It returns when the verb is done or, for run, when ctx
// is cancelled and in-flight work has finished.
func Main(ctx context.Context, args []string, io IO) int {
	verb := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		verb, args = args[0], args[1:]
	}
	var err error
	switch verb {
	case "run":
		err = runVerb(ctx, args, io)
	case "fetch":
		err = fetchVerb(ctx, args, io)
	case "backfill":
		err = backfillVerb(ctx, args, io)
	case "related":
		err = relatedVerb(ctx, args, io)
	case "check":
		err = checkVerb(ctx, args, io)
	case "invite":
		err = inviteVerb(ctx, args, io)
	case "health":
		err = healthVerb(ctx, args, io)
	case "help", "-h", "--help":
		fmt.Fprint(io.Stdout, helpText)
		return exitOK
	case "version", "--version":
		fmt.Fprintf(io.Stdout, "newsbot %s\n", articles.Version)
		return exitOK
	default:
		fmt.Fprintf(io.Stderr, "newsbot: unknown command %q; run \"newsbot help\"\n", verb)
		return exitUsage
	}
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if ctx.Err() != nil {
		// Stopped by SIGINT/SIGTERM (the error is its consequence): what
		// was done is kept, and stopping on request is not a failure.
		return exitOK
	}
	fmt.Fprintf(io.Stderr, "newsbot %s: %s\n", verb, redact(oneLine(err.Error())))
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	var se silentError
	if errors.As(err, &se) {
		return se.code
	}
	return exitFailure
}

// usageError marks a bad command line or configuration (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// silentError carries an exit code for a verb that already said what went
// wrong on its output.
type silentError struct {
	code int
	msg  string
}

func (e silentError) Error() string { return e.msg }

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// loadConfig reads the configuration a verb needs; errors are usage errors.
func loadConfig(io IO, need config.Need) (config.Config, error) {
	c, err := config.Load(io.Getenv, need)
	if err != nil {
		return c, usageError{err}
	}
	return c, nil
}

// newLogger logs text lines to w; interaction tokens never reach them.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	l := slog.New(redactingHandler{slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})})
	slog.SetDefault(l) // for the few places that log through the default
	return l
}

// flags returns a FlagSet that prints its usage to io.Stderr.
func flags(name string, io IO) *flag.FlagSet {
	fs := flag.NewFlagSet("newsbot "+name, flag.ContinueOnError)
	fs.SetOutput(io.Stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

const helpText = `newsbot posts a site's news to Discord and answers /related and /ask.

Usage:
  newsbot [run] [--dry-run] [--once]   run the bot: poll the feeds on POST_SCHEDULE, post new
                                       articles, answer slash commands. --dry-run: no Discord,
                                       posts are printed (state in memory unless DATABASE_URL is
                                       set; nothing is marked posted); --once: stop after the
                                       first poll. With --dry-run and no FEED_URLS an embedded
                                       sample feed is used.
  newsbot fetch                        poll every feed once into the database, without posting
  newsbot backfill [--limit N] [--restart] [FEED_URL...]
                                       pull the sites' older articles (WordPress REST API or
                                       paged feeds) with a progress bar
  newsbot related [--json] QUERY       print the "Also Read" list for an article URL, a title or
                                       free text (no QUERY: the newest article)
  newsbot check                        verify token, channels, permissions, feeds, database and
                                       commands, read-only, and say how to fix what is wrong
  newsbot invite                       print the link that adds the bot with the permissions it needs
  newsbot health                       ask a running bot's /healthz (exit 0 when healthy)
  newsbot help | version

Configuration comes from the environment; a .env file in the working directory is read too
(real environment variables win). See .env.example.

  DISCORD_TOKEN     bot token from the developer portal (run, check, invite)
  NEWS_CHANNEL_ID   channel that receives new articles (run, check; not with ROUTES_FILE)
  TEAM_CHANNEL_ID   private team channel that receives /ask questions (run, check)
  FEED_URLS         comma-separated RSS/Atom/JSON Feed URLs or local file paths
  POST_SCHEDULE     cron spec, default "*/10 * * * *" ("@every 5m", "CRON_TZ=Europe/Paris 0 * * * *")
  DATABASE_URL      SQLite file path or file: URI, default newsbot.db
  BACKLOG_LIMIT     newest items posted on a feed's first poll, default 3 (0: none)
  DISCORD_GUILD_ID  register commands in this guild only (instant); must be the news channel's guild
  NEWS_ROLE_ID      role mentioned in each news post
  ROUTES_FILE       YAML file of routes: which articles (feeds, include/exclude filters) go to
                    which text, announcement or forum channels, with roles, threads, publishing
                    and forum tags (README, "Routes"); replaces FEED_URLS, NEWS_CHANNEL_ID and
                    NEWS_ROLE_ID, which must then be unset
  DISCORD_API_URL   REST base, default https://discord.com/api/v9
  HTTP_ADDR         address for /healthz and /metrics, e.g. 127.0.0.1:8080
  BACKFILL_LIMIT    older articles pulled per site, default 5000 (0: off)
  BACKFILL_RATE     requests per second to one site, default 2
  FULL_TEXT         auto (read article pages of summary-only feeds) or off
  ASK_LIMIT         questions per member per period, default 3/10m
  LOG_LEVEL         debug, info, warn or error
  INTERACTIONS_ADDR serve Discord's interactions endpoint at http://ADDR/interactions (HTTPS in
                    front; set that URL in the developer portal); may equal HTTP_ADDR
  DISCORD_PUBLIC_KEY the application's public key (64 hex characters), with INTERACTIONS_ADDR
`
