package discordtest

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// File is an attachment received in a multipart message create.
type File struct {
	Name        string
	ContentType string
	Data        []byte
}

// Message is a message as stored by the fake: the fetched form (no nonce) plus what was
// received. Mentions, MentionRoles and MentionEveryone say who was really pinged, after
// allowed_mentions and the author's permissions.
type Message struct {
	*discordgo.Message
	Nonce        string
	EnforceNonce bool
	// AllowedMentions is the parsed "allowed_mentions"; nil when absent or null.
	AllowedMentions *discordgo.MessageAllowedMentions
	// AllowedMentionsRaw is the raw "allowed_mentions" value; nil when absent.
	AllowedMentionsRaw json.RawMessage
	Raw                json.RawMessage // JSON body (payload_json for multipart) of the create
	Files              []File
	Edits              []json.RawMessage // PATCH bodies, in order
	Deleted            bool
}

type storedMsg struct {
	msg     *discordgo.Message
	nonce   string
	enforce bool
	amRaw   json.RawMessage
	raw     json.RawMessage
	files   []File
	edits   []json.RawMessage
	deleted bool
}

type nonceEntry struct {
	msg *storedMsg
	at  time.Time
}

// msgBody is a message create/edit body (also an interaction response's data).
type msgBody struct {
	Content          *string                                     `json:"content"`
	Embeds           *[]*discordgo.MessageEmbed                  `json:"embeds"`
	Embed            *discordgo.MessageEmbed                     `json:"embed"`
	Components       json.RawMessage                             `json:"components"`
	TTS              bool                                        `json:"tts"`
	Nonce            json.RawMessage                             `json:"nonce"`
	EnforceNonce     bool                                        `json:"enforce_nonce"`
	AllowedMentions  json.RawMessage                             `json:"allowed_mentions"`
	MessageReference *discordgo.MessageReference                 `json:"message_reference"`
	Flags            int                                         `json:"flags"`
	StickerIDs       []string                                    `json:"sticker_ids"`
	Attachments      json.RawMessage                             `json:"attachments"`
	Choices          []*discordgo.ApplicationCommandOptionChoice `json:"choices"`
}

func (b *msgBody) embeds() []*discordgo.MessageEmbed {
	var out []*discordgo.MessageEmbed
	if b.Embeds != nil {
		out = append(out, *b.Embeds...)
	}
	if b.Embed != nil {
		out = append(out, b.Embed)
	}
	return out
}

func (b *msgBody) content() string {
	if b.Content == nil {
		return ""
	}
	return *b.Content
}

func (b *msgBody) nonce() string {
	if len(b.Nonce) == 0 || string(b.Nonce) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(b.Nonce, &s) == nil {
		return s
	}
	return string(b.Nonce) // an integer nonce
}

// validate checks the body's limits (create: empty bodies are refused elsewhere).
func (b *msgBody) validate(fe formErrors, prefix ...string) {
	at := func(k ...string) []string { return append(append([]string{}, prefix...), k...) }
	fe.maxLen(b.content(), 2000, at("content")...)
	validateEmbeds(fe, b.embeds(), prefix...)
	validateComponents(fe, b.Components, prefix...)
	if n := b.nonce(); len(n) > 25 {
		fe.add("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.", at("nonce")...)
	}
}

func (b *msgBody) empty(files int) bool {
	return strings.TrimSpace(b.content()) == "" && len(b.embeds()) == 0 && files == 0 &&
		len(b.StickerIDs) == 0 && !hasComponents(b.Components)
}

func hasComponents(raw json.RawMessage) bool {
	var rows []json.RawMessage
	return json.Unmarshal(raw, &rows) == nil && len(rows) > 0
}

// parseComponents decodes components with discordgo's own decoder.
func parseComponents(raw json.RawMessage) []discordgo.MessageComponent {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var m discordgo.Message
	if err := json.Unmarshal([]byte(`{"components":`+string(raw)+`}`), &m); err != nil {
		return nil
	}
	return m.Components
}

func parseAllowed(raw json.RawMessage) *discordgo.MessageAllowedMentions {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var am discordgo.MessageAllowedMentions
	if json.Unmarshal(raw, &am) != nil {
		return nil
	}
	return &am
}

var (
	roleMentionRe = regexp.MustCompile(`<@&(\d+)>`)
	userMentionRe = regexp.MustCompile(`<@!?(\d+)>`)
)

