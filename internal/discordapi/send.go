package discordapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/bwmarrin/discordgo"
)

// Requester is the part of a discordgo session SendMessage uses.
type Requester interface {
	RequestWithBucketID(method, urlStr string, data interface{}, bucketID string, options ...discordgo.RequestOption) ([]byte, error)
}

var _ Requester = (*discordgo.Session)(nil)

// ErrUnreadable is returned when Discord accepted a message create (2xx)
// but its answer cannot be read: the message exists.
var ErrUnreadable = errors.New("discordapi: message created but its answer is unreadable")

// messageCreate is a message create body with the fields MessageSend lacks
// (bwmarrin/discordgo#1351). The embedded pointer marshals flat.
type messageCreate struct {
	*discordgo.MessageSend
	Nonce        string `json:"nonce,omitempty"`
	EnforceNonce bool   `json:"enforce_nonce,omitempty"`
}

// SendBucket is the discordgo rate-limit bucket of message creates in a
// channel. Reads of the channel's messages are another route with its own
// limit at Discord, so they must not share the bucket (their headers would
// reset its count), as they would under discordgo's default key, the URL.
func SendBucket(channelID string) string {
	return "POST " + discordgo.EndpointChannelMessages(channelID)
}

// SendMessage creates m in channelID. A non-empty nonce is sent with
// enforce_nonce: within Discord's window, the same nonce returns the first
// message instead of creating a second one. discordgo neither waits out a
// 429 nor retries a 5xx (a 502 may come after the message was created: the
// caller decides, and looks before it sends again); the request follows ctx.
// Embeds without a type are sent as rich embeds.
func SendMessage(ctx context.Context, r Requester, channelID string, m *discordgo.MessageSend, nonce string) (*discordgo.Message, error) {
	for _, e := range m.Embeds {
		if e != nil && e.Type == "" {
			e.Type = discordgo.EmbedTypeRich
		}
	}
	body := messageCreate{MessageSend: m, Nonce: nonce, EnforceNonce: nonce != ""}
	raw, err := r.RequestWithBucketID(http.MethodPost, discordgo.EndpointChannelMessages(channelID), body, SendBucket(channelID),
		discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(0))
	if err != nil {
		return nil, err
	}
	var msg discordgo.Message
	if err := discordgo.Unmarshal(raw, &msg); err != nil || msg.ID == "" {
		return nil, ErrUnreadable
	}
	return &msg, nil
}
