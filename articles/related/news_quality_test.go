package related_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/newsbot/newsbot/articles"
)

// newsCorpusDir is where internal/newscorpus writes the news development
// corpus: $NEWSBOT_NEWS_CORPUS, else testdata/news.
func newsCorpusDir() string {
	if d := os.Getenv("NEWSBOT_NEWS_CORPUS"); d != "" {
		return d
	}
	return filepath.Join("testdata", "news")
}

// loadNewsCorpus reads the built news corpus: its feeds by file name and
// each story's topic by canonical URL. It skips the test when the corpus
// has not been built (it is not in the repository).
func loadNewsCorpus(tb testing.TB) (feeds map[string][]byte, topics map[string][]string) {
	tb.Helper()
	dir := newsCorpusDir()
	lf, err := os.ReadFile(filepath.Join(dir, "labels.tsv"))
	if err != nil {
		tb.Skipf("news corpus not built (%v): see internal/newscorpus/ATTRIBUTION.md to build it", err)
	}
	topics = map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(lf))
	for sc.Scan() {
		u, topic, ok := strings.Cut(sc.Text(), "\t")
		if !ok || topic == "" {
			tb.Fatalf("news corpus: labels.tsv: bad line %q", sc.Text())
		}
		topics[articles.CanonicalURL(u)] = []string{topic}
	}
	names, err := filepath.Glob(filepath.Join(dir, "feed-*.xml"))
	if err != nil || len(names) == 0 {
		tb.Fatalf("news corpus: no feed-*.xml in %s", dir)
	}
	feeds = map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			tb.Fatal(err)
		}
		feeds[filepath.Base(n)] = b
	}
	return feeds, topics
}

// TestQualityNews measures topic-precision@5 on news text (title and body,
// no categories, no links) through the bot's path, against TF-IDF and BM25
// on the same stored texts: the engine must beat BM25 by at least 0.01, and
// TF-IDF.
func TestQualityNews(t *testing.T) {
	feeds, topics := loadNewsCorpus(t)
	c := throughBot(t, feeds)
	for _, a := range c.arts {
		if len(topics[articles.CanonicalURL(a.URL)]) == 0 {
			t.Fatalf("stored article %s has no topic in labels.tsv: rebuild the corpus", a.URL)
		}
	}
	b := newBaseline(c.arts)
	tfidf, _ := topicPrecision(c.arts, topics, b.tfidf())
	bm25, _ := topicPrecision(c.arts, topics, b.bm25(30))
	bm25All, _ := topicPrecision(c.arts, topics, b.bm25(0))
	bm25Counts, _ := topicPrecision(c.arts, topics, b.bm25Counts())
	eng, returned := topicPrecision(c.arts, topics, c.engine(t))
	t.Logf("news corpus: %d stories, %d feeds", len(c.arts), len(feeds))
	t.Logf("topic-precision@5: TF-IDF %.3f  BM25 %.3f  BM25 (all terms) %.3f  BM25 (term counts) %.3f  engine %.3f (avg returned %.2f)",
		tfidf, bm25, bm25All, bm25Counts, eng, returned)
	// BM25 queried with the article's 30 heaviest terms, with all of them,
	// or with its whole text: the engine must beat each.
	if best := max(bm25, bm25All, bm25Counts); eng < best+0.01 {
		t.Errorf("engine topic-precision@5 %.3f does not beat BM25 %.3f by 0.01", eng, best)
	}
	if eng <= tfidf {
		t.Errorf("engine topic-precision@5 %.3f does not beat TF-IDF %.3f", eng, tfidf)
	}
}
