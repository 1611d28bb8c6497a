package discordtest

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/bwmarrin/discordgo"
)

// ---- threads ----

type threadBody struct {
	Name                string `json:"name"`
	AutoArchiveDuration int    `json:"auto_archive_duration"`
	Type                int    `json:"type"`
	Invitable           *bool  `json:"invitable"`
	RateLimitPerUser    int    `json:"rate_limit_per_user"`
	// Forum posts only.
	AppliedTags []string        `json:"applied_tags"`
	Message     json.RawMessage `json:"message"`
}

// hasMessage reports a non-null "message" (a forum post's first message).
func (b *threadBody) hasMessage() bool {
	return len(b.Message) > 0 && string(b.Message) != "null"
}

func (b *threadBody) validateInto(fe formErrors) {
	fe.lenBetween(b.Name, 1, 100, "name")
	if b.AutoArchiveDuration != 0 && !slices.Contains([]int{60, 1440, 4320, 10080}, b.AutoArchiveDuration) {
		fe.add("BASE_TYPE_CHOICES", "Value must be one of {60, 1440, 4320, 10080}.", "auto_archive_duration")
	}
}

func (b *threadBody) validate() *answer {
	fe := formErrors{}
	b.validateInto(fe)
	if len(fe) > 0 {
		a := invalidForm(fe)
		return &a
	}
	return nil
}

func (s *Server) newThreadLocked(id string, parent *chanState, typ discordgo.ChannelType, b *threadBody) *chanState {
	dur := b.AutoArchiveDuration
	if dur == 0 {
		dur = 4320
	}
	now := s.nowLocked()
	ch := discordgo.Channel{
		ID: id, GuildID: parent.ch.GuildID, ParentID: parent.ch.ID, Name: b.Name, Type: typ, OwnerID: BotUserID,
		RateLimitPerUser: b.RateLimitPerUser,
		ThreadMetadata:   &discordgo.ThreadMetadata{AutoArchiveDuration: dur, ArchiveTimestamp: now, Invitable: typ == discordgo.ChannelTypeGuildPrivateThread && (b.Invitable == nil || *b.Invitable)},
	}
	cs := &chanState{ch: ch, members: []string{BotUserID}}
	s.w.channels[id] = cs
	s.w.chanOrder = append(s.w.chanOrder, id)
	return cs
}

func (s *Server) threadJSONLocked(cs *chanState) answer {
	return jsonAnswer(201, s.threadObjectLocked(cs))
}

// threadObjectLocked is a new thread as its create answers it: the channel and the
// bot's thread member.
func (s *Server) threadObjectLocked(cs *chanState) map[string]any {
	o := map[string]any{}
	_ = json.Unmarshal(s.channelObjectLocked(cs), &o)
	o["member"] = map[string]any{"id": cs.ch.ID, "user_id": BotUserID, "join_timestamp": s.nowLocked().Format(time.RFC3339), "flags": 0}
	return o
}

