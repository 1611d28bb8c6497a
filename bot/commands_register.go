package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Slash-command registration at start, retried in the background after a
// transient failure, and start-up retries of REST calls.

// register registers the slash commands (see RegisterCommands) and, in
// guild mode, removes their global twins.
func (b *Bot) register(ctx context.Context, appID, scope string, defs []*discordgo.ApplicationCommand) error {
	changed, err := RegisterCommands(ctx, b.s, appID, b.o.GuildID, defs)
	if err != nil {
		return err
	}
	b.health.ClearProblem("commands")
	b.log.Info("slash commands", "scope", scope, "count", len(defs), "changed", changed)
	if b.o.GuildID != "" {
		b.dropGlobalTwins(ctx, appID, defs)
	}
	return nil
}

// registerLater retries a registration that failed for a transient reason
// (5 s doubling to 5 minutes) until it succeeds, fails for good, or the Bot
// closes.
func (b *Bot) registerLater(appID, scope string, defs []*discordgo.ApplicationCommand) {
	defer b.later.Done()
	wait := registerRetry
	for {
		t := time.NewTimer(wait)
		select {
		case <-b.rctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(b.rctx, 30*time.Second)
		err := b.register(ctx, appID, scope, defs)
		cancel()
		if err == nil || b.rctx.Err() != nil {
			return
		}
		b.health.SetProblem("commands", fmt.Sprintf("slash commands could not be registered (%s): %v", scope, err))
		if !transientREST(err) {
			b.log.Error("slash commands could not be registered", "scope", scope, "error", err)
			return
		}
		b.log.Warn("slash commands not registered yet; retrying", "scope", scope, "error", err)
		wait = min(2*wait, 5*time.Minute)
	}
}

// retryStart runs fn, and again after 1, 2, 4 and 8 s (startRetry) while
// it fails for a transient reason (5xx, 429): a Discord hiccup at start is
// waited out a little rather than ending the start.
func (b *Bot) retryStart(ctx context.Context, what string, fn func() error) error {
	err := fn()
	for wait := startRetry; err != nil && transientREST(err) && wait <= 8*startRetry; wait *= 2 {
		b.log.Warn(what+" failed; retrying", "error", err, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		err = fn()
	}
	return err
}

// The first waits after a transient failure at start: reading a channel,
// registering the commands (variables for tests).
var (
	startRetry    = time.Second
	registerRetry = 5 * time.Second
)

// transientREST reports whether a REST call failed for a reason that
// passes: a 5xx, a 429, a 502 discordgo gave up retrying.
func transientREST(err error) bool {
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		return true
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) {
		return re.Response != nil && (re.Response.StatusCode >= 500 || re.Response.StatusCode == http.StatusTooManyRequests)
	}
	return err != nil && strings.Contains(err.Error(), "Exceeded Max retries HTTP 5")
}

// dropGlobalTwins removes global commands that have the name of one now
// registered in the guild (left from running without DISCORD_GUILD_ID):
// members would otherwise see each command twice. Failures are only logged.
func (b *Bot) dropGlobalTwins(ctx context.Context, appID string, defs []*discordgo.ApplicationCommand) {
	global, err := b.s.ApplicationCommands(appID, "", discordgo.WithContext(ctx))
	if err != nil || len(global) == 0 {
		return
	}
	ours := map[string]bool{}
	for _, d := range defs {
		ours[d.Name] = true
	}
	keep := make([]*discordgo.ApplicationCommand, 0, len(global))
	for _, g := range global {
		if !ours[g.Name] {
			keep = append(keep, g)
		}
	}
	if len(keep) == len(global) {
		return
	}
	if _, err := b.s.ApplicationCommandBulkOverwrite(appID, "", keep, discordgo.WithContext(ctx)); err != nil {
		b.log.Warn("global slash commands left from an earlier setup could not be removed", "error", err)
		return
	}
	b.log.Info("removed global slash commands now registered in the guild", "count", len(global)-len(keep))
}
