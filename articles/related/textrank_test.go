package related

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/newsbot/newsbot/articles"
)

// Short news stories on four topics, each told in its own words plus a few
// words every topic uses; no categories, no links.
var textTopics = [][]string{
	strings.Fields("cocoa harvest beans growers bahia ivory coast crop rains arrivals exporters grindings butter tonnes season mid-crop"),
	strings.Fields("crude oil barrels opec output refinery pipeline drilling brent gasoline reserves wells offshore production quota"),
	strings.Fields("election ballot voters candidate campaign parliament senate polls coalition minister referendum turnout mandate party"),
	strings.Fields("hockey playoffs goalie puck rink overtime penguins stanley cup skating defenceman power-play shutout league"),
}

var textCommon = strings.Fields("said year week market report officials expected statement monday tuesday")

func textStories(n int) []articles.Article {
	rng := rand.New(rand.NewPCG(7, 14))
	pick := func(words []string, k int) string {
		out := make([]string, k)
		for i := range out {
			out[i] = words[rng.IntN(len(words))]
		}
		return strings.Join(out, " ")
	}
	out := make([]articles.Article, n)
	for i := range out {
		topic := textTopics[i%len(textTopics)]
		out[i] = art(int64(i+1), fmt.Sprintf("story-%d", i+1), pick(topic, 4),
			pick(topic, 12)+" "+pick(textCommon, 6)+".")
	}
	return out
}

func indexOf(arts []articles.Article) *Index {
	ix := New()
	for _, a := range arts {
		ix.Add(a)
	}
	return ix
}

// The engine ranks by text alone only when the corpus offers nothing else
// and its articles are short, in an index large enough to tell.
func TestTextAloneChosenByCorpus(t *testing.T) {
	stories := textStories(200)
	if !indexOf(stories).textAlone() {
		t.Error("short stories without categories or links: not ranked by text alone")
	}
	if indexOf(stories[:50]).textAlone() {
		t.Error("50 stories: ranked by text alone, too few to tell")
	}
	tagged := textStories(200)
	for i := 0; i < len(tagged); i += 10 {
		tagged[i].Categories = []string{"news"}
	}
	if indexOf(tagged).textAlone() {
		t.Error("one story in ten has categories: ranked by text alone")
	}
	linked := textStories(200)
	for i := 0; i < len(linked); i += 10 {
		linked[i].Links = []string{"https://example.com/story-1/"}
	}
	if indexOf(linked).textAlone() {
		t.Error("one story in ten links: ranked by text alone")
	}
	long := textStories(200)
	for i := range long {
		long[i].Text = strings.Repeat(long[i].Text+" ", 20)
	}
	if indexOf(long).textAlone() {
		t.Error("long articles: ranked by text alone")
	}
	// Replacing the tagged stories with untagged ones brings it back.
	ix := indexOf(tagged)
	for i := 0; i < len(tagged); i += 10 {
		ix.Add(stories[i])
	}
	if !ix.textAlone() {
		t.Error("categories gone after edits: not ranked by text alone")
	}
}

func TestTextAloneRanksByTopic(t *testing.T) {
	stories := textStories(400)
	ix := indexOf(stories)
	for _, q := range []int{0, 1, 2, 3, 101, 202, 303} {
		hits := ix.Related(stories[q].ID, 5)
		if len(hits) != 5 {
			t.Fatalf("story %d: %d hits, want 5", q+1, len(hits))
		}
		for _, h := range hits {
			if h.ID == stories[q].ID {
				t.Errorf("story %d is related to itself", q+1)
			}
			if (h.ID-1)%int64(len(textTopics)) != int64(q%len(textTopics)) {
				t.Errorf("story %d (topic %d): hit %d is on topic %d", q+1, q%len(textTopics), h.ID, (h.ID-1)%int64(len(textTopics)))
			}
		}
	}
	// A story not yet indexed (a post about to be sent) is ranked the same
	// way, without itself.
	fresh := art(1000, "story-new", "opec crude output quota", "Refinery and pipeline news: brent gasoline drilling offshore wells, said officials.")
	hits := ix.RelatedTo(fresh, 5)
	if len(hits) != 5 {
		t.Fatalf("RelatedTo: %d hits, want 5", len(hits))
	}
	for _, h := range hits {
		if (h.ID-1)%int64(len(textTopics)) != 1 {
			t.Errorf("RelatedTo an oil story: hit %d is on topic %d", h.ID, (h.ID-1)%int64(len(textTopics)))
		}
	}
}

// A story whose words match nothing well gets no links, and feedback does
// not turn a weak match into one.
func TestTextAloneNoWeakLinks(t *testing.T) {
	stories := textStories(400)
	odd := art(401, "odd", "Tomatoes on the balcony", "Watering tomatoes every morning keeps the basil and chillies happy, said the gardener.")
	ix := indexOf(append(stories, odd))
	if !ix.textAlone() {
		t.Fatal("not ranked by text alone")
	}
	if hits := ix.Related(odd.ID, 5); len(hits) != 0 {
		t.Errorf("a story sharing only common words got links: %v", ids(hits))
	}
	stranger := art(0, "stranger", "Quantum knitting", "Entangled yarn loops, said nobody.")
	if hits := ix.RelatedTo(stranger, 5); len(hits) != 0 {
		t.Errorf("an unindexed story sharing only a common word got links: %v", ids(hits))
	}
	nothing := art(0, "nothing", "Zyxx qwyrt", "Vlorp glent.")
	if hits := ix.RelatedTo(nothing, 5); hits != nil {
		t.Errorf("a story with no known word got links: %v", ids(hits))
	}
}
