// Package commands holds newsbot's slash commands, one file per command: its
// definition beside its handlers. Commands reach Discord only through the
// small interfaces declared here (which *discordgo.Session satisfies), and
// the bot's router calls them.
package commands

import (
	"context"
	"errors"

	"github.com/bwmarrin/discordgo"
)

// HandlerFunc handles one interaction. It must answer the interaction (or
// return an error before answering: the router then answers with a short
// ephemeral message and logs the detail). Work that may take long defers
// first.
type HandlerFunc func(ctx context.Context, i *discordgo.InteractionCreate) error

// Command is one slash command with everything that answers its interactions.
type Command struct {
	// Definition is registered with Discord as it is.
	Definition *discordgo.ApplicationCommand
	// Handle answers the command itself (interaction type 2).
	Handle HandlerFunc
	// Autocomplete answers autocomplete requests (type 4); nil when the
	// command has no autocompleted option.
	Autocomplete HandlerFunc
	// Components answers button clicks (type 3) and modal submits (type 5)
	// whose custom_id starts with a key of this map followed by ":" (or is
	// the key itself). Keys are unique across all commands.
	Components map[string]HandlerFunc
}

// Responder answers interactions. *discordgo.Session satisfies it.
type Responder interface {
	InteractionRespond(interaction *discordgo.Interaction, resp *discordgo.InteractionResponse, options ...discordgo.RequestOption) error
	InteractionResponseEdit(interaction *discordgo.Interaction, newresp *discordgo.WebhookEdit, options ...discordgo.RequestOption) (*discordgo.Message, error)
	FollowupMessageCreate(interaction *discordgo.Interaction, wait bool, data *discordgo.WebhookParams, options ...discordgo.RequestOption) (*discordgo.Message, error)
}

// UserError is an error whose message is meant for the member who caused
// it ("That question is empty."); the router shows it as it is. Any other
// error is shown as a generic apology and logged.
type UserError struct{ Msg string }

func (e *UserError) Error() string { return e.Msg }

// Userf returns a *UserError.
func Userf(msg string) error { return &UserError{Msg: msg} }

// UserMessage returns the text to show a member for err.
func UserMessage(err error) string {
	var ue *UserError
	if errors.As(err, &ue) {
		return ue.Msg
	}
	return "Sorry, something went wrong on our side. Please try again in a moment."
}

// NoMentions allows no mention at all: text from members and feeds stays inert.
func NoMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// Ephemeral answers an interaction with a message only the member sees.
func Ephemeral(content string) *discordgo.InteractionResponse {
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{
			Content:         content,
			Flags:           discordgo.MessageFlagsEphemeral,
			AllowedMentions: NoMentions(),
		},
	}
}
