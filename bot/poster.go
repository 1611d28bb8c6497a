package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Sender delivers news posts to a channel.
type Sender interface {
	// Send creates m in channelID with nonce (enforced) and returns the id of
	// the created message.
	Send(ctx context.Context, channelID string, m *discordgo.MessageSend, nonce string) (messageID string, err error)
	// Recent returns up to limit of the channel's newest messages.
	Recent(ctx context.Context, channelID string, limit int) ([]*discordgo.Message, error)
}

// ProblemReporter shows problems on /healthz (*Health satisfies it).
type ProblemReporter interface {
	SetProblem(key, msg string)
	ClearProblem(key string)
}

// recentLimit is how many of the channel's newest messages are searched for
// a post whose earlier attempt may have reached Discord (Discord's maximum).
const recentLimit = 50

var (
	postsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "newsbot_posts_total",
		Help: "News post attempts by outcome (posted, found, retry, access, failed, printed) and route (the routes that led the post to its channel, comma-separated).",
	}, []string{"outcome", "route"})
	postSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "newsbot_post_send_duration_seconds",
		Help:    "Time to send one news post, rate-limit waits included.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10},
	})
)

// PosterOptions configures a Poster.
type PosterOptions struct {
	Store     articles.PostStore
	Sender    Sender
	ChannelID string
	RoleID    string // mentioned in every post whose article names no Roles
	// Routes names the routes that lead to ChannelID, for /healthz, logs and
	// the dry run; with them, the poster's problem keys name the channel so
	// that several posters share one Health.
	Routes []string
	// Also returns up to three related articles for a post's "Also Read"
	// field; nil means none.
	Also     func(a articles.Article) []articles.Article
	Problems ProblemReporter // may be nil
	Log      *slog.Logger    // nil: slog.Default()
	// Forum, when set, says how to post if ChannelID is a forum (as
	// Forum.Channel tells, at each post: an admin may change the kind).
	Forum *Forum
	// DryRun prints (through Sender) each due article once per process and
	// never changes its state.
	DryRun bool
	// Batch is how many due articles are read from the store at a time
	// (default 100); a run goes on until none is due or one must wait.
	Batch int
}

// Poster posts due articles, oldest first, each at most once.
type Poster struct {
	o   PosterOptions
	log *slog.Logger

	mu          sync.Mutex // one run at a time
	problem     string     // last access problem reported, "" when none
	printed     map[int64]bool
	retryReport bool
	proven      bool // a post went through since start or the last access problem
}

// NewPoster returns a Poster.
func NewPoster(o PosterOptions) *Poster {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	return &Poster{o: o, log: o.Log, printed: map[int64]bool{}}
}

// Problem keys on /healthz.
const (
	problemChannel = "news_channel"
	problemRetry   = "news_post_retry"
)

// key is a problem key of this poster's channel.
func (p *Poster) key(k string) string {
	if len(p.o.Routes) == 0 {
		return k
	}
	return k + ":" + p.o.ChannelID
}

// where prefixes a problem with the routes it holds back.
func (p *Poster) where(msg string) string {
	switch len(p.o.Routes) {
	case 0:
		return msg
	case 1:
		return fmt.Sprintf("route %q: %s", p.o.Routes[0], msg)
	default:
		return fmt.Sprintf("routes %q: %s", strings.Join(p.o.Routes, `", "`), msg)
	}
}

// routeLabel is the metrics label of a's delivery.
func routeLabel(a articles.Article) string { return strings.Join(a.Routes, ",") }

// routeOf names the routes that led a to the channel.
func (p *Poster) routeOf(a articles.Article) string {
	if len(a.Routes) > 0 {
		return strings.Join(a.Routes, ", ")
	}
	return strings.Join(p.o.Routes, ", ")
}

// nonce is a's post's nonce in the poster's channel.
func (p *Poster) nonce(a articles.Article) string { return articles.DeliveryNonce(a, p.o.ChannelID) }

// PostDue posts the due articles, oldest first, and returns how many were
// posted (or found already posted). It stops at the first transient failure
// (5xx, 429, timeout) or access problem, so that nothing newer overtakes an
// article; a 400 marks the article failed and posting goes on. Send failures
// are logged, recorded and reported here; the error is non-nil only when the
// ReportFailed shows on /healthz the articles Discord refused for good in
// earlier runs (the problem list lives in memory; the failures in the store).
func (p *Poster) ReportFailed(ctx context.Context) error {
	failed, err := p.o.Store.Failed(ctx, 20)
	if err != nil {
		return fmt.Errorf("bot: failed articles: %w", err)
	}
	for _, a := range failed {
		p.setProblem(p.key("post_failed:"+strconv.FormatInt(a.ID, 10)),
			p.where(fmt.Sprintf("article %d (%s) was refused by Discord and will not be posted: %s", a.ID, a.URL, a.LastError)))
	}
	return nil
}

