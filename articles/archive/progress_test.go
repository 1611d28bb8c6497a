package archive

import (
	"bytes"
	"strings"
	"testing"

	"github.com/newsbot/newsbot/articles/archive/wptest"
)

func TestProgressBarPlainLines(t *testing.T) {
	t.Parallel()
	s := wptest.New(t, wptest.Config{Posts: 250})
	var out bytes.Buffer
	h := newHarness()
	a := h.newArchive(func(o *Options) { o.Progress = ProgressBar(&out, false) })
	if err := a.Backfill(t.Context(), []string{s.FeedURL()}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 { // source found (0 pages), then 3 pages
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	last := lines[len(lines)-1]
	for _, want := range []string{"127.0.0.1 (wordpress)", "3 pages", "250 stored", "0 skipped", "0 errors", "done"} {
		if !strings.Contains(last, want) {
			t.Errorf("last line %q lacks %q", last, want)
		}
	}
	if strings.Contains(out.String(), "\r") || strings.Contains(out.String(), "\x1b") {
		t.Error("plain output holds terminal control characters")
	}
}

func TestProgressBarTerminal(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	f := ProgressBar(&out, true)
	f(Progress{Site: "a.example", FeedURL: "https://a.example/feed/", Source: SourceWordPress, Pages: 1, Stored: 100})
	f(Progress{Site: "b.example", FeedURL: "https://b.example/feed/", Source: SourceNone, Done: true})
	f(Progress{Site: "a.example", FeedURL: "https://a.example/feed/", Source: SourceWordPress, Pages: 2, Stored: 150, Skipped: 10, Done: true})
	got := out.String()
	for _, want := range []string{"b.example (none)", "no archive source", "a.example (wordpress): 2 pages, 150 stored, 10 skipped", "done"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%q", want, got)
		}
	}
}

func TestProgressString(t *testing.T) {
	t.Parallel()
	p := Progress{Site: "x.example", Source: SourcePaged, Pages: 3, Stored: 20, Skipped: 2, Errors: 1, Rate: 12.34, Err: "page 2: malformed"}
	want := "x.example (paged): 3 pages, 20 stored, 2 skipped, 1 errors, 12.3 articles/s, last error: page 2: malformed"
	if got := p.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