func (s *Server) hThreadFromMessage(c *call) answer {
	var b threadBody
	if _, _, err := parseBody(c, &b); err != nil {
		return badJSON()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.channelLocked(c)
	if a != nil {
		return *a
	}
	if cs.ch.Type != discordgo.ChannelTypeGuildText && cs.ch.Type != discordgo.ChannelTypeGuildNews {
		return errAnswer(400, 50024, "Cannot execute action on this channel type")
	}
	sm := s.findMsgLocked(cs.ch.ID, c.v("mid"))
	if sm == nil || sm.deleted {
		return unknownMessage()
	}
	if a := b.validate(); a != nil {
		return *a
	}
	if s.permsLocked(BotUserID, cs.ch.ID)&discordgo.PermissionCreatePublicThreads == 0 {
		return errAnswer(403, 50013, "Missing Permissions")
	}
	if _, ok := s.w.channels[sm.msg.ID]; ok {
		return errAnswer(400, 160004, "A thread has already been created for this message")
	}
	if a := s.threadRoomLocked(cs.ch.GuildID); a != nil {
		return *a
	}
	typ := discordgo.ChannelTypeGuildPublicThread
	if cs.ch.Type == discordgo.ChannelTypeGuildNews {
		typ = discordgo.ChannelTypeGuildNewsThread
	}
	th := s.newThreadLocked(sm.msg.ID, cs, typ, &b) // a message's thread has the message's id
	tv := s.channelViewLocked(th)
	sm.msg.Thread = &tv
	sm.msg.Flags |= discordgo.MessageFlagsHasThread
	s.broadcastLocked()
	return s.threadJSONLocked(th)
}

func (s *Server) hThread(c *call) answer {
	var b threadBody
	_, files, err := parseBody(c, &b)
	if err != nil {
		return badJSON()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.channelLocked(c)
	if a != nil {
		return *a
	}
	if isForum(cs.ch.Type) {
		return s.forumPostLocked(cs, &b, files)
	}
	if b.hasMessage() {
		// A forum post sent to a channel that is not (or no longer) a forum.
		return errAnswer(400, 50024, "Cannot execute action on this channel type")
	}
	typ := discordgo.ChannelType(b.Type)
	if b.Type == 0 {
		typ = discordgo.ChannelTypeGuildPrivateThread // API v9 default
	}
	ok := (cs.ch.Type == discordgo.ChannelTypeGuildText && (typ == discordgo.ChannelTypeGuildPublicThread || typ == discordgo.ChannelTypeGuildPrivateThread)) ||
		(cs.ch.Type == discordgo.ChannelTypeGuildNews && typ == discordgo.ChannelTypeGuildNewsThread)
	if !ok {
		return errAnswer(400, 50024, "Cannot execute action on this channel type")
	}
	if a := b.validate(); a != nil {
		return *a
	}
	need := int64(discordgo.PermissionCreatePublicThreads)
	if typ == discordgo.ChannelTypeGuildPrivateThread {
		need = discordgo.PermissionCreatePrivateThreads
	}
	if s.permsLocked(BotUserID, cs.ch.ID)&need == 0 {
		return errAnswer(403, 50013, "Missing Permissions")
	}
	if a := s.threadRoomLocked(cs.ch.GuildID); a != nil {
		return *a
	}
	th := s.newThreadLocked(s.nextIDLocked(), cs, typ, &b)
	s.broadcastLocked()
	return s.threadJSONLocked(th)
}

func (s *Server) threadForMembersLocked(c *call) (*chanState, *answer) {
	cs := s.w.channels[c.v("cid")]
	if cs == nil {
		a := unknownChannel()
		return nil, &a
	}
	if !cs.ch.IsThread() {
		a := errAnswer(400, 50024, "Cannot execute action on this channel type")
		return nil, &a
	}
	if a := s.accessLocked(cs); a != nil {
		return nil, a
	}
	return cs, nil
}

func (s *Server) hAddThreadMember(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.threadForMembersLocked(c)
	if a != nil {
		return *a
	}
	uid := c.v("uid")
	if uid == "@me" {
		uid = BotUserID
	}
	if g := s.w.guilds[cs.ch.GuildID]; g == nil || g.members[uid] == nil {
		return errAnswer(404, 10007, "Unknown Member")
	}
	perms := s.permsLocked(BotUserID, cs.ch.ID)
	if perms&discordgo.PermissionSendMessagesInThreads == 0 {
		return errAnswer(403, 50013, "Missing Permissions")
	}
	if cs.ch.Type == discordgo.ChannelTypeGuildPrivateThread && uid != BotUserID && cs.ch.ThreadMetadata != nil &&
		!cs.ch.ThreadMetadata.Invitable && perms&discordgo.PermissionManageThreads == 0 && cs.ch.OwnerID != BotUserID {
		return errAnswer(403, 50013, "Missing Permissions")
	}
	if !slices.Contains(cs.members, uid) {
		cs.members = append(cs.members, uid)
	}
	s.broadcastLocked()
	return answer{status: 204}
}

func (s *Server) hRemoveThreadMember(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.threadForMembersLocked(c)
	if a != nil {
		return *a
	}
	uid := c.v("uid")
	if uid == "@me" {
		uid = BotUserID
	}
	cs.members = slices.DeleteFunc(cs.members, func(x string) bool { return x == uid })
	s.broadcastLocked()
	return answer{status: 204}
}

func (s *Server) hThreadMembers(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.threadForMembersLocked(c)
	if a != nil {
		return *a
	}
	out := []map[string]any{}
	for _, uid := range cs.members {
		out = append(out, map[string]any{"id": cs.ch.ID, "user_id": uid, "join_timestamp": s.nowLocked().Format(time.RFC3339), "flags": 0})
	}
	return jsonAnswer(200, out)
}

// Threads returns the threads of a parent channel, oldest first.
func (s *Server) Threads(parentID string) []discordgo.Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []discordgo.Channel
	for _, id := range s.w.chanOrder {
		cs := s.w.channels[id]
		if cs.ch.IsThread() && cs.ch.ParentID == parentID {
			out = append(out, s.channelViewLocked(cs))
		}
	}
	return out
}

// ThreadMembers returns the user ids in a thread (its creator first), in order added.
func (s *Server) ThreadMembers(threadID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs := s.w.channels[threadID]; cs != nil {
		return slices.Clone(cs.members)
	}
	return nil
}
