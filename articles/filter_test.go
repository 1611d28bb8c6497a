package articles

import "testing"

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
