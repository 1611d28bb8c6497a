package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Follow-ups of a post (publishing it, opening a thread on it) run in a
// worker of their own per channel: their rate limits and failures hold
// back only themselves, never posting. Their queue is in the database, so
// they survive restarts.

var followUpsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "newsbot_followups_total",
	Help: "Follow-ups of posts (publish, thread) by outcome (done, failed, later) and route.",
}, []string{"kind", "outcome", "route"})

// FollowUpStore is the follow-up queue (articles.DeliveryStore has it).
type FollowUpStore interface {
	DueFollowUps(ctx context.Context, channelID string, kind articles.FollowUpKind, now time.Time, limit int) ([]articles.FollowUp, error)
	FollowUpDone(ctx context.Context, f articles.FollowUp, failed bool, msg string) error
	FollowUpLater(ctx context.Context, f articles.FollowUp, after time.Time, msg string) error
}

// followOutcome is what became of one follow-up attempt.
type followOutcome int

const (
	followDone   followOutcome = iota // done (or found done)
	followFailed                      // never possible: given up, shown on /healthz
	followLater                       // try again after wait; the channel's queue waits too
)

// followResult is one attempt's outcome; problem, when set, shows on
// /healthz until a later attempt succeeds.
type followResult struct {
	outcome followOutcome
	wait    time.Duration
	msg     string
	problem string
}

// followIdle is how long a worker sleeps with nothing to do, unless kicked:
// it also picks up hold-offs left by an earlier process.
const followIdle = time.Minute

// followRetry is the wait after a transient failure (5xx, timeout).
const followRetry = 30 * time.Second

// FollowUpWorker runs one channel's follow-ups of one kind.
type FollowUpWorker struct {
	kind     articles.FollowUpKind
	channel  string
	routes   []string
	store    FollowUpStore
	do       func(ctx context.Context, f articles.FollowUp) followResult
	problems ProblemReporter
	log      *slog.Logger
	now      func() time.Time
	kick     chan struct{}
	problem  string    // shown now, "" when none
	until    time.Time // the whole channel waits until then (a 429, an outage)
}

func newFollowUpWorker(kind articles.FollowUpKind, channelID string, routes []string, store FollowUpStore,
	problems ProblemReporter, log *slog.Logger, do func(context.Context, articles.FollowUp) followResult) *FollowUpWorker {
	if log == nil {
		log = slog.Default()
	}
	return &FollowUpWorker{kind: kind, channel: channelID, routes: routes, store: store, do: do,
		problems: problems, log: log, now: time.Now, kick: make(chan struct{}, 1)}
}

// Kick wakes the worker (a post went out).
func (w *FollowUpWorker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run works until ctx ends.
func (w *FollowUpWorker) Run(ctx context.Context) {
	for {
		wait := w.drain(ctx)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// drain does the due follow-ups, oldest post first, and returns how long
// to wait before the next look: until a hold-off ends after a refusal, else
// followIdle.
func (w *FollowUpWorker) drain(ctx context.Context) time.Duration {
	if left := w.until.Sub(w.now()); left > 0 {
		return left
	}
	for ctx.Err() == nil {
		due, err := w.store.DueFollowUps(ctx, w.channel, w.kind, w.now(), 20)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("cannot read the "+string(w.kind)+" queue", "channel_id", w.channel, "error", err)
			}
			return followRetry
		}
		if len(due) == 0 {
			return followIdle
		}
		for _, f := range due {
			res := w.do(ctx, f)
			if ctx.Err() != nil {
				return 0
			}
			sctx := context.WithoutCancel(ctx)
			label := strings.Join(w.routes, ",")
			switch res.outcome {
			case followDone:
				err = w.store.FollowUpDone(sctx, f, false, "")
				followUpsTotal.WithLabelValues(string(w.kind), "done", label).Inc()
				w.setProblem("")
			case followFailed:
				err = w.store.FollowUpDone(sctx, f, true, res.msg)
				followUpsTotal.WithLabelValues(string(w.kind), "failed", label).Inc()
				w.log.Warn(string(w.kind)+" given up", "channel_id", w.channel, "message_id", f.MessageID, "reason", res.msg)
				if res.problem != "" {
					w.setProblem(res.problem)
				}
			case followLater:
				err = w.store.FollowUpLater(sctx, f, w.now().Add(res.wait), res.msg)
				followUpsTotal.WithLabelValues(string(w.kind), "later", label).Inc()
				w.log.Info(string(w.kind)+" held off", "channel_id", w.channel, "message_id", f.MessageID,
					"retry_in", res.wait, "reason", res.msg)
				if res.problem != "" {
					w.setProblem(res.problem)
				}
			}
			if err != nil {
				w.log.Warn("cannot record a "+string(w.kind), "channel_id", w.channel, "error", err)
				return followRetry
			}
			if res.outcome == followLater {
				// The whole channel is held off (a rate limit, an outage):
				// its other follow-ups would meet the same answer.
				w.until = w.now().Add(res.wait)
				return res.wait
			}
		}
	}
	return 0
}

// setProblem shows (msg != "") or clears the worker's /healthz problem.
func (w *FollowUpWorker) setProblem(msg string) {
	if w.problems == nil || msg == w.problem {
		return
	}
	key := string(w.kind) + ":" + w.channel
	if msg == "" {
		w.problems.ClearProblem(key)
	} else {
		w.problems.SetProblem(key, fmt.Sprintf("%s: %s", routesLabel(w.routes, w.channel), msg))
	}
	w.problem = msg
}

// routesLabel names the routes of a channel in messages.
func routesLabel(routes []string, channelID string) string {
	switch len(routes) {
	case 0:
		return "news channel " + channelID
	case 1:
		return fmt.Sprintf("route %q (channel %s)", routes[0], channelID)
	default:
		return fmt.Sprintf("routes %q (channel %s)", strings.Join(routes, `", "`), channelID)
	}
}
