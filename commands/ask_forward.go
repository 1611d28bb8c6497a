package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/internal/discordapi"
)

// Forwarding questions to the team channel, and the retry loop.

// flight is one forward in progress. done closes once the send's outcome is
// known (sent or not); the thread is opened after that.
type flight struct {
	done chan struct{}
	sent bool
}

// startForward forwards question id in the background unless a forward of
// it is already running, and returns that forward. A question is only ever
// forwarded by its flight, so the handler and the retry loop never send the
// same question twice at once.
func (a *Ask) startForward(id int64) *flight {
	a.mu.Lock()
	if f, ok := a.flights[id]; ok {
		a.mu.Unlock()
		return f
	}
	f := &flight{done: make(chan struct{})}
	a.flights[id] = f
	a.wg.Add(1)
	a.mu.Unlock()

	// A forward outlives the handler that answers "queued", and the
	// retry pass that started it: Run's end cancels it after a grace
	// period (askDrain), so that a stop lets a send in flight finish.
	bg := a.bg
	go func() {
		defer a.wg.Done()
		release := func() {
			a.mu.Lock()
			delete(a.flights, id)
			a.mu.Unlock()
		}
		q, sent := a.forward(bg, id)
		f.sent = sent
		if !sent {
			// Released before done closes, so that whoever waits can
			// retry at once.
			release()
			close(f.done)
			return
		}
		close(f.done)
		if q.TeamThreadID == "" && q.TeamMessageID != "" {
			// After a transient failure the retry loop opens it
			// (refreshTeamMessage). Not under the question's lock: a
			// slow Discord must not hold up the team's buttons.
			if a.openTeamThread(bg, q) {
				a.markTeamStale(bg, id, true)
				a.Kick()
			}
		}
		release()
	}()
	return f
}

// inFlight reports whether a forward of id is running.
func (a *Ask) inFlight(id int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.flights[id]
	return ok
}

// forward sends question id to the team channel once: it records the
// attempt first, looks for an earlier attempt's message before sending
// again, and records the outcome. It returns the question as now stored.
func (a *Ask) forward(ctx context.Context, id int64) (*Question, bool) {
	q, err := a.store.Question(ctx, id)
	if err != nil {
		a.log.Error("ask: forward: load question", "question_id", id, "error", err)
		return nil, false
	}
	if q.Forwarded {
		return q, true
	}
	channel := a.o.TeamChannelID
	fail := func(err error) (*Question, bool) {
		askForwards.WithLabelValues("failed").Inc()
		class, floor := classify(err)
		next := a.now().Add(backoff(q.ForwardAttempts, floor))
		if class != errTransient {
			a.log.Error("ask: team channel refuses the question; kept queued", "question_id", id, "channel_id", channel, "error", err)
			if a.o.Problems != nil {
				a.o.Problems.SetProblem(forwardProblem, fmt.Sprintf("questions cannot reach the team channel %s (%s); they are kept and retried", channel, errText(err)))
			}
		} else {
			a.log.Warn("ask: team channel unavailable; question queued", "question_id", id, "channel_id", channel, "error", err, "next_attempt", next)
		}
		if err := a.store.MarkForwardFailed(ctx, id, next, errText(err)); err != nil {
			a.log.Error("ask: forward: record failure", "question_id", id, "error", err)
		}
		a.Kick() // Run sleeps until this retry is due
		q.NextAttempt = next
		return q, false
	}
	if q.ForwardAttempts > 0 {
		// An earlier send may have reached Discord after its nonce expired.
		msgID, err := a.findTeamMessage(ctx, channel, id)
		if err != nil {
			return fail(err)
		}
		if msgID != "" {
			askForwards.WithLabelValues("found").Inc()
			return a.recordForwarded(ctx, q, channel, msgID)
		}
	}
	if err := a.store.MarkForwardAttempt(ctx, id, a.now()); err != nil {
		a.log.Error("ask: forward: record attempt", "question_id", id, "error", err)
		return q, false
	}
	q.ForwardAttempts++
	answers, err := a.store.Answers(ctx, id)
	if err != nil {
		a.log.Error("ask: forward: load answers", "question_id", id, "error", err)
	}
	embeds, comps := teamMessage(q, answers)
	msg, err := a.sendNonce(ctx, channel, &discordgo.MessageSend{
		Embeds: embeds, Components: comps, AllowedMentions: NoMentions(),
	}, questionNonce(q))
	if err != nil {
		return fail(err)
	}
	askForwards.WithLabelValues("sent").Inc()
	return a.recordForwarded(ctx, q, channel, msg.ID)
}

