package discordtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// forumPostLocked is POST /channels/{forum}/threads: a public thread (type 11) whose
// first message is b.Message; the thread's id is the message's. No nonce.
//
// Refusals, in order: 400 50035 (name 1-100, auto_archive_duration, at most 5
// applied_tags each one of the forum's, message required and valid as a message create),
// 403 50013 without Send Messages, 400 40067 without a tag when the forum requires one,
// 403 50013 for a moderated tag without Manage Threads or an embed-only message without
// Embed Links (with text the embeds are dropped), 400 50006 for an empty message.
func (s *Server) forumPostLocked(forum *chanState, b *threadBody, files []File) answer {
	fe := formErrors{}
	b.validateInto(fe)
	if len(b.AppliedTags) > 5 {
		fe.add("BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.", "applied_tags")
	}
	var tags []discordgo.ForumTag
	for i, id := range b.AppliedTags {
		j := slices.IndexFunc(forum.ch.AvailableTags, func(t discordgo.ForumTag) bool { return t.ID == id })
		if j < 0 {
			fe.add("BASE_TYPE_CHOICES", fmt.Sprintf("Value must be one of the channel's tags (got %q).", id), "applied_tags", strconv.Itoa(i))
			continue
		}
		tags = append(tags, forum.ch.AvailableTags[j])
	}
	var mb msgBody
	switch {
	case !b.hasMessage():
		fe.add("BASE_TYPE_REQUIRED", "This field is required", "message")
	case json.Unmarshal(b.Message, &mb) != nil:
		fe.add("MODEL_TYPE_CONVERT", "Must be an object.", "message")
	default:
		mb.validate(fe, "message")
	}
	if len(fe) > 0 {
		return invalidForm(fe)
	}
	perms := s.permsLocked(BotUserID, forum.ch.ID)
	if perms&discordgo.PermissionSendMessages == 0 {
		return errAnswer(403, 50013, "Missing Permissions")
	}
	if forum.ch.Flags&discordgo.ChannelFlagRequireTag != 0 && len(tags) == 0 {
		return errAnswer(400, 40067, "A tag is required to create a forum post in this channel")
	}
	for _, t := range tags {
		if t.Moderated && perms&discordgo.PermissionManageThreads == 0 {
			return errAnswer(403, 50013, "Missing Permissions")
		}
	}
	if len(mb.embeds()) > 0 && perms&discordgo.PermissionEmbedLinks == 0 {
		if strings.TrimSpace(mb.content()) == "" && len(files) == 0 && !hasComponents(mb.Components) {
			return errAnswer(403, 50013, "Missing Permissions")
		}
		mb.Embeds, mb.Embed = nil, nil // Discord drops the embeds silently
	}
	if mb.empty(len(files)) {
		return errAnswer(400, 50006, "Cannot send an empty message")
	}
	if a := s.threadRoomLocked(forum.ch.GuildID); a != nil {
		return *a
	}
	id := s.nextIDLocked()
	th := s.newThreadLocked(id, forum, discordgo.ChannelTypeGuildPublicThread, b)
	for _, t := range tags {
		if !slices.Contains(th.ch.AppliedTags, t.ID) {
			th.ch.AppliedTags = append(th.ch.AppliedTags, t.ID)
		}
	}
	if th.ch.AppliedTags == nil {
		th.ch.AppliedTags = []string{}
	}
	sm := s.newMessageLocked(id, BotUserID, &mb, b.Message, files)
	sm.msg.ID = id // a forum post's first message has the thread's id
	sm.nonce, sm.enforce = "", false
	th.msgs = append(th.msgs, sm)
	th.ch.LastMessageID = id
	s.broadcastLocked()
	o := s.threadObjectLocked(th)
	o["message"] = json.RawMessage(msgJSON(sm, false))
	return jsonAnswer(201, o)
}

// ForumPost is a forum post as the fake holds it.
type ForumPost struct {
	Thread  discordgo.Channel // type 11, ParentID the forum, AppliedTags
	Message Message           // the first message (id = thread id)
}

// ForumPosts returns a forum's posts (active and archived), oldest first.
func (s *Server) ForumPosts(forumID string) []ForumPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ForumPost
	for _, id := range s.w.chanOrder {
		cs := s.w.channels[id]
		if !cs.ch.IsThread() || cs.ch.ParentID != forumID {
			continue
		}
		p := ForumPost{Thread: s.channelViewLocked(cs)}
		if sm := s.findMsgLocked(id, id); sm != nil {
			p.Message = sm.view()
		}
		out = append(out, p)
	}
	return out
}
