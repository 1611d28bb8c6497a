package commands_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/commands"
	"github.com/newsbot/newsbot/sqlite"
)

const (
	guildID = "300"
	newsID  = "400"
	teamID  = "401"
	member  = "500"
	mate    = "600"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type askEnv struct {
	t     *testing.T
	dc    *fakeDC
	db    *sqlite.DB
	clock *clock
	ask   *commands.Ask
	cmd   commands.Command
	opts  commands.AskOptions
}

var interactionSeq atomic.Int64

// snowflake returns a fresh interaction id created now.
func snowflake() string {
	ms := time.Now().UnixMilli() - 1420070400000
	return fmt.Sprint(ms<<22 | interactionSeq.Add(1)&0xfff)
}

func newAskEnv(t *testing.T, edit func(*commands.AskOptions)) *askEnv {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ask.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &askEnv{t: t, dc: newFakeDC(), db: db, clock: &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}}
	e.opts = commands.AskOptions{
		Store: db, Discord: e.dc, TeamChannelID: teamID, GuildID: guildID,
		Limit: 3, Period: 10 * time.Minute, Now: e.clock.Now,
	}
	if edit != nil {
		edit(&e.opts)
	}
	e.restart()
	return e
}

// restart replaces the command with a new one on the same database.
func (e *askEnv) restart() {
	e.ask = commands.NewAsk(e.opts)
	e.cmd = e.ask.Command()
}

func askIC(user, channel, text string) *discordgo.InteractionCreate {
	return &discordgo.InteractionCreate{Interaction: &discordgo.Interaction{
		ID: snowflake(), Token: "tok", Type: discordgo.InteractionApplicationCommand, GuildID: guildID, ChannelID: channel,
		Member: &discordgo.Member{User: &discordgo.User{ID: user, Username: "member_" + user}},
		Data: discordgo.ApplicationCommandInteractionData{Name: "ask", Options: []*discordgo.ApplicationCommandInteractionDataOption{
			{Name: "question", Type: discordgo.ApplicationCommandOptionString, Value: text},
		}},
	}}
}

func buttonIC(user, customID, messageID string) *discordgo.InteractionCreate {
	return &discordgo.InteractionCreate{Interaction: &discordgo.Interaction{
		ID: snowflake(), Token: "tok", Type: discordgo.InteractionMessageComponent, GuildID: guildID, ChannelID: teamID,
		Member:  &discordgo.Member{User: &discordgo.User{ID: user, Username: "mate_" + user}},
		Message: &discordgo.Message{ID: messageID, ChannelID: teamID},
		Data:    discordgo.MessageComponentInteractionData{CustomID: customID, ComponentType: discordgo.ButtonComponent},
	}}
}

func modalIC(user, customID, answer string) *discordgo.InteractionCreate {
	return &discordgo.InteractionCreate{Interaction: &discordgo.Interaction{
		ID: snowflake(), Token: "tok", Type: discordgo.InteractionModalSubmit, GuildID: guildID, ChannelID: teamID,
		Member: &discordgo.Member{User: &discordgo.User{ID: user, Username: "mate_" + user}},
		Data: discordgo.ModalSubmitInteractionData{CustomID: customID, Components: []discordgo.MessageComponent{
			&discordgo.ActionsRow{Components: []discordgo.MessageComponent{&discordgo.TextInput{CustomID: "answer", Value: answer}}},
		}},
	}}
}

// do runs an interaction through the command's handlers, as the router would.
func (e *askEnv) do(i *discordgo.InteractionCreate) {
	e.t.Helper()
	var err error
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		err = e.cmd.Handle(context.Background(), i)
	default:
		err = e.cmd.Components["ask"](context.Background(), i)
	}
	if err != nil {
		e.t.Fatalf("handler: %v", err)
	}
}

