package articles

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
)

// Run:
//
//	go test -run '^$' -bench . -benchmem ./articles/
//
// parse-only is gofeed as it comes (NewParser().Parse); pipeline is what a
// poll does with a body: ParseFeed (gofeed, then normalisation of every item:
// text, excerpt, links, image) and RecordPoll into a store.

var (
	bigFeedOnce sync.Once
	bigFeed     []byte
)

// generatedFeed is an RSS 2.0 feed of n items with WordPress-like content.
func generatedFeed(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Generated &amp; Big</title><link>https://big.example.com/</link><description>bench</description>
`)
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<item><title>Post number %d: &ldquo;news&rdquo; &amp; more</title>
<link>https://big.example.com/%d/post-%d/?utm_source=rss</link>
<guid isPermaLink="false">https://big.example.com/?p=%d</guid>
<pubDate>%s</pubDate><dc:creator><![CDATA[Author %d]]></dc:creator>
<category><![CDATA[Topic %d]]></category><category><![CDATA[News]]></category>
<description><![CDATA[<p>Summary of post %d, which says what the story is about in a sentence or two and then stops [&hellip;]</p>]]></description>
<content:encoded><![CDATA[`, i, i%2000, i, i, start.Add(time.Duration(i)*time.Hour).Format(time.RFC1123Z), i%17, i%50, i)
		for p := 0; p < 6; p++ {
			fmt.Fprintf(&b, `<p>Paragraph %d of post %d with <a href="https://big.example.com/%d/post-%d/">a link to an older post</a>, some <em>emphasis</em>, an entity &amp; a quote &#8220;like this&#8221; and enough words to make a realistic line of text for a news article body.</p>
`, p, i, (i+p)%2000, (i+p*7)%n)
		}
		b.WriteString(`<figure><img src="/wp-content/uploads/pic.jpg" alt=""><figcaption>A caption</figcaption></figure><script>track();</script>]]></content:encoded></item>
`)
	}
	b.WriteString("</channel></rss>\n")
	return b.Bytes()
}

func benchFeeds(b *testing.B) map[string][]byte {
	feeds := map[string][]byte{}
	if body, err := os.ReadFile(goblogFeed); err == nil {
		feeds["goblog"] = body
	}
	bigFeedOnce.Do(func() { bigFeed = generatedFeed(10000) })
	feeds["gen10k"] = bigFeed
	return feeds
}

// reportItems reports items per second of wall-clock time, and per second
// of CPU time (all threads, GC included) since cpu0 where the platform tells.
func reportItems(b *testing.B, items, loops int, cpu0 time.Duration) {
	b.ReportMetric(float64(items*loops)/b.Elapsed().Seconds(), "items/s")
	if cpu := cpuTime() - cpu0; cpu0 > 0 && cpu > 0 {
		b.ReportMetric(float64(items*loops)/cpu.Seconds(), "items/cpu-s")
	}
}

func BenchmarkParseOnly(b *testing.B) {
	parsers := []struct {
		name  string
		parse func([]byte) (*gofeed.Feed, error)
	}{
		// gofeed as it comes (it scans each item's HTML for a picture).
		{"defaults", func(body []byte) (*gofeed.Feed, error) { return gofeed.NewParser().Parse(bytes.NewReader(body)) }},
		// gofeed as ParseFeed configures it: the normalisation's cost is
		// the difference with the pipeline.
		{"newsbot-options", parseGofeed},
	}
	for _, name := range []string{"goblog", "gen10k"} {
		body, ok := benchFeeds(b)[name]
		if !ok {
			continue
		}
		for _, p := range parsers {
			b.Run(name+"/"+p.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				items, loops, cpu0 := 0, 0, cpuTime()
				for b.Loop() {
					f, err := p.parse(body)
					if err != nil {
						b.Fatal(err)
					}
					items, loops = len(f.Items), loops+1
				}
				reportItems(b, items, loops, cpu0)
			})
		}
	}
}

func BenchmarkPipeline(b *testing.B) {
	now := time.Date(2024, 9, 10, 12, 0, 0, 0, time.UTC)
	for _, name := range []string{"goblog", "gen10k"} {
		body, ok := benchFeeds(b)[name]
		if !ok {
			continue
		}
		for _, st := range []string{"nopstore", "memstore"} {
			b.Run(name+"/"+st, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				ctx := context.Background()
				items, loops, cpu0 := 0, 0, cpuTime()
				for b.Loop() {
					f, err := ParseFeed("https://example.com/feed", body, now)
					if err != nil {
						b.Fatal(err)
					}
					var store FeedStore = nopStore{}
					if st == "memstore" {
						store = newMemStore()
					}
					stats, err := store.RecordPoll(ctx, Poll{FeedURL: "https://example.com/feed", Items: f.Items, At: now}, 3)
					if err != nil || stats.Seen != len(f.Items) {
						b.Fatal(err, stats)
					}
					items, loops = len(f.Items), loops+1
				}
				reportItems(b, items, loops, cpu0)
			})
		}
	}
}

func BenchmarkHTMLToText(b *testing.B) {
	body, err := os.ReadFile(goblogFeed)
	if err != nil {
		b.Skip("corpus absent")
	}
	f, err := gofeed.NewParser().Parse(bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	var html []string
	size := 0
	for _, it := range f.Items {
		html = append(html, it.Content)
		size += len(it.Content)
	}
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for b.Loop() {
		for _, h := range html {
			if HTMLToText(h) == "" && strings.TrimSpace(h) != "" {
				b.Fatal("no text")
			}
		}
	}
}
