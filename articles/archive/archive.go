// Package archive pulls a site's older articles (WordPress REST API, else
// paged feeds) into the store, and reads article pages for their text when a
// feed gives only summaries. Everything it stores is recorded, never posted:
// what is new stays the feeds' decision.
//
// It is polite: the requests to one site (backfill and page reads together)
// go one at a time, at most Options.Rate a second, and a site that answers
// 429 or 503 is left alone as long as its Retry-After says.
package archive

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/newsbot/newsbot/articles"
)

// DefaultRate is the pace, in requests per second to one site, when
// Options.Rate is not set.
const DefaultRate = 2.0

// parallelSites bounds how many sites are backfilled at once.
const parallelSites = 4

// Options configure an Archive.
type Options struct {
	Store   articles.ArchiveStore
	Fetcher *articles.Fetcher // nil: articles.NewFetcher(nil)
	// Limit is the most articles pulled per site (feed) from its archive;
	// 0 turns backfill off, a negative value means no limit.
	Limit int
	// Rate is the most requests per second to one site (0: DefaultRate).
	Rate float64
	// FullText enables reading article pages (FULL_TEXT=auto).
	FullText bool
	// Restart re-runs backfills that completed (or found no source) from
	// the start: "re-run only when asked" (`newsbot backfill --restart`).
	// Unfinished ones always resume from their checkpoint.
	Restart  bool
	Log      *slog.Logger
	Progress func(Progress) // called after each page and when a site ends; calls are serialised
	// Known returns what a configured feed said of itself when the poller
	// last read it (nil, or ok false: the archive reads the feed itself), so
	// that finding the archive costs the feed no extra request.
	Known func(feedURL string) (articles.FeedMeta, bool)
	// OnText is called with an article's id after its page text was stored,
	// so that what indexes articles can read it again (may be nil).
	OnText func(id int64)

	// Sleep and Now replace the clock in tests (nil: the real ones).
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time
}

// Progress reports one site's backfill (one feed's) after each page.
type Progress struct {
	Site    string
	FeedURL string
	Source  string // "wordpress", "paged", "rfc5005", "none"
	Pages   int    // pages read in this run
	Stored  int    // articles this run stored that the store did not hold
	Skipped int    // articles this run met that the store already held
	Errors  int    // failed pages in this run
	Rate    float64
	Done    bool // the site's backfill is complete (or has no source)
	Err     string
}

// Backfill states.
const (
	StatePending = "pending"
	StateRunning = "running"
	StateDone    = "done"
	StateNone    = "none" // no archive source
	StateError   = "error"
)

// SiteStatus is the archive state of one configured feed's site.
type SiteStatus struct {
	FeedURL   string    `json:"feed_url"`
	Site      string    `json:"site"`
	Source    string    `json:"source,omitempty"`
	State     string    `json:"state"`
	Stored    int       `json:"stored"` // articles pulled from the archive so far (all runs)
	LastError string    `json:"last_error,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Archive runs backfills and page reads. It is safe for concurrent use.
type Archive struct {
	opts    Options
	store   articles.ArchiveStore
	fetcher *articles.Fetcher
	log     *slog.Logger
	sleep   func(ctx context.Context, d time.Duration) error
	now     func() time.Time

	gates gates

	progressMu sync.Mutex

	mu      sync.Mutex
	status  map[string]*SiteStatus // by feed URL
	running map[string]bool        // feeds a Backfill call is working on
}

// New returns an Archive.
func New(o Options) *Archive {
	a := &Archive{opts: o, store: o.Store, fetcher: o.Fetcher, log: o.Log, sleep: o.Sleep, now: o.Now,
		status: map[string]*SiteStatus{}, running: map[string]bool{}}
	if a.fetcher == nil {
		a.fetcher = articles.NewFetcher(nil)
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.sleep == nil {
		a.sleep = sleepCtx
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Status returns the state of every feed the archive has met, by feed URL.
func (a *Archive) Status() []SiteStatus {
	a.mu.Lock()
	out := make([]SiteStatus, 0, len(a.status))
	for _, s := range a.status {
		out = append(out, *s)
	}
	a.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].FeedURL < out[j].FeedURL })
	return out
}

// setStatus updates the status of a feed from its checkpoint and state.
func (a *Archive) setStatus(cp articles.Checkpoint, state string) {
	a.mu.Lock()
	s := a.status[cp.FeedURL]
	if s == nil {
		s = &SiteStatus{FeedURL: cp.FeedURL}
		a.status[cp.FeedURL] = s
	}
	old := s.State
	s.Site, s.Source, s.State, s.Stored, s.LastError, s.UpdatedAt = cp.Site, cp.Source, state, cp.Stored, cp.LastError, cp.UpdatedAt
	a.mu.Unlock()
	if old != state {
		for _, st := range []string{StatePending, StateRunning, StateDone, StateNone, StateError} {
			v := 0.0
			if st == state {
				v = 1
			}
			metricState.WithLabelValues(cp.FeedURL, st).Set(v)
		}
	}
	metricStored.WithLabelValues(cp.FeedURL).Set(float64(cp.Stored))
}

func (a *Archive) report(p Progress) {
	if a.opts.Progress == nil {
		return
	}
	a.progressMu.Lock()
	defer a.progressMu.Unlock()
	a.opts.Progress(p)
}

// claim marks feedURL as being backfilled; false when another Backfill call
// already is.
func (a *Archive) claim(feedURL string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running[feedURL] {
		return false
	}
	a.running[feedURL] = true
	return true
}

func (a *Archive) release(feeds []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range feeds {
		delete(a.running, f)
	}
}
