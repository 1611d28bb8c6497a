package bot

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles"
)

// Announcement channels: each post is published (crossposted) after it is
// sent, as soon as Discord allows. Discord allows about 10 publishes per
// channel per hour and answers 429 with a long retry_after past that, so
// publishing is a queue in the database (FollowUpWorker) that waits out
// every retry_after, survives restarts, and never delays a post.

// Publisher publishes messages.
type Publisher interface {
	Crosspost(ctx context.Context, channelID, messageID string) error
}

// NewPublishWorker returns the worker that publishes channelID's posts.
func NewPublishWorker(channelID string, routes []string, store FollowUpStore, pub Publisher, problems ProblemReporter, log *slog.Logger) *FollowUpWorker {
	return newFollowUpWorker(articles.FollowPublish, channelID, routes, store, problems, log,
		func(ctx context.Context, f articles.FollowUp) followResult {
			return publishResult(pub.Crosspost(ctx, f.ChannelID, f.MessageID), f.ChannelID)
		})
}

// publishResult sorts a crosspost's outcome.
func publishResult(err error, channelID string) followResult {
	if err == nil {
		return followResult{outcome: followDone}
	}
	f := classify(err)
	switch {
	case f.code == 40033: // already crossposted
		return followResult{outcome: followDone}
	case f.status == http.StatusTooManyRequests:
		wait := f.retryAfter
		if wait <= 0 {
			wait = followRetry
		}
		return followResult{outcome: followLater, wait: wait, msg: err.Error()}
	case f.code == 10008 || f.code == 50024:
		return followResult{outcome: followFailed, msg: err.Error(),
			problem: fmt.Sprintf("a post could not be published (Discord %d: the message is gone or the channel is no longer an announcement channel)", f.code)}
	case f.kind == failAccess:
		return followResult{outcome: followLater, wait: followIdle * 5, msg: err.Error(),
			problem: fmt.Sprintf("cannot publish posts (HTTP %d, code %d): check Send Messages in channel %s", f.status, f.code, channelID)}
	case f.kind == failPermanent:
		return followResult{outcome: followFailed, msg: err.Error(),
			problem: fmt.Sprintf("Discord refused to publish a post (HTTP %d, code %d)", f.status, f.code)}
	default:
		return followResult{outcome: followLater, wait: followRetry, msg: err.Error()}
	}
}

// discordPublisher crossposts through a discordgo session, never sleeping
// through a 429 (the worker keeps the channel's hold-off).
type discordPublisher struct{ s *discordgo.Session }

// NewDiscordPublisher returns a Publisher over s.
func NewDiscordPublisher(s *discordgo.Session) Publisher { return discordPublisher{s} }

func (d discordPublisher) Crosspost(ctx context.Context, channelID, messageID string) error {
	_, err := d.s.ChannelMessageCrosspost(channelID, messageID,
		discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(0))
	if err != nil {
		return fmt.Errorf("bot: publish message %s in channel %s: %w", messageID, channelID, err)
	}
	return nil
}
