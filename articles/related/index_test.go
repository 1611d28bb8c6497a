package related

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/newsbot/newsbot/articles"
)

var day0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func art(id int64, slug, title, text string, cats ...string) articles.Article {
	return articles.Article{
		ID: id, Site: "example.com", URL: "https://example.com/" + slug + "/", Title: title, Text: text,
		Categories: cats, Published: day0.Add(time.Duration(id) * 24 * time.Hour),
	}
}

// small is a tiny site: three articles on garbage collection, two on
// generics, one on a conference, one on gardening.
func small() []articles.Article {
	return []articles.Article{
		art(1, "gc-intro", "Getting to know the garbage collector", "The garbage collector frees memory the program no longer uses. Collection pauses and heap size trade off.", "runtime"),
		art(2, "gc-tuning", "Tuning garbage collection pauses", "Tuning the collector: the heap target, memory limits and pauses of the garbage collection cycle.", "runtime"),
		art(3, "gc-memory-limit", "A soft memory limit for the garbage collector", "The memory limit bounds the heap; the garbage collector runs more often near the limit to avoid pauses.", "runtime"),
		art(4, "generics-intro", "An introduction to generics", "Generics add type parameters to functions and types. Type parameters have constraints.", "language"),
		art(5, "generics-constraints", "Type parameter constraints explained", "Constraints say which types a type parameter accepts; generic functions use them.", "language"),
		art(6, "conference", "Our conference in Berlin", "Talks, workshops and a party: the community met in Berlin for three days.", "community"),
		art(7, "garden", "Tomatoes on the balcony", "Watering tomatoes every morning keeps the plants happy in summer heat.", "misc"),
	}
}

func newSmall(t testing.TB) *Index {
	ix := New()
	for _, a := range small() {
		ix.Add(a)
	}
	return ix
}

func ids(hits []Hit) []int64 {
	var out []int64
	for _, h := range hits {
		out = append(out, h.ID)
	}
	return out
}

func has(hits []Hit, id int64) bool {
	for _, h := range hits {
		if h.ID == id {
			return true
		}
	}
	return false
}

