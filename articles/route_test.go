package articles

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestPlanDeliveries(t *testing.T) {
	const feed = "https://ex.com/feed"
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var items []RouteItem // feed order: newest first
	for i := 6; i >= 1; i-- {
		items = append(items, RouteItem{ID: int64(i), Article: Article{Title: fmt.Sprintf("post %d", i)},
			Published: base.Add(time.Duration(i) * time.Hour), NewToFeed: i >= 5})
	}
	even := Filter{Include: &Match{Words: []string{"2", "4", "6"}}}
	routes := []Route{
		{Name: "even", Feeds: []string{feed}, ChannelID: "a", Filter: even},
		{Name: "all", Feeds: []string{feed}, ChannelID: "a"},
		{Name: "seen-even", Feeds: []string{feed}, ChannelID: "b", Filter: even},
		{Name: "other", Feeds: []string{"https://ex.com/other"}, ChannelID: "c"},
	}
	seenBefore := map[string]bool{"b": true}
	plan, first, err := PlanDeliveries(feed, routes, items, 2, func(ch string) (bool, error) { return !seenBefore[ch], nil })
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range plan {
		got = append(got, fmt.Sprintf("%d>%s", d.ArticleID, d.Route.Name))
	}
	// a: first sight, the newest 2 any of its routes accepts (6, 5), each to
	// every route accepting it; b: only new items it accepts (6).
	want := []string{"6>even", "6>all", "5>all", "6>seen-even"}
	if !slices.Equal(got, want) {
		t.Errorf("plan %v, want %v", got, want)
	}
	if !slices.Equal(first, []string{"a"}) {
		t.Errorf("first sight %v, want [a]", first)
	}
}

// BenchmarkPlanDeliveries: a feed's first poll (100 items) through 5
// filtered routes to 3 channels.
func BenchmarkPlanDeliveries(b *testing.B) {
	const feed = "https://ex.com/feed"
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	items := make([]RouteItem, 100)
	for i := range items {
		items[i] = RouteItem{ID: int64(i), Published: base.Add(-time.Duration(i) * time.Hour), NewToFeed: true,
			Article: Article{Title: fmt.Sprintf("Release notes for Go 1.%d", i), Summary: "Security fixes and a faster garbage collector.",
				Categories: []string{"Releases", "Security"}}}
	}
	f := Filter{Include: &Match{Categories: []string{"security"}, Words: []string{"garbage collector"}}, Exclude: Match{Categories: []string{"Sponsored"}}}
	routes := []Route{
		{Name: "a", Feeds: []string{feed}, ChannelID: "1", Filter: f}, {Name: "b", Feeds: []string{feed}, ChannelID: "1"},
		{Name: "c", Feeds: []string{feed}, ChannelID: "2", Filter: f}, {Name: "d", Feeds: []string{feed}, ChannelID: "3", Filter: f},
		{Name: "e", Feeds: []string{feed}, ChannelID: "3", Filter: f},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := PlanDeliveries(feed, routes, items, 3, func(string) (bool, error) { return false, nil }); err != nil {
			b.Fatal(err)
		}
	}
}