// store fails or ctx ends.
func (p *Poster) PostDue(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	due, err := p.o.Store.Due(ctx, p.o.Batch)
	if err != nil {
		return 0, fmt.Errorf("bot: due articles: %w", err)
	}
	if p.o.DryRun {
		return p.print(ctx, due)
	}
	r := run{p: p}
	n := 0
	for {
		for _, a := range due {
			if err := ctx.Err(); err != nil {
				return n, err
			}
			res, err := r.post(ctx, a)
			if err != nil {
				return n, err
			}
			if res == stop {
				return n, nil
			}
			if res == posted {
				n++
			}
		}
		if len(due) < p.o.Batch {
			return n, nil
		}
		// A full batch went out (or failed for good): take the next one.
		if due, err = p.o.Store.Due(ctx, p.o.Batch); err != nil {
			return n, fmt.Errorf("bot: due articles: %w", err)
		}
	}
}

// print shows each due article once per process, changing nothing.
func (p *Poster) print(ctx context.Context, due []articles.Article) (int, error) {
	n := 0
	for _, a := range due {
		if p.printed[a.ID] {
			continue
		}
		var err error
		if rs, ok := p.o.Sender.(routeSender); ok {
			_, err = rs.SendRoute(ctx, p.routeOf(a), p.o.ChannelID, p.build(a), p.nonce(a))
		} else {
			_, err = p.o.Sender.Send(ctx, p.o.ChannelID, p.build(a), p.nonce(a))
		}
		if err != nil {
			return n, fmt.Errorf("bot: print article %d: %w", a.ID, err)
		}
		p.printed[a.ID] = true
		postsTotal.WithLabelValues("printed", routeLabel(a)).Inc()
		n++
	}
	return n, nil
}

func (p *Poster) build(a articles.Article) *discordgo.MessageSend {
	var also []articles.Article
	if p.o.Also != nil {
		also = p.o.Also(a)
	}
	if len(a.Roles) > 0 {
		return BuildPost(a, also, a.Roles...)
	}
	return BuildPost(a, also, p.o.RoleID)
}

// run is one PostDue: it reads the channel's recent messages at most once.
type run struct {
	p      *Poster
	recent []*discordgo.Message
	read   bool
}

// result is what became of one article in a run.
type result int

const (
	posted  result = iota // posted, or found posted
	skipped               // refused for good; the run goes on
	stop                  // not posted; nothing newer may overtake it
)

