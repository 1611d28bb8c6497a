package related_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/related"
	"github.com/newsbot/newsbot/sqlite"
)

// The quality harness measures relatedness the way members meet it: the
// corpus is served as feeds over HTTP, the real poller stores it in SQLite,
// the index is synced from the store by the entry point the running bot
// calls (a Syncer, by the store's change counter), and each answer is the one /related gives for the article's link.
// The baselines rank the same stored texts in the same run.

// botCorpus is a corpus as the running bot holds it.
type botCorpus struct {
	ix   *related.Index
	arts []articles.Article // as stored, by ID
}

// throughBot serves feeds (file name -> RSS XML) over HTTP, polls them
// into a new SQLite database, syncs a new index from it and returns both.
func throughBot(tb testing.TB, feeds map[string][]byte) botCorpus {
	tb.Helper()
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := feeds[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		_, _ = w.Write(b)
	}))
	tb.Cleanup(srv.Close)
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "newsbot.db"))
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })

	names := make([]string, 0, len(feeds))
	for name := range feeds {
		names = append(names, name)
	}
	slices.Sort(names)
	urls := make([]string, len(names))
	for i, name := range names {
		urls[i] = srv.URL + "/" + name
	}
	p := articles.NewPoller(db, articles.NewFetcher(srv.Client()), urls, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, res := range p.PollAll(ctx) {
		if res.Err != nil || res.Seen == 0 {
			tb.Fatalf("poll %s: %d items, error %v", res.URL, res.Seen, res.Err)
		}
	}
	ix := related.New()
	if _, err := related.NewSyncer(ix, db).Sync(ctx); err != nil {
		tb.Fatalf("index sync: %v", err)
	}
	var arts []articles.Article
	if err := db.EachArticle(ctx, 0, func(a articles.Article) error {
		arts = append(arts, a)
		return nil
	}); err != nil {
		tb.Fatalf("read store: %v", err)
	}
	if ix.Len() != len(arts) {
		tb.Fatalf("index holds %d articles, the store %d", ix.Len(), len(arts))
	}
	return botCorpus{ix: ix, arts: arts}
}

// ranker returns the links (canonical URLs) of the articles related to the
// stored article q, best first, at most k.
type ranker func(q int, k int) []string

// engine answers as /related does for the article's link; the article must
// be the one the answer is about ("Related to: its title").
func (c botCorpus) engine(tb testing.TB) ranker {
	return func(q, k int) []string {
		a := c.arts[q]
		hits, named, ok := c.ix.Resolve(a.URL, k)
		if !ok || named.ID != a.ID {
			tb.Fatalf("/related %s: not answered as the stored article %d %q (named %+v)", a.URL, a.ID, a.Title, named)
		}
		out := make([]string, len(hits))
		for i, h := range hits {
			out[i] = articles.CanonicalURL(h.URL)
		}
		return out
	}
}

const atK = 5

// topicPrecision is the mean, over the articles with a label, of the share
// of atK answers that share a label with the query (fewer answers count as
// misses), and the mean number of answers.
func topicPrecision(arts []articles.Article, labels map[string][]string, rank ranker) (precision, returned float64) {
	var sum float64
	var n, got int
	for q, a := range arts {
		mine := labels[articles.CanonicalURL(a.URL)]
		if len(mine) == 0 {
			continue
		}
		hits := rank(q, atK)
		got += len(hits)
		shared := 0
		for _, h := range hits {
			for _, l := range labels[h] {
				if slices.Contains(mine, l) {
					shared++
					break
				}
			}
		}
		sum += float64(shared) / atK
		n++
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), float64(got) / float64(n)
}

// linkRecall is the mean, over the articles that link to others, of the
// share of those (at most atK) found among the atK answers.
func linkRecall(arts []articles.Article, links map[string][]string, rank ranker) float64 {
	var sum float64
	var n int
	for q, a := range arts {
		want := links[articles.CanonicalURL(a.URL)]
		if len(want) == 0 {
			continue
		}
		found := 0
		for _, h := range rank(q, atK) {
			if slices.Contains(want, h) {
				found++
			}
		}
		sum += float64(found) / float64(min(atK, len(want)))
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
