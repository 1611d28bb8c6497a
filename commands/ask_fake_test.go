package commands_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/bwmarrin/discordgo"
)

// fakeDC is an in-memory AskDiscord: it records every call (with its body
// as JSON, to check allowed_mentions), keeps messages per channel, honours
// nonces, and fails calls on request.
type fakeDC struct {
	mu       sync.Mutex
	nextID   int
	calls    []fakeCall
	messages map[string][]*discordgo.Message // by channel
	nonces   map[string]*discordgo.Message
	fail     map[string][]error       // by call key ("send:401", "dm", "thread", "member", "edit", "recent")
	hold     map[string]chan struct{} // by call key: the call waits until the channel is closed
	dmClosed map[string]bool          // users whose DMs are closed
	changed  chan struct{}            // closed and replaced on every call
}

type fakeCall struct {
	Key  string
	Body string // JSON of what was sent
}

func newFakeDC() *fakeDC {
	return &fakeDC{
		messages: map[string][]*discordgo.Message{},
		nonces:   map[string]*discordgo.Message{},
		fail:     map[string][]error{},
		hold:     map[string]chan struct{}{},
		dmClosed: map[string]bool{},
		changed:  make(chan struct{}),
	}
}

func restErr(status, code int) error {
	return &discordgo.RESTError{
		Response: &http.Response{StatusCode: status, Status: fmt.Sprint(status)},
		Message:  &discordgo.APIErrorMessage{Code: code, Message: "fake"},
	}
}

// failNext makes the next n calls with key fail with err.
func (f *fakeDC) failNext(key string, n int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.fail[key] = append(f.fail[key], err)
	}
}

func (f *fakeDC) holdCalls(key string) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := make(chan struct{})
	f.hold[key] = c
	return c
}

// enter records a call and returns its injected error, if any.
func (f *fakeDC) enter(key string, body any) error {
	b, _ := json.Marshal(body)
	f.mu.Lock()
	h := f.hold[key]
	f.mu.Unlock()
	if h != nil {
		<-h
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fakeCall{Key: key, Body: string(b)})
	close(f.changed)
	f.changed = make(chan struct{})
	if errs := f.fail[key]; len(errs) > 0 {
		f.fail[key] = errs[1:]
		return errs[0]
	}
	return nil
}

func (f *fakeDC) id() string {
	f.nextID++
	return fmt.Sprint(1000 + f.nextID)
}

// wait blocks until cond holds (checked after every call).
func (f *fakeDC) wait(cond func() bool) {
	for {
		f.mu.Lock()
		c := f.changed
		f.mu.Unlock()
		if cond() {
			return
		}
		<-c
	}
}

func (f *fakeDC) callsOf(prefix string) []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeCall
	for _, c := range f.calls {
		if strings.HasPrefix(c.Key, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeDC) channelMessages(ch string) []*discordgo.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*discordgo.Message(nil), f.messages[ch]...)
}

func (f *fakeDC) InteractionRespond(i *discordgo.Interaction, r *discordgo.InteractionResponse, _ ...discordgo.RequestOption) error {
	return f.enter("respond:"+i.ID, r)
}

func (f *fakeDC) InteractionResponseEdit(i *discordgo.Interaction, e *discordgo.WebhookEdit, _ ...discordgo.RequestOption) (*discordgo.Message, error) {
	if err := f.enter("original:"+i.ID, e); err != nil {
		return nil, err
	}
	return &discordgo.Message{ID: "orig"}, nil
}

func (f *fakeDC) FollowupMessageCreate(i *discordgo.Interaction, _ bool, p *discordgo.WebhookParams, _ ...discordgo.RequestOption) (*discordgo.Message, error) {
	if err := f.enter("followup:"+i.ID, p); err != nil {
		return nil, err
	}
	return &discordgo.Message{ID: "fu"}, nil
}

func (f *fakeDC) RequestWithBucketID(method, urlStr string, data interface{}, _ string, _ ...discordgo.RequestOption) ([]byte, error) {
	ch := strings.TrimSuffix(strings.TrimPrefix(urlStr, discordgo.EndpointChannels), "/messages")
	if method != "POST" || ch == urlStr {
		return nil, fmt.Errorf("fake: unexpected %s %s", method, urlStr)
	}
	if err := f.enter("send:"+ch, data); err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(data)
	var body struct {
		Content      string                    `json:"content"`
		Embeds       []*discordgo.MessageEmbed `json:"embeds"`
		Nonce        string                    `json:"nonce"`
		EnforceNonce bool                      `json:"enforce_nonce"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dmClosed[ch] {
		return nil, restErr(403, 50007)
	}
	if m := f.nonces[ch+"/"+body.Nonce]; m != nil && body.EnforceNonce {
		return json.Marshal(m)
	}
	m := &discordgo.Message{ID: f.id(), ChannelID: ch, Content: body.Content, Embeds: body.Embeds}
	f.messages[ch] = append(f.messages[ch], m)
	if body.Nonce != "" {
		f.nonces[ch+"/"+body.Nonce] = m
	}
	return json.Marshal(m)
}

func (f *fakeDC) ChannelMessages(ch string, limit int, _, _, _ string, _ ...discordgo.RequestOption) ([]*discordgo.Message, error) {
	if err := f.enter("recent:"+ch, nil); err != nil {
		return nil, err
	}
	msgs := f.channelMessages(ch)
	var out []*discordgo.Message
	for k := len(msgs) - 1; k >= 0 && len(out) < limit; k-- {
		out = append(out, msgs[k])
	}
	return out, nil
}

func (f *fakeDC) ChannelMessageEditComplex(m *discordgo.MessageEdit, _ ...discordgo.RequestOption) (*discordgo.Message, error) {
	if err := f.enter("edit:"+m.Channel, m); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, msg := range f.messages[m.Channel] {
		if msg.ID == m.ID {
			if m.Embeds != nil {
				msg.Embeds = *m.Embeds
			}
			if m.Components != nil {
				msg.Components = *m.Components
			}
			return msg, nil
		}
	}
	return nil, restErr(404, 10008)
}

func (f *fakeDC) MessageThreadStartComplex(ch, msgID string, d *discordgo.ThreadStart, _ ...discordgo.RequestOption) (*discordgo.Channel, error) {
	if err := f.enter("thread-on:"+ch, d); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return &discordgo.Channel{ID: f.id(), Name: d.Name, ParentID: ch}, nil
}

func (f *fakeDC) ThreadStartComplex(ch string, d *discordgo.ThreadStart, _ ...discordgo.RequestOption) (*discordgo.Channel, error) {
	if err := f.enter("thread:"+ch, d); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return &discordgo.Channel{ID: f.id(), Name: d.Name, ParentID: ch, Type: d.Type}, nil
}

func (f *fakeDC) ThreadMemberAdd(threadID, userID string, _ ...discordgo.RequestOption) error {
	return f.enter("member:"+threadID, userID)
}

func (f *fakeDC) UserChannelCreate(userID string, _ ...discordgo.RequestOption) (*discordgo.Channel, error) {
	if err := f.enter("dm:"+userID, userID); err != nil {
		return nil, err
	}
	return &discordgo.Channel{ID: "dm" + userID, Type: discordgo.ChannelTypeDM}, nil
}

func (f *fakeDC) Guild(id string, _ ...discordgo.RequestOption) (*discordgo.Guild, error) {
	if err := f.enter("guild:"+id, nil); err != nil {
		return nil, err
	}
	return &discordgo.Guild{ID: id, Name: "Test Guild"}, nil
}
