package discordtest

import (
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// publishPattern is the crosspost route, as faults and limits name it.
const publishPattern = "/channels/*/messages/*/crosspost"

// WithPublishLimit limits crossposts (publishing) to n per window per announcement
// channel, whatever the message, as Discord does (about 10 per hour, not in its docs).
// Excess requests get 429 with retry_after (the time left in the window, so a long one),
// Retry-After and X-RateLimit-* headers, and the JSON body of every 429 of the fake;
// nothing is crossposted. Off by default. Windows follow the fake's clock.
func WithPublishLimit(n int, per time.Duration) Option {
	return func(c *config) {
		c.limits = append(c.limits, publishRule(n, per))
	}
}

// SetPublishLimit sets (n > 0) or removes (n 0) the publish limit; see WithPublishLimit.
func (s *Server) SetPublishLimit(n int, per time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setLimitLocked(publishRule(n, per))
}

func publishRule(n int, per time.Duration) rateRule {
	return rateRule{method: "POST", pattern: publishPattern, limit: n, per: per, keySegs: 2}
}

// crosspost is one accepted publish.
type crosspost struct {
	channelID, messageID string
	at                   time.Time
}

// hCrosspost is POST /channels/{cid}/messages/{mid}/crosspost: announcement channels
// only (50024), the message must exist (10008), the bot's own message needs Send
// Messages and another's Manage Messages (50013), once per message (40033).
func (s *Server) hCrosspost(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.channelLocked(c)
	if a != nil {
		return *a
	}
	if cs.ch.Type != discordgo.ChannelTypeGuildNews {
		return errAnswer(400, 50024, "Cannot execute action on this channel type")
	}
	sm := s.findMsgLocked(cs.ch.ID, c.v("mid"))
	if sm == nil || sm.deleted {
		return unknownMessage()
	}
	need := int64(discordgo.PermissionManageMessages)
	if sm.msg.Author != nil && sm.msg.Author.ID == BotUserID {
		need = discordgo.PermissionSendMessages
	}
	if s.permsLocked(BotUserID, cs.ch.ID)&need == 0 {
		return errAnswer(403, 50013, "Missing Permissions")
	}
	if sm.msg.Flags&discordgo.MessageFlagsCrossPosted != 0 {
		return errAnswer(400, 40033, "This message has already been crossposted.")
	}
	sm.msg.Flags |= discordgo.MessageFlagsCrossPosted
	s.crossposts = append(s.crossposts, crosspost{channelID: cs.ch.ID, messageID: sm.msg.ID, at: s.nowLocked()})
	s.broadcastLocked()
	return answer{status: 200, body: msgJSON(sm, false)}
}

// Crossposted returns the ids of the messages published in a channel ("" any), in the
// order they were published.
func (s *Server) Crossposted(channelID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, cp := range s.crossposts {
		if channelID == "" || cp.channelID == channelID {
			out = append(out, cp.messageID)
		}
	}
	return out
}

// CrosspostRequests counts the answered crosspost requests in a channel ("" any),
// whatever their outcome (429s and errors included).
func (s *Server) CrosspostRequests(channelID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.reqs {
		if routeMatch("POST", publishPattern, r.Method, r.Path) && (channelID == "" || strings.HasPrefix(r.Path, "/channels/"+channelID+"/")) {
			n++
		}
	}
	return n
}
