package related

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/newsbot/newsbot/articles"
)

// Syncer keeps an Index equal to a store by following its change counter
// (articles.ChangeReader): each Sync applies every article inserted or
// changed since the last one, in rev order, replacing the earlier version of
// an edited article. Its watermark is the highest rev applied, so nothing is
// skipped, whatever order writes came in and whichever process made them.
// Every change to the index goes through Sync: adding a single article by
// hand (Index.Add) would be overwritten by the next Sync anyway, and never
// moves the watermark. It is safe for concurrent use; one Sync runs at a
// time.
type Syncer struct {
	ix  *Index
	src articles.ChangeReader

	mu  sync.Mutex   // one Sync at a time
	rev atomic.Int64 // highest rev applied
}

// NewSyncer returns a Syncer that fills ix from src (ix should be empty).
func NewSyncer(ix *Index, src articles.ChangeReader) *Syncer {
	return &Syncer{ix: ix, src: src}
}

// Index returns the index the Syncer fills.
func (s *Syncer) Index() *Index { return s.ix }

// Rev returns the highest rev applied.
func (s *Syncer) Rev() int64 { return s.rev.Load() }

// Behind returns how many revs the store holds that the index has not
// applied yet (0: up to date): one cheap query.
func (s *Syncer) Behind(ctx context.Context) (int64, error) {
	m, err := s.src.MaxRev(ctx)
	if err != nil {
		return 0, fmt.Errorf("related: behind: %w", err)
	}
	return max(m-s.rev.Load(), 0), nil
}

// Busy reports whether a Sync is running now.
func (s *Syncer) Busy() bool {
	if s.mu.TryLock() {
		s.mu.Unlock()
		return false
	}
	return true
}

// Sync applies every change above the watermark and returns how many
// articles it (re)indexed. Articles are analysed in parallel batches; the
// watermark moves after each batch, so a cancelled Sync keeps what it did.
func (s *Syncer) Sync(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Every rev up to top is committed (see articles.ChangeReader), so the
	// walk below meets them all; it may meet later ones too.
	top, err := s.src.MaxRev(ctx)
	if err != nil {
		return 0, fmt.Errorf("related: sync: %w", err)
	}
	if top <= s.rev.Load() {
		return 0, nil
	}
	n := 0
	batch := make([]articles.Article, 0, syncBatch)
	var batchRev int64
	flush := func() {
		if len(batch) == 0 {
			return
		}
		s.ix.addBatch(batch)
		n += len(batch)
		s.rev.Store(batchRev)
		batch = batch[:0]
	}
	err = s.src.EachChanged(ctx, s.rev.Load(), func(rev int64, a articles.Article) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch = append(batch, a)
		batchRev = rev
		if len(batch) == syncBatch {
			flush()
		}
		return nil
	})
	if err != nil {
		// What was read but not applied is read again next time.
		if n > 0 {
			s.ix.Prepare()
		}
		return n, fmt.Errorf("related: sync: %w", err)
	}
	flush()
	// Revs that no article holds any more (an article changed again, or
	// deleted) are behind us too.
	if top > s.rev.Load() {
		s.rev.Store(top)
	}
	if n > 0 {
		s.ix.Prepare()
	}
	return n, nil
}