func (a *Ask) recordForwarded(ctx context.Context, q *Question, channel, msgID string) (*Question, bool) {
	at := a.now()
	if err := a.store.MarkForwarded(ctx, q.ID, channel, msgID, at); err != nil {
		// The next attempt finds the message among the channel's recent ones.
		a.log.Error("ask: forward: record forwarded", "question_id", q.ID, "message_id", msgID, "error", err)
	}
	q.Forwarded, q.TeamChannelID, q.TeamMessageID, q.ForwardedAt = true, channel, msgID, at
	if a.o.Problems != nil {
		a.o.Problems.ClearProblem(forwardProblem)
	}
	a.log.Info("ask: question forwarded", "question_id", q.ID, "message_id", msgID)
	return q, true
}

// questionNonce identifies a question's team message to Discord's nonce
// check (<= 25 characters; the time keeps it unique to this database).
func questionNonce(q *Question) string {
	return "q" + strconv.FormatInt(q.ID, 10) + "." + strconv.FormatInt(q.AskedAt.UnixMilli(), 36)
}

// footerMarker is the team message's footer, by which a re-send finds an
// earlier one.
func footerMarker(id int64) string { return "Question #" + strconv.FormatInt(id, 10) }

// findMessage returns the id of the first of channelID's limit most recent
// messages with an embed that match accepts, or "" when none has one.
func (a *Ask) findMessage(ctx context.Context, channelID string, limit int, match func(*discordgo.MessageEmbed) bool) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, askCallTimeout)
	defer cancel()
	msgs, err := a.dc.ChannelMessages(channelID, limit, "", "", "", discordgo.WithContext(cctx), discordgo.WithRetryOnRatelimit(false))
	if err != nil {
		return "", fmt.Errorf("ask: recent messages of %s: %w", channelID, err)
	}
	for _, m := range msgs {
		for _, e := range m.Embeds {
			if e != nil && match(e) {
				return m.ID, nil
			}
		}
	}
	return "", nil
}

// findTeamMessage looks for question id's message among the team channel's
// 100 most recent messages.
func (a *Ask) findTeamMessage(ctx context.Context, channel string, id int64) (string, error) {
	marker := footerMarker(id)
	return a.findMessage(ctx, channel, 100, func(e *discordgo.MessageEmbed) bool {
		return e.Footer != nil && e.Footer.Text == marker
	})
}

// sendNonce posts m with nonce + enforce_nonce: the same nonce within
// Discord's window returns the first message instead of a second one.
func (a *Ask) sendNonce(ctx context.Context, channelID string, m *discordgo.MessageSend, nonce string) (*discordgo.Message, error) {
	cctx, cancel := context.WithTimeout(ctx, askCallTimeout)
	defer cancel()
	msg, err := discordapi.SendMessage(cctx, a.dc, channelID, m, nonce)
	if err != nil {
		return nil, fmt.Errorf("ask: send to channel %s: %w", channelID, err)
	}
	return msg, nil
}

