package app

import (
	"context"
	"fmt"
	"time"
)

// indexEvery is how often the indexer looks for changes it was not told of:
// those written by another process (`newsbot fetch`, `backfill`).
var indexEvery = 15 * time.Second

// syncIndex applies every stored change the index lacks. The poster calls it
// after each poll is stored and before that poll's posts choose their "Also
// Read"; /related calls it when the index is behind.
func (r *runner) syncIndex(ctx context.Context) error {
	n, err := r.syncer.Sync(ctx)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if n > 0 {
		r.log.Debug("index synced", "articles", n, "rev", r.syncer.Rev(), "indexed", r.index.Len())
	}
	return nil
}

// kickIndex asks the indexer to sync soon (the store changed); it never
// blocks.
func (r *runner) kickIndex() {
	select {
	case r.indexKick <- struct{}{}:
	default:
	}
}

// runIndexer syncs the index when kicked (the archive stored something) and
// every indexEvery (another process did), until ctx ends.
func (r *runner) runIndexer(ctx context.Context) {
	tick := time.NewTicker(indexEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.indexKick:
		case <-tick.C:
			if behind, err := r.syncer.Behind(ctx); err != nil || behind == 0 {
				continue
			}
		}
		if err := r.syncIndex(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("index sync failed", "error", err)
		}
	}
}
