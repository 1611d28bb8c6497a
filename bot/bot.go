// Package bot is newsbot's Discord side: the gateway session and its
// lifecycle (bot.go, session.go), slash-command registration and interaction
// routing (router.go), channel permission checks (permissions.go), /healthz
// and /metrics (health.go, metrics.go), and posting articles on a schedule
// (poster.go, embed.go, scheduler.go, dryrun.go).
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
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
	missing  map[string]bool // permission problem keys currently reported
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
		o:       o,
		log:     o.Log,
		health:  o.Health,
		cmds:    append([]commands.Command(nil), o.Commands...),
		missing: map[string]bool{},
		seen:    map[string]chan struct{}{},
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
	b.addHandler(func(_ *discordgo.Session, _ *discordgo.ChannelUpdate) { b.checkPermissions() })
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

func (b *Bot) addHandler(h any) {
	rm := b.s.AddHandler(h)
	b.mu.Lock()
	b.removers = append(b.removers, rm)
	b.mu.Unlock()
}

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