// applyMentionsLocked sets who a message really pings: the content's mentions filtered by
// allowed_mentions (absent: everything) and the author's Mention Everyone permission.
func (s *Server) applyMentionsLocked(m *discordgo.Message, amRaw json.RawMessage, authorID string) {
	am := parseAllowed(amRaw)
	parse := map[string]bool{"everyone": true, "roles": true, "users": true}
	var users, roles []string
	if am != nil {
		parse = map[string]bool{}
		for _, p := range am.Parse {
			parse[string(p)] = true
		}
		users, roles = am.Users, am.Roles
	}
	perms := s.permsLocked(authorID, m.ChannelID)
	canEveryone := perms&discordgo.PermissionMentionEveryone != 0
	m.MentionEveryone = parse["everyone"] && canEveryone &&
		(strings.Contains(m.Content, "@everyone") || strings.Contains(m.Content, "@here"))
	m.MentionRoles = []string{}
	g := s.w.guilds[m.GuildID]
	for _, sub := range roleMentionRe.FindAllStringSubmatch(m.Content, -1) {
		id := sub[1]
		if !(parse["roles"] || slices.Contains(roles, id)) || slices.Contains(m.MentionRoles, id) || g == nil {
			continue
		}
		r := g.role(id)
		if r != nil && (r.Mentionable || canEveryone) {
			m.MentionRoles = append(m.MentionRoles, id)
		}
	}
	m.Mentions = []*discordgo.User{}
	seen := map[string]bool{}
	for _, sub := range userMentionRe.FindAllStringSubmatch(m.Content, -1) {
		id := sub[1]
		if seen[id] || !(parse["users"] || slices.Contains(users, id)) {
			continue
		}
		if u := s.w.users[id]; u != nil {
			seen[id] = true
			uc := *u
			m.Mentions = append(m.Mentions, &uc)
		}
	}
}

// newMessageLocked builds a stored message (not yet added to a channel).
func (s *Server) newMessageLocked(channelID, authorID string, b *msgBody, raw json.RawMessage, files []File) *storedMsg {
	now := s.nowLocked()
	m := &discordgo.Message{
		ID: s.nextIDLocked(), ChannelID: channelID, Content: b.content(), Timestamp: now,
		TTS: b.TTS, Embeds: []*discordgo.MessageEmbed{}, Attachments: []*discordgo.MessageAttachment{},
		Flags: discordgo.MessageFlags(b.Flags), MessageReference: b.MessageReference,
		Components: parseComponents(b.Components),
	}
	if m.Components == nil {
		m.Components = []discordgo.MessageComponent{}
	}
	if cs := s.w.channels[channelID]; cs != nil {
		m.GuildID = cs.ch.GuildID
	}
	if u := s.w.users[authorID]; u != nil {
		uc := *u
		m.Author = &uc
	} else {
		m.Author = &discordgo.User{ID: authorID, Username: "user" + authorID}
	}
	for _, e := range b.embeds() {
		if e == nil {
			continue
		}
		ec := *e
		if ec.Type == "" {
			ec.Type = discordgo.EmbedTypeRich
		}
		m.Embeds = append(m.Embeds, &ec)
	}
	for _, f := range files {
		m.Attachments = append(m.Attachments, &discordgo.MessageAttachment{
			ID: s.nextIDLocked(), Filename: f.Name, ContentType: f.ContentType, Size: len(f.Data),
			URL: "https://cdn.discordapp.com/attachments/" + channelID + "/" + f.Name,
		})
	}
	if b.MessageReference != nil {
		m.Type = discordgo.MessageTypeReply
	}
	s.applyMentionsLocked(m, b.AllowedMentions, authorID)
	return &storedMsg{msg: m, nonce: b.nonce(), enforce: b.EnforceNonce, amRaw: cloneRaw(b.AllowedMentions), raw: cloneRaw(raw), files: files}
}

func cloneRaw(r json.RawMessage) json.RawMessage {
	if r == nil {
		return nil
	}
	return append(json.RawMessage(nil), r...)
}

