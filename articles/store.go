package articles

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by lookups that find nothing.
var ErrNotFound = errors.New("not found")

// FeedState is what the store remembers of one configured feed.
type FeedState struct {
	URL          string // as configured
	Site         string
	Title        string
	ETag         string
	LastModified string
	FirstPollAt  time.Time // zero until the feed's first successful poll
	LastPollAt   time.Time // last successful poll (200 or 304)
	Failures     int       // consecutive failed polls; 0 after a success
	LastError    string
	NextAttempt  time.Time // a failing feed is not fetched before this
}

// Poll is one successful fetch of a feed, parsed and normalised.
type Poll struct {
	FeedURL      string
	Site         string
	Title        string // the feed's name
	ETag         string
	LastModified string
	Items        []Article // as the feed lists them
	At           time.Time
	// Routes lists the routes of this feed: each item new to the feed that a
	// route accepts becomes a delivery to its channel (the first time a
	// channel sees the feed, only the newest backlogLimit accepted items).
	// Without routes only the article's own state changes.
	Routes []Route
}

// PollStats says what a poll changed.
type PollStats struct {
	Seen    int // items in the feed
	New     int // items this feed had not listed before
	Pending int // items that became pending (to be posted)
	Stored  int // articles the store did not hold before
}

// FeedStore keeps the feeds' state and what their polls brought.
type FeedStore interface {
	// FeedState returns the state of a feed; a feed never polled has a zero
	// state with only URL set, and no error.
	FeedState(ctx context.Context, feedURL string) (FeedState, error)
	// Feeds returns the state of every feed ever polled.
	Feeds(ctx context.Context) ([]FeedState, error)
	// RecordPoll stores one successful poll in one transaction. Each item is
	// stored once per site (matched by Key, else by canonical URL); an item
	// already stored keeps its identity and posting state (an edit is not new).
	// On the feed's first poll the newest backlogLimit items (by Published)
	// that were never posted become pending and the rest stay recorded; on a
	// later poll every item the feed lists for the first time becomes pending
	// unless it was posted, is being sent, or failed. Validators are saved and
	// the failure count reset. In the same transaction, p.Routes make their
	// deliveries (see Poll.Routes and DeliveryStore): the backlog rule then
	// applies per channel, the first time a channel sees the feed.
	RecordPoll(ctx context.Context, p Poll, backlogLimit int) (PollStats, error)
	// RecordNotModified notes a 304: the feed answered and nothing changed.
	RecordNotModified(ctx context.Context, feedURL string, at time.Time) error
	// RecordFeedError notes a failed poll and when to try again; it returns
	// the number of consecutive failures including this one.
	RecordFeedError(ctx context.Context, feedURL, msg string, next time.Time) (int, error)
}

// PostStore drives the posting state machine.
type PostStore interface {
	// Due returns up to limit articles in state pending or sending, oldest
	// first (by Published, then FirstSeen; items of one poll with the same
	// date in reverse feed order, since feeds list the newest first).
	Due(ctx context.Context, limit int) ([]Article, error)
	// MarkSending records that a send is about to be attempted (Attempts+1).
	// It is committed before the request leaves.
	MarkSending(ctx context.Context, id int64) error
	// MarkPosted records the message Discord created.
	MarkPosted(ctx context.Context, id int64, messageID string) error
	// MarkRetry records a transient failure. sent says whether the attempt
	// may have reached Discord (a timeout, a 5xx): then the article stays
	// sending; otherwise (a 429, a refused connection) it returns to pending.
	MarkRetry(ctx context.Context, id int64, msg string, sent bool) error
	// MarkFailed records a permanent refusal (400): never retried.
	MarkFailed(ctx context.Context, id int64, msg string) error
	// Failed returns the articles that failed for good, newest first.
	Failed(ctx context.Context, limit int) ([]Article, error)
}

// ArticleReader reads stored articles.
type ArticleReader interface {
	// EachArticle calls fn for every stored article with ID > afterID, in ID
	// order, streaming (it does not hold them all). Text is included.
	EachArticle(ctx context.Context, afterID int64, fn func(Article) error) error
	// ArticleByID returns ErrNotFound when there is none.
	ArticleByID(ctx context.Context, id int64) (Article, error)
	// ArticleByURL finds an article by any variant of its link (canonical
	// comparison); ErrNotFound when there is none.
	ArticleByURL(ctx context.Context, rawURL string) (Article, error)
	// CountArticles returns the number of stored articles per site.
	CountArticles(ctx context.Context) (map[string]int, error)
}

// ChangeReader follows the stored articles by a change counter: every insert
// of an article, and every change to what it says (title, text, summary,
// link, date, categories, links), gives it the next value of one counter
// ("rev"), in the transaction that writes it, whichever path or process
// writes it (a poll, the archive, full text, an edit). A follower that
// remembers the highest rev it applied misses nothing and skips nothing.
//
// An implementation must make a rev visible only once every lower rev is
// (commits in rev order: a single counter row updated in the writing
// transaction does it).
type ChangeReader interface {
	// MaxRev returns the highest rev handed out so far (0: none).
	MaxRev(ctx context.Context) (int64, error)
	// EachChanged calls fn, in rev order, for every article whose current
	// rev is above afterRev, with that rev; an article changed several times
	// comes once, at its latest rev. It streams (fn may use the store).
	EachChanged(ctx context.Context, afterRev int64, fn func(rev int64, a Article) error) error
}

// LinkStore serves /related's unknown links: which hosts are the sites',
// and which pages could not be read lately.
type LinkStore interface {
	// SiteHosts maps the host (lower case, without "www.") of every
	// article link stored from a feed to that article's site.
	SiteHosts(ctx context.Context) (map[string]string, error)
	// LinkFailed reports whether reading the page at canonURL
	// (CanonicalURL) failed and must not be tried again before a time
	// after now.
	LinkFailed(ctx context.Context, canonURL string, now time.Time) (bool, error)
	// RecordLinkFailure remembers a failed read until retryAt.
	RecordLinkFailure(ctx context.Context, canonURL, msg string, at, retryAt time.Time) error
}

// ArchiveStore keeps what the archive (backfill, full text) brings.
type ArchiveStore interface {
	// StoreArchived stores articles met by the backfill of a site. A new one is
	// recorded (never posted); one already stored keeps its state and only
	// gains what it lacked (categories, text, image). It returns how many
	// were new.
	StoreArchived(ctx context.Context, items []Article) (int, error)
	// Checkpoint returns the backfill checkpoint of a feed; zero with FeedURL
	// set when there is none.
	Checkpoint(ctx context.Context, feedURL string) (Checkpoint, error)
	SaveCheckpoint(ctx context.Context, c Checkpoint) error
	// NeedFullText returns up to limit articles whose page should be read
	// for their text (NeedsFullText and not tried yet), newest first.
	NeedFullText(ctx context.Context, limit int) ([]Article, error)
	// SetFullText stores the text read from an article's page (text "" records a
	// failed try, so the page is not read again). The summary is replaced only
	// when summary is not "".
	SetFullText(ctx context.Context, id int64, text, summary string) error
}

// Checkpoint is where a site's backfill stands, so that it resumes after a
// restart.
type Checkpoint struct {
	FeedURL   string
	Site      string
	Source    string // "wordpress", "paged", "rfc5005", "none"
	Cursor    string // source-specific position (next page number, next URL)
	Stored    int    // articles stored so far
	Done      bool
	LastError string
	UpdatedAt time.Time
}

// Store is everything the bot keeps about articles.
type Store interface {
	FeedStore
	PostStore
	ArticleReader
	ArchiveStore
	ChangeReader
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
}
