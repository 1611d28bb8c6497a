package articles

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	feedPolls = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "newsbot_feed_polls_total",
		Help: "Feed polls by result (ok, not_modified, error, skipped).",
	}, []string{"result"})
	feedNewItems = promauto.NewCounter(prometheus.CounterOpts{
		Name: "newsbot_feed_new_items_total",
		Help: "Items that configured feeds listed for the first time.",
	})
	feedPollSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "newsbot_feed_poll_duration_seconds",
		Help:    "Time to fetch, parse and store one feed.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 10),
	})
)

// DefaultPollConcurrency is how many feeds are polled at once.
const DefaultPollConcurrency = 4

// Poller polls the configured feeds into a FeedStore.
type Poller struct {
	Store        FeedStore
	Fetcher      *Fetcher
	Feeds        []string
	BacklogLimit int
	Log          *slog.Logger
	Concurrency  int // feeds polled at once; DefaultPollConcurrency when 0
	// Routes say which channels want which feed's new items (see
	// Poll.Routes); without them a poll only records articles' own state.
	Routes []Route

	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Backoff says how long to leave a feed alone after its failures-th
	// consecutive failure; DefaultBackoff when nil. A Retry-After the feed
	// sent is honoured on top of it.
	Backoff func(failures int) time.Duration
	// IgnoreBackoff polls feeds even while they are in back-off (for a
	// one-shot "newsbot fetch").
	IgnoreBackoff bool
	// Patience, when > 0, is how long PollAll waits for slow feeds: one that
	// hangs must not hold back the others' posts. A feed still being
	// fetched then goes on in the background (its items are stored when it
	// ends, and Late is told) and later PollAll calls skip it until it has
	// ended.
	Patience time.Duration
	// Late, when set, is called with the result of each fetch that PollAll
	// stopped waiting for, when it ends (from the fetch's goroutine; Wait
	// waits for it too).
	Late func(FeedResult)

	mu       sync.Mutex
	inFlight map[string]bool
	meta     map[string]FeedMeta // from each feed's last parsed answer
	fetches  sync.WaitGroup      // every fetch PollAll started, slow ones included
}

// routesOf returns the routes that list feedURL.
func (p *Poller) routesOf(feedURL string) []Route {
	var rs []Route
	for _, r := range p.Routes {
		if r.Lists(feedURL) {
			rs = append(rs, r)
		}
	}
	return rs
}

// Wait returns when every fetch PollAll started has ended (slow feeds go on
// after PollAll returns; cancelling its context ends them).
func (p *Poller) Wait() { p.fetches.Wait() }

// FeedResult is what polling one feed did.
type FeedResult struct {
	URL, Title  string
	Seen        int // items in the feed
	New         int // items the feed listed for the first time
	Pending     int // items that became pending
	NotModified bool
	Skipped     bool // in back-off: not fetched (Err is nil, Failures > 0)
	InProgress  bool // still being fetched when Patience ran out (or since an earlier run)
	Err         error
	Failures    int // consecutive failures, this one included
}