// editLocked applies a PATCH body to a stored message.
func (s *Server) editLocked(sm *storedMsg, b *msgBody, raw json.RawMessage, dropEmbeds bool) {
	m := sm.msg
	if b.Content != nil {
		m.Content = *b.Content
	}
	if (b.Embeds != nil || b.Embed != nil) && !dropEmbeds {
		m.Embeds = []*discordgo.MessageEmbed{}
		for _, e := range b.embeds() {
			if e != nil {
				ec := *e
				if ec.Type == "" {
					ec.Type = discordgo.EmbedTypeRich
				}
				m.Embeds = append(m.Embeds, &ec)
			}
		}
	}
	if b.Components != nil {
		m.Components = parseComponents(b.Components)
		if m.Components == nil {
			m.Components = []discordgo.MessageComponent{}
		}
	}
	if b.AllowedMentions != nil {
		sm.amRaw = cloneRaw(b.AllowedMentions)
	}
	if b.Flags != 0 {
		m.Flags = discordgo.MessageFlags(b.Flags) | (m.Flags & discordgo.MessageFlagsEphemeral)
	}
	m.Flags &^= discordgo.MessageFlagsLoading
	t := s.nowLocked()
	m.EditedTimestamp = &t
	s.applyMentionsLocked(m, sm.amRaw, m.Author.ID)
	sm.edits = append(sm.edits, cloneRaw(raw))
}

// copyMessage is a deep copy of a discordgo message (through JSON).
func copyMessage(m *discordgo.Message) *discordgo.Message {
	var out discordgo.Message
	if err := json.Unmarshal(mustJSON(m), &out); err != nil {
		panic(err)
	}
	return &out
}

func (sm *storedMsg) view() Message {
	return Message{
		Message: copyMessage(sm.msg), Nonce: sm.nonce, EnforceNonce: sm.enforce,
		AllowedMentions: parseAllowed(sm.amRaw), AllowedMentionsRaw: cloneRaw(sm.amRaw),
		Raw: cloneRaw(sm.raw), Files: slices.Clone(sm.files), Edits: slices.Clone(sm.edits), Deleted: sm.deleted,
	}
}

// msgJSON is a message as the API returns it; with nonce for create answers.
func msgJSON(sm *storedMsg, withNonce bool) []byte {
	b := mustJSON(sm.msg)
	if withNonce && sm.nonce != "" {
		b = append(b[:len(b)-1], []byte(`,"nonce":`+strconv.Quote(sm.nonce)+`}`)...)
	}
	return b
}

// Messages returns the messages of a channel (or thread), oldest first, deleted ones
// excluded.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.w.channels[channelID]
	if cs == nil {
		return nil
	}
	out := make([]Message, 0, len(cs.msgs))
	for _, sm := range cs.msgs {
		if !sm.deleted {
			out = append(out, sm.view())
		}
	}
	return out
}

// Message returns one message by id (searching every channel), deleted ones included.
func (s *Server) Message(channelID, messageID string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sm := s.findMsgLocked(channelID, messageID); sm != nil {
		return sm.view(), true
	}
	return Message{}, false
}

func (s *Server) findMsgLocked(channelID, messageID string) *storedMsg {
	cs := s.w.channels[channelID]
	if cs == nil {
		return nil
	}
	for _, sm := range cs.msgs {
		if sm.msg.ID == messageID {
			return sm
		}
	}
	return nil
}

// WaitMessages waits until a channel holds at least n messages and returns them.
func (s *Server) WaitMessages(ctx context.Context, channelID string, n int) ([]Message, error) {
	var out []Message
	err := s.WaitFor(ctx, func() bool {
		out = s.Messages(channelID)
		return len(out) >= n
	})
	return out, err
}

// AddMessage seeds a message in a channel (author defaults to the bot; ID and Timestamp
// are filled when empty) and returns its id.
func (s *Server) AddMessage(channelID string, m discordgo.Message) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.w.channels[channelID]
	if cs == nil {
		return ""
	}
	mc := copyMessage(&m)
	if mc.ID == "" {
		mc.ID = s.nextIDLocked()
	}
	mc.ChannelID = channelID
	mc.GuildID = cs.ch.GuildID
	if mc.Timestamp.IsZero() {
		mc.Timestamp = s.nowLocked()
	}
	if mc.Author == nil {
		u := *s.w.users[BotUserID]
		mc.Author = &u
	} else {
		s.addUserLocked(mc.Author.ID, mc.Author.Username)
	}
	cs.msgs = append(cs.msgs, &storedMsg{msg: mc})
	s.broadcastLocked()
	return mc.ID
}

