package discordtest

import (
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type rateRule struct {
	method, pattern string
	limit           int
	per             time.Duration
	// keySegs > 0 counts requests per first keySegs path segments (2: per channel for
	// "/channels/{id}/..."), else per whole path.
	keySegs int
	windows map[string]*window
}

// key is the window a request path counts against.
func (r *rateRule) key(p string) string {
	if r.keySegs <= 0 {
		return p
	}
	segs := strings.SplitN(strings.TrimPrefix(p, "/"), "/", r.keySegs+1)
	return strings.Join(segs[:min(r.keySegs, len(segs))], "/")
}

type window struct {
	start time.Time
	count int
}

// SetRateLimit sets (limit > 0) or removes (limit 0) a per-route limit; see WithRateLimit.
func (s *Server) SetRateLimit(method, pattern string, limit int, per time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setLimitLocked(rateRule{method: method, pattern: pattern, limit: limit, per: per})
}

// setLimitLocked replaces the rule on the same method and pattern (limit 0: removes it).
func (s *Server) setLimitLocked(rule rateRule) {
	for i, r := range s.limits {
		if r.method == rule.method && r.pattern == rule.pattern {
			s.limits = append(s.limits[:i:i], s.limits[i+1:]...)
			break
		}
	}
	if rule.limit > 0 {
		s.limits = append(s.limits, &rule)
	}
}

// RateLimited counts 429 answers (limits and injected faults).
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n429
}

func (s *Server) limitFor(method, p string) *rateRule {
	for _, r := range s.limits {
		if routeMatch(r.method, r.pattern, method, p) {
			return r
		}
	}
	return nil
}

// windowLocked returns the rule's current window for path p, starting a new one when due.
func (s *Server) windowLocked(r *rateRule, p string) *window {
	if r.windows == nil {
		r.windows = map[string]*window{}
	}
	now := s.nowLocked()
	k := r.key(p)
	w := r.windows[k]
	if w == nil || !now.Before(w.start.Add(r.per)) {
		w = &window{start: now}
		r.windows[k] = w
	}
	return w
}

// checkLimitLocked counts the request against its limit; a 429 answer when exceeded.
func (s *Server) checkLimitLocked(method, p string) *answer {
	r := s.limitFor(method, p)
	if r == nil {
		return nil
	}
	w := s.windowLocked(r, p)
	if w.count >= r.limit {
		left := w.start.Add(r.per).Sub(s.nowLocked())
		a := Fault{Status: http.StatusTooManyRequests, RetryAfter: left}.answer()
		return &a
	}
	w.count++
	return nil
}

// rateHeadersLocked adds the X-RateLimit-* headers every Discord answer carries.
func (s *Server) rateHeadersLocked(rt *route, method, p string, a answer) {
	h := a.header
	if h.Get("X-RateLimit-Reset-After") != "" {
		return // a 429 carries its own
	}
	key := method + " " + p
	if rt != nil {
		key = method + " " + rt.template
	}
	limit, remaining, after := 50, 49, time.Second
	if r := s.limitFor(method, p); r != nil {
		w := s.windowLocked(r, p)
		limit, remaining, after = r.limit, max(r.limit-w.count, 0), w.start.Add(r.per).Sub(s.nowLocked())
		key = method + " " + r.pattern
	}
	sum := fnv.New64a()
	sum.Write([]byte(key))
	reset := s.nowLocked().Add(after)
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	if after > 0 && limit != 50 {
		// discordgo truncates Reset-After to whole milliseconds and counts from when it
		// read the answer: round up and add a millisecond so that a client obeying the
		// headers never arrives before the window ends.
		after = time.Duration(ceilSeconds(after)*float64(time.Second)) + time.Millisecond
	}
	h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(after.Seconds(), 'f', 3, 64))
	h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(reset.UnixMilli())/1000, 'f', 3, 64))
	h.Set("X-RateLimit-Bucket", fmt.Sprintf("%016x", sum.Sum64()))
}

// ceilSeconds is d in seconds, rounded up to the millisecond.
func ceilSeconds(d time.Duration) float64 {
	return math.Ceil(float64(d)/float64(time.Millisecond)) / 1000
}
