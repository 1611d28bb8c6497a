package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// routeMatch reports whether a request (method, p) matches a rule (method "" = any,
// pattern in path.Match syntax, relative to /api/v9; a trailing "/**" matches any rest).
func routeMatch(method, pattern, rMethod, p string) bool {
	if method != "" && !strings.EqualFold(method, rMethod) {
		return false
	}
	pattern = strings.TrimPrefix(pattern, apiPrefix)
	if rest, ok := strings.CutSuffix(pattern, "/**"); ok {
		if p == rest {
			return true
		}
		segs := strings.Count(rest, "/")
		parts := strings.SplitAfterN(p, "/", segs+2)
		if len(parts) < segs+2 {
			return false
		}
		prefix := strings.TrimSuffix(strings.Join(parts[:segs+1], ""), "/")
		ok, _ := path.Match(rest, prefix)
		return ok
	}
	ok, _ := path.Match(pattern, p)
	return ok
}

// ---- faults ----

// Fault is an injected answer.
type Fault struct {
	Status     int           // HTTP status (default 500; 429 when RetryAfter is set)
	Code       int           // Discord error code in the JSON body
	Message    string        // message in the JSON body (default from the status)
	Body       []byte        // raw JSON body instead of {"message","code"}
	RetryAfter time.Duration // with 429: retry_after, Retry-After, X-RateLimit-Reset-After
	Global     bool          // with 429: a global limit
	Drop       bool          // close the connection without an answer
	// AfterAccept performs the request (the message is created, ...) before answering
	// Status or dropping: the crash-after-accept case.
	AfterAccept bool
	Times       int // how many matching requests (default 1)
}

type faultRule struct {
	method, pattern string
	f               Fault
	left            int
}

func (f Fault) answer() answer {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
		if f.RetryAfter > 0 {
			status = http.StatusTooManyRequests
		}
	}
	h := http.Header{}
	if status == http.StatusTooManyRequests {
		ra := ceilSeconds(f.RetryAfter)
		if f.Body == nil {
			body, _ := json.Marshal(map[string]any{"message": "You are being rate limited.", "retry_after": ra, "global": f.Global, "code": 0})
			f.Body = body
		}
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(ra))))
		h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(ra, 'f', 3, 64))
		h.Set("X-RateLimit-Remaining", "0")
		if f.Global {
			h.Set("X-RateLimit-Global", "true")
			h.Set("X-RateLimit-Scope", "global")
		} else {
			h.Set("X-RateLimit-Scope", "user")
		}
	}
	if f.Body != nil {
		return answer{status: status, body: f.Body, code: f.Code, header: h}
	}
	msg := f.Message
	if msg == "" {
		msg = fmt.Sprintf("%d: %s", status, http.StatusText(status))
	}
	a := errAnswer(status, f.Code, msg)
	a.header = h
	return a
}

// Fail answers the next f.Times requests matching method and pattern with f.
// Faults on the same route apply in the order they were added.
func (s *Server) Fail(method, pattern string, f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultRule{method: method, pattern: pattern, f: f, left: f.Times})
}

// FailNext answers the next n matching requests with status and Discord error code.
func (s *Server) FailNext(method, pattern string, n, status, code int) {
	s.Fail(method, pattern, Fault{Status: status, Code: code, Times: n})
}

// RateLimitNext answers the next n matching requests 429 with retry_after.
func (s *Server) RateLimitNext(method, pattern string, n int, retryAfter time.Duration) {
	s.Fail(method, pattern, Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfter, Times: n})
}

// DropNext closes the connection of the next n matching requests without answering.
// (Go's transport may silently retry an idempotent request, e.g. a GET, once on a
// reused connection.)
func (s *Server) DropNext(method, pattern string, n int) {
	s.Fail(method, pattern, Fault{Drop: true, Times: n})
}

// AcceptThenFail performs the next matching request, then answers status (0: drops the
// connection instead).
func (s *Server) AcceptThenFail(method, pattern string, status int) {
	s.Fail(method, pattern, Fault{Status: status, Drop: status == 0, AfterAccept: true})
}

// ClearFaults removes every pending fault and releases every hold.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	holds := s.holds
	s.holds = nil
	s.mu.Unlock()
	for _, h := range holds {
		h.Release()
	}
}

func (s *Server) takeFaultLocked(method, p string) *Fault {
	for i, fr := range s.faults {
		if routeMatch(fr.method, fr.pattern, method, p) {
			f := fr.f
			fr.left--
			if fr.left <= 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
			return &f
		}
	}
	return nil
}

// ---- holds ----

// Hold is a held route: matching requests block until released (or the client gives
// up, in which case nothing is performed and the request is recorded with status 0).
// A hold made by HoldAnswer blocks after the request was performed instead.
type Hold struct {
	s               *Server
	method, pattern string
	afterAccept     bool
	release         chan struct{}
	arrived         chan struct{}
	n               int
}

// Hold blocks every request matching method and pattern until the hold is released.
func (s *Server) Hold(method, pattern string) *Hold { return s.addHold(method, pattern, false) }

func (s *Server) addHold(method, pattern string, afterAccept bool) *Hold {
	h := &Hold{s: s, method: method, pattern: pattern, afterAccept: afterAccept,
		release: make(chan struct{}), arrived: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds = append(s.holds, h)
	return h
}

// HoldAnswer performs every request matching method and pattern (the message is sent,
// the forum post made, ...) and then holds its answer until the hold is released, when
// the answer goes out as usual. A client that gives up (or a process killed) meanwhile
// gets no answer, the action stays done and the request is recorded with status 0: the
// "Discord did it but the bot never heard" case. Arrived, Held and Wait count requests
// that were performed and are held.
func (s *Server) HoldAnswer(method, pattern string) *Hold {
	return s.addHold(method, pattern, true)
}

// Arrived is closed when the first held request arrives.
func (h *Hold) Arrived() <-chan struct{} { return h.arrived }

// Held counts the requests that arrived at this hold.
func (h *Hold) Held() int {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.n
}

// Wait waits until n requests have arrived at the hold (n >= 1).
func (h *Hold) Wait(ctx context.Context, n int) error {
	return h.s.WaitFor(ctx, func() bool { return h.Held() >= n })
}

// Release lets held and future requests proceed normally (idempotent).
func (h *Hold) Release() {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	select {
	case <-h.release:
	default:
		close(h.release)
	}
	for i, x := range h.s.holds {
		if x == h {
			h.s.holds = append(h.s.holds[:i:i], h.s.holds[i+1:]...)
			break
		}
	}
	h.s.broadcastLocked()
}

// waitHolds blocks while a hold of the phase (before the request is performed, or
// after: afterAccept) matches; false when the client gave up or the server closed.
func (s *Server) waitHolds(method, p string, ctx context.Context, afterAccept bool) bool {
	for {
		s.mu.Lock()
		var h *Hold
		for _, x := range s.holds {
			if x.afterAccept == afterAccept && routeMatch(x.method, x.pattern, method, p) {
				h = x
				break
			}
		}
		if h == nil {
			s.mu.Unlock()
			return true
		}
		h.n++
		if h.n == 1 {
			close(h.arrived)
		}
		s.broadcastLocked()
		s.mu.Unlock()
		select {
		case <-h.release:
		case <-ctx.Done():
			return false
		case <-s.done:
			return false
		}
	}
}