// ---- REST handlers for messages ----

// sendCheckLocked answers why the bot may not post in cs (nil: it may).
func (s *Server) sendCheckLocked(cs *chanState) *answer {
	if cs.ch.Type == discordgo.ChannelTypeDM {
		if s.w.dmClosed[cs.recipient] {
			a := errAnswer(403, 50007, "Cannot send messages to this user")
			return &a
		}
		return nil
	}
	if a := s.accessLocked(cs); a != nil {
		return a
	}
	perms := s.permsLocked(BotUserID, cs.ch.ID)
	need := int64(discordgo.PermissionSendMessages)
	if cs.ch.IsThread() {
		need = discordgo.PermissionSendMessagesInThreads
	}
	if perms&need == 0 {
		a := errAnswer(403, 50013, "Missing Permissions")
		return &a
	}
	switch cs.ch.Type {
	case discordgo.ChannelTypeGuildText, discordgo.ChannelTypeGuildNews, discordgo.ChannelTypeGuildVoice,
		discordgo.ChannelTypeGuildNewsThread, discordgo.ChannelTypeGuildPublicThread, discordgo.ChannelTypeGuildPrivateThread,
		discordgo.ChannelTypeGuildStageVoice:
		return nil
	}
	a := errAnswer(400, 50008, "Cannot send messages in a non-text channel")
	return &a
}

// accessLocked answers 403 50001 when the bot cannot see a guild channel (or thread).
func (s *Server) accessLocked(cs *chanState) *answer {
	if cs.ch.GuildID == "" {
		if cs.recipient != "" {
			return nil
		}
		a := errAnswer(403, 50001, "Missing Access")
		return &a
	}
	perms := s.permsLocked(BotUserID, cs.ch.ID)
	if perms&discordgo.PermissionViewChannel == 0 {
		a := errAnswer(403, 50001, "Missing Access")
		return &a
	}
	if cs.ch.Type == discordgo.ChannelTypeGuildPrivateThread && !slices.Contains(cs.members, BotUserID) &&
		perms&discordgo.PermissionManageThreads == 0 {
		a := errAnswer(403, 50001, "Missing Access")
		return &a
	}
	return nil
}

// channelLocked returns the channel of the request's {cid} when it exists
// and the bot can see it, else the answer that refuses the request.
func (s *Server) channelLocked(c *call) (*chanState, *answer) {
	cs := s.w.channels[c.v("cid")]
	if cs == nil {
		a := unknownChannel()
		return nil, &a
	}
	if a := s.accessLocked(cs); a != nil {
		return nil, a
	}
	return cs, nil
}

func unknownChannel() answer { return errAnswer(404, 10003, "Unknown Channel") }
func unknownMessage() answer { return errAnswer(404, 10008, "Unknown Message") }

