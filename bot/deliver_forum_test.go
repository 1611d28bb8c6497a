package bot

import (
	"context"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/internal/discordtest"
)

// A forum post is found again by name, confirmed by its first message's
// embed link, whether its thread is active or archived; a post of the same
// name for another link is not it.
func TestFindForumPost(t *testing.T) {
	fake := discordtest.New(t)
	forum := fake.AddChannel(discordgo.Channel{ID: "470", GuildID: discordtest.GuildID, Name: "stories", Type: discordtest.ChannelTypeForum,
		AvailableTags: []discordgo.ForumTag{{Name: "News"}}})
	s, err := discordgo.New("Bot " + discordtest.Token)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = fake.HTTPClient()
	s.State.User = &discordgo.User{ID: discordtest.BotUserID}
	fp := NewDiscordForum(s)
	ctx := context.Background()
	since := time.Now().Add(-time.Minute)

	post := func(name, url string) string {
		t.Helper()
		id, err := fp.CreateForumPost(ctx, forum, name, nil, &discordgo.MessageSend{
			Embeds: []*discordgo.MessageEmbed{{Title: name, URL: url}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	first := post("Go 1.27 is released", "https://go.dev/blog/go1.27")
	post("Go 1.27 is released", "https://go.dev/blog/go1.27-rc") // same name, another article

	find := func(url string) string {
		t.Helper()
		id, err := fp.FindForumPost(ctx, forum, "Go 1.27 is released", url, since)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	if got := find("https://go.dev/blog/go1.27/?utm_source=rss"); got != first {
		t.Errorf("active post found as %q, want %q", got, first)
	}
	if err := fake.ArchiveThread(first); err != nil {
		t.Fatal(err)
	}
	if got := find("https://go.dev/blog/go1.27"); got != first {
		t.Errorf("archived post found as %q, want %q", got, first)
	}
	if got := find("https://go.dev/blog/go1.28"); got != "" {
		t.Errorf("a post for another link was taken for it: %q", got)
	}
}
