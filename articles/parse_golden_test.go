package articles

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goblogFeed is the corpus feed (see testdata/README.md for its attribution).
const goblogFeed = "../../shared/corpus/goblog/feed.xml"

// fixedNow is the clock of golden tests: FirstSeen, and Published of items
// without a date.
var fixedNow = time.Date(2024, 9, 10, 12, 0, 0, 0, time.UTC)

type goldenFeed struct {
	Title       string       `json:"title"`
	Link        string       `json:"link,omitempty"`
	Site        string       `json:"site"`
	Generator   string       `json:"generator,omitempty"`
	PrevArchive string       `json:"prev_archive,omitempty"`
	Next        string       `json:"next,omitempty"`
	Count       int          `json:"count"`
	Items       []goldenItem `json:"items"`
}

type goldenItem struct {
	Key           string   `json:"key"`
	URL           string   `json:"url,omitempty"`
	Title         string   `json:"title"`
	Summary       string   `json:"summary,omitempty"`
	Text          string   `json:"text,omitempty"`
	Author        string   `json:"author,omitempty"`
	Published     string   `json:"published"`
	Image         string   `json:"image,omitempty"`
	Categories    []string `json:"categories,omitempty"`
	Links         []string `json:"links,omitempty"`
	LinkCount     int      `json:"link_count,omitempty"`
	NeedsFullText bool     `json:"needs_full_text,omitempty"`
}

// golden renders a parsed feed; compact keeps only what a 274-item golden
// file can afford (80 runes of summary, a count of links).
func golden(f *Feed, compact bool) goldenFeed {
	g := goldenFeed{Title: f.Title, Link: f.Link, Site: f.Site, Generator: f.Generator,
		PrevArchive: f.PrevArchive, Next: f.Next, Count: len(f.Items), Items: []goldenItem{}}
	for _, a := range f.Items {
		it := goldenItem{Key: a.Key, URL: a.URL, Title: a.Title, Published: a.Published.UTC().Format(time.RFC3339),
			Categories: a.Categories, NeedsFullText: a.NeedsFullText}
		if compact {
			it.Summary = string([]rune(a.Summary)[:min(80, len([]rune(a.Summary)))])
			it.LinkCount = len(a.Links)
		} else {
			it.Summary, it.Author, it.Image, it.Links = a.Summary, a.Author, a.Image, a.Links
			it.Text = a.Text
		}
		g.Items = append(g.Items, it)
	}
	return g
}

func checkGolden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s differs from the golden file %s; run with -update after checking the diff:\n%s", name, path, firstDiff(string(want), string(b)))
	}
}

// firstDiff shows the first line that differs.
func firstDiff(want, got string) string {
	wl, gl := bytes.Split([]byte(want), []byte("\n")), bytes.Split([]byte(got), []byte("\n"))
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g []byte
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if !bytes.Equal(w, g) {
			return "line " + itoa(i+1) + ":\n want " + string(w) + "\n  got " + string(g)
		}
	}
	return ""
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestParseFeedGolden(t *testing.T) {
	cases := []struct {
		file, feedURL string
	}{
		{"rss2.xml", "https://www.example.com/news/feed/"},
		{"atom.xml", "https://blog.example.org/feed.atom"},
		{"rss1.xml", "https://rdf.example.net/index.rdf"},
		{"feed.json", "https://json.example.com/feed.json"},
		{"latin1.xml", "http://latin.example.fr/feed"},
		{"cp1251.xml", "https://cyr.example.ru/rss"},
		{"latin1-nodecl.xml", "http://latin.example.fr/feed2"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			f, err := ParseFeed(c.feedURL, body, fixedNow)
			if err != nil {
				t.Fatalf("ParseFeed: %v", err)
			}
			checkGolden(t, c.file+".json", golden(f, false))
		})
	}
}

func TestParseFeedGoblogGolden(t *testing.T) {
	body, err := os.ReadFile(goblogFeed)
	if err != nil {
		t.Skipf("corpus absent: %v", err)
	}
	f, err := ParseFeed("https://go.dev/blog/feed.atom", body, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Items) != 274 {
		t.Errorf("items = %d, want 274", len(f.Items))
	}
	checkGolden(t, "goblog.json", golden(f, true))
}
