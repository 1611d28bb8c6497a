package discordtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Finding threads again: the guild's active threads and a channel's archived public
// threads, as a bot that lost a create's answer looks for what it made.

// threadListLocked is a {"threads","members","has_more"} answer: the threads, and the
// bot's thread member object for each one it joined.
func (s *Server) threadListLocked(threads []*chanState, hasMore *bool) answer {
	objs := make([]json.RawMessage, 0, len(threads))
	members := []map[string]any{}
	for _, cs := range threads {
		objs = append(objs, s.channelObjectLocked(cs))
		if slices.Contains(cs.members, BotUserID) {
			members = append(members, map[string]any{"id": cs.ch.ID, "user_id": BotUserID,
				"join_timestamp": snowTime(cs.ch.ID).Format(time.RFC3339Nano), "flags": 0})
		}
	}
	o := map[string]any{"threads": objs, "members": members}
	if hasMore != nil {
		o["has_more"] = *hasMore
	}
	return jsonAnswer(200, o)
}

// snowTime is when a snowflake was made.
func snowTime(id string) time.Time {
	const discordEpoch = 1420070400000
	return time.UnixMilli(int64(snow(id)>>22) + discordEpoch).UTC()
}

func archived(cs *chanState) bool {
	return cs.ch.ThreadMetadata != nil && cs.ch.ThreadMetadata.Archived
}

// activeThreadsLocked lists the unarchived threads the bot can see, in creation order,
// of a guild (parentID "") or of one channel.
func (s *Server) activeThreadsLocked(guildID, parentID string) []*chanState {
	var out []*chanState
	for _, id := range s.w.chanOrder {
		cs := s.w.channels[id]
		if !cs.ch.IsThread() || archived(cs) || cs.ch.GuildID != guildID || (parentID != "" && cs.ch.ParentID != parentID) {
			continue
		}
		if s.accessLocked(cs) == nil {
			out = append(out, cs)
		}
	}
	return out
}

// hGuildActiveThreads is GET /guilds/{gid}/threads/active: every active thread of the
// guild (no messages, no paging).
func (s *Server) hGuildActiveThreads(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, a := s.guildForBotLocked(c.v("gid"))
	if a != nil {
		return *a
	}
	return s.threadListLocked(s.activeThreadsLocked(g.id, ""), nil)
}

// hChannelActiveThreads is API v9's GET /channels/{cid}/threads/active (discordgo
// ThreadsActive): the channel's active threads.
func (s *Server) hChannelActiveThreads(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.channelLocked(c)
	if a != nil {
		return *a
	}
	no := false
	return s.threadListLocked(s.activeThreadsLocked(cs.ch.GuildID, cs.ch.ID), &no)
}

// hArchivedPublicThreads is GET /channels/{cid}/threads/archived/public?before=&limit=:
// the channel's archived public threads, newest archive first, archived before "before"
// (ISO8601), at most limit (2-100, default 50), with has_more. Needs Read Message
// History (403 50013).
func (s *Server) hArchivedPublicThreads(c *call) answer {
	q := c.r.URL.Query()
	fe := formErrors{}
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			fe.add("NUMBER_TYPE_COERCE", fmt.Sprintf("Value %q is not int.", v), "limit")
		case n < 2:
			fe.add("NUMBER_TYPE_MIN", "int value should be greater than or equal to 2.", "limit")
		case n > 100:
			fe.add("NUMBER_TYPE_MAX", "int value should be less than or equal to 100.", "limit")
		}
		limit = n
	}
	var before time.Time
	if v := q.Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			fe.add("DATE_TIME_TYPE_PARSE", "Could not parse "+v+". Should be ISO8601.", "before")
		}
		before = t
	}
	if len(fe) > 0 {
		return invalidForm(fe)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.channelLocked(c)
	if a != nil {
		return *a
	}
	switch cs.ch.Type {
	case discordgo.ChannelTypeGuildText, discordgo.ChannelTypeGuildNews, discordgo.ChannelTypeGuildForum, discordgo.ChannelTypeGuildMedia:
	default:
		return errAnswer(400, 50024, "Cannot execute action on this channel type")
	}
	if s.permsLocked(BotUserID, cs.ch.ID)&discordgo.PermissionReadMessageHistory == 0 {
		return errAnswer(403, 50013, "Missing Permissions")
	}
	var list []*chanState
	for _, id := range s.w.chanOrder {
		th := s.w.channels[id]
		if th.ch.ParentID != cs.ch.ID || !archived(th) || th.ch.Type == discordgo.ChannelTypeGuildPrivateThread {
			continue
		}
		if !before.IsZero() && !th.ch.ThreadMetadata.ArchiveTimestamp.Before(before) {
			continue
		}
		list = append(list, th)
	}
	slices.SortStableFunc(list, func(x, y *chanState) int {
		if c := y.ch.ThreadMetadata.ArchiveTimestamp.Compare(x.ch.ThreadMetadata.ArchiveTimestamp); c != 0 {
			return c
		}
		return cmp.Compare(snow(y.ch.ID), snow(x.ch.ID))
	})
	more := len(list) > limit
	if more {
		list = list[:limit]
	}
	return s.threadListLocked(list, &more)
}

// ArchiveThread archives a thread now (archived true, archive_timestamp the fake's
// now), as Discord does after auto_archive_duration of inactivity, and sends
// THREAD_UPDATE when the bot has a gateway session. It leaves the guild's active list
// and appears in its parent's archived list.
func (s *Server) ArchiveThread(threadID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.w.channels[threadID]
	if cs == nil || !cs.ch.IsThread() {
		return fmt.Errorf("discordtest: archive thread: unknown thread %s", threadID)
	}
	md := discordgo.ThreadMetadata{}
	if cs.ch.ThreadMetadata != nil {
		md = *cs.ch.ThreadMetadata
	}
	md.Archived, md.ArchiveTimestamp = true, s.nowLocked()
	cs.ch.ThreadMetadata = &md
	s.channelEventLocked(cs, false)
	s.broadcastLocked()
	return nil
}

// MessageThread returns the thread opened on a message (its id is the message's).
func (s *Server) MessageThread(channelID, messageID string) (discordgo.Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.w.channels[messageID]
	if cs == nil || !cs.ch.IsThread() || cs.ch.ParentID != channelID {
		return discordgo.Channel{}, false
	}
	return s.channelViewLocked(cs), true
}

// ActiveThreads returns the unarchived threads of a guild, in creation order.
func (s *Server) ActiveThreads(guildID string) []discordgo.Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []discordgo.Channel
	for _, id := range s.w.chanOrder {
		cs := s.w.channels[id]
		if cs.ch.IsThread() && !archived(cs) && cs.ch.GuildID == guildID {
			out = append(out, s.channelViewLocked(cs))
		}
	}
	return out
}

// SetMaxActiveThreads sets how many active threads a guild may hold (Discord: 1000);
// creating one more (a thread on a message, a thread, a forum post) gets 400 code 160006.
func (s *Server) SetMaxActiveThreads(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxThreads = n
}

// threadRoomLocked refuses a new thread when the guild's active threads are at the limit.
func (s *Server) threadRoomLocked(guildID string) *answer {
	n := 0
	for _, cs := range s.w.channels {
		if cs.ch.IsThread() && !archived(cs) && cs.ch.GuildID == guildID {
			n++
		}
	}
	if n >= s.maxThreads {
		a := errAnswer(400, 160006, "Maximum number of active threads reached")
		return &a
	}
	return nil
}
