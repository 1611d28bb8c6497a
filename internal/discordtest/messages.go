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