// response returns the (single) callback answered to interaction i.
func (e *askEnv) response(i *discordgo.InteractionCreate) discordgo.InteractionResponse {
	e.t.Helper()
	calls := e.dc.callsOf("respond:" + i.ID)
	if len(calls) != 1 {
		e.t.Fatalf("interaction %s answered %d times", i.ID, len(calls))
	}
	var r discordgo.InteractionResponse
	var raw struct {
		Type discordgo.InteractionResponseType `json:"type"`
		Data json.RawMessage                   `json:"data"`
	}
	if err := json.Unmarshal([]byte(calls[0].Body), &raw); err != nil {
		e.t.Fatal(err)
	}
	r.Type = raw.Type
	r.Data = &discordgo.InteractionResponseData{}
	json.Unmarshal(raw.Data, &struct {
		Content *string `json:"content"`
		Flags   *discordgo.MessageFlags
		Title   *string `json:"title"`
		Custom  *string `json:"custom_id"`
	}{&r.Data.Content, &r.Data.Flags, &r.Data.Title, &r.Data.CustomID})
	return r
}

// edited returns the content of the deferred response's edit.
func (e *askEnv) edited(i *discordgo.InteractionCreate) string {
	e.t.Helper()
	calls := e.dc.callsOf("original:" + i.ID)
	if len(calls) != 1 {
		e.t.Fatalf("deferred response edited %d times", len(calls))
	}
	var w struct{ Content string }
	json.Unmarshal([]byte(calls[0].Body), &w)
	return w.Content
}

// checkNoPings fails when any message-bearing call allows a mention other
// than the member's own (answers posted in a channel mention them).
func checkNoPings(t *testing.T, dc *fakeDC) {
	t.Helper()
	for _, c := range dc.callsOf("") {
		kind, _, _ := strings.Cut(c.Key, ":")
		var body struct {
			Type            int             `json:"type"`
			Data            json.RawMessage `json:"data"`
			AllowedMentions json.RawMessage `json:"allowed_mentions"`
		}
		switch kind {
		case "send", "edit", "original", "followup":
			json.Unmarshal([]byte(c.Body), &body)
		case "respond":
			json.Unmarshal([]byte(c.Body), &body)
			if body.Type == int(discordgo.InteractionResponseModal) {
				continue
			}
			var d struct {
				AllowedMentions json.RawMessage `json:"allowed_mentions"`
			}
			json.Unmarshal(body.Data, &d)
			body.AllowedMentions = d.AllowedMentions
		default:
			continue
		}
		var am struct {
			Parse *[]string `json:"parse"`
			Roles []string  `json:"roles"`
			Users []string  `json:"users"`
		}
		if err := json.Unmarshal(body.AllowedMentions, &am); err != nil || am.Parse == nil || len(*am.Parse) != 0 ||
			len(am.Roles) != 0 || len(am.Users) > 1 || (len(am.Users) == 1 && am.Users[0] != member) {
			t.Errorf("%s allows mentions %s: %s", c.Key, body.AllowedMentions, c.Body)
		}
	}
}

func teamEmbed(t *testing.T, dc *fakeDC, n int) *discordgo.MessageEmbed {
	t.Helper()
	msgs := dc.channelMessages(teamID)
	if len(msgs) <= n || len(msgs[n].Embeds) != 1 {
		t.Fatalf("team channel has %d messages; want message %d with one embed", len(msgs), n)
	}
	return msgs[n].Embeds[0]
}

