package discordtest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

type rawFrame struct {
	Op int             `json:"op"`
	S  int64           `json:"s"`
	T  string          `json:"t"`
	D  json.RawMessage `json:"d"`
}

func dialRaw(t *testing.T, s *Server) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(s.GatewayURL()+"?v=9&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	return c
}

func readRaw(t *testing.T, c *websocket.Conn) rawFrame {
	t.Helper()
	var f rawFrame
	if err := c.ReadJSON(&f); err != nil {
		t.Fatalf("read: %v", err)
	}
	return f
}

func TestRawGatewayProtocol(t *testing.T) {
	s := New(t)
	c := dialRaw(t, s)
	if f := readRaw(t, c); f.Op != 10 || string(f.D) != `{"heartbeat_interval":41250}` {
		t.Fatalf("hello %+v %s", f, f.D)
	}
	_ = c.WriteJSON(map[string]any{"op": 1, "d": nil})
	if f := readRaw(t, c); f.Op != 11 {
		t.Fatalf("ack %+v", f)
	}
	s.StopHeartbeatACKs(true)
	_ = c.WriteJSON(map[string]any{"op": 1, "d": nil})
	_ = c.WriteJSON(map[string]any{"op": 2, "d": map[string]any{"token": "Bot " + Token, "intents": 1}})
	ready := readRaw(t, c)
	if ready.Op != 0 || ready.T != "READY" || ready.S != 1 {
		t.Fatalf("want READY right after the un-ACKed heartbeat, got %+v", ready)
	}
	var r struct {
		SessionID string `json:"session_id"`
		Guilds    []struct {
			ID          string `json:"id"`
			Unavailable bool   `json:"unavailable"`
		} `json:"guilds"`
		Application struct {
			ID string `json:"id"`
		} `json:"application"`
	}
	_ = json.Unmarshal(ready.D, &r)
	if r.SessionID == "" || len(r.Guilds) != 1 || !r.Guilds[0].Unavailable || r.Application.ID != ApplicationID {
		t.Fatalf("ready %s", ready.D)
	}
	if f := readRaw(t, c); f.T != "GUILD_CREATE" || f.S != 2 {
		t.Fatalf("guild create %+v", f)
	}
	// A second IDENTIFY on an identified connection: 4005.
	_ = c.WriteJSON(map[string]any{"op": 2, "d": map[string]any{"token": Token}})
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4005 {
		t.Fatalf("want close 4005, got %v", err)
	}
	// RESUME with an unknown session: op 9 false.
	c2 := dialRaw(t, s)
	readRaw(t, c2)
	_ = c2.WriteJSON(map[string]any{"op": 6, "d": map[string]any{"token": Token, "session_id": "nope", "seq": 1}})
	if f := readRaw(t, c2); f.Op != 9 || string(f.D) != "false" {
		t.Fatalf("op 9 %+v", f)
	}
	// RESUME of the real session replays what came after seq 1, then RESUMED.
	c3 := dialRaw(t, s)
	readRaw(t, c3)
	_ = c3.WriteJSON(map[string]any{"op": 6, "d": map[string]any{"token": Token, "session_id": r.SessionID, "seq": 1}})
	if f := readRaw(t, c3); f.T != "GUILD_CREATE" || f.S != 2 {
		t.Fatalf("replay %+v", f)
	}
	if f := readRaw(t, c3); f.T != "RESUMED" || f.S != 3 {
		t.Fatalf("resumed %+v", f)
	}
}

func TestGatewayDownAndHoldIdentify(t *testing.T) {
	s := New(t)
	s.SetGatewayDown(true)
	if _, resp, err := websocket.DefaultDialer.Dial(s.GatewayURL(), nil); err == nil || resp == nil || resp.StatusCode != 503 {
		t.Fatalf("dial while down: %v", err)
	}
	s.SetGatewayDown(false)
	release := s.HoldIdentify()
	dg, _ := session(t, s, false, false)
	opened := make(chan error, 1)
	go func() { opened <- dg.Open() }()
	ctx := testCtx(t)
	if _, err := s.WaitGateway(ctx, func(g GatewayStats) bool { return g.Open == 1 }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-opened:
		t.Fatalf("Open returned before READY: %v", err)
	default:
	}
	release()
	if err := recv(t, ctx, opened); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitIdentified(ctx); err != nil {
		t.Fatal(err)
	}
	// The guild learns of a new channel through GUILD_CREATE.
	got := make(chan *discordgo.GuildCreate, 4)
	dg.AddHandler(func(_ *discordgo.Session, g *discordgo.GuildCreate) { got <- g })
	s.AddChannel(discordgo.Channel{ID: "403", GuildID: GuildID, Name: "new"})
	if err := s.DispatchGuildCreate(GuildID); err != nil {
		t.Fatal(err)
	}
	for {
		g := recv(t, ctx, got)
		if len(g.Channels) == 4 {
			break
		}
	}
	if _, err := dg.State.Channel("403"); err != nil {
		t.Fatal(err)
	}
}
