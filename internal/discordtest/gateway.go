package discordtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// GatewayStats describes the gateway's state.
type GatewayStats struct {
	Connected   bool // a websocket is open and got READY or RESUMED
	Open        int  // websockets currently open
	Connections int  // websockets accepted
	Identifies  int  // IDENTIFY frames with the right token
	Resumes     int  // RESUMEs answered with RESUMED
	Heartbeats  int  // op 1 received
	// CurrentHeartbeats counts the heartbeats of the current (identified or resumed)
	// connection.
	CurrentHeartbeats int
	SessionID         string // current session ("" when none)
	Seq               int64  // last dispatch sequence number of the session
	LastClose         int    // last close code sent by the fake (4004, ...) or 0
	ClientClose       int    // last close code received from the client, or 0
	Intents           int    // intents of the last IDENTIFY
	BadTokens         int    // IDENTIFY/RESUME refused for a wrong token
}

type gatewayState struct {
	down     bool          // refuse websockets
	noACK    bool          // do not answer heartbeats
	idHold   chan struct{} // non-nil: READY waits until closed
	conns    []*wsConn
	cur      *wsConn // the connection that got READY/RESUMED
	stats    GatewayStats
	session  *gwSession
	sessions int
}

type gwSession struct {
	id  string
	seq int64
	buf [][]byte // dispatch frames, index i has seq i+1
}

type frame struct {
	data      []byte
	closeCode int
	closeText string
}

type wsConn struct {
	sess   *gwSession // the session this connection identified or resumed
	beats  int        // heartbeats received on this connection
	c      *websocket.Conn
	out    chan frame
	dead   chan struct{}
	once   sync.Once
	ready  bool
	op9    bool
	killed bool
}

func (c *wsConn) kill() {
	c.once.Do(func() {
		close(c.dead)
		_ = c.c.Close() // abrupt: no close frame
	})
}

// send queues a frame; a connection whose queue overflows is dropped.
func (c *wsConn) send(f frame) {
	select {
	case c.out <- f:
	case <-c.dead:
	default:
		c.kill()
	}
}

func (c *wsConn) writer() {
	for {
		select {
		case <-c.dead:
			return
		case f := <-c.out:
			if f.closeCode != 0 {
				_ = c.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(f.closeCode, f.closeText), time.Now().Add(time.Second))
				c.kill()
				return
			}
			if err := c.c.WriteMessage(websocket.TextMessage, f.data); err != nil {
				c.kill()
				return
			}
		}
	}
}

func (g *gatewayState) all() []*wsConn { return append([]*wsConn(nil), g.conns...) }

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down := s.gw.down
	s.mu.Unlock()
	if down {
		http.Error(w, "gateway down", http.StatusServiceUnavailable)
		return
	}
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &wsConn{c: conn, out: make(chan frame, 8192), dead: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close()
		return
	}
	s.gw.conns = append(s.gw.conns, c)
	s.gw.stats.Connections++
	s.logf("gateway conn %p opened", c)
	hb := s.cfg.heartbeat.Milliseconds()
	c.send(frame{data: mustJSON(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": hb}})})
	s.broadcastLocked()
	s.mu.Unlock()
	go c.writer()
	s.readLoop(c)
}

type gwPayload struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
}

func (s *Server) readLoop(c *wsConn) {
	defer s.connGone(c)
	for {
		_, msg, err := c.c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			s.logf("gateway conn %p read error: %v", c, err)
			if errors.As(err, &ce) {
				s.mu.Lock()
				s.gw.stats.ClientClose = ce.Code
				if (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway) &&
					c.sess != nil && c.sess == s.gw.session {
					s.gw.session = nil // Discord invalidates the session on 1000/1001
				}
				s.mu.Unlock()
			}
			return
		}
		var p gwPayload
		if err := json.Unmarshal(msg, &p); err != nil {
			s.closeConn(c, 4002, "Error while decoding payload.")
			return
		}
		s.logf("gateway <- op %d %s", p.Op, truncate(string(p.D), 200))
		switch p.Op {
		case 1:
			s.mu.Lock()
			s.gw.stats.Heartbeats++
			c.beats++
			if !s.gw.noACK {
				c.send(frame{data: []byte(`{"op":11,"d":null}`)})
			}
			s.broadcastLocked()
			s.mu.Unlock()
		case 2:
			if !s.identify(c, p.D) {
				return
			}
		case 6:
			if !s.resume(c, p.D) {
				return
			}
		case 3, 4, 8, 31:
			// presence, voice state, request guild members: accepted and ignored
		default:
			s.closeConn(c, 4001, "Unknown opcode.")
			return
		}
	}
}

