package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/articles"
)

// Forum channels: each article is a forum post (a thread) named by its
// title whose first message is the post's embed, tagged from the article's
// categories, else the route's forum_tag. A forum post carries no nonce:
// before creating again one whose attempt may have reached Discord, the
// forum's threads are searched for it (see findForumPost).

// maxThreadName is Discord's limit on a thread's name.
const maxThreadName = 100

// maxForumTags is how many tags a forum post may carry.
const maxForumTags = 5

// forumArchiveDuration archives a quiet forum post after a day (minutes).
const forumArchiveDuration = 1440

// Forum configures posting into a forum channel.
type Forum struct {
	// Channel returns the channel as last read (kind, tags, flags); nil when
	// unknown. nil Channel: the channel is a forum.
	Channel func() *discordgo.Channel
	// FallbackTag is the route's forum_tag ("" for none).
	FallbackTag string
	// Moderator reports whether the bot has Manage Threads in the forum
	// (moderated tags need it).
	Moderator func() bool
	// Posts makes and finds forum posts.
	Posts ForumPoster
	// Timeout is the HTTP client's timeout: an attempt is looked for only
	// once it has passed, so that a request still in flight cannot land
	// after the search found nothing.
	Timeout time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// ForumPoster makes and finds forum posts.
type ForumPoster interface {
	// CreateForumPost creates a post named name with tags in forumID whose
	// first message is m, and returns the thread's id.
	CreateForumPost(ctx context.Context, forumID, name string, tags []string, m *discordgo.MessageSend) (string, error)
	// FindForumPost looks for the bot's post named name in forumID, among
	// its active threads and those archived since since, whose first
	// message's embed links to url; "" when there is none.
	FindForumPost(ctx context.Context, forumID, name, url string, since time.Time) (string, error)
}

// ForumPostName names an article's forum post: its title cut at a word to
// 100 characters, else its link.
func ForumPostName(a articles.Article) string {
	name := strings.TrimSpace(plain(a.Title))
	if name == "" {
		name = strings.TrimSpace(a.URL)
	}
	if name == "" {
		name = "News"
	}
	return articles.Excerpt(name, maxThreadName)
}

// ForumPostTags picks the forum's tags whose names match the article's
// categories (folded as filters are), in the article's category order, at
// most five; moderated tags only when moderator. Without a match, the
// fallback tag (when usable).
func ForumPostTags(forum *discordgo.Channel, categories []string, fallback string, moderator bool) []string {
	if forum == nil {
		return nil
	}
	usable := func(t discordgo.ForumTag) bool { return !t.Moderated || moderator }
	var ids []string
	seen := map[string]bool{}
	for _, c := range categories {
		want := articles.FoldName(c)
		for _, t := range forum.AvailableTags {
			if len(ids) < maxForumTags && !seen[t.ID] && usable(t) && articles.FoldName(t.Name) == want {
				seen[t.ID] = true
				ids = append(ids, t.ID)
			}
		}
	}
	if len(ids) == 0 && fallback != "" {
		for _, t := range forum.AvailableTags {
			if usable(t) && articles.FoldName(t.Name) == articles.FoldName(fallback) {
				return []string{t.ID}
			}
		}
	}
	return ids
}

// isForum reports whether the poster's channel is a forum now.
func (p *Poster) isForum() bool {
	f := p.o.Forum
	if f == nil {
		return false
	}
	if f.Channel == nil {
		return true
	}
	ch := f.Channel()
	return ch != nil && ch.Type == discordgo.ChannelTypeGuildForum
}

// sendForum creates a's forum post.
func (p *Poster) sendForum(ctx context.Context, a articles.Article, m *discordgo.MessageSend) (string, error) {
	f := p.o.Forum
	var forum *discordgo.Channel
	if f.Channel != nil {
		forum = f.Channel()
	}
	moderator := f.Moderator != nil && f.Moderator()
	tags := ForumPostTags(forum, a.Categories, f.FallbackTag, moderator)
	return f.Posts.CreateForumPost(ctx, p.o.ChannelID, ForumPostName(a), tags, m)
}

// findForum looks for an earlier attempt of a's forum post. ok false ends
// the run: the attempt's timeout has not passed yet, or the forum could not
// be searched.
func (r *run) findForum(ctx context.Context, a articles.Article) (id string, ok bool, err error) {
	p := r.p
	f := p.o.Forum
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	if !a.LastAttempt.IsZero() && now().Sub(a.LastAttempt) < f.Timeout {
		p.log.Info("forum post attempt may still be in flight; looked for on a later run",
			"article_id", a.ID, "channel_id", p.o.ChannelID)
		return "", false, nil
	}
	since := a.LastAttempt
	if since.IsZero() {
		since = now().Add(-24 * time.Hour)
	}
	id, err = f.Posts.FindForumPost(ctx, p.o.ChannelID, ForumPostName(a), a.URL, since.Add(-time.Minute))
	if err != nil {
		if ctx.Err() != nil {
			return "", false, ctx.Err()
		}
		fl := classify(err)
		if fl.kind == failAccess {
			p.reportAccess(accessProblem(fl, p.o.ChannelID, true), err)
		} else {
			p.log.Warn("cannot search the forum for an earlier attempt; retried on the next run",
				"article_id", a.ID, "channel_id", p.o.ChannelID, "error", err)
		}
		return "", false, nil
	}
	return id, true, nil
}

// kindHold reports whether a refusal of a post is one an admin's change to
// the channel causes and can undo (a forum's required tag, a channel whose
// kind changed since start): the delivery stays pending and /healthz says
// so, instead of the post failing for good.
func kindHold(f failure, forum bool) (string, bool) {
	if f.status != http.StatusBadRequest {
		return "", false
	}
	switch {
	case forum && f.code == 40067:
		return "the forum requires a tag and none of the article's categories or forum_tag names a usable one (Discord 40067)", true
	case f.code == 40058 || f.code == 50024:
		if forum {
			return fmt.Sprintf("the channel no longer takes forum posts (Discord %d): was it changed from a forum? Restart newsbot after changing a channel's kind", f.code), true
		}
		return fmt.Sprintf("the channel does not take messages (Discord %d): is it a forum now? Restart newsbot after changing a channel's kind", f.code), true
	}
	return "", false
}

// ---- Discord ----

// discordForum makes and finds forum posts through a discordgo session.
type discordForum struct{ s *discordgo.Session }

// NewDiscordForum returns a ForumPoster over s.
func NewDiscordForum(s *discordgo.Session) ForumPoster { return discordForum{s} }

func (d discordForum) CreateForumPost(ctx context.Context, forumID, name string, tags []string, m *discordgo.MessageSend) (string, error) {
	th, err := d.s.ForumThreadStartComplex(forumID, &discordgo.ThreadStart{
		Name: name, AutoArchiveDuration: forumArchiveDuration, AppliedTags: tags,
	}, m, discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(0))
	if err != nil {
		return "", fmt.Errorf("bot: forum post in %s: %w", forumID, err)
	}
	if th == nil || th.ID == "" {
		return "", fmt.Errorf("bot: forum post in %s: %w: unreadable answer", forumID, errMaybeSent)
	}
	return th.ID, nil
}

func (d discordForum) FindForumPost(ctx context.Context, forumID, name, url string, since time.Time) (string, error) {
	opts := []discordgo.RequestOption{discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false)}
	self := ""
	d.s.State.RLock()
	if d.s.State.User != nil {
		self = d.s.State.User.ID
	}
	d.s.State.RUnlock()
	forum, err := d.s.State.Channel(forumID)
	if err != nil || forum.GuildID == "" {
		if forum, err = d.s.Channel(forumID, opts...); err != nil {
			return "", fmt.Errorf("bot: read forum %s: %w", forumID, err)
		}
	}
	mine := func(th *discordgo.Channel) bool {
		return th != nil && th.ParentID == forumID && th.Name == name && (self == "" || th.OwnerID == self)
	}
	active, err := d.s.GuildThreadsActive(forum.GuildID, opts...)
	if err != nil {
		return "", fmt.Errorf("bot: active threads of guild %s: %w", forum.GuildID, err)
	}
	for _, th := range active.Threads {
		if mine(th) {
			if ok, err := d.confirm(th.ID, url, opts); err != nil {
				return "", err
			} else if ok {
				return th.ID, nil
			}
		}
	}
	var before *time.Time
	for {
		page, err := d.s.ThreadsArchived(forumID, before, 100, opts...)
		if err != nil {
			return "", fmt.Errorf("bot: archived threads of forum %s: %w", forumID, err)
		}
		for _, th := range page.Threads {
			if mine(th) {
				if ok, err := d.confirm(th.ID, url, opts); err != nil {
					return "", err
				} else if ok {
					return th.ID, nil
				}
			}
		}
		if !page.HasMore || len(page.Threads) == 0 {
			return "", nil
		}
		last := page.Threads[len(page.Threads)-1]
		if last.ThreadMetadata == nil || last.ThreadMetadata.ArchiveTimestamp.Before(since) {
			return "", nil
		}
		t := last.ThreadMetadata.ArchiveTimestamp
		before = &t
	}
}

// confirm reads a forum post's first message (its id is the thread's) and
// reports whether its embed links to url.
func (d discordForum) confirm(threadID, url string, opts []discordgo.RequestOption) (bool, error) {
	m, err := d.s.ChannelMessage(threadID, threadID, opts...)
	if err != nil {
		var re *discordgo.RESTError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusNotFound {
			return false, nil // the first message was deleted: not ours to judge
		}
		return false, fmt.Errorf("bot: first message of forum post %s: %w", threadID, err)
	}
	want := articles.CanonicalURL(url)
	for _, e := range m.Embeds {
		if e != nil && want != "" && articles.CanonicalURL(e.URL) == want {
			return true, nil
		}
	}
	return false, nil
}
