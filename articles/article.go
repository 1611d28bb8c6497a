// Package articles owns what newsbot knows about a site's news: the article
// model, feed fetching and parsing, text extraction, and the storage
// interfaces the rest of the bot reads and writes articles through.
//
// It knows nothing of Discord.
package articles

import (
	"strings"
	"time"
)

// State is where an article stands in the posting state machine:
// recorded -> pending -> sending -> posted, or failed.
type State string

const (
	// StateRecorded: stored (backlog, archive), never to be posted unless a
	// configured feed later lists it for the first time.
	StateRecorded State = "recorded"
	// StatePending: to be posted on the next run.
	StatePending State = "pending"
	// StateSending: a send was attempted and may have reached Discord; the
	// channel's recent messages are checked before it is sent again.
	StateSending State = "sending"
	// StatePosted: Discord holds the message (MessageID).
	StatePosted State = "posted"
	// StateFailed: Discord refused it for good (400); never retried.
	StateFailed State = "failed"
)

// Article is one story of a site, however it arrived (feed item, archive).
type Article struct {
	ID   int64  // store id; 0 until stored
	Site string // the site it belongs to (see SiteOf)
	Key  string // identity within Site (see Identity)

	GUID       string
	URL        string // absolute link as shown (see CleanURL); compare with CanonicalURL
	Title      string // plain text
	Summary    string // plain-text excerpt, at most ExcerptLen runes, cut at a word
	Text       string // plain text of the whole body, for relatedness
	Author     string
	Published  time.Time // publication time, else updated, else first seen
	Image      string    // absolute URL, or ""
	Categories []string  // categories and tags, as the site names them
	Links      []string  // clean URLs of other pages of the same site that the body links to

	// NeedsFullText is set when the feed gave only a summary (no content, or
	// content that ends in "[...]", "Continue reading" and the like): the
	// article page should be read for Text.
	NeedsFullText bool

	FeedURL   string // the configured feed it first came from ("" for the archive)
	FeedTitle string // that feed's name, for the post's footer
	FirstSeen time.Time

	// Posting state, maintained by the store.
	State     State
	MessageID string
	Attempts  int
	LastError string

	// Routes and Roles are set on the articles of a channel's deliveries
	// (DeliveryStore.ChannelPosts): the routes that accepted the article for
	// the channel and the roles its post mentions.
	Routes []string
	Roles  []string
	// LastAttempt is when the delivery's last send was attempted (zero when
	// unknown): an uncertain forum post is looked for back to it.
	LastAttempt time.Time
}

// ExcerptLen is the most runes an excerpt holds.
const ExcerptLen = 300

// Identity returns the key that identifies an article within its site: its
// GUID, else its canonical link, else its title and publication date.
// Keys carry a prefix so that the three kinds never collide.
func Identity(guid, link, title string, published time.Time) string {
	if g := strings.TrimSpace(guid); g != "" {
		return "guid:" + g
	}
	if l := CanonicalURL(link); l != "" {
		return "url:" + l
	}
	t := strings.ToLower(strings.Join(strings.Fields(title), " "))
	d := ""
	if !published.IsZero() {
		d = published.UTC().Format(time.RFC3339)
	}
	return "title:" + t + "|" + d
}
