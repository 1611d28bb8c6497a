package articles

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"time"
)

// Route sends the articles of some feeds that its filter accepts to one
// channel. The store records a delivery per (article, channel): a channel
// gets an article once however many routes lead there, mentioning the roles
// of all of them.
type Route struct {
	Name      string
	Feeds     []string
	ChannelID string // "" until known (a database written without a channel)
	RoleID    string
	Filter    Filter
}

// Lists reports whether the route takes the articles of feedURL.
func (r Route) Lists(feedURL string) bool {
	for _, f := range r.Feeds {
		if f == feedURL {
			return true
		}
	}
	return false
}

// DeliveryNonce is the idempotency nonce of a's post in channelID: Discord
// deduplicates nonces per author, not per channel, so it depends on both.
// At most 25 characters.
func DeliveryNonce(a Article, channelID string) string {
	sum := sha256.Sum256([]byte(a.Site + "\x00" + a.Key + "\x00" + channelID))
	return "nd" + hex.EncodeToString(sum[:])[:22]
}

// FollowUps says what follows a post in its channel once it is posted.
type FollowUps struct {
	Publish bool // crosspost it (announcement channels)
	Thread  bool // open a discussion thread on it
}

// FollowUpKind is a kind of follow-up.
type FollowUpKind string

const (
	FollowPublish FollowUpKind = "publish"
	FollowThread  FollowUpKind = "thread"
)

// FollowUp is one pending follow-up of a posted delivery.
type FollowUp struct {
	Kind      FollowUpKind
	ArticleID int64
	ChannelID string
	MessageID string
	Title     string // the article's title (thread name)
	URL       string // the article's link (thread name when it has no title)
	Error     string // the last failure, if any
}

// DeliveryStore keeps the deliveries of articles to channels.
type DeliveryStore interface {
	// ChannelPosts is the posting state machine of one channel's deliveries:
	// Due returns its pending and sending deliveries oldest first, as
	// articles whose State, MessageID, Attempts, LastError, Routes and Roles
	// are the delivery's; Mark* change the delivery of that article to the
	// channel.
	ChannelPosts(channelID string, follow FollowUps) PostStore
	// DueFollowUps returns up to limit of channelID's posted deliveries
	// whose follow-up kind is pending and not held off past now, oldest
	// post first.
	DueFollowUps(ctx context.Context, channelID string, kind FollowUpKind, now time.Time, limit int) ([]FollowUp, error)
	// FollowUpDone ends a follow-up: done, or failed for good (msg says why).
	FollowUpDone(ctx context.Context, f FollowUp, failed bool, msg string) error
	// FollowUpLater holds a follow-up off until after (a 429, a 5xx).
	FollowUpLater(ctx context.Context, f FollowUp, after time.Time, msg string) error
	// AdoptDeliveries gives the deliveries recorded without a channel (by a
	// version before routes, or a fetch without NEWS_CHANNEL_ID) to
	// channelID, and returns how many it moved.
	AdoptDeliveries(ctx context.Context, channelID string) (int, error)
	// UnadoptedDeliveries returns how many deliveries have no channel yet.
	UnadoptedDeliveries(ctx context.Context) (int, error)
	// DropStaleDeliveries drops the pending deliveries that no route leads
	// to any more (route removed, or its channel changed), and gives the
	// others the roles their routes have now; it returns how many it
	// dropped.
	DropStaleDeliveries(ctx context.Context, routes []Route) (int, error)
	// RefetchForNewChannels forgets the conditional-GET validators of each
	// feed that a route's channel has not seen yet, so that the next poll
	// reads it whole and the channel gets its backlog even if the feed has
	// not changed. It returns how many feeds it reset.
	RefetchForNewChannels(ctx context.Context, routes []Route) (int, error)
}

// RouteItem is one distinct item of a poll, as the store matched it.
type RouteItem struct {
	ID        int64     // the stored article
	Article   Article   // as normalised from the poll (title, summary, categories)
	Published time.Time // the newest date the poll gave it
	NewToFeed bool      // the feed lists it for the first time
}

// Delivery is one route taking one article to its channel.
type Delivery struct {
	ArticleID int64
	Route     Route
}

// PlanDeliveries decides which deliveries one poll of feedURL makes, channel
// by channel: the items new to the feed, each to the routes of the channel
// that accept it; the first time the channel sees the feed (firstSight),
// the newest backlogLimit items that any of its routes accepts instead, so
// that a route added later never floods its channel. Items are in feed
// order. It returns the deliveries and the channels that saw the feed for
// the first time (the store records them).
func PlanDeliveries(feedURL string, routes []Route, items []RouteItem, backlogLimit int, firstSight func(channelID string) (bool, error)) ([]Delivery, []string, error) {
	var channels []string
	byChannel := map[string][]Route{}
	for _, r := range routes {
		if !r.Lists(feedURL) {
			continue
		}
		if _, ok := byChannel[r.ChannelID]; !ok {
			channels = append(channels, r.ChannelID)
		}
		byChannel[r.ChannelID] = append(byChannel[r.ChannelID], r)
	}
	var byAge []RouteItem
	var out []Delivery
	folded := map[int64]*filterText{} // each item folded once for every route
	var seen []string
	for _, ch := range channels {
		first, err := firstSight(ch)
		if err != nil {
			return nil, nil, err
		}
		candidates, limit := items, len(items)
		if first {
			if byAge == nil {
				byAge = append([]RouteItem{}, items...)
				sort.SliceStable(byAge, func(i, j int) bool { return byAge[i].Published.After(byAge[j].Published) })
			}
			candidates, limit = byAge, max(backlogLimit, 0)
			seen = append(seen, ch)
		}
		taken := 0
		for _, it := range candidates {
			text := folded[it.ID]
			if taken >= limit {
				break
			}
			if !first && !it.NewToFeed {
				continue
			}
			accepted := false
			for _, r := range byChannel[ch] {
				ok := r.Filter.open()
				if !ok {
					if text == nil {
						t := newFilterText(it.Article)
						text = &t
						folded[it.ID] = text
					}
					ok = r.Filter.acceptsText(text)
				}
				if ok {
					accepted = true
					out = append(out, Delivery{ArticleID: it.ID, Route: r})
				}
			}
			if accepted {
				taken++
			}
		}
	}
	return out, seen, nil
}
