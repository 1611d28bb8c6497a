package archive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/newsbot/newsbot/articles"
)

// Retry policy of one request.
const (
	// maxAttempts bounds the tries of one request (the first one included).
	maxAttempts = 4
	// defaultBusyWait is the pause after a 429 or 503 without Retry-After.
	defaultBusyWait = 30 * time.Second
	// maxRetryAfter is the longest Retry-After obeyed within a run; a site
	// that asks for more is left for a later run.
	maxRetryAfter = 10 * time.Minute
	// serverErrorWait is the first pause after a 5xx or a network error; it
	// doubles with each try.
	serverErrorWait = 2 * time.Second
)

// gate serialises the requests to one site and paces them: one at a time,
// at least interval apart, later when the site asked for a pause.
type gate struct {
	sem  chan struct{} // holds one token: the right to send a request
	next time.Time     // earliest start of the next request; guarded by sem
}

type gates struct {
	mu sync.Mutex
	m  map[string]*gate
}

func (g *gates) get(site string) *gate {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = map[string]*gate{}
	}
	s := g.m[site]
	if s == nil {
		s = &gate{sem: make(chan struct{}, 1)}
		g.m[site] = s
	}
	return s
}

// fetch reads rawURL through the site's gate, retrying a bounded number of
// times after a 429/503 (waiting as long as Retry-After says), a 5xx or a
// network error. Other failures (404, a body over the cap) are returned at
// once. The error of the last try is returned, an *articles.HTTPError for a
// status.
func (a *Archive) fetch(ctx context.Context, rawURL string) (*articles.FetchResult, error) {
	return a.fetchWith(ctx, a.fetcher, rawURL)
}

// fetchWith is fetch with another fetcher (another redirect policy), under
// the same gate.
func (a *Archive) fetchWith(ctx context.Context, f *articles.Fetcher, rawURL string) (*articles.FetchResult, error) {
	g := a.gates.get(articles.SiteOf(rawURL))
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		var res *articles.FetchResult
		var pause time.Duration
		res, pause, err = a.try(ctx, f, g, rawURL, attempt)
		if err == nil {
			return res, nil
		}
		if pause < 0 || attempt == maxAttempts || ctx.Err() != nil {
			break
		}
		// The pause is kept in the gate (next), so the site's other reader
		// (backfill or full text) waits too; nothing more to do here.
	}
	return nil, err
}

// try sends one request when the gate allows it. pause is negative when the
// failure is not worth retrying.
func (a *Archive) try(ctx context.Context, f *articles.Fetcher, g *gate, rawURL string, attempt int) (*articles.FetchResult, time.Duration, error) {
	select {
	case g.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, -1, ctx.Err()
	}
	defer func() { <-g.sem }()
	if d := g.next.Sub(a.now()); d > 0 {
		if d > maxRetryAfter {
			// The site asked for a longer pause than a run waits: leave it
			// alone until a later run rather than hold this one.
			return nil, -1, fmt.Errorf("archive: %s asked to be left alone until %s", articles.SiteOf(rawURL), g.next.UTC().Format(time.RFC3339))
		}
		if d > a.interval() {
			metricWaits.Inc()
		}
		if err := a.sleep(ctx, d); err != nil {
			return nil, -1, err
		}
	}
	res, err := f.Fetch(ctx, rawURL, "", "")
	metricRequests.Inc()
	pause := a.interval()
	if err != nil {
		p, retry := retryPause(err, attempt)
		if !retry || ctx.Err() != nil {
			var he *articles.HTTPError
			if errors.As(err, &he) && he.RetryAfter > pause {
				pause = he.RetryAfter // too long to wait for now, but still obeyed
			}
			g.next = a.now().Add(pause)
			return nil, -1, err
		}
		pause = max(pause, p)
	}
	g.next = a.now().Add(pause)
	if err != nil {
		a.log.Debug("archive: request failed, will retry", "url", rawURL, "attempt", attempt, "wait", pause, "error", err)
	}
	return res, pause, err
}

// retryPause says whether a failed request is worth another try and after
// how long.
func retryPause(err error, attempt int) (time.Duration, bool) {
	var he *articles.HTTPError
	if errors.As(err, &he) {
		switch {
		case he.Status == http.StatusTooManyRequests || he.Status == http.StatusServiceUnavailable:
			if he.RetryAfter > maxRetryAfter {
				return 0, false
			}
			if he.RetryAfter > 0 {
				return he.RetryAfter, true
			}
			return defaultBusyWait, true
		case he.Status >= 500:
			return serverErrorWait << (attempt - 1), true
		}
		return 0, false
	}
	if errors.Is(err, articles.ErrTooLarge) || errors.Is(err, ErrOffSite) || errors.Is(err, context.Canceled) {
		return 0, false
	}
	return serverErrorWait << (attempt - 1), true // network error, timeout
}

// interval is the least time between two requests to one site.
func (a *Archive) interval() time.Duration {
	if a.opts.Rate <= 0 {
		return time.Duration(float64(time.Second) / DefaultRate)
	}
	return time.Duration(float64(time.Second) / a.opts.Rate)
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("archive: %w", ctx.Err())
	}
}

// httpStatus returns the status of an *articles.HTTPError in err's chain,
// or 0.
func httpStatus(err error) int {
	var he *articles.HTTPError
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}