func TestAskHappyPath(t *testing.T) {
	e := newAskEnv(t, nil)
	text := "Hi @everyone and <@&320>! **bold** `code`\n```go\nfmt.Println(1)\n```\nzero\u200bwidth"
	i := askIC(member, newsID, "  "+text+"  ")
	e.do(i)
	r := e.response(i)
	if r.Type != discordgo.InteractionResponseChannelMessageWithSource || r.Data.Flags != discordgo.MessageFlagsEphemeral ||
		!strings.Contains(r.Data.Content, "sent to the team as #1.") {
		t.Fatalf("response = %+v %q", r.Type, r.Data.Content)
	}
	emb := teamEmbed(t, e.dc, 0)
	if emb.Description != text || emb.Footer.Text != "Question #1" || emb.Title != "Question #1" {
		t.Fatalf("team embed = %+v", emb)
	}
	fields := map[string]string{}
	for _, f := range emb.Fields {
		fields[f.Name] = f.Value
	}
	if !strings.Contains(fields["Asked by"], "<@500>") || !strings.Contains(fields["Asked by"], "member\\_500") ||
		!strings.Contains(fields["Where"], "<#400>") || !strings.Contains(fields["Where"], "https://discord.com/channels/300/400") ||
		fields["When"] != fmt.Sprintf("<t:%d:F>", e.clock.Now().Unix()) {
		t.Fatalf("fields = %v", fields)
	}
	sends := e.dc.callsOf("send:" + teamID)
	if len(sends) != 1 || !strings.Contains(sends[0].Body, `"enforce_nonce":true`) || !strings.Contains(sends[0].Body, `"nonce":"q1.`) {
		t.Fatalf("team sends = %v", sends)
	}
	for _, id := range []string{"ask:reply:1", "ask:close:1", "ask:block:1"} {
		if !strings.Contains(sends[0].Body, `"custom_id":"`+id+`"`) {
			t.Errorf("team message lacks button %s", id)
		}
	}
	// The discussion thread is opened in the background.
	e.dc.wait(func() bool { return len(e.dc.callsOf("thread-on:"+teamID)) == 1 })
	var ts discordgo.ThreadStart
	json.Unmarshal([]byte(e.dc.callsOf("thread-on:" + teamID)[0].Body), &ts)
	if !strings.HasPrefix(ts.Name, "Question #1: Hi @everyone") || len([]rune(ts.Name)) > 100 || ts.AutoArchiveDuration != 10080 {
		t.Fatalf("thread = %+v", ts)
	}

	// Reply opens the modal.
	b := buttonIC(mate, "ask:reply:1", e.dc.channelMessages(teamID)[0].ID)
	e.do(b)
	if r := e.response(b); r.Type != discordgo.InteractionResponseModal || r.Data.CustomID != "ask:answer:1" || len([]rune(r.Data.Title)) > 45 {
		t.Fatalf("reply response = %+v", r)
	}
	// The answer goes by DM, signed as the team, with the question quoted.
	m := modalIC(mate, "ask:answer:1", "Thanks for asking: use **Settings**.")
	e.do(m)
	if r := e.response(m); r.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || r.Data.Flags != discordgo.MessageFlagsEphemeral {
		t.Fatalf("modal response = %+v", r)
	}
	if got := e.edited(m); !strings.Contains(got, "by DM") {
		t.Fatalf("report = %q", got)
	}
	dms := e.dc.channelMessages("dm" + member)
	if len(dms) != 1 {
		t.Fatalf("%d DMs", len(dms))
	}
	dm := dms[0].Embeds[0]
	if !strings.Contains(dm.Description, "> Hi @everyone") || !strings.Contains(dm.Description, "use **Settings**") ||
		!strings.Contains(dm.Description, "The Test Guild team") || strings.Contains(dm.Description, "mate_") {
		t.Fatalf("DM = %q", dm.Description)
	}
	// The team message shows who answered, what, and how.
	emb = teamEmbed(t, e.dc, 0)
	last := emb.Fields[len(emb.Fields)-1]
	if last.Name != "Answer 1 by mate_600" || !strings.Contains(last.Value, "use **Settings**") || !strings.Contains(last.Value, "Delivered by DM") {
		t.Fatalf("answer field = %+v", last)
	}
	checkNoPings(t, e.dc)
}

