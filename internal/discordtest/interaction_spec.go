package discordtest

import (
	"maps"
	"slices"
	"time"

	"github.com/bwmarrin/discordgo"
)

// InteractionSpec describes an interaction to dispatch. Build it with Command,
// Autocomplete, Button, SelectMenu or ModalSubmit, and adjust it with SpecOptions.
// Unset fields get defaults at dispatch: user MemberUserID ("member"), guild GuildID,
// channel GeneralChannelID (a component's channel is its message's), roles and
// permissions from the world.
type InteractionSpec struct {
	Type      discordgo.InteractionType
	Data      any    // marshalled as "data"
	GuildID   string // "" with DM
	ChannelID string
	DM        bool // user instead of member; no guild
	User      discordgo.User
	Roles     []string // the member's roles in the payload; nil: from the world
	// Permissions of the member in the channel ("permissions"); zero means computed
	// from the world.
	Permissions int64
	MessageID   string // the message a component (or a modal opened from one) belongs to
	Locale      string

	// HTTP delivery (see WithInteractionsEndpoint): the endpoint to POST to instead of
	// the configured ones, a signature that does not verify, an old timestamp.
	Endpoint     string
	BadSignature bool
	TimestampAge time.Duration
}

// SpecOption adjusts an InteractionSpec.
type SpecOption func(*InteractionSpec)

// With returns a copy of spec with opts applied.
func (spec InteractionSpec) With(opts ...SpecOption) InteractionSpec {
	for _, o := range opts {
		if o != nil {
			o(&spec)
		}
	}
	return spec
}

// Command builds an application command interaction (type 2).
func Command(name string, options ...*discordgo.ApplicationCommandInteractionDataOption) InteractionSpec {
	return InteractionSpec{Type: discordgo.InteractionApplicationCommand, Data: &discordgo.ApplicationCommandInteractionData{
		Name: name, CommandType: discordgo.ChatApplicationCommand, Options: options,
	}}
}

// Autocomplete builds an autocomplete interaction (type 4); mark the focused option with Focused.
func Autocomplete(name string, options ...*discordgo.ApplicationCommandInteractionDataOption) InteractionSpec {
	spec := Command(name, options...)
	spec.Type = discordgo.InteractionApplicationCommandAutocomplete
	return spec
}

// Button builds a button click (type 3) on messageID with custom_id customID.
func Button(customID, messageID string) InteractionSpec {
	return InteractionSpec{Type: discordgo.InteractionMessageComponent, MessageID: messageID,
		Data: map[string]any{"custom_id": customID, "component_type": discordgo.ButtonComponent}}
}

// SelectMenu builds a string select (type 3) on messageID with the chosen values.
func SelectMenu(customID, messageID string, values ...string) InteractionSpec {
	if values == nil {
		values = []string{}
	}
	return InteractionSpec{Type: discordgo.InteractionMessageComponent, MessageID: messageID,
		Data: map[string]any{"custom_id": customID, "component_type": discordgo.SelectMenuComponent, "values": values}}
}

// ModalSubmit builds a modal submit (type 5): one action row with one text input per
// value, in sorted key order. Use OnMessage when the modal was opened from a button.
func ModalSubmit(customID string, values map[string]string) InteractionSpec {
	rows := []any{}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		rows = append(rows, map[string]any{"type": 1, "components": []any{
			map[string]any{"type": 4, "custom_id": k, "value": values[k]},
		}})
	}
	return InteractionSpec{Type: discordgo.InteractionModalSubmit, Data: map[string]any{"custom_id": customID, "components": rows}}
}

// Opt builds a command option; its type follows value: string 3, int/int64 4 (sent as a
// JSON number), bool 5, float64 10.
func Opt(name string, value any) *discordgo.ApplicationCommandInteractionDataOption {
	t := discordgo.ApplicationCommandOptionString
	switch value.(type) {
	case int, int64, int32:
		t = discordgo.ApplicationCommandOptionInteger
	case bool:
		t = discordgo.ApplicationCommandOptionBoolean
	case float64, float32:
		t = discordgo.ApplicationCommandOptionNumber
	}
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: t, Value: value}
}

// Focused is Opt with focused set (for Autocomplete). Discord sends the partial
// input of a focused option as a string whatever the option's type.
func Focused(name string, value any) *discordgo.ApplicationCommandInteractionDataOption {
	o := Opt(name, value)
	o.Focused = true
	return o
}

// SubCommand builds a sub-command option (type 1) holding options.
func SubCommand(name string, options ...*discordgo.ApplicationCommandInteractionDataOption) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionSubCommand, Options: options}
}

// FromUser makes the interaction come from user id/name (added to the guild as a
// member with no extra role when missing).
func FromUser(id, name string) SpecOption {
	return func(s *InteractionSpec) { s.User = discordgo.User{ID: id, Username: name} }
}

// WithRoles sets the member's roles in the payload (the world is not changed).
func WithRoles(roleIDs ...string) SpecOption {
	return func(s *InteractionSpec) { s.Roles = append([]string{}, roleIDs...) }
}

// WithPermissions sets the member's permissions in the payload.
func WithPermissions(p int64) SpecOption { return func(s *InteractionSpec) { s.Permissions = p } }

// InChannel sets the channel (and its guild, when the channel is known).
func InChannel(id string) SpecOption { return func(s *InteractionSpec) { s.ChannelID = id } }

// InGuild sets the guild id (the channel defaults to the guild's first text channel).
func InGuild(id string) SpecOption {
	return func(s *InteractionSpec) { s.GuildID = id; s.DM = false }
}

// InDM makes it a DM interaction: "user" instead of "member", no guild, the DM channel
// with the bot.
func InDM() SpecOption {
	return func(s *InteractionSpec) { s.DM = true; s.GuildID = ""; s.ChannelID = "" }
}

// OnMessage sets the message a component or modal belongs to.
func OnMessage(messageID string) SpecOption {
	return func(s *InteractionSpec) { s.MessageID = messageID }
}
