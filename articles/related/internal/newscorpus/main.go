// Command newscorpus turns a public news data set with fine-grained topics
// into the development corpus of the news quality test
// (articles/related/news_quality_test.go): RSS 2.0 feeds of at most 1,000
// items each, text alone (title and body; no categories, no links), and a
// labels file that gives each item's topic.
//
// The source is a split of the "20 Newsgroups" collection sorted by date
// ("20news-bydate": one directory per newsgroup, one message per file); see
// ATTRIBUTION.md beside this file. Usage, from the repository root:
//
//	go run ./articles/related/internal/newscorpus -src /path/to/20news-bydate-test
//
// It writes into articles/related/testdata/news/ (git-ignored; -out, or the
// directory $NEWSBOT_NEWS_CORPUS names, to choose another):
//
//	feed-01.xml … feed-NN.xml   the stories, as a news site's feeds
//	labels.tsv                  URL <TAB> topic (the newsgroup), one a line
//
// A news wire is skewed: one topic (company results, say) makes up much of
// it. -dominant GROUP -others N keeps every message of GROUP and the first N
// (in the shuffled order) of each other group, for a skewed variant: in one
// where GROUP is two fifths of the stories, the topic's own words are common
// words, and a ranking that cuts weak matches too early or drifts to the
// big topic shows it.
//
// A message becomes a story: its Subject (without "Re:") is the title; its
// body, without headers, quoted lines, attribution lines ("… writes:") and
// signature, is the text. Messages left without text are skipped. Stories
// are shuffled deterministically (so neither feed, ID, URL nor date says
// the topic) and dated 37 minutes apart.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Site is the made-up host of the stories' URLs.
const Site = "https://news.example.net"

const perFeed = 1000

type story struct {
	key   string // group/file, the sort key of the shuffle
	topic string
	title string
	paras []string
}

func main() {
	src := flag.String("src", "", "directory of a 20news-bydate split (one subdirectory per newsgroup)")
	out := flag.String("out", defaultOut(), "output directory")
	dominant := flag.String("dominant", "", "skewed variant: keep every message of this newsgroup...")
	others := flag.Int("others", 0, "... and this many of each other newsgroup")
	flag.Parse()
	if (*dominant == "") != (*others == 0) || *others < 0 {
		fmt.Fprintln(os.Stderr, "newscorpus: -dominant and -others (a positive count) go together")
		os.Exit(2)
	}
	if err := run(*src, *out, *dominant, *others); err != nil {
		fmt.Fprintln(os.Stderr, "newscorpus:", err)
		os.Exit(1)
	}
}

// skew keeps every story of the dominant topic and the first n of each
// other topic, in order.
func skew(stories []story, dominant string, n int) ([]story, error) {
	kept := stories[:0:0]
	count := map[string]int{}
	for _, s := range stories {
		if s.topic == dominant || count[s.topic] < n {
			kept = append(kept, s)
			count[s.topic]++
		}
	}
	if count[dominant] == 0 {
		return nil, fmt.Errorf("-dominant %s: no such newsgroup in the source", dominant)
	}
	return kept, nil
}

func defaultOut() string {
	if d := os.Getenv("NEWSBOT_NEWS_CORPUS"); d != "" {
		return d
	}
	return filepath.Join("articles", "related", "testdata", "news")
}

func run(src, out, dominant string, others int) error {
	if src == "" {
		return errors.New("-src is required: the directory of a 20news-bydate split")
	}
	stories, err := read(src)
	if err != nil {
		return err
	}
	if len(stories) == 0 {
		return fmt.Errorf("no messages under %s", src)
	}
	slices.SortFunc(stories, func(a, b story) int {
		ha, hb := shuffleKey(a.key), shuffleKey(b.key)
		if ha != hb {
			if ha < hb {
				return -1
			}
			return 1
		}
		return strings.Compare(a.key, b.key)
	})
	if dominant != "" {
		if stories, err = skew(stories, dominant, others); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(out, "feed-*.xml"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	var labels bytes.Buffer
	start := time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC)
	topics := map[string]int{}
	for f := 0; f*perFeed < len(stories); f++ {
		part := stories[f*perFeed : min(len(stories), (f+1)*perFeed)]
		var b bytes.Buffer
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
<title>Newsgroup stories ` + fmt.Sprint(f+1) + `</title>
<link>` + Site + `/</link>
<description>Development corpus derived from 20 Newsgroups (see ATTRIBUTION.md)</description>
`)
		for i, s := range part {
			n := f*perFeed + i + 1
			url := fmt.Sprintf("%s/story/%d", Site, n)
			pub := start.Add(time.Duration(n) * 37 * time.Minute)
			var body strings.Builder
			for _, p := range s.paras {
				body.WriteString("<p>" + html.EscapeString(p) + "</p>\n")
			}
			fmt.Fprintf(&b, "<item>\n<title>%s</title>\n<link>%s</link>\n<guid isPermaLink=\"true\">%s</guid>\n<pubDate>%s</pubDate>\n<content:encoded>%s</content:encoded>\n</item>\n",
				html.EscapeString(s.title), url, url, pub.Format(time.RFC1123Z), html.EscapeString(body.String()))
			fmt.Fprintf(&labels, "%s\t%s\n", url, s.topic)
			topics[s.topic]++
		}
		b.WriteString("</channel>\n</rss>\n")
		if err := os.WriteFile(filepath.Join(out, fmt.Sprintf("feed-%02d.xml", f+1)), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(out, "labels.tsv"), labels.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("newscorpus: %d stories, %d topics, %d feeds in %s\n", len(stories), len(topics), (len(stories)+perFeed-1)/perFeed, out)
	return nil
}

func shuffleKey(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte("newscorpus/1:" + s))
	return h.Sum64()
}

// read reads every message of the split: src/<newsgroup>/<file>.
func read(src string) ([]story, error) {
	var out []story
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 2 {
			return nil // not <newsgroup>/<file>
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		title, paras := parse(raw)
		if title == "" || len(paras) == 0 {
			return nil
		}
		out = append(out, story{key: parts[0] + "/" + parts[1], topic: parts[0], title: title, paras: paras})
		return nil
	})
	return out, err
}

var (
	rePrefix      = regexp.MustCompile(`(?i)^\s*((re|fwd?)\s*(\[\d+\])?\s*:\s*)+`)
	reAttribution = regexp.MustCompile(`(?i)(writes|wrote|said|says)\s*:\s*$|^\s*in article\s*<`)
)

// parse returns a message's title (its Subject) and the paragraphs of its
// own text.
func parse(raw []byte) (title string, paras []string) {
	text := toUTF8(raw)
	head, body, _ := strings.Cut(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n")
	for _, l := range strings.Split(head, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "subject") {
			title = strings.Join(strings.Fields(rePrefix.ReplaceAllString(v, "")), " ")
		}
	}
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			paras = append(paras, strings.Join(cur, " "))
			cur = nil
		}
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		t := strings.TrimSpace(l)
		switch {
		case t == "--" || strings.TrimRight(l, " ") == "--":
			flush()
			return title, paras // the signature follows
		case strings.HasPrefix(t, ">") || strings.HasPrefix(t, "|>") || reAttribution.MatchString(t):
			continue
		case t == "":
			flush()
		default:
			cur = append(cur, strings.Join(strings.Fields(t), " "))
		}
	}
	flush()
	return title, paras
}

// toUTF8 reads the messages' 8-bit text as Latin-1 where it is not UTF-8.
func toUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
