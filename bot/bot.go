// Package bot is newsbot's Discord side: the bot's lifecycle (bot.go,
// session.go), the gateway connection (gateway.go), slash-command
// registration (commands_register.go) and interaction routing (router.go),
// the channels served and their permissions (channels.go, permissions.go),
// /healthz and /metrics (health.go, metrics.go), and posting articles on a
// schedule (poster.go, sender.go, embed.go, scheduler.go, dryrun.go).
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/commands"
)

// DefaultReadyTimeout bounds the gateway handshake (HELLO, IDENTIFY, READY).
const DefaultReadyTimeout = 30 * time.Second

// guildWait bounds the wait for the guild's GUILD_CREATE (roles, channels,
// the bot's member) before the permission check; it is short because a
// GUILD_CREATE that comes later runs the check then (onGuildCreate).
const guildWait = 2 * time.Second

// lockWait is how long Close waits for the session lock before it aborts a
// gateway handshake in progress (a variable for tests).
var lockWait = time.Second

// interactionHold is how long an interaction that arrives during Open waits
// for the router to know the guild (well inside Discord's 3 s).
const interactionHold = 2 * time.Second

// drainTimeout is how long Close lets interaction handlers in flight finish.
const drainTimeout = 5 * time.Second

// ErrTokenRefused is returned by Open when Discord refuses DISCORD_TOKEN
// (401 on REST, or gateway close code 4004).
var ErrTokenRefused = errors.New("discord: the token was refused (DISCORD_TOKEN)")

// Options configure a Bot.
type Options struct {
	Token         string // DISCORD_TOKEN, with or without "Bot "
	APIURL        string // DISCORD_API_URL, applied with SetAPIBase at Open; "" leaves the endpoints as they are
	GuildID       string // DISCORD_GUILD_ID: register commands there; must be the news channel's guild
	NewsChannelID string
	// RouteChannels are the channels routes post to (ROUTES_FILE); without
	// them NewsChannelID is the one news channel.
	RouteChannels []RouteChannel
	TeamChannelID string // optional; checked like the news channel when set
	Commands      []commands.Command
	Health        *Health      // nil: a private one
	Log           *slog.Logger // nil: slog.Default()
	ReadyTimeout  time.Duration
	// Session is used instead of one made from Token (NewSession) when set.
	Session *discordgo.Session
	// HandlerTimeout bounds each interaction handler (DefaultHandlerTimeout).
	HandlerTimeout time.Duration
}

// Bot is newsbot's Discord connection: the gateway session, the slash
// commands and the interaction router. New, then Open once, then Close.
type Bot struct {
	o      Options
	log    *slog.Logger
	health *Health
	s      *discordgo.Session
	err    error // from NewSession
	conns  connTracker

	ctx    context.Context // handlers' base context, ended by Close
	cancel context.CancelFunc

	mu       sync.Mutex
	cmds     []commands.Command
	router   *Router
	guildID  string
	appID    string
	botID    string
	removers []func()
	missing  map[string]bool               // permission problem keys currently reported
	channels map[string]*discordgo.Channel // route channels as last read
	opened   bool
	closed   bool
	seen     map[string]chan struct{} // guild id -> closed at its GUILD_CREATE
	connects atomic.Int64
	closing  atomic.Bool

	// Reconnects are the Bot's own (discordgo's loop is turned off: once
	// started it retries forever and cannot be stopped): a disconnect kicks
	// reconnectLoop, which Close stops and waits for.
	routing  chan struct{} // closed when the router knows the guild
	kick     chan struct{}
	rctx     context.Context
	rcancel  context.CancelFunc
	reconnWG sync.WaitGroup
	later    sync.WaitGroup // registerLater
}

// New returns a Bot; nothing touches the network before Open.
func New(o Options) *Bot {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Health == nil {
		o.Health = NewHealth()
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	b := &Bot{
		o:        o,
		log:      o.Log,
		health:   o.Health,
		cmds:     append([]commands.Command(nil), o.Commands...),
		missing:  map[string]bool{},
		channels: map[string]*discordgo.Channel{},
		seen:     map[string]chan struct{}{},
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.rctx, b.rcancel = context.WithCancel(context.Background())
	b.kick = make(chan struct{}, 1)
	b.routing = make(chan struct{})
	b.s = o.Session
	if b.s == nil {
		b.s, b.err = NewSession(o.Token)
	}
	if b.s != nil {
		b.conns.install(b.s)
	}
	return b
}

// Session is the discordgo session (for senders and commands that call
// Discord). It exists from New on; it is connected after Open.
func (b *Bot) Session() *discordgo.Session { return b.s }

// Health is the health state the bot updates.
func (b *Bot) Health() *Health { return b.health }

// GuildID is the guild the bot serves (known after Open).
func (b *Bot) GuildID() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.guildID
}

// AddCommands adds commands before Open (for commands that need the
// Session to be built).
func (b *Bot) AddCommands(cmds ...commands.Command) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.opened {
		panic("bot: AddCommands after Open")
	}
	b.cmds = append(b.cmds, cmds...)
}