func TestRelatedBasics(t *testing.T) {
	ix := newSmall(t)
	got := ix.Related(1, 5)
	if len(got) == 0 || has(got, 1) {
		t.Fatalf("Related(1) = %v: want others, never itself", ids(got))
	}
	if !has(got, 2) || !has(got, 3) {
		t.Errorf("Related(1) = %v: want the other garbage collection articles 2 and 3", ids(got))
	}
	if has(got, 7) || has(got, 6) {
		t.Errorf("Related(1) = %v: the gardening and conference articles are junk here", ids(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].Score > got[i-1].Score {
			t.Errorf("not best first: %v", got)
		}
	}
	if got := ix.Related(99, 5); got != nil {
		t.Errorf("Related(unknown) = %v, want nil", got)
	}
	if got := ix.Related(1, 0); got != nil {
		t.Errorf("Related(n=0) = %v, want nil", got)
	}
	if got := ix.Related(1, 1); len(got) != 1 {
		t.Errorf("Related(n=1) gave %d hits", len(got))
	}
	if got := ix.Related(7, 5); len(got) != 0 {
		t.Errorf("Related(garden) = %v: nothing is related, want none", ids(got))
	}
}

func TestQueryForms(t *testing.T) {
	ix := newSmall(t)
	want := ids(ix.Related(4, 5))
	if len(want) == 0 {
		t.Fatal("no related articles for 4")
	}
	for _, q := range []string{
		"https://example.com/generics-intro/",
		"https://example.com/generics-intro",
		"http://example.com/generics-intro?utm_source=x&utm_medium=y",
		"https://www.example.com/generics-intro/#top",
		"  HTTPS://EXAMPLE.COM/generics-intro/ ",
		"example.com/generics-intro",
		"An introduction to generics",
		"an INTRODUCTION to   generics",
		"id:4",
		"ID: 4",
	} {
		hits, named, ok := ix.Resolve(q, 5)
		if !ok || named.ID != 4 {
			t.Errorf("Resolve(%q) named %v (%v), want article 4", q, named.ID, ok)
		}
		if fmt.Sprint(ids(hits)) != fmt.Sprint(want) {
			t.Errorf("Query(%q) = %v, want %v", q, ids(hits), want)
		}
	}
	// Newest article for "".
	hits, named, ok := ix.Resolve("", 5)
	if !ok || named.ID != 7 || has(hits, 7) {
		t.Errorf(`Resolve("") named %d (%v) hits %v, want the newest (7), not itself`, named.ID, ok, ids(hits))
	}
	// Free text.
	hits, _, ok = ix.Resolve("memory limit", 5)
	if ok || len(hits) == 0 || hits[0].ID != 3 {
		t.Errorf("free text 'memory limit' = %v (named %v), want 3 first", ids(hits), ok)
	}
	for _, q := range []string{"xyzzy plugh", "the and of", "!!!", "id:99"} {
		if hits := ix.Query(q, 5); len(hits) != 0 {
			t.Errorf("Query(%q) = %v, want nothing", q, ids(hits))
		}
	}
	// An unknown URL is searched by its slug.
	if hits := ix.Query("https://example.com/blog/garbage-collector-pauses?utm_source=x", 5); len(hits) == 0 || (hits[0].ID != 1 && hits[0].ID != 2 && hits[0].ID != 3) {
		t.Errorf("unknown URL: %v, want garbage collection articles", ids(hits))
	}
	if got := New().Query("", 5); got != nil {
		t.Errorf("empty index: %v", got)
	}
}

func TestSignals(t *testing.T) {
	base := []articles.Article{
		art(1, "a", "Release notes for version one", "The release brings faster builds and a new installer."),
		art(2, "b", "Release party photos", "Photos of the release party with the team and cake."),
		art(3, "c", "Faster builds with the new cache", "The build cache makes builds faster; the installer is smaller."),
		art(4, "d", "Installer changes in the release", "The new installer in this release, and builds that are faster."),
	}
	score := func(arts []articles.Article, from, to int64) float64 {
		ix := New()
		for _, a := range arts {
			ix.Add(a)
		}
		for _, h := range ix.Related(from, 10) {
			if h.ID == to {
				return h.Score
			}
		}
		return 0
	}
	plain := score(base, 1, 3)
	if plain == 0 {
		t.Fatal("3 not related to 1 on text")
	}
	// A link from 1 to 3 (twice, with variants: counted once) raises it.
	linked := append([]articles.Article(nil), base...)
	linked[0].Links = []string{"https://example.com/c", "http://example.com/c/?utm_source=feed"}
	if s := score(linked, 1, 3); s <= plain {
		t.Errorf("direct link: %.4f, want > %.4f", s, plain)
	}
	once := append([]articles.Article(nil), base...)
	once[0].Links = []string{"https://example.com/c"}
	if a, b := score(linked, 1, 3), score(once, 1, 3); math.Abs(a-b) > 1e-9 {
		t.Errorf("duplicate links count more than once: %.4f vs %.4f", a, b)
	}
	// Both linking to the same page raises it too.
	coupled := append([]articles.Article(nil), base...)
	coupled[0].Links = []string{"https://example.com/docs/install"}
	coupled[2].Links = []string{"https://example.com/docs/install"}
	if s := score(coupled, 1, 3); s <= plain {
		t.Errorf("shared link target: %.4f, want > %.4f", s, plain)
	}
	// A shared category raises it.
	tagged := append([]articles.Article(nil), base...)
	tagged[0].Categories = []string{"Builds"}
	tagged[2].Categories = []string{"builds "}
	tagged[1].Categories = []string{"party"}
	if s := score(tagged, 1, 3); s <= plain {
		t.Errorf("shared category: %.4f, want > %.4f", s, plain)
	}
}

func TestAddReplaceAndDuplicates(t *testing.T) {
	ix := newSmall(t)
	// Replacing article 7 with a garbage collection story makes it related.
	ix.Add(art(7, "garden", "Garbage collector pauses in the garden service", "Our garden service saw garbage collection pauses until we set a memory limit for the heap."))
	if ix.Len() != 7 {
		t.Errorf("Len = %d after replace, want 7", ix.Len())
	}
	if !has(ix.Related(1, 5), 7) {
		t.Errorf("replaced article 7 not related to 1: %v", ids(ix.Related(1, 5)))
	}
	if hits := ix.Query("tomatoes", 5); len(hits) != 0 {
		t.Errorf("old text still indexed: %v", ids(hits))
	}
	// The same URL stored twice (another ID) is listed once.
	dup := art(8, "gc-tuning", "Tuning garbage collection pauses", "Tuning the collector: the heap target, memory limits and pauses of the garbage collection cycle.")
	ix.Add(dup)
	hits := ix.Related(1, 5)
	seen := map[string]int{}
	for _, h := range hits {
		seen[articles.CanonicalURL(h.URL)]++
		if seen[articles.CanonicalURL(h.URL)] > 1 {
			t.Errorf("URL %s listed twice: %v", h.URL, hits)
		}
	}
	// An article is never related to itself, even by its URL twin.
	for _, h := range ix.Related(8, 5) {
		if articles.CanonicalURL(h.URL) == articles.CanonicalURL(dup.URL) {
			t.Errorf("Related(8) lists its own URL: %v", hits)
		}
	}
}

func TestRelatedTo(t *testing.T) {
	ix := newSmall(t)
	a := articles.Article{ID: 100, URL: "https://example.com/new-gc", Title: "The garbage collector, revisited", Text: "Pauses, heap and memory limits of the garbage collector."}
	hits := ix.RelatedTo(a, 3)
	if len(hits) == 0 || hits[0].ID > 3 {
		t.Errorf("RelatedTo(new gc article) = %v", ids(hits))
	}
	// Indexed: same as Related, never itself.
	if got, want := ids(ix.RelatedTo(small()[0], 5)), ids(ix.Related(1, 5)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("RelatedTo(indexed) = %v, want %v", got, want)
	}
}

type memReader struct{ arts []articles.Article }

func (m *memReader) EachArticle(ctx context.Context, after int64, fn func(articles.Article) error) error {
	for _, a := range m.arts {
		if a.ID > after {
			if err := fn(a); err != nil {
				return err
			}
		}
	}
	return nil
}
func (m *memReader) ArticleByID(context.Context, int64) (articles.Article, error) {
	return articles.Article{}, articles.ErrNotFound
}
func (m *memReader) ArticleByURL(context.Context, string) (articles.Article, error) {
	return articles.Article{}, articles.ErrNotFound
}
func (m *memReader) CountArticles(context.Context) (map[string]int, error) { return nil, nil }

func TestSync(t *testing.T) {
	r := &memReader{arts: small()[:4]}
	ix := New()
	if err := ix.Sync(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 4 || ix.MaxID() != 4 {
		t.Fatalf("after Sync: %d articles, max id %d", ix.Len(), ix.MaxID())
	}
	r.arts = small()
	if err := ix.Sync(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 7 {
		t.Errorf("after second Sync: %d articles, want 7", ix.Len())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.arts = append(r.arts, art(8, "x", "x", "x"))
	if err := ix.Sync(ctx, r); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Sync: %v", err)
	}
}

func TestComplete(t *testing.T) {
	ix := newSmall(t)
	ix.Add(art(8, "cafe", "Café Über Alles: a Zürich meetup", "Coffee and talks."))
	long := strings.Repeat("A very long title about garbage collection ", 5)
	ix.Add(art(9, "long", long, "garbage"))
	ix.Add(art(10, "dup1", "Weekly notes", "notes one"))
	ix.Add(art(11, "dup2", "Weekly Notes", "notes two"))
	ix.Add(art(12, "urlish", "example.com/generics-intro", "a title that looks like a link"))
	ix.Add(art(13, "gday", "Garbage day", "bins"))

	names := func(s []Suggestion) []string {
		var out []string
		for _, x := range s {
			out = append(out, x.Name)
		}
		return out
	}
	if got := ix.Complete("CAFÉ ü", 25); len(got) != 1 || got[0].Name != "Café Über Alles: a Zürich meetup" {
		t.Errorf("accented upper-case prefix: %v", names(got))
	}
	if got := ix.Complete("zur", 25); len(got) != 1 || got[0].Value != "Café Über Alles: a Zürich meetup" {
		t.Errorf("word prefix: %v", got)
	}
	got := ix.Complete("garb", 25)
	if len(got) < 2 || got[0].Name != "Garbage day" {
		t.Errorf("title prefixes first: %v", names(got))
	}
	if got := ix.Complete("coll garb", 25); len(got) < 3 {
		t.Errorf("two word prefixes: %v", names(got))
	}
	if got := ix.Complete("", 3); len(got) != 3 || got[0].Value != "Garbage day" || got[1].Value != "id:12" {
		t.Errorf(`Complete("") = %v, want the 3 newest`, got)
	}
	if got := ix.Complete("garb", 2); len(got) != 2 {
		t.Errorf("n=2 gave %d", len(got))
	}
	if got := ix.Complete("qqq", 25); len(got) != 0 {
		t.Errorf("no match: %v", got)
	}
	if got := ix.Complete("a", 100); len(got) > MaxSuggestions {
		t.Errorf("more than 25: %d", len(got))
	}
	// Every value answers for its very article; names and values fit.
	for _, prefix := range []string{"", "a", "weekly", "a very", "example", "garb", "café"} {
		for _, s := range ix.Complete(prefix, 25) {
			if n := utf8.RuneCountInString(s.Name); n == 0 || n > 100 {
				t.Errorf("name %q: %d runes", s.Name, n)
			}
			if n := utf8.RuneCountInString(s.Value); n == 0 || n > 100 {
				t.Errorf("value %q: %d runes", s.Value, n)
			}
			_, named, ok := ix.Resolve(s.Value, 5)
			if !ok || !strings.HasPrefix(s.Name, strings.TrimSuffix(articles.Excerpt(named.Title, 60), "…")) {
				t.Errorf("value %q of %q resolves to %q (%v)", s.Value, s.Name, named.Title, ok)
			}
		}
	}
	for _, s := range ix.Complete("weekly", 25) {
		if !strings.HasPrefix(s.Value, "id:") {
			t.Errorf("duplicate title needs an id value: %+v", s)
		}
	}
	for _, s := range ix.Complete("a very", 25) {
		if !strings.HasSuffix(s.Name, "…") || s.Value != "id:9" {
			t.Errorf("long title: %+v", s)
		}
	}
}

func TestCompleteTailAndSnapshot(t *testing.T) {
	ix := New()
	for i := 1; i <= 3000; i++ {
		ix.Add(art(int64(i), fmt.Sprintf("p%d", i), fmt.Sprintf("Post number %d about topic %d", i, i%17), "words"))
		if i == 10 {
			ix.Prepare()
		}
		if i%1000 == 0 || i == 11 {
			want := fmt.Sprintf("Post number %d about topic %d", i, i%17)
			found := false
			for _, s := range ix.Complete(want, 25) {
				found = found || s.Value == want
			}
			if !found {
				t.Fatalf("article %d not suggested for its title", i)
			}
		}
	}
}

func TestConcurrent(t *testing.T) {
	ix := newSmall(t)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				switch i % 4 {
				case 0:
					ix.Add(art(int64(100+g*1000+i), fmt.Sprintf("c%d-%d", g, i), "Garbage collector news", "pauses and heap"))
				case 1:
					ix.Related(1, 5)
				case 2:
					ix.Query("garbage pauses", 5)
				default:
					ix.Complete("garb", 25)
				}
			}
		}(g)
	}
	wg.Wait()
	if ix.Len() != 7+4*50 {
		t.Errorf("Len = %d", ix.Len())
	}
}