func TestAskRefusesBlankQuestions(t *testing.T) {
	e := newAskEnv(t, nil)
	for _, text := range []string{"", "   ", "\n\t", "\u200b\u200c\u200d\u2060\ufeff", " \u3164 \u2800 "} {
		i := askIC(member, newsID, text)
		e.do(i)
		if r := e.response(i); r.Data.Flags != discordgo.MessageFlagsEphemeral || !strings.Contains(r.Data.Content, "empty") {
			t.Errorf("%q: response %q", text, r.Data.Content)
		}
	}
	if n := len(e.dc.callsOf("send:")); n != 0 {
		t.Fatalf("%d sends for blank questions", n)
	}
	if _, err := e.db.Question(context.Background(), 1); err == nil {
		t.Fatal("a blank question was stored")
	}
	checkNoPings(t, e.dc)
}

func TestAskLimitSurvivesRestart(t *testing.T) {
	e := newAskEnv(t, func(o *commands.AskOptions) { o.Limit = 2 })
	for k := range 2 {
		i := askIC(member, newsID, fmt.Sprintf("question %d", k))
		e.do(i)
		e.clock.Advance(time.Minute)
	}
	e.restart()
	i := askIC(member, newsID, "one too many")
	e.do(i)
	r := e.response(i)
	// The first question leaves the window 10 minutes after it was asked: 8 minutes from now.
	if !strings.Contains(r.Data.Content, "Please wait 8 minutes") {
		t.Fatalf("limit response = %q", r.Data.Content)
	}
	// Another member is not limited.
	j := askIC("501", newsID, "mine")
	e.do(j)
	if r := e.response(j); !strings.Contains(r.Data.Content, "#3") {
		t.Fatalf("other member: %q", r.Data.Content)
	}
	e.clock.Advance(8 * time.Minute)
	k := askIC(member, newsID, "now it is fine")
	e.do(k)
	if r := e.response(k); !strings.Contains(r.Data.Content, "#4") {
		t.Fatalf("after waiting: %q", r.Data.Content)
	}
}

func TestAskQueuedThenForwardedOnce(t *testing.T) {
	e := newAskEnv(t, nil)
	e.dc.failNext("send:"+teamID, 2, restErr(500, 0))
	i := askIC(member, newsID, "Is anyone there?")
	e.do(i)
	if r := e.response(i); !strings.Contains(r.Data.Content, "queued as #1:") {
		t.Fatalf("response = %q", r.Data.Content)
	}
	ctx := context.Background()
	// Not due before the back-off.
	if next := e.ask.RetryDue(ctx); !next.Equal(e.clock.Now().Add(5 * time.Second)) {
		t.Fatalf("next retry = %v", next)
	}
	if n := len(e.dc.callsOf("send:" + teamID)); n != 1 {
		t.Fatalf("%d sends before the back-off", n)
	}
	e.clock.Advance(5 * time.Second)
	next := e.ask.RetryDue(ctx) // fails again: 10 s
	if want := e.clock.Now().Add(10 * time.Second); !next.Equal(want) {
		t.Fatalf("next retry = %v, want %v", next, want)
	}
	e.clock.Advance(10 * time.Second)
	if next := e.ask.RetryDue(ctx); !next.IsZero() {
		t.Fatalf("next retry after forwarding = %v", next)
	}
	e.ask.RetryDue(ctx)
	if msgs := e.dc.channelMessages(teamID); len(msgs) != 1 {
		t.Fatalf("%d team messages", len(msgs))
	}
	// Each retry looked for an earlier attempt's message first.
	if n := len(e.dc.callsOf("recent:" + teamID)); n != 2 {
		t.Fatalf("%d recent-message lookups", n)
	}
	checkNoPings(t, e.dc)
}

// A send that reached Discord but whose answer was lost is found among the
// channel's recent messages instead of being sent again.
func TestAskRetryFindsEarlierMessage(t *testing.T) {
	e := newAskEnv(t, nil)
	ctx := context.Background()
	i := askIC(member, newsID, "Lost answer?")
	e.do(i)
	// Pretend the store never heard of the success: forget it.
	if _, err := e.db.SQL().Exec(`UPDATE questions SET forwarded = 0, team_message_id = '', next_attempt = 0`); err != nil {
		t.Fatal(err)
	}
	e.restart()
	e.ask.RetryDue(ctx)
	if n := len(e.dc.callsOf("send:" + teamID)); n != 1 {
		t.Fatalf("%d sends", n)
	}
	q, err := e.db.Question(ctx, 1)
	if err != nil || !q.Forwarded || q.TeamMessageID != e.dc.channelMessages(teamID)[0].ID {
		t.Fatalf("question = %+v, %v", q, err)
	}
}

