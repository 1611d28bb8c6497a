package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// pingTimeout bounds the database check of one /healthz request.
const pingTimeout = 2 * time.Second

// Problem is one current problem shown on /healthz (a missing permission, a
// failing feed, a failed post). Problems never change the status code.
type Problem struct {
	Key     string    `json:"key"`
	Message string    `json:"message"`
	Since   time.Time `json:"since"`
}

// Health holds what /healthz reports. The zero value is not usable; use
// NewHealth. All methods are safe for concurrent use.
type Health struct {
	mu        sync.Mutex
	problems  map[string]Problem
	connected bool
	dryRun    bool
	ping      func(context.Context) error
	role      func() Role
	sections  map[string]func() any
	now       func() time.Time
	onGateway func(connected bool) // tests: called after each SetGateway
}

// NewHealth returns a Health with the gateway disconnected, no database
// pinger (the database counts as answering) and no problems.
func NewHealth() *Health {
	return &Health{
		problems: map[string]Problem{},
		sections: map[string]func() any{},
		now:      time.Now,
	}
}

// SetProblem records (or rewords) the problem under key; its Since stays the
// time it was first set.
func (h *Health) SetProblem(key, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.problems[key]
	if !ok {
		p = Problem{Key: key, Since: h.now().UTC()}
	}
	p.Message = msg
	h.problems[key] = p
}

// ClearProblem forgets the problem under key (no-op when there is none).
func (h *Health) ClearProblem(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.problems, key)
}

// Problems returns the current problems, oldest first (then by key).
func (h *Health) Problems() []Problem {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Problem, 0, len(h.problems))
	for _, p := range h.problems {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Since.Equal(out[j].Since) {
			return out[i].Since.Before(out[j].Since)
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// SetGateway records whether the gateway websocket is connected.
func (h *Health) SetGateway(connected bool) {
	h.mu.Lock()
	h.connected = connected
	hook := h.onGateway
	h.mu.Unlock()
	if connected {
		gatewayConnected.Set(1)
	} else {
		gatewayConnected.Set(0)
	}
	if hook != nil {
		hook(connected)
	}
}

// Gateway reports whether the gateway is connected.
func (h *Health) Gateway() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.connected
}

// SetDryRun marks a --dry-run process: it has no gateway, and is healthy
// without one.
func (h *Health) SetDryRun(dry bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dryRun = dry
}

// Role is where an instance stands among several on one PostgreSQL
// database.
type Role struct {
	Leader   bool   // it holds the leader lock (SQLite: always)
	LockLoop bool   // its lock loop runs (a standby is healthy then)
	Reason   string // why a standby cannot lead, when something else than another leader keeps it
}

// SetRole sets the source of the instance's role (nil: always the leader,
// as on SQLite). A standby is healthy without a gateway while its lock loop
// runs.
func (h *Health) SetRole(fn func() Role) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.role = fn
}

// SetPinger sets the database check (e.g. (*sql.DB).PingContext).
func (h *Health) SetPinger(ping func(ctx context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ping = ping
}

// SetSection adds (or with a nil fn removes) an extra top-level JSON section
// of /healthz, such as the archive's state or the feeds. fn is called on
// every request and must be safe for concurrent use. The names "status",
// "role", "standby_reason", "gateway", "database" and "problems" are
// reserved and ignored.
func (h *Health) SetSection(name string, fn func() any) {
	switch name {
	case "status", "role", "standby_reason", "gateway", "database", "problems":
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if fn == nil {
		delete(h.sections, name)
		return
	}
	h.sections[name] = fn
}

// Report is the /healthz body, less the extra sections.
type Report struct {
	OK       bool
	Status   string    // "ok" or "unavailable"
	Role     string    // "leader" or "standby"
	Standby  string    // why a standby cannot lead ("" when another instance simply leads)
	Gateway  string    // "connected", "disconnected", "dry-run" or "standby" (none: it stands by)
	Database string    // "ok" or "error: ..."
	Problems []Problem // never nil
	Sections map[string]any
}

// Check computes the report: OK when the database answers and, for the
// leader, the gateway is connected (or in dry-run mode), for a standby, its
// lock loop runs.
func (h *Health) Check(ctx context.Context) Report {
	h.mu.Lock()
	connected, dry, ping, roleOf := h.connected, h.dryRun, h.ping, h.role
	sections := make(map[string]func() any, len(h.sections))
	for k, v := range h.sections {
		sections[k] = v
	}
	h.mu.Unlock()

	r := Report{Role: "leader", Gateway: "disconnected", Database: "ok", Problems: h.Problems()}
	role := Role{Leader: true}
	if roleOf != nil {
		role = roleOf()
	}
	gwOK := connected || dry
	switch {
	case dry:
		r.Gateway = "dry-run"
	case !role.Leader:
		r.Role, r.Gateway, r.Standby = "standby", "standby", role.Reason
		gwOK = role.LockLoop
	case connected:
		r.Gateway = "connected"
	}
	dbOK := true
	if ping != nil {
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err := ping(pctx)
		cancel()
		if err != nil {
			dbOK = false
			r.Database = "error: " + err.Error()
		}
	}
	r.OK = gwOK && dbOK
	r.Status = "unavailable"
	if r.OK {
		r.Status = "ok"
	}
	if len(sections) > 0 {
		r.Sections = make(map[string]any, len(sections))
		for k, fn := range sections {
			r.Sections[k] = fn()
		}
	}
	return r
}

// MarshalJSON writes the /healthz body: status, role, gateway, database,
// problems, then the extra sections.
func (r Report) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, 4+len(r.Sections))
	for k, v := range r.Sections {
		m[k] = v
	}
	m["status"] = r.Status
	m["role"] = r.Role
	if r.Standby != "" {
		m["standby_reason"] = r.Standby
	}
	m["gateway"] = r.Gateway
	m["database"] = r.Database
	m["problems"] = r.Problems
	return json.Marshal(m)
}

// Handler serves GET /healthz (200 or 503 with the JSON report) and
// GET /metrics (Prometheus text format, default registry).
func (h *Health) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		rep := h.Check(r.Context())
		body, err := json.Marshal(rep)
		if err != nil {
			http.Error(w, `{"status":"unavailable"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if rep.OK {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		w.Write(append(body, '\n'))
	})
	mux.Handle("GET /metrics", promhttp.Handler())
	return mux
}

// Serve runs the health and metrics endpoints on addr until ctx is done, then
// shuts the server down (5 s for in-flight requests). It returns nil after a
// shutdown caused by ctx, or the listen error.
func (h *Health) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("bot: HTTP_ADDR %s: %w", addr, err)
	}
	return h.ServeListener(ctx, ln)
}

// ServeListener is Serve on an existing listener (tests use port 0).
func (h *Health) ServeListener(ctx context.Context, ln net.Listener) error {
	log := slog.Default()
	srv := &http.Server{
		Handler:           h.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("health endpoints listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("bot: health server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if e := <-errc; e != nil && !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("bot: health server shutdown: %w", err)
	}
	return nil
}