func (s *Server) connGone(c *wsConn) {
	c.kill()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.gw.conns {
		if x == c {
			s.gw.conns = append(s.gw.conns[:i:i], s.gw.conns[i+1:]...)
			break
		}
	}
	if s.gw.cur == c {
		s.gw.cur = nil
	}
	s.broadcastLocked()
}

func (s *Server) closeConn(c *wsConn, code int, text string) {
	s.mu.Lock()
	s.gw.stats.LastClose = code
	s.broadcastLocked()
	s.mu.Unlock()
	// Written here, not queued: the read loop drops the connection right after.
	_ = c.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	c.kill()
}

func (s *Server) tokenOKLocked(tok string) bool {
	return strings.TrimPrefix(tok, "Bot ") == s.token
}

func (s *Server) identify(c *wsConn, d json.RawMessage) bool {
	var id struct {
		Token   string `json:"token"`
		Intents int    `json:"intents"`
	}
	_ = json.Unmarshal(d, &id)
	s.mu.Lock()
	if hold := s.gw.idHold; hold != nil {
		s.mu.Unlock()
		select {
		case <-hold:
		case <-c.dead:
			return false
		case <-s.done:
			return false
		}
		s.mu.Lock()
	}
	if !s.tokenOKLocked(id.Token) {
		s.gw.stats.BadTokens++
		s.mu.Unlock()
		s.closeConn(c, 4004, "Authentication failed.")
		return false
	}
	if c.ready && !c.op9 {
		s.mu.Unlock()
		s.closeConn(c, 4005, "Already authenticated.")
		return false
	}
	c.op9 = false
	s.gw.sessions++
	s.gw.session = &gwSession{id: fmt.Sprintf("fake-%d-session-%d", s.id, s.gw.sessions)}
	c.sess = s.gw.session
	s.gw.stats.Identifies++
	s.gw.stats.Intents = id.Intents
	s.takeOverLocked(c)
	guilds := []map[string]any{}
	var creates []map[string]any
	for _, gid := range s.w.guildOrder {
		g := s.w.guilds[gid]
		if _, ok := g.members[BotUserID]; !ok {
			continue
		}
		guilds = append(guilds, map[string]any{"id": gid, "unavailable": true})
		creates = append(creates, s.guildObjectLocked(g, true))
	}
	ready := map[string]any{
		"v": 9, "user": s.userObjectLocked(BotUserID), "guilds": guilds,
		"session_id": s.gw.session.id, "resume_gateway_url": s.GatewayURL(),
		"application":      map[string]any{"id": ApplicationID, "flags": 0},
		"private_channels": []any{}, "relationships": []any{}, "shard": []int{0, 1},
	}
	s.dispatchLocked("READY", ready)
	for _, g := range creates {
		s.dispatchLocked("GUILD_CREATE", g)
	}
	s.broadcastLocked()
	s.mu.Unlock()
	return true
}

