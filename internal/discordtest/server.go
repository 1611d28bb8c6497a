package discordtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Server is the fake Discord. All methods are safe for concurrent use.
type Server struct {
	cfg   config
	id    int64
	quiet atomic.Bool // set by Close: no logging after the test
	srv   *httptest.Server
	rts   []route
	done  chan struct{}
	up    websocket.Upgrader

	mu      sync.Mutex
	closed  bool
	changed chan struct{}
	offset  time.Duration
	token   string
	lastID  uint64

	w        world
	gw       gatewayState
	ints     map[string]*exchange // by interaction id
	intOrder []string
	tokens   map[string]string // interaction token -> id
	nonces   map[string]nonceEntry
	reqs     []Request
	faults   []*faultRule
	holds    []*Hold
	limits   []*rateRule
	n429     int
	cmds     map[string][]*command // by guild id, "" global
	cmdWr    map[string]int

	crossposts []crosspost
	ix         httpInteractions
	maxThreads int // active threads per guild
}

// New starts a fake on 127.0.0.1 with the default world; t.Cleanup closes it.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		cfg: config{
			now:         time.Now,
			deadline:    3 * time.Second,
			nonceWindow: 5 * time.Minute,
			heartbeat:   41250 * time.Millisecond,
			tokenLife:   15 * time.Minute,
		},
		id:         serverSeq.Add(1),
		done:       make(chan struct{}),
		changed:    make(chan struct{}),
		token:      Token,
		ints:       map[string]*exchange{},
		tokens:     map[string]string{},
		nonces:     map[string]nonceEntry{},
		cmds:       map[string][]*command{},
		cmdWr:      map[string]int{},
		maxThreads: 1000,
	}
	for _, o := range opts {
		if o != nil {
			o(&s.cfg)
		}
	}
	for i := range s.cfg.limits {
		r := s.cfg.limits[i]
		s.limits = append(s.limits, &r)
	}
	s.ix.init(s.cfg.ixURLs)
	s.up = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	s.w.init()
	s.defaultWorld()
	s.routes()
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("discordtest: listen: %v", err)
	}
	s.srv.Listener = l
	s.srv.Start()
	t.Cleanup(s.Close)
	return s
}

// APIURL is the REST base, "http://127.0.0.1:PORT/api/v9" (no trailing slash).
func (s *Server) APIURL() string { return s.srv.URL + "/api/v9" }

// GatewayURL is the websocket URL the gateway lookup answers, "ws://127.0.0.1:PORT/gw/".
func (s *Server) GatewayURL() string { return "ws://" + s.srv.Listener.Addr().String() + "/gw/" }

// HTTPClient returns a client that sends every request, whatever its host and scheme
// (https://discord.com/... included), to the fake. With it as Session.Client no
// discordgo global needs changing: the gateway URL it discovers is the fake's.
func (s *Server) HTTPClient() *http.Client {
	addr := s.srv.Listener.Addr().String()
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	return &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{DialContext: dial, DialTLSContext: dial, ForceAttemptHTTP2: false},
	}
}

// Close stops the server and drops every connection (also done by t.Cleanup).
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.quiet.Store(true)
	close(s.done)
	conns := s.gw.all()
	s.broadcastLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.kill()
	}
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.ix.stop()
}

// ---- clock and events ----

// Now is the fake's current time.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time { return s.cfg.now().Add(s.offset) }

// Advance moves the fake's clock forward by d and wakes waiters.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
	s.broadcastLocked()
}

func (s *Server) broadcastLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Changed returns a channel closed at the next recorded event (request, message,
// callback, gateway change, clock change).
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// WaitFor waits until cond returns true; cond is called again after every event and
// must use the Server's methods only.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		ch := s.Changed()
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("discordtest: wait: %w", ctx.Err())
		case <-ch:
		}
	}
}

// nextID returns a snowflake made from the fake's clock; ids only grow.
func (s *Server) nextIDLocked() string {
	const discordEpoch = 1420070400000
	ms := s.nowLocked().UnixMilli() - discordEpoch
	if ms < 0 {
		ms = 0
	}
	id := uint64(ms) << 22
	if id <= s.lastID {
		id = s.lastID + 1
	}
	s.lastID = id
	return fmt.Sprint(id)
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.logf != nil && !s.quiet.Load() {
		s.cfg.logf("discordtest: "+format, args...)
	}
}
