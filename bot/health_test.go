package bot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type healthBody struct {
	Status        string    `json:"status"`
	Role          string    `json:"role"`
	StandbyReason string    `json:"standby_reason"`
	Gateway       string    `json:"gateway"`
	Database      string    `json:"database"`
	Problems      []Problem `json:"problems"`
	Archive       any       `json:"archive"`
}

func getHealth(t *testing.T, h http.Handler) (int, healthBody) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	var b healthBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("healthz body %q: %v", rec.Body.String(), err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	return rec.Code, b
}

func TestHealthz(t *testing.T) {
	dbErr := errors.New("database is locked")
	tests := []struct {
		name      string
		connected bool
		dryRun    bool
		ping      error
		problems  []string
		code      int
		gateway   string
		database  string
	}{
		{"connected and database ok", true, false, nil, nil, 200, "connected", "ok"},
		{"gateway down", false, false, nil, nil, 503, "disconnected", "ok"},
		{"database down", true, false, dbErr, nil, 503, "connected", "error: database is locked"},
		{"dry-run needs no gateway", false, true, nil, nil, 200, "dry-run", "ok"},
		{"dry-run still needs the database", false, true, dbErr, nil, 503, "dry-run", "error: database is locked"},
		{"problems do not change the status", true, false, nil, []string{"feed:a", "post:1"}, 200, "connected", "ok"},
		{"problems with a failure", false, false, nil, []string{"feed:a"}, 503, "disconnected", "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHealth()
			h.SetGateway(tt.connected)
			h.SetDryRun(tt.dryRun)
			h.SetPinger(func(ctx context.Context) error {
				if _, ok := ctx.Deadline(); !ok {
					t.Error("ping without a deadline")
				}
				return tt.ping
			})
			for _, p := range tt.problems {
				h.SetProblem(p, "problem "+p)
			}
			code, b := getHealth(t, h.Handler())
			if code != tt.code {
				t.Errorf("status code %d, want %d", code, tt.code)
			}
			wantStatus := "ok"
			if tt.code != 200 {
				wantStatus = "unavailable"
			}
			if b.Status != wantStatus || b.Gateway != tt.gateway || b.Database != tt.database {
				t.Errorf("body = %+v, want status %s gateway %s database %s", b, wantStatus, tt.gateway, tt.database)
			}
			if len(b.Problems) != len(tt.problems) {
				t.Errorf("problems = %+v, want %v", b.Problems, tt.problems)
			}
			if b.Problems == nil {
				t.Error("problems is null, want a list")
			}
		})
	}
}

// Among several instances on PostgreSQL, a standby has no gateway and is
// healthy while its lock loop runs; the leader needs its gateway.
func TestHealthzRole(t *testing.T) {
	dbErr := errors.New("connection refused")
	for _, tt := range []struct {
		name      string
		role      *Role // nil: no role source (SQLite)
		connected bool
		ping      error
		code      int
		wantRole  string
		gateway   string
	}{
		{"sqlite is the leader", nil, true, nil, 200, "leader", "connected"},
		{"leader with its gateway", &Role{Leader: true, LockLoop: true}, true, nil, 200, "leader", "connected"},
		{"leader without its gateway", &Role{Leader: true, LockLoop: true}, false, nil, 503, "leader", "disconnected"},
		{"standby with its lock loop", &Role{LockLoop: true}, false, nil, 200, "standby", "standby"},
		{"standby whose lock loop stopped", &Role{}, false, nil, 503, "standby", "standby"},
		{"standby without its database", &Role{LockLoop: true}, false, dbErr, 503, "standby", "standby"},
		{"standby that cannot lead", &Role{LockLoop: true, Reason: "schema newer"}, false, nil, 200, "standby", "standby"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHealth()
			h.SetGateway(tt.connected)
			if tt.ping != nil {
				h.SetPinger(func(context.Context) error { return tt.ping })
			}
			if tt.role != nil {
				role := *tt.role
				h.SetRole(func() Role { return role })
			}
			code, b := getHealth(t, h.Handler())
			if code != tt.code || b.Role != tt.wantRole || b.Gateway != tt.gateway {
				t.Fatalf("got %d role %q gateway %q; want %d %q %q", code, b.Role, b.Gateway, tt.code, tt.wantRole, tt.gateway)
			}
			if tt.role != nil && b.StandbyReason != tt.role.Reason {
				t.Fatalf("standby_reason %q, want %q", b.StandbyReason, tt.role.Reason)
			}
		})
	}
}

func TestHealthProblems(t *testing.T) {
	h := NewHealth()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h.now = func() time.Time { return now }
	h.SetProblem("b", "first")
	now = now.Add(time.Minute)
	h.SetProblem("a", "second")
	h.SetProblem("b", "first, reworded") // keeps its since
	ps := h.Problems()
	if len(ps) != 2 || ps[0].Key != "b" || ps[0].Message != "first, reworded" || !ps[0].Since.Equal(now.Add(-time.Minute)) || ps[1].Key != "a" {
		t.Fatalf("problems = %+v", ps)
	}
	h.ClearProblem("b")
	h.ClearProblem("nope")
	if ps := h.Problems(); len(ps) != 1 || ps[0].Key != "a" {
		t.Fatalf("after clear: %+v", ps)
	}
}

func TestHealthSections(t *testing.T) {
	h := NewHealth()
	h.SetGateway(true)
	h.SetSection("archive", func() any { return map[string]int{"articles": 42} })
	h.SetSection("status", func() any { return "hijack" }) // reserved: ignored
	rec := httptest.NewRecorder()
	h.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	var m map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if string(m["archive"]) != `{"articles":42}` || string(m["status"]) != `"ok"` {
		t.Errorf("body = %s", rec.Body.String())
	}
	h.SetSection("archive", nil)
	rec = httptest.NewRecorder()
	h.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if strings.Contains(rec.Body.String(), "archive") {
		t.Errorf("removed section still there: %s", rec.Body.String())
	}
}

func TestMetricsEndpoint(t *testing.T) {
	h := NewHealth()
	h.SetGateway(true)
	interactionsTotal.WithLabelValues("metrics_test", "ok").Inc()
	rec := httptest.NewRecorder()
	h.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`newsbot_interactions_total{command="metrics_test",outcome="ok"}`,
		"newsbot_gateway_connected 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	rec = httptest.NewRecorder()
	h.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/healthz", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d", rec.Code)
	}
}

func TestServeShutsDownOnCancel(t *testing.T) {
	h := NewHealth()
	h.SetDryRun(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.ServeListener(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz = %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ServeListener after cancel: %v", err)
	}
	if err := h.Serve(context.Background(), "256.0.0.1:bad"); err == nil || !strings.Contains(err.Error(), "HTTP_ADDR") {
		t.Errorf("Serve on a bad address: %v", err)
	}
}
