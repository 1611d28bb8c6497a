package discordapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/internal/discordapi"
	"github.com/newsbot/newsbot/internal/discordtest"
)

func TestSendMessageNonce(t *testing.T) {
	srv := discordtest.New(t)
	s, err := discordgo.New("Bot " + discordtest.Token)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = srv.HTTPClient()
	ctx := context.Background()
	m := func() *discordgo.MessageSend {
		return &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Title: "Hello"}}, AllowedMentions: &discordgo.MessageAllowedMentions{}}
	}
	first, err := discordapi.SendMessage(ctx, s, discordtest.NewsChannelID, m(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := discordapi.SendMessage(ctx, s, discordtest.NewsChannelID, m(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID {
		t.Errorf("same nonce: message %s, then %s", first.ID, again.ID)
	}
	if _, err := discordapi.SendMessage(ctx, s, discordtest.NewsChannelID, m(), "n2"); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages(discordtest.NewsChannelID)); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
	var body struct {
		Nonce        string `json:"nonce"`
		EnforceNonce bool   `json:"enforce_nonce"`
		Embeds       []struct {
			Type string `json:"type"`
		} `json:"embeds"`
	}
	for _, rq := range srv.Requests() {
		if rq.Method != "POST" {
			continue
		}
		if err := json.Unmarshal([]byte(rq.Body), &body); err != nil {
			t.Fatal(err)
		}
		if !body.EnforceNonce || body.Nonce == "" || len(body.Embeds) != 1 || body.Embeds[0].Type != "rich" {
			t.Errorf("body %s", rq.Body)
		}
	}
}

// A 5xx is not re-sent by discordgo (it may come after the message was
// created); the caller gets the error.
func TestSendMessageNoRetry(t *testing.T) {
	srv := discordtest.New(t, discordtest.WithNonceWindow(0))
	s, _ := discordgo.New("Bot " + discordtest.Token)
	s.Client = srv.HTTPClient()
	srv.AcceptThenFail("POST", "/channels/*/messages", 502)
	_, err := discordapi.SendMessage(context.Background(), s, discordtest.NewsChannelID, &discordgo.MessageSend{Content: "x"}, "n")
	if err == nil {
		t.Fatal("no error after a 502")
	}
	posts := 0
	for _, rq := range srv.Requests() {
		if rq.Method == "POST" {
			posts++
		}
	}
	if n := len(srv.Messages(discordtest.NewsChannelID)); n != 1 || posts != 1 {
		t.Fatalf("%d messages after %d requests, want 1 and 1", n, posts)
	}
}

type answer string

func (a answer) RequestWithBucketID(string, string, interface{}, string, ...discordgo.RequestOption) ([]byte, error) {
	return []byte(a), nil
}

func TestSendMessageUnreadable(t *testing.T) {
	for _, raw := range []string{"", "{}", "not json"} {
		if _, err := discordapi.SendMessage(context.Background(), answer(raw), "1", &discordgo.MessageSend{Content: "x"}, ""); !errors.Is(err, discordapi.ErrUnreadable) {
			t.Errorf("answer %q: err = %v", raw, err)
		}
	}
}
