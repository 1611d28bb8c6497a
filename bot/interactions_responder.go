package bot

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/commands"
)

// RESTResponder is what HTTPResponder needs of Discord's REST API for
// interactions; *discordgo.Session satisfies it.
type RESTResponder interface {
	commands.Responder
	InteractionResponseDelete(interaction *discordgo.Interaction, options ...discordgo.RequestOption) error
	FollowupMessageEdit(interaction *discordgo.Interaction, messageID string, data *discordgo.WebhookEdit, options ...discordgo.RequestOption) (*discordgo.Message, error)
}

var _ RESTResponder = (*discordgo.Session)(nil)

// HTTPResponder is the commands.Responder of interactions that may come
// over HTTP. For an interaction being served by HTTPInteractions, the first
// InteractionRespond becomes the HTTP response (and returns once it is
// written); a second one fails as Discord's callback route would (400 code
// 40060). When the endpoint had to answer deferred for a slow handler, the
// handler's answer is turned into the REST call that has the same effect
// (an edit of the deferred original, or a follow-up). Edits and follow-ups
// go by webhook REST, retried briefly while Discord has not yet taken the
// HTTP answer in. Any other interaction (the gateway's) goes to REST as is.
type HTTPResponder struct {
	rest RESTResponder

	mu  sync.Mutex
	exs map[string]*httpExchange // by interaction id, while being handled

	// webhookPatience bounds the retries of an edit or follow-up that
	// Discord refuses because it has not processed the HTTP answer yet.
	webhookPatience time.Duration
}

// NewHTTPResponder returns a responder over rest.
func NewHTTPResponder(rest RESTResponder) *HTTPResponder {
	return &HTTPResponder{rest: rest, exs: map[string]*httpExchange{}, webhookPatience: 3 * time.Second}
}

var _ commands.Responder = (*HTTPResponder)(nil)

type exchangeState int

const (
	stateOpen       exchangeState = iota
	stateAnswered                 // the handler's answer is (being) written
	stateDeferred                 // the endpoint answered ex.deferral
	stateUnanswered               // the handler returned; a fallback was written
	stateGone                     // the request ended before any answer
)

// httpExchange is one interaction being answered over HTTP.
type httpExchange struct {
	it       *discordgo.Interaction
	deferral *discordgo.InteractionResponse // what a slow handler is answered
	answers  chan httpAnswer                // the handler's answer (cap 1)

	mu    sync.Mutex
	state exchangeState
	// After a deferred update (type 6) a handler that defers with a
	// message (type 5) and then edits its "original" gets a follow-up
	// instead: the original is the message holding the components.
	redirect      bool
	redirectFlags discordgo.MessageFlags
	followupID    string
}

type httpAnswer struct {
	resp    *discordgo.InteractionResponse
	written chan error // cap 1: the outcome of writing resp
}

// begin registers i; nil when it is already being answered.
func (r *HTTPResponder) begin(i *discordgo.Interaction) *httpExchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.exs[i.ID]; dup {
		return nil
	}
	ex := &httpExchange{it: i, deferral: deferralFor(i), answers: make(chan httpAnswer, 1)}
	r.exs[i.ID] = ex
	return ex
}

func (r *HTTPResponder) end(id string) {
	r.mu.Lock()
	delete(r.exs, id)
	r.mu.Unlock()
}

func (r *HTTPResponder) lookup(i *discordgo.Interaction) *httpExchange {
	if i == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exs[i.ID]
}

// deferralFor is the deferred answer of an interaction whose handler is
// slow: empty choices for autocomplete (it cannot be deferred), a deferred
// update for a click or a modal sent from a message (nothing visible
// changes), else an ephemeral "thinking" (what the member asked for stays
// between them and the bot until the handler says otherwise).
func deferralFor(i *discordgo.Interaction) *discordgo.InteractionResponse {
	switch {
	case i.Type == discordgo.InteractionApplicationCommandAutocomplete:
		return emptyChoices()
	case i.Type == discordgo.InteractionMessageComponent,
		i.Type == discordgo.InteractionModalSubmit && i.Message != nil:
		return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}
	}
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
	}
}

// settle moves an open exchange to st and reports false; when the handler
// has answered already, it returns that answer and true.
func (ex *httpExchange) settle(st exchangeState) (httpAnswer, bool) {
	ex.mu.Lock()
	if ex.state == stateOpen {
		ex.state = st
		ex.mu.Unlock()
		return httpAnswer{}, false
	}
	ex.mu.Unlock()
	return <-ex.answers, true
}