// The handler answers "queued" when the forward outlasts its budget; the
// forward then completes, and the retry loop does not send it again.
func TestAskSlowForwardNotDuplicated(t *testing.T) {
	e := newAskEnv(t, func(o *commands.AskOptions) { o.ResponseBudget = 40 * time.Millisecond })
	release := e.dc.holdCalls("send:" + teamID)
	i := askIC(member, newsID, "Slow?")
	e.do(i)
	if r := e.response(i); !strings.Contains(r.Data.Content, "queued") {
		t.Fatalf("response = %q", r.Data.Content)
	}
	e.clock.Advance(time.Hour)
	done := make(chan struct{})
	go func() { e.ask.RetryDue(context.Background()); close(done) }()
	<-done // the in-flight forward is skipped
	close(release)
	e.dc.wait(func() bool { return len(e.dc.callsOf("thread-on:")) == 1 })
	e.ask.RetryDue(context.Background())
	if n := len(e.dc.callsOf("send:" + teamID)); n != 1 {
		t.Fatalf("%d sends", n)
	}
}

func TestAskDMsClosed(t *testing.T) {
	e := newAskEnv(t, nil)
	e.do(askIC(member, newsID, "Can you DM me?"))
	e.dc.mu.Lock()
	e.dc.dmClosed["dm"+member] = true
	e.dc.mu.Unlock()
	m := modalIC(mate, "ask:answer:1", "Here in a thread.")
	e.do(m)
	if got := e.edited(m); !strings.Contains(got, "private thread") {
		t.Fatalf("report = %q", got)
	}
	threads := e.dc.callsOf("thread:" + newsID)
	if len(threads) != 1 {
		t.Fatalf("%d private threads", len(threads))
	}
	var ts discordgo.ThreadStart
	json.Unmarshal([]byte(threads[0].Body), &ts)
	if ts.Type != discordgo.ChannelTypeGuildPrivateThread || ts.Invitable {
		t.Fatalf("thread = %+v", ts)
	}
	th, _ := e.db.Question(context.Background(), 1)
	if len(e.dc.callsOf("member:"+th.MemberThreadID)) != 1 {
		t.Fatal("member not added to the thread")
	}
	msgs := e.dc.channelMessages(th.MemberThreadID)
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Content, "<@500>") {
		t.Fatalf("thread messages = %+v", msgs)
	}
	// A second answer reuses the thread; the team message lists both.
	m2 := modalIC(mate, "ask:answer:1", "And a follow-up.")
	e.do(m2)
	if n := len(e.dc.callsOf("thread:")); n != 1 {
		t.Fatalf("%d private threads after a follow-up", n)
	}
	if msgs := e.dc.channelMessages(th.MemberThreadID); len(msgs) != 2 {
		t.Fatalf("%d thread messages", len(msgs))
	}
	emb := teamEmbed(t, e.dc, 0)
	if !strings.Contains(emb.Fields[len(emb.Fields)-1].Value, "private thread <#"+th.MemberThreadID+">") {
		t.Fatalf("fields = %+v", emb.Fields[len(emb.Fields)-1])
	}
	checkNoPings(t, e.dc)
}

