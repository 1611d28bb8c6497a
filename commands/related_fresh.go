package commands

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/articles/related"
)

// IndexFreshener brings the relatedness index up to date with the store;
// *related.Syncer satisfies it.
type IndexFreshener interface {
	// Behind returns how many stored changes the index lacks (one cheap
	// query).
	Behind(ctx context.Context) (int64, error)
	// Busy reports whether a sync is running (a new one would wait for it).
	Busy() bool
	// Sync applies every stored change the index lacks.
	Sync(ctx context.Context) (int, error)
}

// relSyncInline is how many changes /related applies before answering
// without deferring: far below what takes a second (see the related
// package's BenchmarkSyncerBurst).
const relSyncInline = 500

// freshen syncs the index when the store holds changes it lacks, deferring
// the answer first when that may take long. A failing store is logged and
// the index answers as it is.
func (h *relatedHandler) freshen(ctx context.Context, ans *relAnswer) error {
	if h.fresh == nil {
		return nil
	}
	behind, err := h.fresh.Behind(ctx)
	if err != nil {
		h.log.Warn("related: cannot tell whether the index is current", "error", err)
		return nil
	}
	if behind == 0 {
		return nil
	}
	if behind > relSyncInline || h.fresh.Busy() {
		if err := ans.deferReply(ctx); err != nil {
			return err
		}
	}
	if _, err := h.fresh.Sync(ctx); err != nil {
		h.log.Warn("related: index sync failed; answering from the index as it is", "error", err)
	}
	return nil
}

// freshenQuick syncs the index before an autocomplete, which cannot be
// deferred: only a small lag, and only when no sync is running (a larger
// one is left to the indexer and to the submitted command).
func (h *relatedHandler) freshenQuick(ctx context.Context) {
	if h.fresh == nil {
		return
	}
	behind, err := h.fresh.Behind(ctx)
	if err != nil || behind == 0 || behind > relSyncInline || h.fresh.Busy() {
		return
	}
	if _, err := h.fresh.Sync(ctx); err != nil {
		h.log.Warn("related: index sync failed; suggesting from the index as it is", "error", err)
	}
}

// relAnswer answers one interaction, at once or after deferring it.
type relAnswer struct {
	r        Responder
	i        *discordgo.Interaction
	deferred bool
}

// deferReply tells Discord the answer comes later ("thinking…"), so that the
// 3 s deadline no longer applies (the token lasts 15 minutes).
func (a *relAnswer) deferReply(ctx context.Context) error {
	if a.deferred {
		return nil
	}
	err := a.r.InteractionRespond(a.i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
	}, discordgo.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("related: defer: %w", err)
	}
	a.deferred = true
	return nil
}

// send gives the answer: the response itself, or, once deferred, an edit of
// the deferred message. An ephemeral answer after a (public) deferral is an
// ephemeral follow-up, and the "thinking…" message is removed (where the
// responder can delete; else it is edited into the answer).
func (a *relAnswer) send(ctx context.Context, resp *discordgo.InteractionResponse) error {
	if !a.deferred {
		if err := a.r.InteractionRespond(a.i, resp, discordgo.WithContext(ctx)); err != nil {
			return fmt.Errorf("related: respond: %w", err)
		}
		return nil
	}
	d := resp.Data
	if del, ok := a.r.(interactionDeleter); ok && d.Flags&discordgo.MessageFlagsEphemeral != 0 {
		if _, err := a.r.FollowupMessageCreate(a.i, true, &discordgo.WebhookParams{
			Content: d.Content, Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: d.AllowedMentions,
		}, discordgo.WithContext(ctx)); err != nil {
			return fmt.Errorf("related: follow-up: %w", err)
		}
		if err := del.InteractionResponseDelete(a.i, discordgo.WithContext(ctx)); err != nil {
			return fmt.Errorf("related: delete deferred answer: %w", err)
		}
		return nil
	}
	// (A responder that cannot delete: the placeholder itself says it.)
	embeds := d.Embeds
	content := d.Content
	if _, err := a.r.InteractionResponseEdit(a.i, &discordgo.WebhookEdit{
		Content: &content, Embeds: &embeds, AllowedMentions: d.AllowedMentions,
	}, discordgo.WithContext(ctx)); err != nil {
		return fmt.Errorf("related: edit deferred answer: %w", err)
	}
	return nil
}

// interactionDeleter is implemented by *discordgo.Session.
type interactionDeleter interface {
	InteractionResponseDelete(interaction *discordgo.Interaction, options ...discordgo.RequestOption) error
}

// LinkKind is what an unknown link is to the bot.
type LinkKind int

const (
	// LinkOffSite: not on a site's host; nothing is requested.
	LinkOffSite LinkKind = iota
	// LinkUnreadable: on a site's host, but its page is not read (reading
	// is off, or it failed lately).
	LinkUnreadable
	// LinkReadable: on a site's host; its page may be read.
	LinkReadable
)

// ErrLinkUnreadable is returned by LinkReader.ReadLink for a page that
// could not be read or holds no article (the failure is remembered).
var ErrLinkUnreadable = errors.New("the page could not be read")

// LinkReader looks up links that name no stored article.
type LinkReader interface {
	// Classify says what rawURL is, without any request to it.
	Classify(ctx context.Context, rawURL string) (LinkKind, error)
	// ReadLink reads the page once, stores it as an archive article of its
	// site and returns it (indexed: the index's sync has run), or
	// ErrLinkUnreadable (remembered).
	ReadLink(ctx context.Context, rawURL string) (articles.Article, error)
}

// relOffSite answers a link to another site.
const relOffSite = "I can only look up articles from this server's own site, and that link is not on it. " +
	"Try the link of one of its articles, a title or a few words."

// unknownLink answers a link that names no stored article: a site page is
// read (deferring first), stored and answered for; another host's link is
// refused without any request.
func (h *relatedHandler) unknownLink(ctx context.Context, ans *relAnswer, q, link string) error {
	if h.links == nil {
		return ans.send(ctx, Ephemeral(relNoMatch(q, false, related.Hit{})))
	}
	kind, err := h.links.Classify(ctx, link)
	if err != nil {
		return fmt.Errorf("related: link %q: %w", articles.SiteOf(link), err)
	}
	switch kind {
	case LinkOffSite:
		return ans.send(ctx, Ephemeral(relOffSite))
	case LinkUnreadable:
		return ans.send(ctx, Ephemeral(relNoMatch(q, false, related.Hit{})))
	}
	// The read waits for the site's pace and its timeout: past the deadline.
	if err := ans.deferReply(ctx); err != nil {
		return err
	}
	art, err := h.links.ReadLink(ctx, link)
	if err != nil {
		if !errors.Is(err, ErrLinkUnreadable) {
			h.log.Warn("related: reading an unknown link failed", "site", articles.SiteOf(link), "error", err)
		}
		return ans.send(ctx, Ephemeral(relNoMatch(q, false, related.Hit{})))
	}
	target := link
	if art.ID != 0 {
		target = "id:" + strconv.FormatInt(art.ID, 10)
	}
	hits, named, isNamed := h.resolve(target)
	return ans.send(ctx, relResponse(q, hits, isNamed, named))
}