// InteractionRespond answers i: in the HTTP response when i is being
// served over HTTP, else by REST.
func (r *HTTPResponder) InteractionRespond(i *discordgo.Interaction, resp *discordgo.InteractionResponse, options ...discordgo.RequestOption) error {
	ex := r.lookup(i)
	if ex == nil {
		return r.rest.InteractionRespond(i, resp, options...)
	}
	ex.mu.Lock()
	switch ex.state {
	case stateOpen:
		ex.state = stateAnswered
		a := httpAnswer{resp: resp, written: make(chan error, 1)}
		ex.answers <- a
		ex.mu.Unlock()
		return <-a.written
	case stateDeferred:
		ex.mu.Unlock()
		return r.afterDeferral(ex, resp, options)
	case stateGone:
		ex.mu.Unlock()
		return errors.New("discord: the interaction request ended before it was answered")
	default:
		ex.mu.Unlock()
		return alreadyAcknowledged()
	}
}

// afterDeferral does what resp would have done, now that the endpoint has
// answered ex.deferral.
func (r *HTTPResponder) afterDeferral(ex *httpExchange, resp *discordgo.InteractionResponse, options []discordgo.RequestOption) error {
	i := ex.it
	data := resp.Data
	if data == nil {
		data = &discordgo.InteractionResponseData{}
	}
	switch ex.deferral.Type {
	case discordgo.InteractionApplicationCommandAutocompleteResult:
		// Choices cannot come late.
		return alreadyAcknowledged()
	case discordgo.InteractionResponseDeferredChannelMessageWithSource:
		switch resp.Type {
		case discordgo.InteractionResponseDeferredChannelMessageWithSource:
			return nil
		case discordgo.InteractionResponseChannelMessageWithSource:
			if data.Flags&discordgo.MessageFlagsEphemeral != 0 {
				_, err := r.InteractionResponseEdit(i, editOf(data), options...)
				return err
			}
			// A public answer after an ephemeral "thinking": post it as a
			// follow-up and remove the placeholder.
			if _, err := r.FollowupMessageCreate(i, true, paramsOf(data), options...); err != nil {
				return err
			}
			if err := r.rest.InteractionResponseDelete(i, options...); err != nil {
				return fmt.Errorf("discord: removing the deferred placeholder: %w", err)
			}
			return nil
		}
	case discordgo.InteractionResponseDeferredMessageUpdate:
		switch resp.Type {
		case discordgo.InteractionResponseDeferredMessageUpdate:
			return nil
		case discordgo.InteractionResponseUpdateMessage:
			_, err := r.InteractionResponseEdit(i, editOf(data), options...)
			return err
		case discordgo.InteractionResponseChannelMessageWithSource:
			_, err := r.FollowupMessageCreate(i, true, paramsOf(data), options...)
			return err
		case discordgo.InteractionResponseDeferredChannelMessageWithSource:
			ex.mu.Lock()
			ex.redirect, ex.redirectFlags = true, data.Flags&discordgo.MessageFlagsEphemeral
			ex.mu.Unlock()
			return nil
		}
	}
	return fmt.Errorf("discord: an answer of type %d cannot follow the deferred answer of type %d", resp.Type, ex.deferral.Type)
}

// InteractionResponseEdit edits i's original answer.
func (r *HTTPResponder) InteractionResponseEdit(i *discordgo.Interaction, edit *discordgo.WebhookEdit, options ...discordgo.RequestOption) (*discordgo.Message, error) {
	ex := r.lookup(i)
	if ex == nil {
		return r.rest.InteractionResponseEdit(i, edit, options...)
	}
	ex.mu.Lock()
	redirect, flags, fid := ex.redirect, ex.redirectFlags, ex.followupID
	ex.mu.Unlock()
	if !redirect {
		return retryWebhook(r.webhookPatience, func() (*discordgo.Message, error) {
			return r.rest.InteractionResponseEdit(i, edit, options...)
		})
	}
	if fid != "" {
		return r.rest.FollowupMessageEdit(i, fid, edit, options...)
	}
	p := &discordgo.WebhookParams{Flags: flags, AllowedMentions: edit.AllowedMentions}
	if edit.Content != nil {
		p.Content = *edit.Content
	}
	if edit.Embeds != nil {
		p.Embeds = *edit.Embeds
	}
	if edit.Components != nil {
		p.Components = *edit.Components
	}
	m, err := r.FollowupMessageCreate(i, true, p, options...)
	if err == nil && m != nil {
		ex.mu.Lock()
		ex.followupID = m.ID
		ex.mu.Unlock()
	}
	return m, err
}

