package articles

import (
	"strings"
	"testing"
)

func TestFilterAccepts(t *testing.T) {
	sec := Article{Title: "Fixing a Vulnerability in net/http", Summary: "Go 1.27 ships the fix.", Categories: []string{"Sécurité", "Release  Notes"}}
	sponsored := Article{Title: "Our sponsor", Summary: "Buy things", Categories: []string{"Sponsored"}}
	tests := []struct {
		name string
		f    Filter
		a    Article
		want bool
	}{
		{"no filter takes all", Filter{}, sponsored, true},
		{"category folded", Filter{Include: &Match{Categories: []string{"securite"}}}, sec, true},
		{"category whole name only", Filter{Include: &Match{Categories: []string{"Release"}}}, sec, false},
		{"category spaces collapsed", Filter{Include: &Match{Categories: []string{"release notes"}}}, sec, true},
		{"word in title", Filter{Include: &Match{Words: []string{"VULNERABILITY"}}}, sec, true},
		{"word whole only", Filter{Include: &Match{Words: []string{"vulnerab"}}}, sec, false},
		{"phrase in summary", Filter{Include: &Match{Words: []string{"go 1.27"}}}, sec, true},
		{"phrase must be whole", Filter{Include: &Match{Words: []string{"go 1.2"}}}, sec, false},
		{"phrase does not span title and summary", Filter{Include: &Match{Words: []string{"http go"}}}, sec, false},
		{"include any entry", Filter{Include: &Match{Categories: []string{"Nope"}, Words: []string{"fix"}}}, sec, true},
		{"include none", Filter{Include: &Match{Categories: []string{"Nope"}}}, sec, false},
		{"exclude wins over include", Filter{Include: &Match{Words: []string{"sponsor"}}, Exclude: Match{Categories: []string{"SPONSORED"}}}, sponsored, false},
		{"exclude by word", Filter{Exclude: Match{Words: []string{"buy"}}}, sponsored, false},
		{"exclude other", Filter{Exclude: Match{Categories: []string{"Sponsored"}}}, sec, true},
		{"accent in entry", Filter{Include: &Match{Words: []string{"fíx"}}}, sec, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Accepts(tt.a); got != tt.want {
				t.Errorf("Accepts = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzFilter(f *testing.F) {
	f.Add("Go 1.27 ships", "Sécurité", "go 1.27", "securite")
	f.Add("", "", "", "")
	f.Add("a\u0301 b", "x", "á", "X")
	f.Fuzz(func(t *testing.T, title, category, word, exclude string) {
		a := Article{Title: title, Summary: title, Categories: []string{category}}
		in := Filter{Include: &Match{Words: []string{word}, Categories: []string{category}}}
		if category != "" && !in.Accepts(a) {
			t.Errorf("an article is not accepted by its own category %q", category)
		}
		both := in
		both.Exclude = Match{Categories: []string{category}}
		if category != "" && FoldName(category) != "" && both.Accepts(a) {
			t.Errorf("exclude %q did not win over include", category)
		}
		_ = Filter{Exclude: Match{Words: []string{exclude}}}.Accepts(a)
	})
}

func BenchmarkFilterAccepts(b *testing.B) {
	f := Filter{
		Include: &Match{Categories: []string{"Security", "Release Notes"}, Words: []string{"vulnerability", "go 1.27", "generics"}},
		Exclude: Match{Categories: []string{"Sponsored"}, Words: []string{"advertisement"}},
	}
	a := Article{
		Title:      "An overview of the new garbage collector in Go 1.27",
		Summary:    strings.Repeat("The runtime team describes how the collector works and what changed. ", 4),
		Categories: []string{"Runtime", "Performance", "Garbage Collection"},
	}
	b.ReportAllocs()
	for b.Loop() {
		f.Accepts(a)
	}
}
