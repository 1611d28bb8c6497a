package bot

import (
	"context"
	"log/slog"

	"github.com/newsbot/newsbot/articles"
)

// Text and announcement channels: each article is a message sent with a
// nonce derived from the article and the channel (Sender.Send). Discord
// forgets a nonce after a few minutes, so an attempt that may have reached
// Discord is looked for among the channel's recent messages before it is
// sent again. Publishing and threads follow a post on their own
// (deliver_announce.go, deliver_thread.go).

// find looks for a among the channel's recent messages by its embed's URL
// and returns the message id, or "" when it is not there. ok false ends the
// run (the channel could not be read, so sending again could duplicate).
func (r *run) find(ctx context.Context, a articles.Article) (id string, ok bool, err error) {
	p := r.p
	if !r.read {
		ms, err := p.o.Sender.Recent(ctx, p.o.ChannelID, recentLimit)
		if err != nil {
			if ctx.Err() != nil {
				return "", false, ctx.Err()
			}
			f := classify(err)
			if f.kind == failAccess {
				p.reportAccess(accessProblem(f, p.o.ChannelID, true), err)
			} else {
				p.log.Warn("cannot read the news channel to check an earlier attempt; retried on the next run",
					slog.Int64("article_id", a.ID), slog.String("channel_id", p.o.ChannelID), slog.Any("error", err))
			}
			return "", false, nil
		}
		r.recent, r.read = ms, true
	}
	want := articles.CanonicalURL(a.URL)
	if want == "" {
		return "", true, nil
	}
	for _, m := range r.recent {
		if m == nil || (m.Author != nil && !m.Author.Bot) {
			continue
		}
		for _, e := range m.Embeds {
			if e != nil && articles.CanonicalURL(e.URL) == want {
				return m.ID, true, nil
			}
		}
	}
	return "", true, nil
}
