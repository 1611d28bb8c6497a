package archive

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/schollz/progressbar/v3"
)

// String says where a site's backfill stands in one line.
func (p Progress) String() string {
	var b strings.Builder
	src := p.Source
	if src == "" {
		src = "detecting"
	}
	fmt.Fprintf(&b, "%s (%s): %d pages, %d stored, %d skipped, %d errors, %.1f articles/s",
		p.Site, src, p.Pages, p.Stored, p.Skipped, p.Errors, p.Rate)
	switch {
	case p.Done && p.Source == SourceNone:
		b.WriteString(", no archive source")
	case p.Done:
		b.WriteString(", done")
	}
	if p.Err != "" {
		fmt.Fprintf(&b, ", last error: %s", p.Err)
	}
	return b.String()
}

// ProgressBar returns an Options.Progress function for `newsbot backfill`:
// on a terminal a progress bar (articles met, all sites together) whose
// description names the latest site's state, plus one line per finished
// site; otherwise a plain line for each event.
func ProgressBar(w io.Writer, isTerminal bool) func(Progress) {
	var mu sync.Mutex
	if !isTerminal {
		return func(p Progress) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintln(w, p.String())
		}
	}
	bar := progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("backfill"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("articles"),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetWidth(20),
	)
	last := map[string]Progress{} // by feed URL
	return func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		prev := last[p.FeedURL]
		last[p.FeedURL] = p
		_ = bar.Add((p.Stored + p.Skipped) - (prev.Stored + prev.Skipped))
		bar.Describe(fmt.Sprintf("%s: %d pages, %d errors", p.Site, p.Pages, p.Errors))
		if p.Done || p.Err != "" && p.Err != prev.Err {
			_ = bar.Clear()
			fmt.Fprintln(w, p.String())
		}
		if allDone(last) {
			_ = bar.Finish()
		}
	}
}

func allDone(m map[string]Progress) bool {
	for _, p := range m {
		if !p.Done {
			return false
		}
	}
	return len(m) > 0
}
