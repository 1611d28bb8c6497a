package discordtest

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Request is a recorded REST request and the fake's answer.
type Request struct {
	Method     string
	Path       string // relative to /api/v9, e.g. "/channels/400/messages"
	Query      url.Values
	Header     http.Header
	HasAuth    bool // an Authorization header was present
	Authorized bool // it was "Bot <token>"
	Body       []byte
	Status     int // answered status, 0 for a dropped connection or a client that gave up
	Code       int // Discord error code of the answer, 0 if none
	At         time.Time
}

// Requests returns every recorded request, in the order they were answered.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.reqs))
	copy(out, s.reqs)
	return out
}

// WaitRequest waits for a recorded request (past or future) for which match returns true.
func (s *Server) WaitRequest(ctx context.Context, match func(Request) bool) (Request, error) {
	var found Request
	err := s.WaitFor(ctx, func() bool {
		for _, r := range s.Requests() {
			if match(r) {
				found = r
				return true
			}
		}
		return false
	})
	return found, err
}

// Match returns a matcher for WaitRequest on method ("" any) and path pattern
// ([path.Match] syntax relative to /api/v9).
func Match(method, pattern string) func(Request) bool {
	return func(r Request) bool { return routeMatch(method, pattern, r.Method, r.Path) }
}