// post handles one article.
func (r *run) post(ctx context.Context, a articles.Article) (result, error) {
	p := r.p
	log := p.log.With(slog.Int64("article_id", a.ID), slog.String("channel_id", p.o.ChannelID))
	if len(a.Routes) > 0 {
		log = log.With(slog.String("route", routeLabel(a)))
	}
	if a.State == articles.StateSending {
		// An earlier attempt may have reached Discord: look before sending again.
		find := r.find
		if p.isForum() {
			find = r.findForum
		}
		found, ok, err := find(ctx, a)
		if err != nil || !ok {
			return stop, err
		}
		if found != "" {
			if err := p.o.Store.MarkPosted(ctx, a.ID, found); err != nil {
				return stop, fmt.Errorf("bot: mark article %d posted: %w", a.ID, err)
			}
			log.Info("news post found in channel", slog.String("message_id", found))
			postsTotal.WithLabelValues("found", routeLabel(a)).Inc()
			p.succeeded()
			return posted, nil
		}
	}
	m := p.build(a)
	// From here on the state is written whatever happens to ctx: a
	// cancellation must not leave "sending" recorded for a send that
	// never started, nor lose the outcome of one that did.
	if err := ctx.Err(); err != nil {
		return stop, err
	}
	sctx := context.WithoutCancel(ctx)
	if err := p.o.Store.MarkSending(sctx, a.ID); err != nil {
		return stop, fmt.Errorf("bot: mark article %d sending: %w", a.ID, err)
	}
	start := time.Now()
	var id string
	var sendErr error
	forum := p.isForum()
	if forum {
		id, sendErr = p.sendForum(ctx, a, m)
	} else {
		id, sendErr = p.o.Sender.Send(ctx, p.o.ChannelID, m, p.nonce(a))
	}
	postSeconds.Observe(time.Since(start).Seconds())
	if sendErr == nil {
		if err := p.o.Store.MarkPosted(sctx, a.ID, id); err != nil {
			return stop, fmt.Errorf("bot: mark article %d posted: %w", a.ID, err)
		}
		log.Info("news posted", slog.String("message_id", id), slog.String("url", a.URL))
		postsTotal.WithLabelValues("posted", routeLabel(a)).Inc()
		p.succeeded()
		return posted, nil
	}
	f := classify(sendErr)
	if msg, hold := kindHold(f, forum); hold {
		if err := p.o.Store.MarkRetry(sctx, a.ID, sendErr.Error(), false); err != nil {
			return stop, fmt.Errorf("bot: mark article %d for retry: %w", a.ID, err)
		}
		p.reportAccess(fmt.Sprintf("channel %s: %s", p.o.ChannelID, msg), sendErr)
		postsTotal.WithLabelValues("access", routeLabel(a)).Inc()
		return stop, nil
	}
	switch f.kind {
	case failPermanent:
		msg := fmt.Sprintf("Discord refused the post (HTTP %d, code %d): %v", f.status, f.code, sendErr)
		if err := p.o.Store.MarkFailed(sctx, a.ID, msg); err != nil {
			return stop, fmt.Errorf("bot: mark article %d failed: %w", a.ID, err)
		}
		log.Error("news post refused; not retried", slog.String("url", a.URL),
			slog.Int("status", f.status), slog.Int("code", f.code), slog.Any("error", sendErr))
		p.setProblem(p.key("post_failed:"+strconv.FormatInt(a.ID, 10)),
			p.where(fmt.Sprintf("article %d (%s) was refused by Discord and will not be posted: HTTP %d, code %d", a.ID, a.URL, f.status, f.code)))
		postsTotal.WithLabelValues("failed", routeLabel(a)).Inc()
		return skipped, nil
	case failAccess:
		if err := p.o.Store.MarkRetry(sctx, a.ID, sendErr.Error(), false); err != nil {
			return stop, fmt.Errorf("bot: mark article %d for retry: %w", a.ID, err)
		}
		p.reportAccess(accessProblem(f, p.o.ChannelID, false), sendErr)
		postsTotal.WithLabelValues("access", routeLabel(a)).Inc()
		return stop, nil
	default:
		if err := p.o.Store.MarkRetry(sctx, a.ID, sendErr.Error(), f.sent); err != nil {
			return stop, fmt.Errorf("bot: mark article %d for retry: %w", a.ID, err)
		}
		postsTotal.WithLabelValues("retry", routeLabel(a)).Inc()
		if ctx.Err() != nil {
			return stop, ctx.Err()
		}
		attrs := []any{slog.Int("attempt", a.Attempts+1), slog.Bool("may_have_been_sent", f.sent), slog.Any("error", sendErr)}
		if f.retryAfter > 0 {
			attrs = append(attrs, slog.Duration("retry_after", f.retryAfter))
		}
		log.Warn("news post failed; retried on the next run", attrs...)
		if a.Attempts+1 >= 3 {
			p.retryReport = true
			p.setProblem(p.key(problemRetry), p.where(fmt.Sprintf("posting article %d has failed %d times (last: %v)", a.ID, a.Attempts+1, sendErr)))
		}
		return stop, nil
	}
}

// succeeded clears the problems a success disproves.
func (p *Poster) succeeded() {
	// A post went through: whatever the gateway's (possibly stale) state
	// said, these permissions are there now.
	if !p.proven {
		p.proven = true
		for _, perm := range provenBySend {
			p.clearProblem(permissionKey(p.o.ChannelID, perm))
		}
		// So is the channel: the start may have found it unreadable
		// (Bot.findGuild, same key) before this poster tried it.
		p.clearProblem(p.key(problemChannel))
	}
	if p.problem != "" {
		p.log.Info("news channel reachable again", slog.String("channel_id", p.o.ChannelID))
		p.problem = ""
		p.clearProblem(p.key(problemChannel))
	}
	if p.retryReport {
		p.retryReport = false
		p.clearProblem(p.key(problemRetry))
	}
}

// reportAccess logs and shows an access problem once, not on every run.
func (p *Poster) reportAccess(msg string, err error) {
	if msg == p.problem {
		return
	}
	p.problem = msg
	p.log.Error("cannot post news: "+msg+"; articles stay pending until it is fixed",
		slog.String("channel_id", p.o.ChannelID), slog.Any("error", err))
	p.proven = false
	p.setProblem(p.key(problemChannel), p.where(msg))
}

func (p *Poster) setProblem(key, msg string) {
	if p.o.Problems != nil {
		p.o.Problems.SetProblem(key, msg)
	}
}

func (p *Poster) clearProblem(key string) {
	if p.o.Problems != nil {
		p.o.Problems.ClearProblem(key)
	}
}
