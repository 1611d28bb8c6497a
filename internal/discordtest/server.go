package discordtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
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

// ---- HTTP plumbing ----

// answer is what a handler produced.
type answer struct {
	status int
	body   []byte
	code   int
	header http.Header
}

// apiError is a Discord error answer.
type apiError struct {
	Status  int             `json:"-"`
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Errors  json.RawMessage `json:"errors,omitempty"`
}

func errAnswer(status, code int, msg string) answer {
	b, _ := json.Marshal(apiError{Code: code, Message: msg})
	return answer{status: status, body: b, code: code}
}

func jsonAnswer(status int, v any) answer {
	if v == nil {
		return answer{status: status}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return errAnswer(500, 0, "500: Internal Server Error")
	}
	return answer{status: status, body: b}
}

// call is one REST request being served.
type call struct {
	r      *http.Request
	path   string
	body   []byte
	values map[string]string // path parameters
}

func (c *call) v(name string) string { return c.values[name] }

type handlerFunc func(c *call) answer

type route struct {
	method   string
	segs     []string
	noAuth   bool
	bucket   string
	h        handlerFunc
	template string
}

func (s *Server) handle(method, tmpl string, h handlerFunc) {
	s.addRoute(method, tmpl, false, h)
}

func (s *Server) addRoute(method, tmpl string, noAuth bool, h handlerFunc) {
	s.rts = append(s.rts, route{method: method, segs: strings.Split(strings.Trim(tmpl, "/"), "/"), noAuth: noAuth, h: h, template: tmpl})
}

// find returns the most specific route for method and path (literal segments beat
// parameters), or nil and whether the path exists for another method.
func (s *Server) find(method, p string) (*route, map[string]string, bool) {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	var best *route
	var bestVals map[string]string
	bestScore := -1
	pathExists := false
	for i := range s.rts {
		rt := &s.rts[i]
		if len(rt.segs) != len(segs) {
			continue
		}
		vals := map[string]string{}
		score := 0
		ok := true
		for j, sg := range rt.segs {
			if strings.HasPrefix(sg, "{") {
				vals[strings.Trim(sg, "{}")] = segs[j]
				continue
			}
			if sg != segs[j] {
				ok = false
				break
			}
			score++
		}
		if !ok {
			continue
		}
		pathExists = true
		if rt.method != method {
			continue
		}
		if score > bestScore {
			best, bestVals, bestScore = rt, vals, score
		}
	}
	return best, bestVals, pathExists
}

const apiPrefix = "/api/v9"

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/gw" || strings.HasPrefix(r.URL.Path, "/gw/") {
		s.serveGateway(w, r)
		return
	}
	p := r.URL.Path
	if !strings.HasPrefix(p, apiPrefix+"/") {
		writeAnswer(w, errAnswer(404, 0, "404: Not Found"), nil)
		return
	}
	p = strings.TrimPrefix(p, apiPrefix)
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	auth := r.Header.Get("Authorization")

	s.mu.Lock()
	rec := Request{
		Method: r.Method, Path: p, Query: r.URL.Query(), Header: r.Header.Clone(),
		HasAuth: auth != "", Authorized: auth == "Bot "+s.token, Body: body, At: s.nowLocked(),
	}
	s.mu.Unlock()

	rt, vals, exists := s.find(r.Method, p)
	c := &call{r: r, path: p, body: body, values: vals}

	var a answer
	var drop bool
	switch {
	case rt == nil && exists:
		a = errAnswer(405, 0, "405: Method Not Allowed")
	case rt == nil:
		a = errAnswer(404, 0, "404: Not Found")
	case !rt.noAuth && !rec.Authorized:
		a = errAnswer(401, 0, "401: Unauthorized")
	default:
		a, drop = s.serveRoute(rt, c, r)
	}

	s.mu.Lock()
	if a.header == nil {
		a.header = http.Header{}
	}
	if !drop {
		s.rateHeadersLocked(rt, r.Method, p, a)
	}
	if a.status == http.StatusTooManyRequests {
		s.n429++
	}
	if drop {
		rec.Status = 0
	} else {
		rec.Status = a.status
		rec.Code = a.code
	}
	s.reqs = append(s.reqs, rec)
	s.broadcastLocked()
	s.mu.Unlock()

	s.logf("%s %s -> %d %s", r.Method, p, rec.Status, truncate(string(a.body), 300))
	if drop {
		dropConn(w)
		return
	}
	writeAnswer(w, a, nil)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func writeAnswer(w http.ResponseWriter, a answer, _ http.Header) {
	h := w.Header()
	for k, v := range a.header {
		h[k] = v
	}
	if a.body != nil {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
		return
	}
	w.WriteHeader(a.status)
}

// dropConn closes the client's connection without any answer.
func dropConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// serveRoute applies holds, faults and rate limits, then the handler.
func (s *Server) serveRoute(rt *route, c *call, r *http.Request) (answer, bool) {
	if !s.waitHolds(r.Method, c.path, r.Context(), false) {
		return answer{}, true // the client gave up or the server closed
	}
	s.mu.Lock()
	f := s.takeFaultLocked(r.Method, c.path)
	var limited *answer
	if f == nil {
		limited = s.checkLimitLocked(r.Method, c.path)
	}
	s.mu.Unlock()
	if limited != nil {
		return *limited, false
	}
	if f == nil {
		a := rt.h(c)
		if !s.waitHolds(r.Method, c.path, r.Context(), true) {
			return answer{}, true // performed, but nobody hears of it
		}
		return a, false
	}
	if f.AfterAccept {
		_ = rt.h(c)
		if !s.waitHolds(r.Method, c.path, r.Context(), true) {
			return answer{}, true
		}
	}
	if f.Drop {
		return answer{}, true
	}
	return f.answer(), false
}

// parseBody decodes a JSON body, or the payload_json of a multipart body (files are
// returned too).
func parseBody(c *call, v any) ([]byte, []File, error) {
	return decodeBody(c.r.Header.Get("Content-Type"), c.body, v)
}

// decodeBody is parseBody for a body and its Content-Type.
func decodeBody(ct string, body []byte, v any) ([]byte, []File, error) {
	raw := body
	var files []File
	if strings.HasPrefix(ct, "multipart/") {
		req, _ := http.NewRequest("POST", "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		if err := req.ParseMultipartForm(32 << 20); err != nil {
			return nil, nil, err
		}
		raw = []byte(req.FormValue("payload_json"))
		if req.MultipartForm != nil {
			for _, fhs := range req.MultipartForm.File {
				for _, fh := range fhs {
					f, err := fh.Open()
					if err != nil {
						continue
					}
					data, _ := io.ReadAll(f)
					f.Close()
					files = append(files, File{Name: fh.Filename, ContentType: fh.Header.Get("Content-Type"), Data: data})
				}
			}
		}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return raw, files, err
	}
	return raw, files, nil
}

func badJSON() answer {
	return errAnswer(400, 50109, "The request body contains invalid JSON.")
}