// takeOverLocked makes c the current connection: dispatches go to it alone. An older
// connection of the same session is dropped (as Discord does on RESUME); one of another
// session stays open but receives nothing more.
func (s *Server) takeOverLocked(c *wsConn) {
	for _, old := range s.gw.conns {
		if old != c && old.sess == c.sess {
			s.logf("gateway conn %p replaces %p", c, old)
			old.kill()
		}
	}
	s.gw.cur = c
	c.ready = true
}

func (s *Server) resume(c *wsConn, d json.RawMessage) bool {
	var rs struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	_ = json.Unmarshal(d, &rs)
	s.mu.Lock()
	if !s.tokenOKLocked(rs.Token) {
		s.gw.stats.BadTokens++
		s.mu.Unlock()
		s.closeConn(c, 4004, "Authentication failed.")
		return false
	}
	if s.foreignSession(rs.SessionID) {
		// A leftover discordgo session of an earlier test's fake, come here through the
		// global endpoints: never let it take the current test's place.
		s.mu.Unlock()
		s.logf("gateway conn %p: RESUME of another fake's session %s refused", c, rs.SessionID)
		s.closeConn(c, 4009, "Session timed out.")
		return false
	}
	sess := s.gw.session
	if sess == nil || sess.id != rs.SessionID || rs.Seq > sess.seq {
		s.logf("gateway conn %p: resume refused (session %v)", c, sess != nil)
		c.op9 = true
		c.send(frame{data: []byte(`{"op":9,"d":false}`)})
		s.broadcastLocked()
		s.mu.Unlock()
		return true
	}
	c.sess = sess
	s.takeOverLocked(c)
	for i := rs.Seq; i < int64(len(sess.buf)); i++ {
		c.send(frame{data: sess.buf[i]})
	}
	s.gw.stats.Resumes++
	s.dispatchLocked("RESUMED", map[string]any{})
	s.broadcastLocked()
	s.mu.Unlock()
	return true
}

// dispatchLocked numbers a dispatch, keeps it for resumes and sends it when connected.
func (s *Server) dispatchLocked(event string, data any) int64 {
	sess := s.gw.session
	sess.seq++
	b := mustJSON(map[string]any{"op": 0, "s": sess.seq, "t": event, "d": data})
	sess.buf = append(sess.buf, b)
	if c := s.gw.cur; c != nil && c.ready {
		c.send(frame{data: b})
	}
	s.logf("gateway -> %s s=%d", event, sess.seq)
	return sess.seq
}

func (s *Server) connectedLocked() bool {
	return s.gw.cur != nil && s.gw.cur.ready && s.gw.session != nil && s.gw.cur.sess == s.gw.session
}

// Gateway returns the gateway's state.
func (s *Server) Gateway() GatewayStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.gw.stats
	st.Connected = s.connectedLocked()
	if st.Connected {
		st.CurrentHeartbeats = s.gw.cur.beats
	}
	st.Open = len(s.gw.conns)
	if s.gw.session != nil {
		st.SessionID = s.gw.session.id
		st.Seq = s.gw.session.seq
	}
	return st
}

// Connected reports whether a websocket is open and has been READY/RESUMED.
func (s *Server) Connected() bool { return s.Gateway().Connected }

// WaitIdentified waits until a connection has been identified (READY sent) and is open.
func (s *Server) WaitIdentified(ctx context.Context) error {
	_, err := s.WaitGateway(ctx, func(g GatewayStats) bool { return g.Connected && g.Identifies > 0 })
	return err
}

// WaitResumed waits until at least one RESUME has been answered and the connection is open.
func (s *Server) WaitResumed(ctx context.Context) error {
	_, err := s.WaitGateway(ctx, func(g GatewayStats) bool { return g.Connected && g.Resumes > 0 })
	return err
}

// WaitGateway waits until cond holds for the gateway's state.
func (s *Server) WaitGateway(ctx context.Context, cond func(GatewayStats) bool) (GatewayStats, error) {
	var st GatewayStats
	err := s.WaitFor(ctx, func() bool {
		st = s.Gateway()
		return cond(st)
	})
	return st, err
}