// Open connects to the gateway and waits for READY (ReadyTimeout for the
// whole handshake), finds the guild from NEWS_CHANNEL_ID (checking
// DISCORD_GUILD_ID against it), registers the slash commands when they
// differ from Discord's, starts answering interactions and reports missing
// channel permissions on Health. A refused token gives ErrTokenRefused; an
// unreachable API names DISCORD_API_URL's host. After an error the Bot
// must still be Closed.
func (b *Bot) Open(ctx context.Context) error {
	if b.err != nil {
		return fmt.Errorf("discord: session: %w", b.err)
	}
	b.mu.Lock()
	if b.opened {
		b.mu.Unlock()
		return errors.New("discord: Open called twice")
	}
	b.opened = true
	b.router = NewRouter(b.cmds, "", b.s, b.log)
	if b.o.HandlerTimeout > 0 {
		b.router.SetHandlerTimeout(b.o.HandlerTimeout)
	}
	b.mu.Unlock()

	if b.o.APIURL != "" {
		SetAPIBase(b.o.APIURL)
	}
	// Not removed by Close: it undoes a reconnect that lands after Close.
	b.s.AddHandler(b.onConnect)
	b.addHandler(b.onDisconnect)
	b.addHandler(b.onResumed)
	b.addHandler(b.onGuildCreate)
	// Permissions change with roles, overwrites and the bot's own roles.
	b.addHandler(b.onChannelUpdate)
	b.addHandler(func(_ *discordgo.Session, _ *discordgo.GuildRoleUpdate) { b.checkPermissions() })
	b.addHandler(func(_ *discordgo.Session, _ *discordgo.GuildRoleDelete) { b.checkPermissions() })
	b.addHandler(func(_ *discordgo.Session, _ *discordgo.GuildMemberUpdate) { b.checkPermissions() })

	// Interactions may arrive as soon as READY: they wait (briefly) for the
	// guild lookup below instead of being dropped.
	b.addHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) {
		t := time.NewTimer(interactionHold)
		defer t.Stop()
		select {
		case <-b.routing:
			b.router.Handle(b.ctx, i)
		case <-t.C:
			b.log.Warn("interaction dropped: the bot was not ready", "interaction_id", i.ID)
		case <-b.ctx.Done():
		}
	})
	b.s.Lock()
	b.s.ShouldReconnectOnError = false // reconnectLoop owns reconnects
	b.s.Unlock()
	if err := b.retryStart(ctx, "connecting to the gateway", func() error { return b.openGateway(ctx) }); err != nil {
		return err
	}
	b.reconnWG.Add(1)
	go b.reconnectLoop()

	var botID, appID string
	b.s.State.RLock()
	if b.s.State.User != nil {
		botID = b.s.State.User.ID
	}
	if b.s.State.Application != nil {
		appID = b.s.State.Application.ID
	}
	b.s.State.RUnlock()
	if appID == "" {
		appID = botID // older READY payloads: the bot user id is the application id
	}
	b.mu.Lock()
	b.botID, b.appID = botID, appID
	b.mu.Unlock()

	guildID, err := b.findGuild(ctx)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.guildID = guildID
	b.mu.Unlock()
	b.router.SetGuild(guildID)
	close(b.routing)

	defs := make([]*discordgo.ApplicationCommand, 0, len(b.cmds))
	for _, c := range b.cmds {
		defs = append(defs, c.Definition)
	}
	scope := "global"
	if b.o.GuildID != "" {
		scope = "guild " + b.o.GuildID
	}
	if err := b.register(ctx, appID, scope, defs); err != nil {
		if c := classifyConnErr(err, b.o.APIURL); errors.Is(c, ErrTokenRefused) {
			return c
		}
		// News posting does not need the commands: report and go on; a
		// transient failure is tried again in the background.
		b.health.SetProblem("commands", fmt.Sprintf("slash commands could not be registered (%s): %v", scope, err))
		b.log.Error("slash commands could not be registered; news posting goes on", "scope", scope, "error", err, "retry", transientREST(err))
		if transientREST(err) {
			b.later.Add(1)
			go b.registerLater(appID, scope, defs)
		}
	}

	b.waitGuild(ctx, guildID)
	b.checkPermissions()
	b.log.Info("discord ready", "guild_id", guildID, "bot_user_id", botID)
	return nil
}

func (b *Bot) addHandler(h any) {
	rm := b.s.AddHandler(h)
	b.mu.Lock()
	b.removers = append(b.removers, rm)
	b.mu.Unlock()
}

// lockSession takes the session lock. A reconnect in progress holds it
// while it waits for HELLO/READY with no deadline; when the lock does not
// come within lockWait, that handshake is aborted so that Open gives up
// (reconnectLoop, already cancelled, then ends).
func (b *Bot) lockSession() {
	locked := make(chan struct{})
	go func() {
		b.s.Lock()
		close(locked)
	}()
	t := time.NewTimer(lockWait)
	defer t.Stop()
	select {
	case <-locked:
		return
	case <-t.C:
		b.log.Warn("gateway reconnect in progress at shutdown; aborting it")
		b.conns.abort()
	}
	<-locked
}

// Close stops answering interactions, closes the gateway (no reconnect),
// lets handlers in flight finish (drainTimeout), and frees the session's
// connections. It is safe to call more than once, and after a failed Open.
func (b *Bot) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	removers := b.removers
	b.removers = nil
	router := b.router
	b.mu.Unlock()
	b.closing.Store(true)
	b.rcancel()
	if b.s == nil {
		b.cancel()
		return nil
	}

	// Wait for (or abort) a handshake in progress: it holds the session lock.
	// ShouldReconnectOnError is already false (Open): discordgo reads it
	// without a lock, so it is not written again here.
	b.lockSession()
	b.s.Unlock()
	err := b.s.Close()
	b.reconnWG.Wait() // a reconnect in progress was aborted by lockSession
	b.later.Wait()

	if router != nil {
		ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
		if werr := router.Wait(ctx); werr != nil {
			b.log.Warn("interaction handlers still running at shutdown")
		}
		cancel()
	}
	b.cancel()
	for _, rm := range removers {
		rm()
	}
	b.health.SetGateway(false)
	closeIdle(b.s)
	if err != nil {
		return fmt.Errorf("discord: close: %w", err)
	}
	return nil
}
