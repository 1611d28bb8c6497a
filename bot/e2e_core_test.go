package bot

// End-to-end tests of the bot core against the in-repo fake Discord, through
// the real discordgo code path. They move discordgo's endpoint globals: no
// t.Parallel here.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"

	"github.com/newsbot/newsbot/commands"
	"github.com/newsbot/newsbot/internal/discordtest"
	"github.com/newsbot/newsbot/internal/testutil"
)

// pingCommand answers "pong" ephemerally; it is the trivial test command.
func pingCommand(r func() commands.Responder) commands.Command {
	return commands.Command{
		Definition: &discordgo.ApplicationCommand{Name: "ping", Description: "Check that the bot answers."},
		Handle: func(ctx context.Context, i *discordgo.InteractionCreate) error {
			return r().InteractionRespond(i.Interaction, commands.Ephemeral("pong"), discordgo.WithContext(ctx))
		},
	}
}

// slowFailCommand defers its answer, then fails: the router must edit the
// deferred answer with the apology.
func slowFailCommand(r func() commands.Responder) commands.Command {
	return commands.Command{
		Definition: &discordgo.ApplicationCommand{Name: "slowfail", Description: "Defers, then fails."},
		Handle: func(ctx context.Context, i *discordgo.InteractionCreate) error {
			err := r().InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
				Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
			}, discordgo.WithContext(ctx))
			if err != nil {
				return err
			}
			return errors.New("store: disk full")
		},
	}
}

// syncBuffer is safe for a logger's concurrent writes and a reader.
type syncBuffer = testutil.Buffer

type e2e struct {
	srv    *discordtest.Server
	bot    *Bot
	health *Health
	logs   *syncBuffer
}

// newE2E starts a fake and a Bot pointed at it (not opened); change opts
// with edit before the Bot is built.
func newE2E(t *testing.T, edit func(o *Options)) *e2e {
	t.Helper()
	srv := discordtest.New(t)
	t.Cleanup(func() { SetAPIBase("") })
	e := &e2e{srv: srv, health: NewHealth(), logs: &syncBuffer{}}
	var b *Bot
	o := Options{
		Token:         discordtest.Token,
		APIURL:        srv.APIURL(),
		NewsChannelID: discordtest.NewsChannelID,
		TeamChannelID: discordtest.TeamChannelID,
		Commands:      []commands.Command{pingCommand(func() commands.Responder { return b.Session() })},
		Health:        e.health,
		Log:           slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ReadyTimeout:  10 * time.Second,
	}
	if edit != nil {
		edit(&o)
	}
	b = New(o)
	e.bot = b
	t.Cleanup(func() { b.Close() })
	return e
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// settleGoroutines waits (bounded) until the goroutine count is back to at
// most base; discordgo's and net/http's goroutines end shortly after Close.
func settleGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), base, buf[:n])
		}
		time.Sleep(10 * time.Millisecond) // polling a count, not synchronising on an event
	}
}