func (s *Server) hCreateMessage(c *call) answer {
	var b msgBody
	raw, files, err := parseBody(c, &b)
	if err != nil {
		return badJSON()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.w.channels[c.v("cid")]
	if cs == nil {
		return unknownChannel()
	}
	fe := formErrors{}
	b.validate(fe)
	if len(fe) > 0 {
		return invalidForm(fe)
	}
	if a := s.sendCheckLocked(cs); a != nil {
		return *a
	}
	if len(b.embeds()) > 0 && cs.ch.GuildID != "" && s.permsLocked(BotUserID, cs.ch.ID)&discordgo.PermissionEmbedLinks == 0 {
		if strings.TrimSpace(b.content()) == "" && len(files) == 0 && !hasComponents(b.Components) {
			return errAnswer(403, 50013, "Missing Permissions")
		}
		b.Embeds, b.Embed = nil, nil // Discord drops the embeds silently
	}
	if b.empty(len(files)) {
		return errAnswer(400, 50006, "Cannot send an empty message")
	}
	now := s.nowLocked()
	key := BotUserID + "\x00" + b.nonce()
	if b.EnforceNonce && b.nonce() != "" {
		if e, ok := s.nonces[key]; ok && now.Sub(e.at) < s.cfg.nonceWindow && !e.msg.deleted {
			return answer{status: 200, body: msgJSON(e.msg, true)}
		}
	}
	sm := s.newMessageLocked(cs.ch.ID, BotUserID, &b, raw, files)
	cs.msgs = append(cs.msgs, sm)
	if b.EnforceNonce && b.nonce() != "" {
		s.nonces[key] = nonceEntry{msg: sm, at: now}
	}
	if cs.ch.IsThread() {
		cs.ch.MessageCount++
	}
	s.broadcastLocked()
	return answer{status: 200, body: msgJSON(sm, true)}
}

func (s *Server) hListMessages(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.channelLocked(c)
	if a != nil {
		return *a
	}
	q := c.r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			fe := formErrors{}
			fe.add("NUMBER_TYPE_MAX", "int value should be less than or equal to 100.", "limit")
			return invalidForm(fe)
		}
		limit = n
	}
	if cs.ch.GuildID != "" && s.permsLocked(BotUserID, cs.ch.ID)&discordgo.PermissionReadMessageHistory == 0 {
		return answer{status: 200, body: []byte("[]")}
	}
	before, after, around := snow(q.Get("before")), snow(q.Get("after")), snow(q.Get("around"))
	var live []*storedMsg
	for _, sm := range cs.msgs {
		if !sm.deleted {
			live = append(live, sm)
		}
	}
	var picked []*storedMsg // newest first
	switch {
	case after > 0:
		for _, sm := range live {
			if snow(sm.msg.ID) > after && len(picked) < limit {
				picked = append(picked, sm)
			}
		}
		slices.Reverse(picked)
	case around > 0:
		idx := 0
		for i, sm := range live {
			if snow(sm.msg.ID) <= around {
				idx = i
			}
		}
		lo := max(0, idx-limit/2)
		hi := min(len(live), lo+limit)
		picked = append(picked, live[lo:hi]...)
		slices.Reverse(picked)
	default:
		for i := len(live) - 1; i >= 0 && len(picked) < limit; i-- {
			if before == 0 || snow(live[i].msg.ID) < before {
				picked = append(picked, live[i])
			}
		}
	}
	parts := make([]json.RawMessage, 0, len(picked))
	for _, sm := range picked {
		parts = append(parts, msgJSON(sm, false))
	}
	return answer{status: 200, body: mustJSON(parts)}
}

func snow(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

func (s *Server) hGetMessage(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.channelLocked(c)
	if a != nil {
		return *a
	}
	if cs.ch.GuildID != "" && s.permsLocked(BotUserID, cs.ch.ID)&discordgo.PermissionReadMessageHistory == 0 {
		return errAnswer(403, 50013, "Missing Permissions")
	}
	sm := s.findMsgLocked(cs.ch.ID, c.v("mid"))
	if sm == nil || sm.deleted {
		return unknownMessage()
	}
	return answer{status: 200, body: msgJSON(sm, false)}
}

func (s *Server) hEditMessage(c *call) answer {
	var b msgBody
	raw, _, err := parseBody(c, &b)
	if err != nil {
		return badJSON()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.channelLocked(c)
	if a != nil {
		return *a
	}
	sm := s.findMsgLocked(cs.ch.ID, c.v("mid"))
	if sm == nil || sm.deleted {
		return unknownMessage()
	}
	if sm.msg.Author == nil || sm.msg.Author.ID != BotUserID {
		return errAnswer(403, 50005, "Cannot edit a message authored by another user")
	}
	fe := formErrors{}
	b.validate(fe)
	if len(fe) > 0 {
		return invalidForm(fe)
	}
	drop := cs.ch.GuildID != "" && s.permsLocked(BotUserID, cs.ch.ID)&discordgo.PermissionEmbedLinks == 0
	s.editLocked(sm, &b, raw, drop)
	s.broadcastLocked()
	return answer{status: 200, body: msgJSON(sm, false)}
}

func (s *Server) hDeleteMessage(c *call) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, a := s.channelLocked(c)
	if a != nil {
		return *a
	}
	sm := s.findMsgLocked(cs.ch.ID, c.v("mid"))
	if sm == nil || sm.deleted {
		return unknownMessage()
	}
	if sm.msg.Author.ID != BotUserID && s.permsLocked(BotUserID, cs.ch.ID)&discordgo.PermissionManageMessages == 0 {
		return errAnswer(403, 50013, "Missing Permissions")
	}
	sm.deleted = true
	s.broadcastLocked()
	return answer{status: 204}
}
