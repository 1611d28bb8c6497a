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