func TestAskDMsAndThreadRefused(t *testing.T) {
	e := newAskEnv(t, nil)
	e.do(askIC(member, newsID, "Anything?"))
	e.dc.mu.Lock()
	e.dc.dmClosed["dm"+member] = true
	e.dc.mu.Unlock()
	e.dc.failNext("thread:"+newsID, 1, restErr(403, 50013))
	m := modalIC(mate, "ask:answer:1", "In the channel then.")
	e.do(m)
	if got := e.edited(m); !strings.Contains(got, "<#400>") {
		t.Fatalf("report = %q", got)
	}
	msgs := e.dc.channelMessages(newsID)
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Content, "<@500>") {
		t.Fatalf("channel messages = %+v", msgs)
	}
	checkNoPings(t, e.dc)
}

func TestAskAnswerRetriedInOrder(t *testing.T) {
	e := newAskEnv(t, nil)
	ctx := context.Background()
	e.do(askIC(member, newsID, "Order?"))
	e.dc.failNext("send:dm"+member, 1, restErr(503, 0))
	m := modalIC(mate, "ask:answer:1", "first")
	e.do(m)
	if got := e.edited(m); !strings.Contains(got, "delivered automatically") {
		t.Fatalf("report = %q", got)
	}
	emb := teamEmbed(t, e.dc, 0)
	if !strings.Contains(emb.Fields[len(emb.Fields)-1].Value, "Not delivered yet: retrying") {
		t.Fatalf("field = %+v", emb.Fields[len(emb.Fields)-1])
	}
	e.ask.RetryDue(ctx) // not due yet
	if n := len(e.dc.channelMessages("dm" + member)); n != 0 {
		t.Fatalf("%d DMs before the back-off", n)
	}
	e.clock.Advance(5 * time.Second)
	e.ask.RetryDue(ctx)
	dms := e.dc.channelMessages("dm" + member)
	if len(dms) != 1 || !strings.Contains(dms[0].Embeds[0].Description, "first") {
		t.Fatalf("DMs = %v", dms)
	}
	emb = teamEmbed(t, e.dc, 0)
	if !strings.Contains(emb.Fields[len(emb.Fields)-1].Value, "Delivered by DM") {
		t.Fatalf("field = %+v", emb.Fields[len(emb.Fields)-1])
	}
}

func TestAskTwoRepliesAtOnce(t *testing.T) {
	e := newAskEnv(t, nil)
	e.do(askIC(member, newsID, "Two answers?"))
	msgID := e.dc.channelMessages(teamID)[0].ID
	var wg sync.WaitGroup
	var ms [2]*discordgo.InteractionCreate
	for k := range 2 {
		b := buttonIC(fmt.Sprint(600+k), "ask:reply:1", msgID)
		e.do(b)
		if r := e.response(b); r.Type != discordgo.InteractionResponseModal {
			t.Fatalf("reply %d: %+v", k, r)
		}
		ms[k] = modalIC(fmt.Sprint(600+k), "ask:answer:1", fmt.Sprintf("answer %d", k))
	}
	for k := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.cmd.Components["ask"](context.Background(), ms[k]); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	dms := e.dc.channelMessages("dm" + member)
	if len(dms) != 2 {
		t.Fatalf("%d DMs", len(dms))
	}
	answers, _ := e.db.Answers(context.Background(), 1)
	for k, a := range answers {
		if !strings.Contains(dms[k].Embeds[0].Description, a.Text) || a.State != commands.AnswerDelivered {
			t.Fatalf("DM %d = %q; answer %+v", k, dms[k].Embeds[0].Description, a)
		}
	}
	emb := teamEmbed(t, e.dc, 0)
	if n := len(emb.Fields); n != 5 {
		t.Fatalf("%d fields", n)
	}
}

