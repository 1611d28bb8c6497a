package discordtest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

const annID = "460"

func addAnnouncement(s *Server, id string) string {
	return s.AddChannel(discordgo.Channel{ID: id, GuildID: GuildID, Name: "announcements-" + id, Type: ChannelTypeAnnouncement})
}

func TestCrosspost(t *testing.T) {
	s := New(t)
	dg, _ := session(t, s, false, false)
	addAnnouncement(s, annID)
	m, err := dg.ChannelMessageSendComplex(annID, post())
	if err != nil {
		t.Fatal(err)
	}
	got, err := dg.ChannelMessageCrosspost(annID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != m.ID || got.Flags&discordgo.MessageFlagsCrossPosted == 0 {
		t.Fatalf("crosspost answer = %+v", got)
	}
	if fetched, err := dg.ChannelMessage(annID, m.ID); err != nil || fetched.Flags&discordgo.MessageFlagsCrossPosted == 0 {
		t.Fatalf("fetched = %+v %v", fetched, err)
	}
	// Once only.
	_, err = dg.ChannelMessageCrosspost(annID, m.ID)
	wantCode(t, err, 400, 40033)
	// Unknown message; a text channel.
	_, err = dg.ChannelMessageCrosspost(annID, "123")
	wantCode(t, err, 404, 10008)
	tm, err := dg.ChannelMessageSend(NewsChannelID, "plain")
	if err != nil {
		t.Fatal(err)
	}
	_, err = dg.ChannelMessageCrosspost(NewsChannelID, tm.ID)
	wantCode(t, err, 400, 50024)
	_, err = dg.ChannelMessageCrosspost("999", tm.ID)
	wantCode(t, err, 404, 10003)
	// Another's message needs Manage Messages.
	other := s.AddMessage(annID, discordgo.Message{Content: "by a member", Author: &discordgo.User{ID: MemberUserID, Username: MemberUsername}})
	_, err = dg.ChannelMessageCrosspost(annID, other)
	wantCode(t, err, 403, 50013)
	s.SetRolePermissions(GuildID, BotRoleID, BotPerms|discordgo.PermissionManageMessages)
	if _, err := dg.ChannelMessageCrosspost(annID, other); err != nil {
		t.Fatal(err)
	}
	// The own message needs Send Messages.
	own, err := dg.ChannelMessageSend(annID, "mine")
	if err != nil {
		t.Fatal(err)
	}
	s.SetOverwrites(annID, &discordgo.PermissionOverwrite{ID: BotRoleID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionSendMessages})
	_, err = dg.ChannelMessageCrosspost(annID, own.ID)
	wantCode(t, err, 403, 50013)

	if cp := s.Crossposted(annID); len(cp) != 2 || cp[0] != m.ID || cp[1] != other {
		t.Fatalf("Crossposted = %v", cp)
	}
	if n := s.CrosspostRequests(annID); n != 6 {
		t.Fatalf("CrosspostRequests(ann) = %d, want 6", n)
	}
	if n := s.CrosspostRequests(""); n != 8 {
		t.Fatalf("CrosspostRequests() = %d, want 8", n)
	}
}

func TestPublishLimitPerChannel(t *testing.T) {
	s := New(t, WithClock(fixedClock()), WithPublishLimit(2, time.Hour))
	dg, _ := session(t, s, false, false)
	addAnnouncement(s, annID)
	addAnnouncement(s, "461")
	var ids []string
	for range 4 {
		m, err := dg.ChannelMessageSendComplex(annID, post())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	for _, id := range ids[:2] {
		if _, err := dg.ChannelMessageCrosspost(annID, id, discordgo.WithRetryOnRatelimit(false)); err != nil {
			t.Fatal(err)
		}
	}
	// The third publish in the hour is refused, whatever the message.
	_, err := dg.ChannelMessageCrosspost(annID, ids[2], discordgo.WithRetryOnRatelimit(false))
	var rle *discordgo.RateLimitError
	if !errors.As(err, &rle) || rle.RetryAfter < 59*time.Minute {
		t.Fatalf("want a long RateLimitError, got %v", err)
	}
	// On the wire: the fake's usual 429.
	req, _ := http.NewRequest("POST", s.APIURL()+"/channels/"+annID+"/messages/"+ids[3]+"/crosspost", nil)
	req.Header.Set("Authorization", "Bot "+Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var rl struct {
		Message    string  `json:"message"`
		RetryAfter float64 `json:"retry_after"`
		Global     bool    `json:"global"`
	}
	if err := json.Unmarshal(body, &rl); err != nil || resp.StatusCode != 429 || rl.RetryAfter != 3600 || rl.Global ||
		rl.Message != "You are being rate limited." || resp.Header.Get("Retry-After") != "3600" ||
		resp.Header.Get("X-RateLimit-Remaining") != "0" || resp.Header.Get("X-RateLimit-Reset-After") != "3600.000" {
		t.Fatalf("429: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	// Another channel has its own limit.
	other, err := dg.ChannelMessageSendComplex("461", post())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dg.ChannelMessageCrosspost("461", other.ID, discordgo.WithRetryOnRatelimit(false)); err != nil {
		t.Fatalf("other channel: %v", err)
	}
	if cp := s.Crossposted(annID); len(cp) != 2 {
		t.Fatalf("published under the limit: %v", cp)
	}
	if m, _ := s.Message(annID, ids[2]); m.Flags&discordgo.MessageFlagsCrossPosted != 0 {
		t.Fatal("a refused publish set the flag")
	}
	// After the window the channel may publish again (another message: discordgo keeps
	// the refused URL's bucket closed in real time).
	s.Advance(time.Hour)
	if _, err := dg.ChannelMessageCrosspost(annID, ids[3], discordgo.WithRetryOnRatelimit(false)); err != nil {
		t.Fatal(err)
	}
	if n := s.CrosspostRequests(annID); n != 5 || s.RateLimited() != 2 {
		t.Fatalf("requests %d, 429s %d", n, s.RateLimited())
	}
	// The limit can be lifted.
	s.SetPublishLimit(0, 0)
	// (ids[0]: the answer for ids[1] said Remaining 0 for an hour, which discordgo obeys.)
	_, err = dg.ChannelMessageCrosspost(annID, ids[0], discordgo.WithRetryOnRatelimit(false))
	wantCode(t, err, 400, 40033)
}
