package discordtest

import (
	"fmt"
	"slices"

	"github.com/bwmarrin/discordgo"
)

// Channel types and flags the fake gives meaning to, beside text (0) and threads.
const (
	// ChannelTypeAnnouncement is an announcement channel (type 5): messages can be
	// crossposted; threads on its messages are type 10.
	ChannelTypeAnnouncement = discordgo.ChannelTypeGuildNews
	// ChannelTypeForum is a forum channel (type 15): no messages of its own, only posts
	// (threads with a first message) created by POST /channels/{id}/threads.
	ChannelTypeForum = discordgo.ChannelTypeGuildForum
	// ChannelFlagRequireTag (1<<4) on a forum makes a post without applied_tags fail
	// with 400 code 40067.
	ChannelFlagRequireTag = discordgo.ChannelFlagRequireTag
)

// isForum reports whether posts, not messages, are made in the channel (forum or media).
func isForum(t discordgo.ChannelType) bool {
	return t == discordgo.ChannelTypeGuildForum || t == discordgo.ChannelTypeGuildMedia
}

// normalizeChannelLocked gives a forum's tags ids (a snowflake each, as Discord does)
// and copies the slices a caller may still hold.
func (s *Server) normalizeChannelLocked(c *discordgo.Channel) {
	c.AvailableTags = slices.Clone(c.AvailableTags)
	c.AppliedTags = slices.Clone(c.AppliedTags)
	for i := range c.AvailableTags {
		if c.AvailableTags[i].ID == "" {
			c.AvailableTags[i].ID = s.nextIDLocked()
		}
	}
	if isForum(c.Type) && c.AvailableTags == nil {
		c.AvailableTags = []discordgo.ForumTag{}
	}
}

// UpdateChannel changes a channel (or thread) with edit, as an admin would in the
// client, and sends CHANNEL_UPDATE (THREAD_UPDATE for a thread) when the bot has a
// gateway session. The id cannot change; new forum tags without an ID get one. It
// returns the channel as it is now, or an error for an unknown channel.
//
//	fake.UpdateChannel(id, func(c *discordgo.Channel) { c.Type = discordtest.ChannelTypeAnnouncement })
func (s *Server) UpdateChannel(id string, edit func(c *discordgo.Channel)) (discordgo.Channel, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.w.channels[id]
	if cs == nil {
		return discordgo.Channel{}, fmt.Errorf("discordtest: update channel: unknown channel %s", id)
	}
	c := s.channelViewLocked(cs)
	edit(&c)
	c.ID = id
	c.PermissionOverwrites = cloneOverwrites(c.PermissionOverwrites)
	s.normalizeChannelLocked(&c)
	if c.ThreadMetadata != nil {
		md := *c.ThreadMetadata
		c.ThreadMetadata = &md
	}
	cs.ch = c
	s.channelEventLocked(cs, false)
	s.broadcastLocked()
	return s.channelViewLocked(cs), nil
}

// channelEventLocked sends CHANNEL_UPDATE, or THREAD_UPDATE / THREAD_CREATE for a
// thread, when a gateway session exists (it is replayed on RESUME).
func (s *Server) channelEventLocked(cs *chanState, created bool) {
	if s.gw.session == nil {
		return
	}
	event := "CHANNEL_UPDATE"
	if cs.ch.IsThread() {
		event = "THREAD_UPDATE"
		if created {
			event = "THREAD_CREATE"
		}
	} else if created {
		event = "CHANNEL_CREATE"
	}
	s.dispatchLocked(event, s.channelObjectLocked(cs))
}

// ForumTags returns a forum's available tags, with their ids.
func (s *Server) ForumTags(forumID string) []discordgo.ForumTag {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs := s.w.channels[forumID]; cs != nil {
		return slices.Clone(cs.ch.AvailableTags)
	}
	return nil
}

// ForumTagID returns the id of a forum's tag named name, or "".
func (s *Server) ForumTagID(forumID, name string) string {
	for _, t := range s.ForumTags(forumID) {
		if t.Name == name {
			return t.ID
		}
	}
	return ""
}
