package archive

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/newsbot/newsbot/articles"
)

// memStore is an in-memory articles.ArchiveStore for tests.
type memStore struct {
	mu      sync.Mutex
	byKey   map[string]*articles.Article // site + "\x00" + key
	byID    map[int64]*articles.Article
	nextID  int64
	handed  int // articles handed to StoreArchived
	cps     map[string]articles.Checkpoint
	tried   map[int64]bool
	texts   map[int64]string
	failCPs int // SaveCheckpoint fails this many times
}

func newMemStore() *memStore {
	return &memStore{byKey: map[string]*articles.Article{}, byID: map[int64]*articles.Article{},
		cps: map[string]articles.Checkpoint{}, tried: map[int64]bool{}, texts: map[int64]string{}}
}

var _ articles.ArchiveStore = (*memStore)(nil)

// add stores a feed item directly (as a poll would), returning its id.
func (s *memStore) add(a articles.Article) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := a.Site + "\x00" + a.Key
	if old, ok := s.byKey[k]; ok {
		return old.ID
	}
	s.nextID++
	a.ID = s.nextID
	if a.State == "" {
		a.State = articles.StateRecorded
	}
	s.byKey[k] = &a
	s.byID[a.ID] = &a
	return a.ID
}

func (s *memStore) StoreArchived(ctx context.Context, items []articles.Article) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.handed += len(items)
	s.mu.Unlock()
	n := 0
	for _, it := range items {
		if it.Site == "" || it.Key == "" {
			return n, errors.New("memstore: article without site or key")
		}
		s.mu.Lock()
		_, exists := s.byKey[it.Site+"\x00"+it.Key]
		s.mu.Unlock()
		if !exists {
			it.State = articles.StateRecorded
			s.add(it)
			n++
		}
	}
	return n, nil
}

func (s *memStore) Checkpoint(ctx context.Context, feedURL string) (articles.Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cps[feedURL]; ok {
		return c, nil
	}
	return articles.Checkpoint{FeedURL: feedURL}, nil
}

func (s *memStore) SaveCheckpoint(ctx context.Context, c articles.Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failCPs > 0 {
		s.failCPs--
		return errors.New("memstore: disk full")
	}
	s.cps[c.FeedURL] = c
	return nil
}

func (s *memStore) NeedFullText(ctx context.Context, limit int) ([]articles.Article, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []articles.Article
	for _, a := range s.byID {
		if a.NeedsFullText && !s.tried[a.ID] {
			out = append(out, *a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Published.After(out[j].Published) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *memStore) SetFullText(ctx context.Context, id int64, text, summary string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.byID[id]
	if !ok {
		return articles.ErrNotFound
	}
	s.tried[id] = true
	s.texts[id] = text
	if text != "" {
		a.Text = text
	}
	if summary != "" {
		a.Summary = summary
	}
	return nil
}

func (s *memStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byKey)
}

func (s *memStore) get(site, key string) (articles.Article, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.byKey[site+"\x00"+key]
	if !ok {
		return articles.Article{}, false
	}
	return *a, true
}

func (s *memStore) cp(feedURL string) articles.Checkpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cps[feedURL]
}

// fakeClock records the pauses the archive asks for without waiting; its
// time moves only when the archive sleeps.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// longer returns how many pauses lasted at least d.
func (c *fakeClock) longer(d time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.sleeps {
		if s >= d {
			n++
		}
	}
	return n
}

func (c *fakeClock) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sleeps)
}
