package discordtest

import (
	"encoding/json"
	"testing"

	"github.com/bwmarrin/discordgo"
)

// addForum adds forum "470" with tags News, Security (moderated) and Go, requiring a tag.
func addForum(s *Server) string {
	return s.AddChannel(discordgo.Channel{ID: "470", GuildID: GuildID, Name: "stories", Type: ChannelTypeForum,
		Flags: ChannelFlagRequireTag,
		AvailableTags: []discordgo.ForumTag{
			{Name: "News"}, {Name: "Security", Moderated: true}, {ID: "479", Name: "Go", EmojiName: "🐹"},
		}})
}

func TestAnnouncementAndForumChannels(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	ann := s.AddChannel(discordgo.Channel{ID: "460", GuildID: GuildID, Name: "announcements", Type: ChannelTypeAnnouncement})
	forum := addForum(s)

	c, err := dg.Channel(ann)
	if err != nil || c.Type != discordgo.ChannelTypeGuildNews {
		t.Fatalf("announcement channel: %+v %v", c, err)
	}
	f, err := dg.Channel(forum)
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != discordgo.ChannelTypeGuildForum || f.Flags&discordgo.ChannelFlagRequireTag == 0 || len(f.AvailableTags) != 3 {
		t.Fatalf("forum: %+v", f)
	}
	for _, tag := range f.AvailableTags {
		if tag.ID == "" || snow(tag.ID) == 0 {
			t.Errorf("tag %q has no snowflake id", tag.Name)
		}
	}
	if f.AvailableTags[2].ID != "479" || !f.AvailableTags[1].Moderated || s.ForumTagID(forum, "News") != f.AvailableTags[0].ID {
		t.Errorf("tags = %+v", f.AvailableTags)
	}
	// The wire form carries every field of a tag, null when unset.
	raw, err := dg.RequestWithBucketID("GET", discordgo.EndpointChannel(forum), nil, "x")
	if err != nil {
		t.Fatal(err)
	}
	var wire struct {
		AvailableTags []map[string]any `json:"available_tags"`
	}
	if err := json.Unmarshal(raw, &wire); err != nil {
		t.Fatal(err)
	}
	first := wire.AvailableTags[0]
	if v, ok := first["emoji_id"]; !ok || v != nil {
		t.Errorf("emoji_id = %v (present %v)", v, ok)
	}
	if v, ok := first["emoji_name"]; !ok || v != nil {
		t.Errorf("emoji_name = %v", v)
	}
	if wire.AvailableTags[2]["emoji_name"] != "🐹" {
		t.Errorf("emoji_name = %v", wire.AvailableTags[2]["emoji_name"])
	}
	// A forum takes no plain messages.
	_, err = dg.ChannelMessageSend(forum, "hello")
	wantCode(t, err, 400, 40058)
}

func TestUpdateChannelDispatchesChannelUpdate(t *testing.T) {
	s := New(t)
	ctx := testCtx(t)
	dg, _, guilds := sessionG(t, s, true, false)
	updates := make(chan *discordgo.ChannelUpdate, 4)
	dg.AddHandler(func(_ *discordgo.Session, u *discordgo.ChannelUpdate) { updates <- u })
	recv(t, ctx, guilds)

	got, err := s.UpdateChannel(NewsChannelID, func(c *discordgo.Channel) {
		c.Type = ChannelTypeForum
		c.AvailableTags = []discordgo.ForumTag{{Name: "News"}}
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != NewsChannelID || got.Type != discordgo.ChannelTypeGuildForum || got.AvailableTags[0].ID == "" {
		t.Fatalf("updated = %+v", got)
	}
	u := recv(t, ctx, updates)
	if u.ID != NewsChannelID || u.Type != discordgo.ChannelTypeGuildForum || len(u.AvailableTags) != 1 || u.GuildID != GuildID {
		t.Fatalf("CHANNEL_UPDATE = %+v", u.Channel)
	}
	// discordgo's State follows the update.
	st, err := dg.State.Channel(NewsChannelID)
	if err != nil || st.Type != discordgo.ChannelTypeGuildForum {
		t.Fatalf("state channel = %+v %v", st, err)
	}
	// REST agrees.
	c, err := dg.Channel(NewsChannelID)
	if err != nil || c.Type != discordgo.ChannelTypeGuildForum || c.AvailableTags[0].ID != got.AvailableTags[0].ID {
		t.Fatalf("REST channel = %+v %v", c, err)
	}
	if _, err := s.UpdateChannel("999", func(*discordgo.Channel) {}); err == nil {
		t.Error("UpdateChannel of an unknown channel succeeded")
	}
}