// NewPoller returns a Poller of feeds (as configured) into store. f nil: a
// default Fetcher; log nil: slog.Default().
func NewPoller(store FeedStore, f *Fetcher, feeds []string, backlogLimit int, log *slog.Logger) *Poller {
	if f == nil {
		f = NewFetcher(nil)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Poller{Store: store, Fetcher: f, Feeds: feeds, BacklogLimit: backlogLimit, Log: log}
}

// DefaultBackoff waits 1 minute after the first failure, doubling with each
// further one, up to 1 hour.
func DefaultBackoff(failures int) time.Duration {
	d := time.Minute
	for i := 1; i < failures && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// maxRetryAfter bounds how long a Retry-After can keep a feed away.
const maxRetryAfter = 24 * time.Hour

// PollAll polls every feed, DefaultPollConcurrency at a time, skipping those
// in back-off. A failing feed is recorded with its error and retried later;
// it never stops the others. The results are in the order of Feeds.
func (p *Poller) PollAll(ctx context.Context) []FeedResult {
	results := make([]FeedResult, len(p.Feeds))
	n := p.Concurrency
	if n <= 0 {
		n = DefaultPollConcurrency
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	first := map[string]int{}  // a feed listed twice is polled once
	done := map[int]*pending{} // by index of the feed's first listing
	for i, u := range p.Feeds {
		if _, dup := first[u]; dup {
			continue
		}
		first[u] = i
		if !p.start(u) {
			results[i] = FeedResult{URL: u, InProgress: true}
			continue
		}
		pf := &pending{}
		done[i] = pf
		wg.Add(1)
		p.fetches.Add(1)
		go func() {
			defer p.fetches.Done()
			var res FeedResult
			select {
			case sem <- struct{}{}:
				res = p.PollFeed(ctx, u)
				<-sem
			case <-ctx.Done():
				res = FeedResult{URL: u, Err: ctx.Err()}
			}
			p.finish(u)
			late := pf.set(res)
			wg.Done()
			if late && p.Late != nil {
				p.Late(res)
			}
		}()
	}
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	if p.Patience > 0 {
		t := time.NewTimer(p.Patience)
		select {
		case <-all:
		case <-t.C:
		}
		t.Stop()
	} else {
		<-all
	}
	for i, pf := range done {
		if res, ok := pf.take(); ok {
			results[i] = res
			continue
		}
		results[i] = FeedResult{URL: p.Feeds[i], InProgress: true}
		p.log().Warn("feed is slow; its items are posted when it ends", slog.String("feed_url", p.Feeds[i]))
	}
	for i, u := range p.Feeds {
		if j := first[u]; j != i {
			results[i] = results[j]
		}
	}
	return results
}

// pending is one fetch's result as PollAll and the fetch hand it over:
// either PollAll takes it in time, or the fetch learns it is late.
type pending struct {
	mu     sync.Mutex
	res    FeedResult
	ready  bool
	gaveUp bool
}

// set stores the result; it reports whether PollAll had stopped waiting.
func (pf *pending) set(res FeedResult) (late bool) {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	pf.res, pf.ready = res, true
	return pf.gaveUp
}

// take returns the result when it is there; otherwise the fetch is late.
func (pf *pending) take() (FeedResult, bool) {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	if !pf.ready {
		pf.gaveUp = true
	}
	return pf.res, pf.ready
}

// FeedMeta is what a feed says of itself beyond its items: enough for the
// archive to find the site's older articles without fetching it again.
type FeedMeta struct {
	Link, Generator   string
	PrevArchive, Next string
}

// Meta returns what the feed said of itself at its last parsed answer in
// this process; ok is false before one.
func (p *Poller) Meta(feedURL string) (m FeedMeta, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok = p.meta[feedURL]
	return m, ok
}

func (p *Poller) remember(feedURL string, m FeedMeta) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.meta == nil {
		p.meta = map[string]FeedMeta{}
	}
	p.meta[feedURL] = m
}

// start marks feedURL as being fetched; false when it already is.
func (p *Poller) start(feedURL string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inFlight[feedURL] {
		return false
	}
	if p.inFlight == nil {
		p.inFlight = map[string]bool{}
	}
	p.inFlight[feedURL] = true
	return true
}

func (p *Poller) finish(feedURL string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.inFlight, feedURL)
}

func (p *Poller) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Poller) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

