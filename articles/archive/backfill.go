package archive

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/newsbot/newsbot/articles"
)

// Backfill pulls the archives of the sites of feedURLs into the store,
// several sites at once, one request at a time per site. Each feed resumes
// where its checkpoint stands; a completed one is skipped unless
// Options.Restart is set. Local-file feeds are never backfilled, nor anything
// when Options.Limit is 0. It returns the errors that stopped some sites
// (their checkpoints keep what was stored; a later call resumes them), or
// the context's error.
func (a *Archive) Backfill(ctx context.Context, feedURLs []string) error {
	if a.opts.Limit == 0 || a.store == nil {
		return nil
	}
	bySite := map[string][]string{}
	var order, claimed []string
	defer func() { a.release(claimed) }()
	seen := map[string]bool{}
	for _, u := range feedURLs {
		u = strings.TrimSpace(u)
		if u == "" || seen[u] || articles.IsLocal(u) || articles.CleanURL(u) == "" {
			continue
		}
		seen[u] = true
		if !a.claim(u) {
			continue // another call is pulling it
		}
		claimed = append(claimed, u)
		site := articles.SiteOf(u)
		if _, ok := bySite[site]; !ok {
			order = append(order, site)
		}
		bySite[site] = append(bySite[site], u)
		a.setStatus(articles.Checkpoint{FeedURL: u, Site: site}, StatePending)
	}

	err := eachSite(ctx, len(order), func(i int) error { return a.backfillSite(ctx, bySite[order[i]]) })
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("archive: backfill: %w", cerr)
	}
	return err
}

// eachSite runs fn(0..n-1), one call per site, at most parallelSites at a
// time, and joins their errors. Calls not yet started when ctx ends are
// skipped.
func eachSite(ctx context.Context, n int, fn func(i int) error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, parallelSites)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				return
			}
			if err := fn(i); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// backfillSite runs the feeds of one site in turn. Feeds that lead to the
