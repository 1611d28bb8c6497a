package related

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/newsbot/newsbot/articles"
)

// memChanges is an articles.ChangeReader in memory: each put takes the next
// rev, as the stores' triggers do.
type memChanges struct {
	mu   sync.Mutex
	rev  int64
	arts map[int64]articles.Article
	revs map[int64]int64 // article id -> its rev
	fail error           // returned by EachChanged after the first article
}

func newMemChanges() *memChanges {
	return &memChanges{arts: map[int64]articles.Article{}, revs: map[int64]int64{}}
}

func (m *memChanges) put(as ...articles.Article) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range as {
		m.rev++
		m.arts[a.ID] = a
		m.revs[a.ID] = m.rev
	}
}

func (m *memChanges) MaxRev(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rev, nil
}

func (m *memChanges) EachChanged(ctx context.Context, after int64, fn func(int64, articles.Article) error) error {
	m.mu.Lock()
	type ch struct {
		rev int64
		a   articles.Article
	}
	var l []ch
	for id, r := range m.revs {
		if r > after {
			l = append(l, ch{r, m.arts[id]})
		}
	}
	fail := m.fail
	m.mu.Unlock()
	sort.Slice(l, func(i, j int) bool { return l[i].rev < l[j].rev })
	for i, c := range l {
		if fail != nil && i == 1 {
			return fail
		}
		if err := fn(c.rev, c.a); err != nil {
			return err
		}
	}
	return nil
}

func mustSync(t *testing.T, s *Syncer) int {
	t.Helper()
	n, err := s.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSyncerNeverSkips is the cause of issue 14: an article added on its
// own (full text arriving) with an id above a batch not yet synced made the
// id-based sync skip the batch. By rev, nothing is skipped.
func TestSyncerNeverSkips(t *testing.T) {
	store := newMemChanges()
	s := NewSyncer(New(), store)
	store.put(small()[:2]...)
	mustSync(t, s)

	// A poll stores 3..7; before the index syncs, 7 gets its full text
	// (a later rev) and someone adds it to the index directly.
	store.put(small()[2:]...)
	withText := small()[6]
	withText.Text += " Tomatoes need sun."
	store.put(withText)
	s.Index().Add(withText)

	if n := mustSync(t, s); n != 5 {
		t.Fatalf("Sync applied %d articles, want 5 (3..7)", n)
	}
	for _, a := range small() {
		if hits, named, ok := s.Index().Resolve(a.URL, 5); !ok || named.ID != a.ID {
			t.Errorf("%s: not known after Sync (named %+v, hits %v)", a.URL, named, ids(hits))
		}
	}
	if got := s.Index().Len(); got != len(small()) {
		t.Fatalf("Len = %d, want %d (a replaced article counts once)", got, len(small()))
	}
	if b, err := s.Behind(context.Background()); err != nil || b != 0 {
		t.Fatalf("Behind = %d, %v; want 0", b, err)
	}
}

// TestSyncerFollowsEdits: an edited article replaces its earlier version.
func TestSyncerFollowsEdits(t *testing.T) {
	store := newMemChanges()
	s := NewSyncer(New(), store)
	store.put(small()...)
	mustSync(t, s)

	edited := small()[6]
	edited.Title = "Growing garlic in pots"
	store.put(edited)
	if b, _ := s.Behind(context.Background()); b != 1 {
		t.Fatalf("Behind = %d after one edit, want 1", b)
	}
	if n := mustSync(t, s); n != 1 {
		t.Fatalf("Sync applied %d, want 1", n)
	}
	if _, named, ok := s.Index().Resolve("Growing garlic in pots", 5); !ok || named.ID != 7 {
		t.Fatalf("new title not known: %+v %v", named, ok)
	}
	if _, named, ok := s.Index().Resolve("Tomatoes on the balcony", 5); ok {
		t.Fatalf("old title still names %+v", named)
	}
	if n := mustSync(t, s); n != 0 {
		t.Fatalf("a Sync with nothing new applied %d", n)
	}
}

// TestSyncerFailureKeepsWatermark: a failed walk leaves what it did not
// apply for the next Sync.
func TestSyncerFailureKeepsWatermark(t *testing.T) {
	store := newMemChanges()
	s := NewSyncer(New(), store)
	store.put(small()...)
	store.fail = errors.New("disk on fire")
	if _, err := s.Sync(context.Background()); err == nil {
		t.Fatal("Sync: no error from a failing store")
	}
	if s.Rev() != 0 {
		t.Fatalf("watermark moved to %d past articles not applied", s.Rev())
	}
	store.fail = nil
	mustSync(t, s)
	if got := s.Index().Len(); got != len(small()) {
		t.Fatalf("Len = %d after recovery, want %d", got, len(small()))
	}
}

// TestSyncerConcurrentWriters: syncs racing with writers end with every
// article indexed once the writers stop and a last Sync runs.
func TestSyncerConcurrentWriters(t *testing.T) {
	store := newMemChanges()
	s := NewSyncer(New(), store)
	const writers, each = 4, 300
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := int64(w*each + i + 1)
				store.put(art(id, fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("Story %d of writer %d", i, w), "Words about cocoa and coffee markets."))
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		if _, err := s.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	mustSync(t, s)
	if got := s.Index().Len(); got != writers*each {
		t.Fatalf("Len = %d, want %d", got, writers*each)
	}
}