func TestAskCloseAndBlock(t *testing.T) {
	e := newAskEnv(t, nil)
	e.do(askIC(member, newsID, "Spam?"))
	msgID := e.dc.channelMessages(teamID)[0].ID
	c := buttonIC(mate, "ask:close:1", msgID)
	e.do(c)
	calls := e.dc.callsOf("respond:" + c.ID)
	if len(calls) != 1 || !strings.Contains(calls[0].Body, `"type":7`) || !strings.Contains(calls[0].Body, "by mate\\\\_600") ||
		!strings.Contains(calls[0].Body, `"disabled":true,"custom_id":"ask:reply:1"`) {
		t.Fatalf("close response = %v", calls)
	}
	r := buttonIC(mate, "ask:reply:1", msgID)
	e.do(r)
	if got := e.response(r).Data.Content; !strings.Contains(got, "#1 is closed") {
		t.Fatalf("reply on closed = %q", got)
	}
	m := modalIC(mate, "ask:answer:1", "too late")
	e.do(m)
	if got := e.edited(m); !strings.Contains(got, "not sent") || !strings.Contains(got, "too late") {
		t.Fatalf("late answer = %q", got)
	}

	b := buttonIC(mate, "ask:block:1", msgID)
	e.do(b)
	if got := e.response(b).Data.Content; !strings.Contains(got, "7 days") {
		t.Fatalf("block = %q", got)
	}
	e.restart()
	i := askIC(member, newsID, "Let me ask again")
	e.do(i)
	if got := e.response(i).Data.Content; !strings.Contains(got, "paused until") {
		t.Fatalf("blocked ask = %q", got)
	}
	u := buttonIC(mate, "ask:unblock:1", "eph")
	e.do(u)
	j := askIC(member, newsID, "Let me ask again")
	e.do(j)
	if got := e.response(j).Data.Content; !strings.Contains(got, "#2") {
		t.Fatalf("after unblock = %q", got)
	}
	// Buttons outside the team channel are refused.
	x := buttonIC(member, "ask:close:2", msgID)
	x.ChannelID = newsID
	e.do(x)
	if got := e.response(x).Data.Content; !strings.Contains(got, "Only the team") {
		t.Fatalf("outside = %q", got)
	}
	checkNoPings(t, e.dc)
}

func TestAskRestartBetweenQuestionAndAnswer(t *testing.T) {
	e := newAskEnv(t, nil)
	e.do(askIC(member, newsID, "After a restart?"))
	e.dc.wait(func() bool { return len(e.dc.callsOf("thread-on:")) == 1 })
	e.restart()
	msgID := e.dc.channelMessages(teamID)[0].ID
	b := buttonIC(mate, "ask:reply:1", msgID)
	e.do(b)
	if e.response(b).Type != discordgo.InteractionResponseModal {
		t.Fatal("no modal after restart")
	}
	m := modalIC(mate, "ask:answer:1", "Still here.")
	e.do(m)
	if got := e.edited(m); !strings.Contains(got, "by DM") {
		t.Fatalf("report = %q", got)
	}
}

func TestAskMaxLengthQuestion(t *testing.T) {
	e := newAskEnv(t, nil)
	text := strings.Repeat("@everyone ", commands.AskMaxQuestion/10)
	text = strings.TrimSpace(text) + "!"
	e.do(askIC(member, newsID, text))
	emb := teamEmbed(t, e.dc, 0)
	if emb.Description != text {
		t.Fatalf("description cut: %d runes", len([]rune(emb.Description)))
	}
	m := modalIC(mate, "ask:answer:1", strings.Repeat("a long answer ", commands.AskMaxAnswer/14))
	e.do(m)
	dm := e.dc.channelMessages("dm" + member)[0].Embeds[0]
	if n := len([]rune(dm.Description)); n > 4096 {
		t.Fatalf("DM description %d runes", n)
	}
	if !strings.Contains(dm.Description, "…") {
		t.Fatal("the quote was not cut")
	}
	total := 0
	for _, f := range teamEmbed(t, e.dc, 0).Fields {
		total += len([]rune(f.Name)) + len([]rune(f.Value))
		if len([]rune(f.Value)) > 1024 {
			t.Fatalf("field value %d runes", len([]rune(f.Value)))
		}
	}
	if total+len([]rune(emb.Description)) > 6000 {
		t.Fatalf("embed %d runes", total)
	}
	checkNoPings(t, e.dc)
}

