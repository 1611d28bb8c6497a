package sqlite

import (
	"context"
	"fmt"

	"github.com/newsbot/newsbot/articles"
)

// The revs themselves are handed out by the triggers of migration 0003, so
// that every write path (and every process) takes one.

var _ articles.ChangeReader = (*DB)(nil)

// MaxRev returns the highest article rev handed out so far.
func (db *DB) MaxRev(ctx context.Context) (int64, error) {
	var rev int64
	if err := db.db.QueryRowContext(ctx, "SELECT rev FROM article_rev WHERE id = 1").Scan(&rev); err != nil {
		return 0, fmt.Errorf("sqlite: max rev: %w", err)
	}
	return rev, nil
}

// EachChanged calls fn for every article whose rev is above afterRev, in rev
// order. Like EachArticle it reads pages of rows and calls fn with no query
// open; an article changed while the walk runs comes again at its new rev.
func (db *DB) EachChanged(ctx context.Context, afterRev int64, fn func(rev int64, a articles.Article) error) error {
	const page = 256
	type change struct {
		rev int64
		a   articles.Article
	}
	batch := make([]change, 0, page)
	for {
		batch = batch[:0]
		rows, err := db.db.QueryContext(ctx,
			"SELECT rev, "+articleColumns+" FROM articles WHERE rev > ? ORDER BY rev LIMIT ?", afterRev, page)
		if err != nil {
			return fmt.Errorf("sqlite: each changed: %w", err)
		}
		for rows.Next() {
			var c change
			c.a, err = scanArticle(revScanner{rows, &c.rev})
			if err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: each changed: %w", err)
			}
			batch = append(batch, c)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("sqlite: each changed: %w", err)
		}
		for _, c := range batch {
			if err := fn(c.rev, c.a); err != nil {
				return err
			}
			afterRev = c.rev
		}
		if len(batch) < page {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// revScanner reads a leading rev column, then hands the rest to
// scanArticle.
type revScanner struct {
	s   scanner
	rev *int64
}

func (r revScanner) Scan(dest ...any) error {
	return r.s.Scan(append([]any{r.rev}, dest...)...)
}
