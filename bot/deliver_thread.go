package bot

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles"
)

// thread: true: after a post, a public thread on it named by the article's
// title (cut at a word to 100 characters), archived after a day. "Thread
// already exists" (160004) counts as done; a failure is retried later by
// the channel's FollowUpWorker and never holds back posts.

// threadArchiveDuration archives a quiet discussion thread after a day.
const threadArchiveDuration = 1440

// ThreadOpener opens a thread on a message.
type ThreadOpener interface {
	OpenThread(ctx context.Context, channelID, messageID, name string) error
}

// NewThreadWorker returns the worker that opens threads on channelID's posts.
func NewThreadWorker(channelID string, routes []string, store FollowUpStore, op ThreadOpener, problems ProblemReporter, log *slog.Logger) *FollowUpWorker {
	return newFollowUpWorker(articles.FollowThread, channelID, routes, store, problems, log,
		func(ctx context.Context, f articles.FollowUp) followResult {
			name := ForumPostName(articles.Article{Title: f.Title, URL: f.URL})
			return threadResult(op.OpenThread(ctx, f.ChannelID, f.MessageID, name), f.ChannelID)
		})
}

// threadResult sorts a thread opening's outcome.
func threadResult(err error, channelID string) followResult {
	if err == nil {
		return followResult{outcome: followDone}
	}
	f := classify(err)
	switch {
	case f.code == 160004: // the post has its thread already
		return followResult{outcome: followDone}
	case f.status == http.StatusTooManyRequests:
		wait := f.retryAfter
		if wait <= 0 {
			wait = followRetry
		}
		return followResult{outcome: followLater, wait: wait, msg: err.Error()}
	case f.code == 160006:
		return followResult{outcome: followLater, wait: followIdle * 10, msg: err.Error(),
			problem: "the server has too many active threads (Discord 160006); threads on posts wait"}
	case f.code == 10008:
		return followResult{outcome: followFailed, msg: err.Error(),
			problem: "a post was deleted before its thread could be opened (Discord 10008)"}
	case f.kind == failAccess:
		return followResult{outcome: followLater, wait: followIdle * 5, msg: err.Error(),
			problem: fmt.Sprintf("cannot open threads on posts (HTTP %d, code %d): give the bot Create Public Threads in channel %s", f.status, f.code, channelID)}
	case f.kind == failPermanent:
		return followResult{outcome: followFailed, msg: err.Error(),
			problem: fmt.Sprintf("Discord refused a thread on a post (HTTP %d, code %d)", f.status, f.code)}
	default:
		return followResult{outcome: followLater, wait: followRetry, msg: err.Error()}
	}
}

// discordThreads opens threads through a discordgo session.
type discordThreads struct{ s *discordgo.Session }

// NewDiscordThreads returns a ThreadOpener over s.
func NewDiscordThreads(s *discordgo.Session) ThreadOpener { return discordThreads{s} }

func (d discordThreads) OpenThread(ctx context.Context, channelID, messageID, name string) error {
	_, err := d.s.MessageThreadStartComplex(channelID, messageID, &discordgo.ThreadStart{
		Name: name, AutoArchiveDuration: threadArchiveDuration,
	}, discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(0))
	if err != nil {
		return fmt.Errorf("bot: thread on message %s in channel %s: %w", messageID, channelID, err)
	}
	return nil
}
