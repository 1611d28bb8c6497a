package discordtest

import (
	"strings"
	"sync"
	"testing"

	"github.com/bwmarrin/discordgo"
)

func TestOpenReadyAndState(t *testing.T) {
	s := New(t)
	ctx := testCtx(t)
	dg, _, guilds := sessionG(t, s, true, false)
	if err := s.WaitIdentified(ctx); err != nil {
		t.Fatal(err)
	}
	if id := recv(t, ctx, guilds); id != GuildID {
		t.Fatalf("GUILD_CREATE for %s", id)
	}
	if dg.State.User == nil || dg.State.User.ID != BotUserID {
		t.Fatalf("state user = %+v", dg.State.User)
	}
	// GUILD_CREATE arrives after READY: wait for it through the state.
	st, err := s.WaitGateway(ctx, func(g GatewayStats) bool { return g.Heartbeats >= 1 })
	if err != nil {
		t.Fatal(err)
	}
	if st.Identifies != 1 || st.Intents != int(discordgo.IntentsGuilds) || !st.Connected {
		t.Fatalf("stats = %+v", st)
	}
	perms, err := dg.State.UserChannelPermissions(BotUserID, NewsChannelID)
	if err != nil {
		t.Fatal(err)
	}
	if perms != s.Permissions(BotUserID, NewsChannelID) {
		t.Errorf("discordgo state perms %b, fake %b", perms, s.Permissions(BotUserID, NewsChannelID))
	}
	if perms&discordgo.PermissionSendMessages == 0 || perms&discordgo.PermissionEmbedLinks == 0 {
		t.Errorf("bot lacks send/embed in news: %b", perms)
	}
	tp, err := dg.State.UserChannelPermissions(BotUserID, TeamChannelID)
	if err != nil || tp&discordgo.PermissionViewChannel == 0 {
		t.Errorf("bot cannot view team channel: %b %v", tp, err)
	}
	mp := s.Permissions(MemberUserID, TeamChannelID)
	if mp != 0 {
		t.Errorf("member sees the team channel: %b", mp)
	}
	g, err := dg.State.Guild(GuildID)
	if err != nil || g.Name != GuildName || len(g.Channels) != 3 {
		t.Fatalf("state guild = %+v, %v", g, err)
	}
}

func TestBadTokenGatewayAndREST(t *testing.T) {
	s := New(t)
	PointDiscordgo(s.APIURL())
	dg, err := discordgo.New("Bot wrong")
	if err != nil {
		t.Fatal(err)
	}
	dg.ShouldReconnectOnError = false
	dg.LogLevel = -1
	_, err = dg.User("@me")
	wantCode(t, err, 401, 0)
	if !strings.Contains(err.Error(), "401: Unauthorized") {
		t.Errorf("error %q", err)
	}
	if err := dg.Open(); err == nil {
		t.Fatal("Open with a bad token succeeded")
	} else if !strings.Contains(err.Error(), "4004") {
		t.Errorf("Open error %v, want close 4004", err)
	}
	st := s.Gateway()
	if st.LastClose != 4004 || st.BadTokens != 1 || st.Identifies != 0 || st.Connected {
		t.Errorf("stats %+v", st)
	}
	reqs := s.Requests()
	if len(reqs) == 0 || !reqs[0].HasAuth || reqs[0].Authorized || reqs[0].Status != 401 {
		t.Errorf("first request %+v", reqs[0])
	}
}

func TestResumeAfterDropAndReconnect(t *testing.T) {
	s := New(t)
	ctx := testCtx(t)
	dg, _ := session(t, s, true, true)
	var mu sync.Mutex
	var events []string
	got := make(chan string, 16)
	dg.AddHandler(func(_ *discordgo.Session, e *discordgo.Event) {
		if e.Type == "FAKE_EVENT" {
			mu.Lock()
			events = append(events, string(e.RawData))
			mu.Unlock()
			got <- string(e.RawData)
		}
	})
	if err := s.WaitHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	s.DropGateway()
	// Dispatched while the bot is away: replayed on RESUME.
	if err := s.Dispatch("FAKE_EVENT", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitResumed(ctx); err != nil {
		t.Fatal(err)
	}
	if e := recv(t, ctx, got); e != `{"n":1}` {
		t.Fatalf("event %s", e)
	}
	// op 7: discordgo closes with 1012 and resumes again. Wait for the new
	// connection's first heartbeat: discordgo v0.29's heartbeat goroutine, if still
	// starting while op 7 closes the socket, fails its write and reconnects a second
	// time in parallel (a discordgo race, not a protocol matter).
	if err := s.WaitHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	s.Reconnect()
	st, err := s.WaitGateway(ctx, func(g GatewayStats) bool { return g.Resumes == 2 && g.Connected })
	if err != nil {
		t.Fatalf("%v: %+v", err, st)
	}
	if st.Identifies != 1 || st.ClientClose != 1012 {
		t.Errorf("stats %+v", st)
	}
	if err := s.Dispatch("FAKE_EVENT", map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	if e := recv(t, ctx, got); e != `{"n":2}` {
		t.Fatalf("event %s", e)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 {
		t.Errorf("events delivered %d times, want 2: %v", len(events), events)
	}
}

func TestInvalidSessionReidentifies(t *testing.T) {
	s := New(t)
	ctx := testCtx(t)
	session(t, s, true, false)
	if err := s.WaitIdentified(ctx); err != nil {
		t.Fatal(err)
	}
	s.InvalidSession(false)
	st, err := s.WaitGateway(ctx, func(g GatewayStats) bool { return g.Identifies == 2 && g.Connected })
	if err != nil {
		t.Fatal(err)
	}
	if st.Connections != 1 || !strings.HasSuffix(st.SessionID, "-session-2") {
		t.Errorf("stats %+v", st)
	}
}