// InteractionResponseDelete deletes i's original answer (a deferred
// placeholder that a follow-up replaced).
func (r *HTTPResponder) InteractionResponseDelete(i *discordgo.Interaction, options ...discordgo.RequestOption) error {
	return r.rest.InteractionResponseDelete(i, options...)
}

// FollowupMessageCreate sends a follow-up message for i.
func (r *HTTPResponder) FollowupMessageCreate(i *discordgo.Interaction, wait bool, data *discordgo.WebhookParams, options ...discordgo.RequestOption) (*discordgo.Message, error) {
	if r.lookup(i) == nil {
		return r.rest.FollowupMessageCreate(i, wait, data, options...)
	}
	return retryWebhook(r.webhookPatience, func() (*discordgo.Message, error) {
		return r.rest.FollowupMessageCreate(i, wait, data, options...)
	})
}

// retryWebhook retries call while Discord answers 404 Unknown Webhook:
// the interaction's HTTP answer is on its way but not yet taken in.
func retryWebhook(patience time.Duration, call func() (*discordgo.Message, error)) (*discordgo.Message, error) {
	deadline := time.Now().Add(patience)
	wait := 20 * time.Millisecond
	for {
		m, err := call()
		var re *discordgo.RESTError
		if err == nil || !errors.As(err, &re) || re.Message == nil || re.Message.Code != discordgo.ErrCodeUnknownWebhook ||
			time.Now().Add(wait).After(deadline) {
			return m, err
		}
		time.Sleep(wait)
		wait = min(2*wait, 400*time.Millisecond)
	}
}

func editOf(d *discordgo.InteractionResponseData) *discordgo.WebhookEdit {
	e := &discordgo.WebhookEdit{AllowedMentions: d.AllowedMentions}
	content, embeds, comps := d.Content, d.Embeds, d.Components
	e.Content = &content
	if embeds == nil {
		embeds = []*discordgo.MessageEmbed{}
	}
	e.Embeds = &embeds
	if comps == nil {
		comps = []discordgo.MessageComponent{}
	}
	e.Components = &comps
	return e
}

func paramsOf(d *discordgo.InteractionResponseData) *discordgo.WebhookParams {
	return &discordgo.WebhookParams{
		Content: d.Content, Embeds: d.Embeds, Components: d.Components,
		AllowedMentions: d.AllowedMentions, Flags: d.Flags, Files: d.Files,
	}
}

// alreadyAcknowledged is the error Discord's callback route gives a second
// answer (the router reacts to its code).
func alreadyAcknowledged() error {
	const msg = "Interaction has already been acknowledged."
	return &discordgo.RESTError{
		Response:     &http.Response{StatusCode: http.StatusBadRequest, Status: "400 Bad Request"},
		ResponseBody: []byte(fmt.Sprintf(`{"message": %q, "code": %d}`, msg, errCodeAlreadyAcknowledged)),
		Message:      &discordgo.APIErrorMessage{Code: errCodeAlreadyAcknowledged, Message: msg},
	}
}

// askDiscordVia is a commands.AskDiscord whose interaction answers go
// through an HTTPResponder.
type askDiscordVia struct {
	commands.AskDiscord
	r *HTTPResponder
}

// AskDiscord returns d answering interactions through r.
func (r *HTTPResponder) AskDiscord(d commands.AskDiscord) commands.AskDiscord {
	return askDiscordVia{AskDiscord: d, r: r}
}

func (a askDiscordVia) InteractionRespond(i *discordgo.Interaction, resp *discordgo.InteractionResponse, options ...discordgo.RequestOption) error {
	return a.r.InteractionRespond(i, resp, options...)
}

func (a askDiscordVia) InteractionResponseEdit(i *discordgo.Interaction, edit *discordgo.WebhookEdit, options ...discordgo.RequestOption) (*discordgo.Message, error) {
	return a.r.InteractionResponseEdit(i, edit, options...)
}

func (a askDiscordVia) FollowupMessageCreate(i *discordgo.Interaction, wait bool, data *discordgo.WebhookParams, options ...discordgo.RequestOption) (*discordgo.Message, error) {
	return a.r.FollowupMessageCreate(i, wait, data, options...)
}