func TestStem(t *testing.T) {
	for in, want := range map[string]string{
		"consign": "consign", "consigned": "consign", "consigning": "consign", "generously": "generous",
		"running": "run", "caresses": "caress", "ponies": "poni", "ties": "tie", "cats": "cat",
		"happy": "happi", "relational": "relat", "hopeful": "hope", "goodness": "good",
		"adjustment": "adjust", "skies": "sky", "dying": "die", "news": "news", "hoping": "hope",
		"hopping": "hop", "abilities": "abil", "agreed": "agre", "cried": "cri", "troubled": "troubl",
		"sized": "size", "generation": "generat", "communication": "communic", "collector": "collector",
		"collection": "collect", "collecting": "collect", "packages": "packag", "go": "go", "x86": "x86",
	} {
		if got := stem(in); got != want {
			t.Errorf("stem(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzQuery(f *testing.F) {
	ix := newSmall(f)
	for _, s := range []string{"", "id:", "id:-1", "https://", "http://[::1", "example.com/", "Café", "\xff\xfe", "garb coll", strings.Repeat("a ", 500)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		for _, h := range ix.Query(q, 5) {
			if h.ID == 0 {
				t.Fatalf("hit without id: %+v", h)
			}
		}
		for _, s := range ix.Complete(q, 25) {
			if utf8.RuneCountInString(s.Name) > 100 || utf8.RuneCountInString(s.Value) > 100 || s.Name == "" {
				t.Fatalf("bad suggestion %+v", s)
			}
		}
		_ = stem(strings.ToLower(q))
	})
}

func TestWrittenSummary(t *testing.T) {
	text := "Go 1.22 ships today. It brings range over integers and more."
	cases := []struct {
		summary string
		want    bool
	}{
		{"", false},
		{"Go 1.22 ships today. It brings…", false},        // an excerpt of the text
		{"go 1.22 SHIPS today.", false},                   // the same words, other case
		{"A new release with range over integers.", true}, // written for the article
		{text + " And a longer abstract than the text.", true},
	}
	for _, tc := range cases {
		if got := writtenSummary(tc.summary, text); got != tc.want {
			t.Errorf("writtenSummary(%q) = %v, want %v", tc.summary, got, tc.want)
		}
	}
}
