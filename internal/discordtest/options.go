package discordtest

import "time"

// Option configures a Server at New.
type Option func(*config)

type config struct {
	now         func() time.Time
	deadline    time.Duration
	nonceWindow time.Duration
	heartbeat   time.Duration
	tokenLife   time.Duration
	logf        func(format string, args ...any)
	limits      []rateRule
	ixURLs      []string
}

// WithClock sets the fake's clock (default time.Now). Advance adds to it.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithInteractionDeadline sets how long after dispatch an interaction callback is
// accepted (default 3 s), measured on the fake's clock.
func WithInteractionDeadline(d time.Duration) Option { return func(c *config) { c.deadline = d } }

// WithNonceWindow sets how long a message nonce is remembered (default 5 min).
func WithNonceWindow(d time.Duration) Option { return func(c *config) { c.nonceWindow = d } }

// WithRateLimit limits requests matching method and pattern to limit per window, per
// distinct path (so "/channels/*/messages" is a limit per channel). Excess requests
// get 429 with retry_after. Off by default.
func WithRateLimit(method, pattern string, limit int, per time.Duration) Option {
	return func(c *config) {
		c.limits = append(c.limits, rateRule{method: method, pattern: pattern, limit: limit, per: per})
	}
}

// WithHeartbeatInterval sets the interval sent in HELLO (default 41250 ms).
func WithHeartbeatInterval(d time.Duration) Option { return func(c *config) { c.heartbeat = d } }

// WithLog logs every request and gateway frame through logf (for example t.Logf).
func WithLog(logf func(format string, args ...any)) Option { return func(c *config) { c.logf = logf } }