// PollFeed polls one feed (see PollAll).
func (p *Poller) PollFeed(ctx context.Context, feedURL string) (res FeedResult) {
	res.URL = feedURL
	defer func() {
		if r := recover(); r != nil {
			// A bug in parsing one feed must not take the others down.
			res.Err = errors.New("poller: panic while polling")
			p.log().Error("feed poll panicked", slog.String("feed_url", feedURL), slog.Any("panic", r))
			feedPolls.WithLabelValues("error").Inc()
		}
	}()
	st, err := p.Store.FeedState(ctx, feedURL)
	if err != nil {
		res.Err = err
		p.log().Warn("feed state unreadable", slog.String("feed_url", feedURL), slog.String("error", err.Error()))
		feedPolls.WithLabelValues("error").Inc()
		return res
	}
	res.Title, res.Failures = st.Title, st.Failures
	now := p.now()
	if !p.IgnoreBackoff && st.NextAttempt.After(now) {
		res.Skipped = true
		feedPolls.WithLabelValues("skipped").Inc()
		return res
	}
	start := time.Now()
	defer func() { feedPollSeconds.Observe(time.Since(start).Seconds()) }()

	fetcher := p.Fetcher
	if fetcher == nil {
		fetcher = NewFetcher(nil)
	}
	fr, err := fetcher.Fetch(ctx, feedURL, st.ETag, st.LastModified)
	if err != nil {
		return p.fail(ctx, res, st, now, err)
	}
	if fr.NotModified {
		if err := p.Store.RecordNotModified(ctx, feedURL, now); err != nil {
			return p.fail(ctx, res, st, now, err)
		}
		res.NotModified, res.Failures = true, 0
		feedPolls.WithLabelValues("not_modified").Inc()
		p.log().Debug("feed not modified", slog.String("feed_url", feedURL))
		return res
	}
	feed, err := ParseFeed(feedURL, toUTF8(fr.Body, fr.ContentType), now)
	if err != nil {
		return p.fail(ctx, res, st, now, err)
	}
	p.remember(feedURL, FeedMeta{Link: feed.Link, Generator: feed.Generator, PrevArchive: feed.PrevArchive, Next: feed.Next})
	stats, err := p.Store.RecordPoll(ctx, Poll{
		FeedURL:      feedURL,
		Site:         feed.Site,
		Title:        feed.Title,
		ETag:         fr.ETag,
		LastModified: fr.LastModified,
		Items:        feed.Items,
		At:           now,
		Routes:       p.routesOf(feedURL),
	}, p.BacklogLimit)
	if err != nil {
		return p.fail(ctx, res, st, now, err)
	}
	res.Title = feed.Title
	res.Seen, res.New, res.Pending, res.Failures = stats.Seen, stats.New, stats.Pending, 0
	feedPolls.WithLabelValues("ok").Inc()
	feedNewItems.Add(float64(stats.New))
	p.log().Debug("feed polled", slog.String("feed_url", feedURL), slog.Int("seen", stats.Seen),
		slog.Int("new", stats.New), slog.Int("pending", stats.Pending))
	return res
}

// fail records a failed poll and when to try again, and logs it once.
func (p *Poller) fail(ctx context.Context, res FeedResult, st FeedState, now time.Time, err error) FeedResult {
	res.Err = err
	feedPolls.WithLabelValues("error").Inc()
	if ctx.Err() != nil {
		// Shutting down is not the feed's fault: no back-off.
		res.Failures = st.Failures
		return res
	}
	failures := st.Failures + 1
	backoff := p.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	delay := backoff(failures)
	var he *HTTPError
	if errors.As(err, &he) && he.RetryAfter > delay {
		delay = min(he.RetryAfter, maxRetryAfter)
	}
	next := now.Add(delay)
	if n, rerr := p.Store.RecordFeedError(ctx, res.URL, err.Error(), next); rerr == nil {
		failures = n
	} else {
		p.log().Warn("feed error not recorded", slog.String("feed_url", res.URL), slog.String("error", rerr.Error()))
	}
	res.Failures = failures
	p.log().Warn("feed poll failed", slog.String("feed_url", res.URL), slog.String("error", err.Error()),
		slog.Int("failures", failures), slog.Time("next_attempt", next))
	return res
}
