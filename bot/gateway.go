package bot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// The gateway connection: opening it, reconnects, guild data arrival, and
// clear errors for a connection that fails.

// openGateway runs discordgo's Open under ReadyTimeout: Open reads HELLO
// and READY with no deadline, so on timeout the gateway connection is closed
// under it to make it return.
func (b *Bot) openGateway(ctx context.Context) error {
	tctx, cancel := context.WithTimeout(ctx, b.o.ReadyTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.s.Open() }()
	var err error
	select {
	case err = <-done:
	case <-tctx.Done():
		b.conns.abort()
		err = <-done // the REST lookup of the gateway is bounded by restTimeout
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("discord: connecting to the gateway: %w", ctx.Err())
			}
			return fmt.Errorf("discord: no READY from the gateway within %s (DISCORD_API_URL host %s)", b.o.ReadyTimeout, apiHost(b.o.APIURL))
		}
	}
	if err != nil {
		return classifyConnErr(err, b.o.APIURL)
	}
	return nil
}

// classifyConnErr turns a connection or REST error into one clear line.
func classifyConnErr(err error, apiURL string) error {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == 401 {
		return ErrTokenRefused
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case 4004:
			return ErrTokenRefused
		case 4013, 4014:
			return fmt.Errorf("discord: the gateway refused the intents (close %d: %s)", ce.Code, ce.Text)
		}
		return fmt.Errorf("discord: the gateway closed the connection (close %d: %s)", ce.Code, ce.Text)
	}
	var ue *url.Error
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ue) || errors.As(err, &ne) {
		return fmt.Errorf("discord: cannot reach the Discord API at %s (DISCORD_API_URL): %w", apiHost(apiURL), innermost(err))
	}
	if errors.As(err, &re) {
		return fmt.Errorf("discord: %w", err)
	}
	return fmt.Errorf("discord: connecting to the gateway: %w", err)
}

// innermost drops the url.Error wrapper, whose text repeats the whole URL.
func innermost(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// apiHost names the host REST calls go to (apiURL, else discordgo's current base).
func apiHost(apiURL string) string {
	if apiURL == "" {
		apiBaseMu.Lock()
		apiURL = discordgo.EndpointAPI
		apiBaseMu.Unlock()
	}
	u, err := url.Parse(NormalizeAPIURL(apiURL))
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Host
}

func (b *Bot) onConnect(s *discordgo.Session, _ *discordgo.Connect) {
	if b.closing.Load() {
		// A reconnect that lands while Close runs is undone.
		s.Close()
		return
	}
	b.health.SetGateway(true)
	if b.connects.Add(1) > 1 {
		gatewayReconnects.Inc()
		b.log.Info("gateway reconnected")
	}
}

func (b *Bot) onDisconnect(_ *discordgo.Session, _ *discordgo.Disconnect) {
	b.health.SetGateway(false)
	if !b.closing.Load() {
		b.log.Warn("gateway disconnected; reconnecting")
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
}

// Reconnect back-off bounds.
var (
	reconnectMin = time.Second
	reconnectMax = 2 * time.Minute
)

// reconnectLoop reopens the gateway after each disconnect (discordgo's Open
// resumes the session when it can), with growing back-off, until Close.
func (b *Bot) reconnectLoop() {
	defer b.reconnWG.Done()
	for {
		select {
		case <-b.rctx.Done():
			return
		case <-b.kick:
		}
		wait := reconnectMin
		for {
			if b.rctx.Err() != nil {
				return
			}
			err := b.openGateway(b.rctx)
			if err == nil || errors.Is(err, discordgo.ErrWSAlreadyOpen) {
				break
			}
			b.log.Warn("gateway reconnect failed", "error", err, "retry_in", wait)
			t := time.NewTimer(wait)
			select {
			case <-b.rctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			wait = min(wait*2, reconnectMax)
		}
	}
}

func (b *Bot) onResumed(_ *discordgo.Session, _ *discordgo.Resumed) {
	b.log.Info("gateway session resumed")
}

func (b *Bot) onGuildCreate(_ *discordgo.Session, g *discordgo.GuildCreate) {
	if g.Guild == nil || g.Unavailable {
		return
	}
	b.guildChan(g.ID, true)
	b.mu.Lock()
	ours := g.ID == b.guildID
	b.mu.Unlock()
	if ours {
		b.checkPermissions() // after a re-identify, the state is new
	}
}

// guildChan returns the channel closed once the guild's GUILD_CREATE has
// filled the state (closing it when arrived).
func (b *Bot) guildChan(id string, arrived bool) chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch, ok := b.seen[id]
	if !ok {
		ch = make(chan struct{})
		b.seen[id] = ch
	}
	if arrived {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
	return ch
}

// guildAvailable reports whether the state holds the guild's full data.
// The state updates guilds in place, so fields are read under its lock.
func (b *Bot) guildAvailable(id string) bool {
	g, err := b.s.State.Guild(id)
	if err != nil {
		return false
	}
	b.s.State.RLock()
	defer b.s.State.RUnlock()
	return !g.Unavailable
}

// waitGuild waits (guildWait at most) for the guild's GUILD_CREATE.
func (b *Bot) waitGuild(ctx context.Context, id string) bool {
	if b.guildAvailable(id) {
		return true
	}
	t := time.NewTimer(guildWait)
	defer t.Stop()
	select {
	case <-b.guildChan(id, false):
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	b.log.Warn("guild data not received; channel permissions not checked", "guild_id", id)
	return false
}