// same WordPress API (the main feed and a category feed) pull it once.
func (a *Archive) backfillSite(ctx context.Context, feeds []string) error {
	apis := map[string]string{} // API posts URL without paging -> feed that pulled it
	cps := make([]articles.Checkpoint, len(feeds))
	for i, f := range feeds {
		cp, err := a.store.Checkpoint(ctx, f)
		if err != nil {
			return fmt.Errorf("archive: checkpoint of %s: %w", f, err)
		}
		cp.FeedURL, cp.Site = f, articles.SiteOf(f)
		cps[i] = cp
		if cp.Done && cp.Source == SourceWordPress && cp.Cursor != "" && !a.opts.Restart {
			apis[apiKey(cp.Cursor)] = f
		}
	}
	var errs []error
	for _, cp := range cps {
		if err := a.backfillFeed(ctx, cp, apis); err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Backfill sources, as checkpoints name them.
const (
	SourceWordPress = "wordpress"
	SourcePaged     = "paged"
	SourceRFC5005   = "rfc5005"
	SourceNone      = "none"
)

// run is the backfill of one feed in one call of Backfill.
type run struct {
	a       *Archive
	cp      articles.Checkpoint
	prog    Progress
	start   time.Time
	lastErr string
	seed    maphash.Seed
	seen    map[uint64]struct{} // keys met in this run (paged sources)
	visited map[string]bool     // page URLs read in this run (RFC 5005)
}

func (a *Archive) backfillFeed(ctx context.Context, cp articles.Checkpoint, apis map[string]string) error {
	if cp.Done && !a.opts.Restart {
		a.setStatus(cp, doneState(cp))
		return nil
	}
	if cp.Done { // asked to run again: from the start
		cp = articles.Checkpoint{FeedURL: cp.FeedURL, Site: cp.Site}
	}
	r := &run{a: a, cp: cp, start: a.now(), seed: maphash.MakeSeed(), seen: map[uint64]struct{}{}, visited: map[string]bool{}}
	r.prog = Progress{Site: cp.Site, FeedURL: cp.FeedURL, Source: cp.Source}
	a.setStatus(cp, StateRunning)

	if r.cp.Source == "" {
		det, err := a.detect(ctx, cp.FeedURL)
		if err != nil {
			return r.stop(ctx, err)
		}
		r.cp.Source, r.cp.Cursor, r.prog.Source = det.source, det.cursor, det.source
		switch det.source {
		case SourceNone:
			a.log.Info("archive: no archive source for this feed (neither WordPress REST API nor paged feed); not backfilled",
				"feed_url", cp.FeedURL, "site", cp.Site)
			r.cp.Done = true
			return r.save(ctx)
		case SourceWordPress:
			if other, ok := apis[apiKey(det.cursor)]; ok {
				a.log.Info("archive: site archive already pulled through another feed", "feed_url", cp.FeedURL, "other_feed_url", other)
				r.cp.Done = true
				return r.save(ctx)
			}
		}
		a.log.Info("archive: backfill source found", "feed_url", cp.FeedURL, "source", det.source, "cursor", det.cursor)
		if len(det.items) > 0 {
			for _, it := range det.items {
				r.markSeen(it.Key)
			}
			if err := r.storePage(ctx, det.items, r.cp.Cursor, false); err != nil {
				return r.stop(ctx, err)
			}
		} else if err := r.save(ctx); err != nil {
			return err
		}
	}

	var err error
	switch r.cp.Source {
	case SourceWordPress:
		err = r.walkREST(ctx)
	case SourcePaged, SourceRFC5005:
		err = r.walkFeed(ctx)
	default:
		r.cp.Done = true
		return r.save(ctx)
	}
	if err != nil {
		return r.stop(ctx, err)
	}
	if r.cp.Source == SourceWordPress && r.cp.Done {
		apis[apiKey(r.cp.Cursor)] = cp.FeedURL
	}
	return nil
}

func doneState(cp articles.Checkpoint) string {
	if cp.Source == SourceNone {
		return StateNone
	}
	return StateDone
}

// remaining is how many more articles the limit allows (-1: no limit).
func (r *run) remaining() int {
	if r.a.opts.Limit < 0 {
		return -1
	}
	return max(0, r.a.opts.Limit-r.cp.Stored)
}

// storePage stores one page of articles and moves the checkpoint to next.
func (r *run) storePage(ctx context.Context, items []articles.Article, next string, done bool) error {
	if rem := r.remaining(); rem >= 0 && len(items) >= rem {
		items = items[:rem]
		done = true
	}
	n := 0
	if len(items) > 0 {
		var err error
		n, err = r.a.store.StoreArchived(ctx, items)
		if err != nil {
			return fmt.Errorf("archive: store: %w", err)
		}
	}
	r.cp.Stored += len(items)
	r.cp.Cursor = next
	r.cp.Done = done
	r.prog.Pages++
	r.prog.Stored += n
	r.prog.Skipped += len(items) - n
	metricNew.WithLabelValues(r.cp.Site).Add(float64(n))
	metricPages.WithLabelValues(r.cp.Site, "ok").Inc()
	return r.save(ctx)
}

// pageError records a page that could not be read but does not stop the
// walk (malformed content).
func (r *run) pageError(err error) {
	r.prog.Errors++
	r.lastErr = err.Error()
	metricPages.WithLabelValues(r.cp.Site, "error").Inc()
	r.a.log.Warn("archive: page skipped", "feed_url", r.cp.FeedURL, "site", r.cp.Site, "error", err)
}

// save writes the checkpoint and reports progress.
func (r *run) save(ctx context.Context) error {
	r.cp.LastError = r.lastErr
	r.cp.UpdatedAt = r.a.now()
	if err := r.a.store.SaveCheckpoint(ctx, r.cp); err != nil {
		err = fmt.Errorf("archive: save checkpoint of %s: %w", r.cp.FeedURL, err)
		r.a.setStatus(r.cp, StateError)
		r.report(err.Error())
		return err
	}
	state := StateRunning
	if r.cp.Done {
		state = doneState(r.cp)
	}
	r.a.setStatus(r.cp, state)
	r.report("")
	return nil
}

func (r *run) report(errMsg string) {
	p := r.prog
	p.Done = r.cp.Done
	p.Err = errMsg
	if p.Err == "" {
		p.Err = r.lastErr
	}
	if el := r.a.now().Sub(r.start).Seconds(); el > 0 {
		p.Rate = float64(p.Stored+p.Skipped) / el
	}
	r.a.report(p)
}

// stop ends the run on err: the checkpoint keeps what was stored and where
// to resume. A cancelled context leaves the feed pending.
func (r *run) stop(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		r.a.setStatus(r.cp, StatePending)
		return err
	}
	r.prog.Errors++
	r.lastErr = err.Error()
	r.cp.LastError = r.lastErr
	r.cp.UpdatedAt = r.a.now()
	r.a.log.Warn("archive: backfill stopped; it resumes on the next run", "feed_url", r.cp.FeedURL, "site", r.cp.Site, "error", err)
	if serr := r.a.store.SaveCheckpoint(ctx, r.cp); serr != nil {
		err = errors.Join(err, fmt.Errorf("archive: save checkpoint of %s: %w", r.cp.FeedURL, serr))
	}
	r.a.setStatus(r.cp, StateError)
	r.report(r.lastErr)
	return fmt.Errorf("archive: %s: %w", r.cp.FeedURL, err)
}

// markSeen records key and reports whether it was new to this run.
func (r *run) markSeen(key string) bool {
	h := maphash.String(r.seed, key)
	if _, ok := r.seen[h]; ok {
		return false
	}
	r.seen[h] = struct{}{}
	return true
}