// WaitHeartbeat waits until the current connection is ready and has sent a heartbeat.
// Call it before DropGateway or Reconnect in tests: discordgo v0.29 starts a heartbeat
// goroutine on every Open whose first write, if the socket is closed under it, starts a
// second reconnect in parallel with the first; the two then close each other's sockets
// (with 1000, ending the session) for a while.
func (s *Server) WaitHeartbeat(ctx context.Context) error {
	_, err := s.WaitGateway(ctx, func(g GatewayStats) bool { return g.Connected && g.CurrentHeartbeats > 0 })
	return err
}

// DropGateway closes every open websocket abruptly (no close frame). The session stays
// resumable.
func (s *Server) DropGateway() {
	s.mu.Lock()
	conns := s.gw.all()
	s.gw.cur = nil
	s.broadcastLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.kill()
	}
}

// Reconnect sends op 7 RECONNECT on the current websocket.
func (s *Server) Reconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.gw.cur; c != nil {
		c.send(frame{data: []byte(`{"op":7,"d":null}`)})
	}
}

// InvalidSession sends op 9 with d = resumable on the current websocket; with false the
// session is forgotten (a RESUME then gets op 9 again).
func (s *Server) InvalidSession(resumable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.gw.cur; c != nil {
		c.op9 = true
		c.send(frame{data: mustJSON(map[string]any{"op": 9, "d": resumable})})
	}
	if !resumable {
		s.gw.session = nil
	}
}

// ErrNoSession is returned by Dispatch and Interact when the bot never identified (or
// its session was invalidated), and by Interact when no identified websocket is open.
var ErrNoSession = errors.New("discordtest: no gateway session")

// Dispatch sends a dispatch event (op 0) with the next sequence number. With no open
// connection it is kept and replayed on RESUME.
func (s *Server) Dispatch(event string, data any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gw.session == nil {
		return ErrNoSession
	}
	s.dispatchLocked(event, data)
	s.broadcastLocked()
	return nil
}

// HoldIdentify makes the gateway accept IDENTIFY frames without answering READY until
// release is called (to test a READY timeout around discordgo's Open).
func (s *Server) HoldIdentify() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.gw.idHold = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.gw.idHold == ch {
				s.gw.idHold = nil
			}
			s.mu.Unlock()
			close(ch)
		})
	}
}

// SetGatewayDown drops every websocket and refuses new ones (HTTP 503 on the upgrade)
// while down is true, so a bot stays disconnected; the session stays resumable.
func (s *Server) SetGatewayDown(down bool) {
	s.mu.Lock()
	s.gw.down = down
	s.mu.Unlock()
	if down {
		s.DropGateway()
	}
}

// StopHeartbeatACKs stops (or resumes) answering heartbeats: a zombie connection that
// discordgo drops after five missed ACKs.
func (s *Server) StopHeartbeatACKs(stop bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gw.noACK = stop
}

// DispatchGuildCreate sends a GUILD_CREATE for a guild as it is now (after AddGuild,
// AddChannel, ... while the bot is connected).
func (s *Server) DispatchGuildCreate(guildID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.w.guilds[guildID]
	if g == nil {
		return fmt.Errorf("discordtest: unknown guild %s", guildID)
	}
	if s.gw.session == nil {
		return ErrNoSession
	}
	s.dispatchLocked("GUILD_CREATE", s.guildObjectLocked(g, true))
	s.broadcastLocked()
	return nil
}

// serverSeq numbers the fakes of a test binary, so that session ids name their server.
var serverSeq atomic.Int64

// foreignSession reports whether id was issued by another fake of this process.
func (s *Server) foreignSession(id string) bool {
	rest, ok := strings.CutPrefix(id, "fake-")
	if !ok {
		return false
	}
	n, _, ok := strings.Cut(rest, "-")
	return ok && n != strconv.FormatInt(s.id, 10)
}
