package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/bot"
	"github.com/newsbot/newsbot/commands"
)

// interactionsDrain bounds how long a stop waits for interaction handlers
// that were answered over HTTP and still send follow-ups.
const interactionsDrain = 4 * time.Second

// httpInteractions is what INTERACTIONS_ADDR serves.
type httpInteractions struct {
	resp   *bot.HTTPResponder
	router *bot.Router
	h      *bot.HTTPInteractions
}

// responders returns what the commands answer through: s itself, or (with
// INTERACTIONS_ADDR) a responder that answers in the HTTP response.
func (r *runner) responders(s *discordgo.Session) (commands.Responder, commands.AskDiscord) {
	if r.cfg.InteractionsAddr == "" {
		return s, s
	}
	r.ix = &httpInteractions{resp: bot.NewHTTPResponder(s)}
	return r.ix.resp, r.ix.resp.AskDiscord(s)
}

// newInteractions builds the endpoint's handler over cmds. It needs no
// gateway: answers go in HTTP responses and follow-ups by webhook REST.
func (r *runner) newInteractions(cmds []commands.Command) {
	if r.ix == nil {
		return
	}
	r.ix.router = bot.NewRouter(cmds, r.cfg.GuildID, r.ix.resp, r.log)
	r.ix.h = bot.NewHTTPInteractions(bot.HTTPInteractionsOptions{
		PublicKey: r.cfg.PublicKey,
		Responder: r.ix.resp,
		Handler:   r.ix.router,
		Log:       r.log,
	})
}

// setInteractionsGuild restricts HTTP interactions to the bot's guild once
// it is known.
func (r *runner) setInteractionsGuild(guildID string) {
	if r.ix != nil && r.ix.router != nil && guildID != "" {
		r.ix.router.SetGuild(guildID)
	}
}

// httpHandler is what HTTP_ADDR serves: /healthz and /metrics, and
// /interactions too when INTERACTIONS_ADDR is the same address.
func (r *runner) httpHandler() http.Handler {
	h := r.health.Handler()
	if r.ix == nil || r.ix.h == nil || !sameListenAddr(r.cfg.InteractionsAddr, r.cfg.HTTPAddr) {
		return h
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.Handle(bot.InteractionsPath, r.ix.h)
	return mux
}

// serveInteractions starts INTERACTIONS_ADDR's listener (unless HTTP_ADDR's
// serves it) and the drain of its handlers at the stop.
func (r *runner) serveInteractions(start func(string, func(context.Context))) error {
	if r.ix == nil || r.ix.h == nil {
		return nil
	}
	drain := func() {
		ctx, cancel := context.WithTimeout(context.Background(), interactionsDrain)
		defer cancel()
		if err := r.ix.h.Close(ctx); err != nil {
			r.log.Warn("interaction handlers still running at shutdown")
		}
	}
	if sameListenAddr(r.cfg.InteractionsAddr, r.cfg.HTTPAddr) {
		start("interactions", func(ctx context.Context) { <-ctx.Done(); drain() })
		r.log.Info("serving Discord interactions", "addr", r.cfg.InteractionsAddr, "path", bot.InteractionsPath)
		return nil
	}
	ln, err := listen(r.cfg.InteractionsAddr)
	if err != nil {
		return fmt.Errorf("INTERACTIONS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(bot.InteractionsPath, r.ix.h)
	start("interactions", func(ctx context.Context) {
		if err := bot.ServeInteractions(ctx, ln, mux, 2*time.Second, r.log); err != nil {
			r.log.Error("interactions server stopped", "error", err)
		}
		drain()
	})
	r.log.Info("serving Discord interactions", "addr", ln.Addr().String(), "path", bot.InteractionsPath)
	return nil
}

// sameListenAddr reports whether two listen addresses name one listener:
// the same port, and the same host once the forms of "every address"
// ("", 0.0.0.0, ::) and of loopback's name are taken as one.
func sameListenAddr(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil {
		return a == b
	}
	host := func(h string) string {
		switch strings.ToLower(h) {
		case "", "0.0.0.0", "::":
			return ""
		case "localhost", "127.0.0.1":
			return "127.0.0.1"
		}
		return strings.ToLower(h)
	}
	return pa == pb && host(ha) == host(hb)
}
