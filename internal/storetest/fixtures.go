package storetest

import (
	"fmt"
	"time"

	"github.com/newsbot/newsbot/articles"
)

// Epoch is the suite's reference time (articles are dated Day(n) after it).
var Epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Day is n days after Epoch.
func Day(n int) time.Time { return Epoch.AddDate(0, 0, n) }

// Item is an article of link's site, as a feed gives it.
func Item(link, title string, published time.Time) articles.Article {
	return articles.Article{
		Site:      articles.SiteOf(link),
		URL:       articles.CleanURL(link),
		Title:     title,
		Summary:   title + " summary",
		Published: published,
	}
}

// Poll is one poll of feedURL listing items, a year after Epoch.
func Poll(feedURL string, items ...articles.Article) articles.Poll {
	return articles.Poll{FeedURL: feedURL, Site: articles.SiteOf(feedURL), Title: "Feed " + feedURL, Items: items, At: Epoch.AddDate(1, 0, 0)}
}

// TenItems lists ten articles newest first, as feeds do: post9 .. post0.
func TenItems() []articles.Article {
	var items []articles.Article
	for i := 9; i >= 0; i-- {
		items = append(items, Item(fmt.Sprintf("https://ex.com/post%d", i), fmt.Sprintf("Post %d", i), Day(i)))
	}
	return items
}