func TestCoreE2EIdentifyRegisterAnswerClose(t *testing.T) {
	ctx := testCtx(t)
	var e *e2e
	e = newE2E(t, func(o *Options) {
		o.Commands = append(o.Commands, slowFailCommand(func() commands.Responder { return e.bot.Session() }))
	})
	base := runtime.NumGoroutine()

	if err := e.bot.Open(ctx); err != nil {
		t.Fatalf("Open: %v\nlogs:\n%s", err, e.logs.String())
	}
	gw := e.srv.Gateway()
	if gw.Identifies != 1 || gw.Intents != int(discordgo.IntentsGuilds) {
		t.Errorf("gateway: %+v, want one IDENTIFY with intents %d", gw, discordgo.IntentsGuilds)
	}
	if g := e.bot.GuildID(); g != discordtest.GuildID {
		t.Errorf("GuildID = %q", g)
	}
	if !e.health.Gateway() {
		t.Error("health: gateway not connected after Open")
	}

	// Exactly the defined commands, global and guild-only.
	cmds := e.srv.Commands("")
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	if len(cmds) != 2 || cmds[0].Name != "ping" || cmds[0].Description != "Check that the bot answers." || cmds[1].Name != "slowfail" {
		t.Fatalf("registered commands: %+v", cmds)
	}
	for _, c := range cmds {
		if c.Contexts == nil || len(*c.Contexts) != 1 || (*c.Contexts)[0] != discordgo.InteractionContextGuild {
			t.Errorf("global command %s contexts = %v, want [guild]", c.Name, c.Contexts)
		}
	}
	if n := e.srv.CommandWrites(""); n != 1 {
		t.Errorf("command writes = %d, want 1", n)
	}
	if len(e.health.Problems()) != 0 {
		t.Errorf("problems with the default permissions: %+v", e.health.Problems())
	}

	// A command is answered within the fake's deadline.
	it, err := e.srv.Interact(ctx, discordtest.Command("ping"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.srv.WaitResponse(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Content() != "pong" || !resp.Ephemeral() {
		t.Errorf("answer %q ephemeral %v", resp.Content(), resp.Ephemeral())
	}

	// A handler that fails after deferring: the deferred answer becomes the apology.
	it, err = e.srv.Interact(ctx, discordtest.Command("slowfail"))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := e.srv.WaitExchange(ctx, it.ID, func(x discordtest.Exchange) bool { return len(x.Edits) > 0 })
	if err != nil {
		t.Fatal(err)
	}
	if ex.Response == nil || ex.Response.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource ||
		len(ex.Refused) != 1 || ex.Refused[0].Code != 40060 || !strings.Contains(string(ex.Edits[0]), "Sorry, something went wrong") {
		t.Errorf("exchange after a failing deferred handler: %+v edits %s", ex, ex.Edits)
	}
	if !strings.Contains(e.logs.String(), "interaction_id="+it.ID) || !strings.Contains(e.logs.String(), "disk full") {
		t.Errorf("failure not logged with the interaction id:\n%s", e.logs.String())
	}

	// A DM is refused politely.
	it, err = e.srv.Interact(ctx, discordtest.Command("ping"), discordtest.InDM())
	if err != nil {
		t.Fatal(err)
	}
	resp, err = e.srv.WaitResponse(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Content() != msgNotHere || !resp.Ephemeral() {
		t.Errorf("DM answer %q", resp.Content())
	}

	// Autocomplete for a command that has none: no choices, still answered.
	it, err = e.srv.Interact(ctx, discordtest.Autocomplete("ping", discordtest.Focused("x", "a")))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = e.srv.WaitResponse(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Type != discordgo.InteractionApplicationCommandAutocompleteResult || (resp.Data != nil && len(resp.Data.Choices) != 0) {
		t.Errorf("autocomplete answer: type %d %s", resp.Type, resp.Raw)
	}

	if err := e.bot.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if e.health.Gateway() {
		t.Error("health: gateway connected after Close")
	}
	settleGoroutines(t, base)

	// A second start with the same definitions does not write again.
	var b2 *Bot
	r2 := func() commands.Responder { return b2.Session() }
	b2 = New(Options{
		Token: discordtest.Token, APIURL: e.srv.APIURL(),
		NewsChannelID: discordtest.NewsChannelID, TeamChannelID: discordtest.TeamChannelID,
		Commands: []commands.Command{slowFailCommand(r2), pingCommand(r2)},
		Log:      slog.New(slog.DiscardHandler),
	})
	defer b2.Close()
	if err := b2.Open(ctx); err != nil {
		t.Fatalf("second Open: %v", err)
	}
	if n := e.srv.CommandWrites(""); n != 1 {
		t.Errorf("command writes after a second start = %d, want still 1", n)
	}
	b2.Close()
	settleGoroutines(t, base)
}

func TestCoreE2EResumeAndHealthz(t *testing.T) {
	ctx := testCtx(t)
	e := newE2E(t, nil)
	base := runtime.NumGoroutine()

	// Hold the reconnect's dial until the test has seen /healthz fail.
	gate := make(chan struct{})
	var dials int
	var dialMu sync.Mutex
	d := *e.bot.Session().Dialer
	inner := d.NetDialContext
	d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialMu.Lock()
		dials++
		n := dials
		dialMu.Unlock()
		if n > 1 {
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return inner(ctx, network, addr)
	}
	e.bot.Session().Dialer = &d

	states := make(chan bool, 16)
	e.health.mu.Lock()
	e.health.onGateway = func(c bool) { states <- c }
	e.health.mu.Unlock()

	if err := e.bot.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !<-states {
		t.Fatal("first gateway state was not connected")
	}
	srv := httptest.NewServer(e.health.Handler())
	defer srv.Close()
	if code := httpStatus(t, srv.URL+"/healthz"); code != 200 {
		t.Fatalf("healthz while connected = %d", code)
	}

	reconnectsBefore := gaugeOrCounter(t, "newsbot_gateway_reconnects_total")
	e.srv.DropGateway()
	select {
	case c := <-states:
		if c {
			t.Fatal("gateway reported connected right after the drop")
		}
	case <-ctx.Done():
		t.Fatal("no disconnect seen after the drop")
	}
	if code := httpStatus(t, srv.URL+"/healthz"); code != 503 {
		t.Errorf("healthz after the drop = %d, want 503", code)
	}
	close(gate)
	select {
	case c := <-states:
		if !c {
			t.Fatal("second state change was not a connect")
		}
	case <-ctx.Done():
		t.Fatal("no reconnect")
	}
	if err := e.srv.WaitResumed(ctx); err != nil {
		t.Fatal(err)
	}
	if code := httpStatus(t, srv.URL+"/healthz"); code != 200 {
		t.Errorf("healthz after resume = %d, want 200", code)
	}
	if gw := e.srv.Gateway(); gw.Identifies != 1 || gw.Resumes != 1 {
		t.Errorf("gateway after drop: identifies %d resumes %d, want 1 and 1", gw.Identifies, gw.Resumes)
	}
	if got := gaugeOrCounter(t, "newsbot_gateway_reconnects_total"); got != reconnectsBefore+1 {
		t.Errorf("reconnects metric %v, want %v", got, reconnectsBefore+1)
	}

	// Still answering after the resume.
	it, err := e.srv.Interact(ctx, discordtest.Command("ping"))
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := e.srv.WaitResponse(ctx, it.ID); err != nil || resp.Content() != "pong" {
		t.Fatalf("after resume: %v %v", resp, err)
	}

	if err := e.bot.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	srv.Close()
	settleGoroutines(t, base)
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestCoreE2EBadToken(t *testing.T) {
	ctx := testCtx(t)
	e := newE2E(t, func(o *Options) { o.Token = "not-the-token" })
	err := e.bot.Open(ctx)
	if !errors.Is(err, ErrTokenRefused) {
		t.Fatalf("Open with a bad token: %v, want ErrTokenRefused", err)
	}
	t.Logf("bad token: %v", err)
	if err.Error() != "discord: the token was refused (DISCORD_TOKEN)" {
		t.Errorf("error text %q", err)
	}
	if strings.Contains(e.logs.String(), "not-the-token") {
		t.Error("the token appears in the logs")
	}
}

func TestCoreE2EUnreachableAPI(t *testing.T) {
	ctx := testCtx(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	// As cmd wires it: SetAPIBase first, then a session given to New.
	SetAPIBase("http://" + addr + "/api/v9")
	s, err := NewSession("secret-value")
	if err != nil {
		t.Fatal(err)
	}
	e := newE2E(t, func(o *Options) { o.APIURL = ""; o.Session = s })
	err = e.bot.Open(ctx)
	if err == nil {
		t.Fatal("Open succeeded with no API")
	}
	msg := err.Error()
	t.Logf("unreachable API: %v", err)
	if !strings.Contains(msg, addr) || !strings.Contains(msg, "DISCORD_API_URL") || strings.Contains(msg, "secret") || strings.Contains(msg, "\n") {
		t.Errorf("error %q should be one line naming %s and DISCORD_API_URL, without the token", msg, addr)
	}
}

func TestCoreE2EMissingChannelAndWrongGuild(t *testing.T) {
	tests := []struct {
		name string
		edit func(o *Options)
		two  bool // the bot is in a second guild: the news channel's guild cannot be guessed
		want string
	}{
		{"news channel, two guilds", func(o *Options) { o.NewsChannelID = "4040" }, true, "NEWS_CHANNEL_ID 4040: no such channel"},
		{"guild id", func(o *Options) { o.GuildID = "333" }, false, "DISCORD_GUILD_ID 333 is not the guild of NEWS_CHANNEL_ID 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			e := newE2E(t, tt.edit)
			if tt.two {
				e.srv.AddGuild("700", "Other Guild", discordgo.PermissionViewChannel, true)
			}
			err := e.bot.Open(ctx)
			t.Logf("%s: %v", tt.name, err)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open: %v, want an error containing %q", err, tt.want)
			}
			if n := e.srv.CommandWrites(""); n != 0 {
				t.Errorf("commands registered despite the error (%d writes)", n)
			}
		})
	}
}

// A news channel the bot cannot read at start is reported on /healthz, as a
// post's 403/404 would be; the bot serves its only guild meanwhile.
// Discord failing for a moment at start (the gateway lookup, reading the
// news channel, registering the commands) neither stops the start nor leaves the
// commands unregistered.
func TestCoreE2EDiscordHiccupsAtStart(t *testing.T) {
	defer func(s, r time.Duration) { startRetry, registerRetry = s, r }(startRetry, registerRetry)
	startRetry, registerRetry = time.Millisecond, time.Millisecond
	ctx := testCtx(t)
	e := newE2E(t, nil)
	e.srv.FailNext("GET", "/gateway", 4, 500, 0)
	e.srv.FailNext("GET", "/channels/"+discordtest.NewsChannelID, 2, 500, 0)
	e.srv.FailNext("PUT", "/applications/*/commands", 2, 503, 0)
	if err := e.bot.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	if e.bot.GuildID() != discordtest.GuildID {
		t.Errorf("guild %q", e.bot.GuildID())
	}
	lookups := 0
	for _, rq := range e.srv.Requests() {
		if rq.Path == "/gateway" {
			lookups++
		}
	}
	if lookups != 5 {
		t.Errorf("%d gateway lookups, want 5 (4 failures)", lookups)
	}
	err := e.srv.WaitFor(ctx, func() bool {
		cmds := e.srv.Commands("")
		return len(cmds) == 1 && cmds[0].Name == "ping"
	})
	if err != nil {
		t.Fatalf("commands never registered: %v\n%s", err, e.logs.String())
	}
	// The problem shown meanwhile is cleared by the retry that wrote
	// them.
	e.bot.later.Wait()
	for _, p := range e.health.Problems() {
		if p.Key == "commands" {
			t.Errorf("problem left: %+v", p)
		}
	}
}

// A refused registration (400) is not retried.
func TestCoreE2ERegistrationRefusedNotRetried(t *testing.T) {
	defer func(r time.Duration) { registerRetry = r }(registerRetry)
	registerRetry = time.Millisecond
	ctx := testCtx(t)
	e := newE2E(t, nil)
	e.srv.FailNext("PUT", "/applications/*/commands", 1, 400, 50035)
	if err := e.bot.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	e.bot.Close()
	puts := 0
	for _, rq := range e.srv.Requests() {
		if rq.Method == "PUT" {
			puts++
		}
	}
	if puts != 1 || len(e.srv.Commands("")) != 0 {
		t.Errorf("%d registrations, %d commands", puts, len(e.srv.Commands("")))
	}
}

func TestCoreE2EMissingNewsChannelReported(t *testing.T) {
	ctx := testCtx(t)
	e := newE2E(t, func(o *Options) { o.NewsChannelID = "4040" })
	if err := e.bot.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	found := false
	for _, p := range e.health.Problems() {
		if p.Key == "news_channel" && strings.Contains(p.Message, "NEWS_CHANNEL_ID 4040: no such channel") {
			found = true
		}
	}
	if !found {
		t.Errorf("problems %+v lack the missing news channel", e.health.Problems())
	}
	if e.bot.GuildID() != discordtest.GuildID {
		t.Errorf("guild %q", e.bot.GuildID())
	}
}

// Guild-scoped registration and the permission check, on one start.
func TestCoreE2EGuildCommandsAndMissingPermission(t *testing.T) {
	ctx := testCtx(t)
	e := newE2E(t, func(o *Options) { o.GuildID = discordtest.GuildID })
	// A command from an older version is registered: the overwrite removes it.
	e.srv.SetCommands(discordtest.GuildID, []*discordgo.ApplicationCommand{{Name: "old", Description: "Gone."}})
	// The same command registered globally by an earlier setup without
	// DISCORD_GUILD_ID goes; another global command stays.
	e.srv.SetCommands("", []*discordgo.ApplicationCommand{{Name: "ping", Description: "Ping."}, {Name: "other", Description: "Other."}})
	// The bot's role may not embed links in #news.
	e.srv.SetOverwrites(discordtest.NewsChannelID,
		&discordgo.PermissionOverwrite{ID: discordtest.GuildID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionEmbedLinks},
	)
	if err := e.bot.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	var names []string
	for _, c := range e.srv.Commands(discordtest.GuildID) {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "ping" {
		t.Errorf("guild commands = %v, want [ping]", names)
	}
	if g := e.srv.Commands(""); len(g) != 1 || g[0].Name != "other" {
		t.Errorf("global commands = %+v, want only [other]", g)
	}

	want := "missing permission Embed Links in #news (400)"
	ps := e.health.Problems()
	if len(ps) != 1 || ps[0].Message != want {
		t.Fatalf("problems = %+v, want one %q", ps, want)
	}
	if n := strings.Count(e.logs.String(), want); n != 1 {
		t.Errorf("%d log lines with %q, want 1:\n%s", n, want, e.logs.String())
	}
	// The permissions computed from the gateway state agree with the fake's
	// own computation of Discord's rules.
	s := e.bot.Session()
	guild, _ := s.State.Guild(discordtest.GuildID)
	member, _ := s.State.Member(discordtest.GuildID, discordtest.BotUserID)
	for _, id := range []string{discordtest.NewsChannelID, discordtest.TeamChannelID} {
		ch, err := s.State.Channel(id)
		if err != nil {
			t.Fatalf("channel %s not in state: %v", id, err)
		}
		s.State.RLock()
		got := ComputePermissions(guild, member, ch)
		s.State.RUnlock()
		if want := e.srv.Permissions(discordtest.BotUserID, id); got != want {
			t.Errorf("permissions in %s: %b, fake says %b", id, got, want)
		}
	}

	// The same check again (e.g. on a channel update) does not repeat it.
	e.bot.checkPermissions()
	if n := strings.Count(e.logs.String(), want); n != 1 {
		t.Errorf("repeated check logged again (%d lines)", n)
	}
}

// hangingGateway serves a gateway lookup pointing at itself and a websocket
// that upgrades but never says HELLO; accepted gets a value per upgrade.
func hangingGateway(t *testing.T) (srv *httptest.Server, accepted <-chan struct{}) {
	t.Helper()
	var up websocket.Upgrader
	release := make(chan struct{})
	acc := make(chan struct{}, 8)
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v9/gateway", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"url":"ws://%s/gw/"}`, r.Host)
	})
	mux.HandleFunc("/gw/", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		acc <- struct{}{}
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-release:
				c.Close()
			case <-done:
			}
		}()
		for { // silent; returns when the client goes away
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv, acc
}

// Open must give up after ReadyTimeout instead of hanging on a silent gateway.
func TestOpenReadyTimeout(t *testing.T) {
	ctx := testCtx(t)
	srv, _ := hangingGateway(t)
	t.Cleanup(func() { SetAPIBase("") })
	b := New(Options{Token: "x", APIURL: srv.URL + "/api/v9", NewsChannelID: "400",
		Log: slog.New(slog.DiscardHandler), ReadyTimeout: 200 * time.Millisecond})
	defer b.Close()
	err := b.Open(ctx)
	if err == nil || !strings.Contains(err.Error(), "no READY from the gateway within 200ms") {
		t.Fatalf("Open: %v, want a READY timeout", err)
	}
}

// Close must not hang behind a reconnect stuck in its handshake (discordgo
// holds the session lock while it waits for HELLO).
func TestCoreE2ECloseDuringStuckReconnect(t *testing.T) {
	ctx := testCtx(t)
	e := newE2E(t, nil)
	hang, accepted := hangingGateway(t)
	hangAddr := hang.Listener.Addr().String()
	defer func(d time.Duration) { lockWait = d }(lockWait)
	lockWait = 50 * time.Millisecond
	base := runtime.NumGoroutine()

	var n int
	var mu sync.Mutex
	d := *e.bot.Session().Dialer
	inner := d.NetDialContext
	d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		if k == 2 { // the first reconnect goes to the silent gateway
			addr = hangAddr
		}
		return inner(ctx, network, addr)
	}
	e.bot.Session().Dialer = &d

	if err := e.bot.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	e.srv.DropGateway()
	select {
	case <-accepted: // the reconnect now waits for HELLO, holding the session lock
	case <-ctx.Done():
		t.Fatal("no reconnect attempt")
	}
	done := make(chan error, 1)
	go func() { done <- e.bot.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Close hung behind the stuck reconnect")
	}
	if e.health.Gateway() {
		t.Error("gateway reported connected after Close")
	}
	// discordgo retries; its next attempt reaches the fake and is closed
	// again at once, which ends its reconnect loop.
	settleGoroutines(t, base)
}

func TestClassifyGatewayClose(t *testing.T) {
	if err := classifyConnErr(&websocket.CloseError{Code: 4004, Text: "Authentication failed."}, ""); !errors.Is(err, ErrTokenRefused) {
		t.Errorf("4004: %v", err)
	}
	rest := &discordgo.RESTError{Response: &http.Response{StatusCode: 401}, Message: &discordgo.APIErrorMessage{Message: "401: Unauthorized"}}
	if err := classifyConnErr(fmt.Errorf("wrapped: %w", rest), ""); !errors.Is(err, ErrTokenRefused) {
		t.Errorf("REST 401: %v", err)
	}
	if err := classifyConnErr(&websocket.CloseError{Code: 4014, Text: "Disallowed intent(s)."}, ""); err == nil || !strings.Contains(err.Error(), "intents") {
		t.Errorf("4014: %v", err)
	}
}

func gaugeOrCounter(t *testing.T, name string) float64 {
	t.Helper()
	switch name {
	case "newsbot_gateway_reconnects_total":
		var m dto.Metric
		if err := gatewayReconnects.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	t.Fatalf("unknown metric %s", name)
	return 0
}

// BenchmarkInteractionRoundTrip measures an interaction through the fake:
// from the fake's dispatch of INTERACTION_CREATE to its receipt of the
// callback, with the trivial ping handler. Run with -benchtime=1000x for
// p50/p99 over 1,000 interactions.
func BenchmarkInteractionRoundTrip(b *testing.B) {
	b.ReportAllocs()
	srv := discordtest.New(b)
	b.Cleanup(func() { SetAPIBase("") })
	var bt *Bot
	bt = New(Options{
		Token: discordtest.Token, APIURL: srv.APIURL(),
		NewsChannelID: discordtest.NewsChannelID, TeamChannelID: discordtest.TeamChannelID,
		Commands: []commands.Command{pingCommand(func() commands.Responder { return bt.Session() })},
		Log:      slog.New(slog.DiscardHandler),
	})
	defer bt.Close()
	ctx := context.Background()
	if err := bt.Open(ctx); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, 1024)
	for b.Loop() {
		it, err := srv.Interact(ctx, discordtest.Command("ping"))
		if err != nil {
			b.Fatal(err)
		}
		resp, err := srv.WaitResponse(ctx, it.ID)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, resp.At.Sub(it.DispatchedAt))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
