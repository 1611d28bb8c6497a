package articles

import (
	"context"
	"sort"
	"sync"
	"time"
)

// memStore is an in-memory FeedStore for tests and benchmarks. It follows
// the FeedStore contract closely enough to test the Poller: one item per
// site and key, the backlog rule on a feed's first poll.
type memStore struct {
	mu       sync.Mutex
	feeds    map[string]FeedState
	articles map[string]*Article        // site + "\x00" + key
	listed   map[string]map[string]bool // feed URL -> keys it has listed
	polls    []Poll
	nextID   int64
	// failState, when set, is returned by FeedState.
	failState error
}

var _ FeedStore = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{feeds: map[string]FeedState{}, articles: map[string]*Article{}, listed: map[string]map[string]bool{}}
}

func (m *memStore) FeedState(_ context.Context, feedURL string) (FeedState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failState != nil {
		return FeedState{}, m.failState
	}
	st, ok := m.feeds[feedURL]
	if !ok {
		return FeedState{URL: feedURL}, nil
	}
	return st, nil
}

func (m *memStore) Feeds(context.Context) ([]FeedState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []FeedState
	for _, st := range m.feeds {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URL < out[j].URL })
	return out, nil
}

func (m *memStore) RecordPoll(_ context.Context, p Poll, backlogLimit int) (PollStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.polls = append(m.polls, p)
	st := m.feeds[p.FeedURL]
	first := st.FirstPollAt.IsZero()
	listed := m.listed[p.FeedURL]
	if listed == nil {
		listed = map[string]bool{}
		m.listed[p.FeedURL] = listed
	}
	stats := PollStats{Seen: len(p.Items)}
	var fresh []*Article
	for i := range p.Items {
		it := p.Items[i]
		k := it.Site + "\x00" + it.Key
		a, ok := m.articles[k]
		if !ok {
			m.nextID++
			it.ID, it.State = m.nextID, StateRecorded
			a = &it
			m.articles[k] = a
			stats.Stored++
		}
		if !listed[it.Key] {
			listed[it.Key] = true
			stats.New++
			fresh = append(fresh, a)
		}
	}
	if first {
		sort.SliceStable(fresh, func(i, j int) bool { return fresh[i].Published.After(fresh[j].Published) })
		if len(fresh) > backlogLimit {
			fresh = fresh[:max(backlogLimit, 0)]
		}
	}
	for _, a := range fresh {
		if a.State == StateRecorded {
			a.State = StatePending
			stats.Pending++
		}
	}
	if first {
		st.FirstPollAt = p.At
	}
	st.URL, st.Site, st.Title = p.FeedURL, p.Site, p.Title
	st.ETag, st.LastModified = p.ETag, p.LastModified
	st.LastPollAt, st.Failures, st.LastError, st.NextAttempt = p.At, 0, "", time.Time{}
	m.feeds[p.FeedURL] = st
	return stats, nil
}

func (m *memStore) RecordNotModified(_ context.Context, feedURL string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.feeds[feedURL]
	st.URL, st.LastPollAt, st.Failures, st.LastError, st.NextAttempt = feedURL, at, 0, "", time.Time{}
	m.feeds[feedURL] = st
	return nil
}

func (m *memStore) RecordFeedError(_ context.Context, feedURL, msg string, next time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.feeds[feedURL]
	st.URL = feedURL
	st.Failures++
	st.LastError, st.NextAttempt = msg, next
	m.feeds[feedURL] = st
	return st.Failures, nil
}

func (m *memStore) state(feedURL string) FeedState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.feeds[feedURL]
}

func (m *memStore) pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, a := range m.articles {
		if a.State == StatePending {
			n++
		}
	}
	return n
}

// nopStore stores nothing: the pipeline benchmark's floor.
type nopStore struct{}

func (nopStore) FeedState(_ context.Context, u string) (FeedState, error) {
	return FeedState{URL: u}, nil
}
func (nopStore) Feeds(context.Context) ([]FeedState, error) { return nil, nil }
func (nopStore) RecordPoll(_ context.Context, p Poll, _ int) (PollStats, error) {
	return PollStats{Seen: len(p.Items)}, nil
}
func (nopStore) RecordNotModified(context.Context, string, time.Time) error { return nil }
func (nopStore) RecordFeedError(context.Context, string, string, time.Time) (int, error) {
	return 1, nil
}
