package bot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/internal/discordapi"
)

// discordSender sends through a discordgo session.
type discordSender struct {
	s *discordgo.Session

	mu      sync.Mutex
	holdOff map[string]time.Time // channel -> no send before (after a 429)
}

// NewDiscordSender returns a Sender over s. Sends carry a nonce with
// enforce_nonce, are never retried by discordgo on a 429 (the poster decides),
// follow the context, and wait (cancellably) for the channel's rate-limit
// bucket, so that a burst drains at the pace Discord's headers allow.
func NewDiscordSender(s *discordgo.Session) Sender {
	return &discordSender{s: s, holdOff: map[string]time.Time{}}
}

func (d *discordSender) Send(ctx context.Context, channelID string, m *discordgo.MessageSend, nonce string) (string, error) {
	if err := d.wait(ctx, channelID, discordapi.SendBucket(channelID)); err != nil {
		return "", fmt.Errorf("bot: send to channel %s: %w: %w", channelID, errNotSent, err)
	}
	msg, err := discordapi.SendMessage(ctx, d.s, channelID, m, nonce)
	if errors.Is(err, discordapi.ErrUnreadable) {
		// Discord answered 2xx, so the message exists: the next run finds it.
		return "", fmt.Errorf("bot: send to channel %s: %w: %w", channelID, errMaybeSent, err)
	}
	if err != nil {
		var rl *discordgo.RateLimitError
		if errors.As(err, &rl) && rl.TooManyRequests != nil {
			d.mu.Lock()
			d.holdOff[channelID] = time.Now().Add(rl.RetryAfter)
			d.mu.Unlock()
		}
		return "", fmt.Errorf("bot: send to channel %s: %w", channelID, err)
	}
	return msg.ID, nil
}

// wait waits until the bucket has a request left (by the headers of the
// last answer) and any 429's retry_after has passed. discordgo would sleep
// too, but not cancellably.
func (d *discordSender) wait(ctx context.Context, channelID, bucket string) error {
	rl := d.s.Ratelimiter
	b := rl.GetBucket(bucket)
	b.Lock()
	wait := rl.GetWaitTime(b, 1)
	b.Unlock()
	d.mu.Lock()
	if until := time.Until(d.holdOff[channelID]); until > wait {
		wait = until
	}
	d.mu.Unlock()
	if wait <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (d *discordSender) Recent(ctx context.Context, channelID string, limit int) ([]*discordgo.Message, error) {
	ms, err := d.s.ChannelMessages(channelID, limit, "", "", "",
		discordgo.WithRetryOnRatelimit(false), discordgo.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("bot: read recent messages of channel %s: %w", channelID, err)
	}
	// Only this bot's own messages can be its earlier posts (another bot,
	// a webhook or a followed channel may share a link).
	self := ""
	if d.s.State != nil {
		d.s.State.RLock()
		if d.s.State.User != nil {
			self = d.s.State.User.ID
		}
		d.s.State.RUnlock()
	}
	if self == "" {
		return ms, nil
	}
	own := ms[:0]
	for _, m := range ms {
		if m != nil && m.Author != nil && m.Author.ID == self {
			own = append(own, m)
		}
	}
	return own, nil
}

var (
	// errNotSent marks a send error that happened before the request left.
	errNotSent = errors.New("not sent")
	// errMaybeSent marks a send error after Discord may have created the message.
	errMaybeSent = errors.New("may have been sent")
)

type failKind int

const (
	failTransient failKind = iota // retry on a later run
	failPermanent                 // 400: this message will never be accepted
	failAccess                    // 401/403/404: fix the setup, then retry
)

// failure is a send error classified for the posting state machine.
type failure struct {
	kind       failKind
	sent       bool // the attempt may have reached Discord
	status     int
	code       int
	retryAfter time.Duration
	err        error
}

// classify sorts a Sender's error: a 400 is permanent, 401/403/404 an access
// problem, anything else transient; sent is false only when the request
// surely did not create a message (a 429, a refused connection, a send
// cancelled before it left).
func classify(err error) failure {
	f := failure{kind: failTransient, sent: true, err: err}
	var rest *discordgo.RESTError
	var rl *discordgo.RateLimitError
	var op *net.OpError
	var dns *net.DNSError
	switch {
	case errors.Is(err, errNotSent):
		f.sent = false
	case errors.Is(err, errMaybeSent):
	case errors.As(err, &rl):
		f.sent = false
		f.status = http.StatusTooManyRequests
		if rl.TooManyRequests != nil {
			f.retryAfter = rl.RetryAfter
		}
	case errors.As(err, &rest) && rest.Response != nil:
		f.status = rest.Response.StatusCode
		if rest.Message != nil {
			f.code = rest.Message.Code
		}
		switch {
		case f.status == http.StatusTooManyRequests:
			f.sent = false
		case f.status == http.StatusBadRequest:
			f.kind, f.sent = failPermanent, false
		case f.status == http.StatusUnauthorized || f.status == http.StatusForbidden || f.status == http.StatusNotFound:
			f.kind, f.sent = failAccess, false
		}
	case errors.Is(err, syscall.ECONNREFUSED), errors.As(err, &dns):
		f.sent = false
	case errors.As(err, &op) && op.Op == "dial":
		f.sent = false
	}
	return f
}

// accessProblem says what to fix for an access error, naming the channel.
func accessProblem(f failure, channelID string, reading bool) string {
	switch {
	case f.status == http.StatusUnauthorized:
		return "Discord refused the bot token (401): check DISCORD_TOKEN"
	case f.code == 50001:
		if reading {
			return fmt.Sprintf("missing permission Read Message History (or View Channel) in news channel %s (Discord 50001 Missing Access)", channelID)
		}
		return fmt.Sprintf("missing permission View Channel in news channel %s (Discord 50001 Missing Access)", channelID)
	case f.code == 50013:
		if reading {
			return fmt.Sprintf("missing permission Read Message History in news channel %s (Discord 50013 Missing Permissions)", channelID)
		}
		return fmt.Sprintf("missing permission Send Messages or Embed Links in news channel %s (Discord 50013 Missing Permissions)", channelID)
	case f.code == 10003 || f.status == http.StatusNotFound:
		return fmt.Sprintf("news channel %s not found (Discord %d): check NEWS_CHANNEL_ID", channelID, f.code)
	default:
		return fmt.Sprintf("Discord refused access to news channel %s (HTTP %d, code %d)", channelID, f.status, f.code)
	}
}