// openTeamThread opens the team's discussion thread on the question's
// message and records it. It returns true when it should be tried again
// later (a transient failure); a refusal (no permission) only costs the
// thread.
func (a *Ask) openTeamThread(ctx context.Context, q *Question) (retry bool) {
	cctx, cancel := context.WithTimeout(ctx, askCallTimeout)
	defer cancel()
	th, err := a.dc.MessageThreadStartComplex(q.TeamChannelID, q.TeamMessageID, &discordgo.ThreadStart{
		Name: threadName(fmt.Sprintf("Question #%d: ", q.ID), q.Text), AutoArchiveDuration: 10080,
	}, discordgo.WithContext(cctx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(0))
	threadID := ""
	switch {
	case err == nil:
		threadID = th.ID
	case restCode(err) == discordgo.ErrCodeThreadAlreadyCreatedForThisMessage:
		// An earlier attempt opened it and its answer was lost: a
		// message's thread has the message's id.
		threadID = q.TeamMessageID
	case isTransient(err):
		a.log.Warn("ask: team thread not opened yet; retried", "question_id", q.ID, "error", err)
		return true
	default:
		a.log.Warn("ask: team thread not opened", "question_id", q.ID, "error", err)
		return false
	}
	if err := a.store.SetTeamThread(ctx, q.ID, threadID); err != nil {
		a.log.Error("ask: record team thread", "question_id", q.ID, "error", err)
		return true
	}
	q.TeamThreadID = threadID
	return false
}

func (a *Ask) markTeamStale(ctx context.Context, id int64, stale bool) {
	if err := a.store.MarkTeamMessage(ctx, id, stale); err != nil {
		a.log.Error("ask: record team message state", "question_id", id, "error", err)
	}
}

// threadName is prefix + the text's first words, 1..100 characters.
func threadName(prefix, text string) string {
	words := strings.Join(strings.Fields(text), " ")
	name := prefix + words
	if utf8.RuneCountInString(name) > 100 {
		name = articles.Excerpt(name, 100)
	}
	if IsBlank(words) {
		return strings.TrimSuffix(strings.TrimSpace(prefix), ":")
	}
	return strings.TrimSpace(name)
}

// Kick makes Run look for due work now.
func (a *Ask) Kick() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// Run retries queued forwards and undelivered answers until ctx ends, then
// waits for the forwards it started. It sleeps until the next item is due
// (at most 5 minutes) or Kick is called.
func (a *Ask) Run(ctx context.Context) {
	defer a.drain()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.kick:
		case <-timer.C:
		}
		next := a.RetryDue(ctx)
		wait := askRetryMax
		if !next.IsZero() {
			// At least a second: an item that is due but busy (a forward
			// or delivery in progress) must not make this loop spin.
			wait = min(max(next.Sub(a.now()), time.Second), askRetryMax)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// drain waits for the forwards in progress, at most askDrain; then it
// cancels them (a cancelled send stays queued and is looked for before it is
// sent again).
func (a *Ask) drain() {
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	t := time.NewTimer(askDrain)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		a.bgCancel()
		<-done
	}
}

// RetryDue does one pass of the retry loop: it forwards the queued
// questions that are due, delivers the answers that are due and edits team
// messages whose last edit failed, and returns when the next item will be
// due (zero when nothing waits).
func (a *Ask) RetryDue(ctx context.Context) time.Time {
	now := a.now()
	qs, err := a.store.DueForwards(ctx, now, askBatch)
	if err != nil {
		a.log.Error("ask: list queued questions", "error", err)
	}
	for k, q := range qs {
		if ctx.Err() != nil {
			return time.Time{}
		}
		if a.inFlight(q.ID) {
			continue
		}
		f := a.startForward(q.ID)
		<-f.done
		if !f.sent {
			// The channel is failing: the rest wait for the same retry
			// instead of each trying again now.
			if cur, err := a.store.Question(ctx, q.ID); err == nil {
				for _, rest := range qs[k+1:] {
					if err := a.store.MarkForwardFailed(ctx, rest.ID, cur.NextAttempt, "waiting for the team channel"); err != nil {
						a.log.Error("ask: postpone question", "question_id", rest.ID, "error", err)
					}
				}
			}
			break
		}
	}
	as, err := a.store.DueAnswers(ctx, now, askBatch)
	if err != nil {
		a.log.Error("ask: list pending answers", "error", err)
	}
	for _, ans := range as {
		if ctx.Err() != nil {
			return time.Time{}
		}
		a.deliverQuestion(ctx, ans.QuestionID, false)
	}
	stale, err := a.store.StaleTeamMessages(ctx, askBatch)
	if err != nil {
		a.log.Error("ask: list stale team messages", "error", err)
	}
	for _, q := range stale {
		if ctx.Err() != nil {
			return time.Time{}
		}
		a.refreshTeamMessage(ctx, q.ID)
	}
	next, ok, err := a.store.NextRetry(ctx)
	if err != nil {
		a.log.Error("ask: next retry", "error", err)
		return a.now().Add(askRetryMin)
	}
	if stale, err := a.store.StaleTeamMessages(ctx, 1); err == nil && len(stale) > 0 {
		if soon := a.now().Add(askRetryMin); !ok || soon.Before(next) {
			next, ok = soon, true
		}
	}
	if !ok {
		return time.Time{}
	}
	return next
}