func TestAskRunKick(t *testing.T) {
	e := newAskEnv(t, nil)
	e.dc.failNext("send:"+teamID, 1, restErr(429, 0))
	e.do(askIC(member, newsID, "Run?"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.ask.Run(ctx); close(done) }()
	e.clock.Advance(time.Minute)
	e.ask.Kick()
	e.dc.wait(func() bool { return len(e.dc.channelMessages(teamID)) == 1 })
	cancel()
	<-done
}

func TestAskDefinition(t *testing.T) {
	d := commands.NewAsk(commands.AskOptions{}).Command().Definition
	if d.Name != "ask" || len(d.Options) != 1 {
		t.Fatalf("definition = %+v", d)
	}
	o := d.Options[0]
	if o.Name != "question" || !o.Required || o.MaxLength != 1500 || o.MinLength == nil || *o.MinLength != 1 ||
		d.Contexts == nil || len(*d.Contexts) != 1 || (*d.Contexts)[0] != discordgo.InteractionContextGuild {
		t.Fatalf("option = %+v", o)
	}
}

func TestAskTeamMessageEditRetried(t *testing.T) {
	e := newAskEnv(t, nil)
	ctx := context.Background()
	e.do(askIC(member, newsID, "Edit me?"))
	e.dc.failNext("edit:"+teamID, 2, restErr(502, 0))
	m := modalIC(mate, "ask:answer:1", "An answer the team must see.")
	e.do(m)
	if got := e.edited(m); !strings.Contains(got, "by DM") {
		t.Fatalf("report = %q", got)
	}
	if q, _ := e.db.Question(ctx, 1); !q.TeamStale {
		t.Fatal("failed edit not recorded")
	}
	if len(teamEmbed(t, e.dc, 0).Fields) != 3 {
		t.Fatal("the failed edit changed the team message")
	}
	if next := e.ask.RetryDue(ctx); !next.Equal(e.clock.Now().Add(5 * time.Second)) {
		t.Fatalf("after a second failure: next retry %v", next)
	}
	if next := e.ask.RetryDue(ctx); !next.IsZero() {
		t.Fatalf("after the edit: next retry %v", next)
	}
	emb := teamEmbed(t, e.dc, 0)
	if len(emb.Fields) != 4 || !strings.Contains(emb.Fields[3].Value, "An answer the team must see.") {
		t.Fatalf("fields after retry = %+v", emb.Fields)
	}
	if q, _ := e.db.Question(ctx, 1); q.TeamStale {
		t.Fatal("still stale after the retry")
	}
}

// problemsRec records what /healthz would show.
type problemsRec struct {
	mu  sync.Mutex
	set map[string]string
}

func (p *problemsRec) SetProblem(key, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.set[key] = msg
}

func (p *problemsRec) ClearProblem(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.set, key)
}

func (p *problemsRec) get(key string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.set[key]
}

// A team channel that refuses questions (a missing permission) shows on
// /healthz until a question gets through; the question is kept.
func TestAskRefusedForwardIsAProblem(t *testing.T) {
	probs := &problemsRec{set: map[string]string{}}
	e := newAskEnv(t, func(o *commands.AskOptions) { o.Problems = probs })
	e.dc.failNext("send:"+teamID, 1, restErr(403, 50013))
	i := askIC(member, newsID, "Can you see this?")
	e.do(i)
	if r := e.response(i); !strings.Contains(r.Data.Content, "queued as #1") {
		t.Fatalf("response = %q", r.Data.Content)
	}
	if msg := probs.get("ask_forward"); !strings.Contains(msg, teamID) {
		t.Fatalf("problem = %q, want one naming the team channel", msg)
	}
	e.clock.Advance(time.Minute)
	e.ask.RetryDue(context.Background())
	if msgs := e.dc.channelMessages(teamID); len(msgs) != 1 {
		t.Fatalf("%d team messages after the fix", len(msgs))
	}
	if msg := probs.get("ask_forward"); msg != "" {
		t.Errorf("problem still shown after the question got through: %q", msg)
	}
}
