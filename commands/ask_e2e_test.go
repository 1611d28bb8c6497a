package commands_test

// End-to-end tests of /ask through the in-repo fake Discord, over the real
// discordgo code path (REST and gateway). The session uses the fake's
// HTTPClient, so no discordgo global is changed.

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/newsbot/newsbot/commands"
	"github.com/newsbot/newsbot/internal/discordtest"
	"github.com/newsbot/newsbot/sqlite"
)

type e2eAsk struct {
	t     testing.TB
	srv   *discordtest.Server
	s     *discordgo.Session
	db    *sqlite.DB
	dbDir string
	clock *clock
	mu    sync.Mutex
	ask   *commands.Ask
	cmd   commands.Command
	opts  commands.AskOptions
}

func newE2EAsk(t testing.TB, edit func(*commands.AskOptions), srvOpts ...discordtest.Option) *e2eAsk {
	t.Helper()
	e := &e2eAsk{t: t, srv: discordtest.New(t, srvOpts...), dbDir: t.TempDir(), clock: &clock{t: time.Now()}}
	db, err := sqlite.Open(context.Background(), filepath.Join(e.dbDir, "ask.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	s, err := discordgo.New("Bot " + discordtest.Token)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = e.srv.HTTPClient()
	s.Identify.Intents = discordgo.IntentsGuilds
	s.LogLevel = -1
	// No reconnects: set before Open, since discordgo reads it unlocked
	// from its gateway goroutines.
	s.ShouldReconnectOnError = false
	e.s = s
	e.opts = commands.AskOptions{
		Store: db, Discord: s, TeamChannelID: discordtest.TeamChannelID, GuildID: discordtest.GuildID,
		Limit: 3, Period: 10 * time.Minute, Now: e.clock.Now,
	}
	if edit != nil {
		edit(&e.opts)
	}
	e.restart()
	s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) {
		e.mu.Lock()
		cmd := e.cmd
		e.mu.Unlock()
		var err error
		switch i.Type {
		case discordgo.InteractionApplicationCommand:
			err = cmd.Handle(context.Background(), i)
		case discordgo.InteractionMessageComponent, discordgo.InteractionModalSubmit:
			err = cmd.Components["ask"](context.Background(), i)
		}
		if err != nil {
			t.Errorf("handler: %v", err)
		}
	})
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// discordgo's Close sleeps a second after its close frame: let it
		// finish in the background rather than hold up every test.
		go s.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.WaitIdentified(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// restart replaces /ask with a new instance on the same database (what a
// process restart leaves).
func (e *e2eAsk) restart() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ask = commands.NewAsk(e.opts)
	e.cmd = e.ask.Command()
}

func (e *e2eAsk) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	e.t.(interface{ Cleanup(func()) }).Cleanup(cancel)
	return ctx
}

// interact dispatches an interaction and waits for its callback.
func (e *e2eAsk) interact(spec discordtest.InteractionSpec, opts ...discordtest.SpecOption) (*discordtest.Interaction, *discordtest.Response) {
	e.t.Helper()
	it, err := e.srv.Interact(e.ctx(), spec, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := e.srv.WaitResponse(e.ctx(), it.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return it, r
}

func (e *e2eAsk) askQ(text string, opts ...discordtest.SpecOption) *discordtest.Response {
	e.t.Helper()
	_, r := e.interact(discordtest.Command("ask", discordtest.Opt("question", text)), opts...)
	return r
}

// answer submits the answer modal and waits for the deferred reply's edit.
func (e *e2eAsk) answer(id int64, text string, opts ...discordtest.SpecOption) string {
	e.t.Helper()
	it, err := e.srv.Interact(e.ctx(), discordtest.ModalSubmit(fmt.Sprintf("ask:answer:%d", id), map[string]string{"answer": text}),
		append([]discordtest.SpecOption{discordtest.FromUser(discordtest.TeamUserID, discordtest.TeamUsername), discordtest.InChannel(discordtest.TeamChannelID)}, opts...)...)
	if err != nil {
		e.t.Fatal(err)
	}
	ex, err := e.srv.WaitExchange(e.ctx(), it.ID, func(x discordtest.Exchange) bool { return len(x.Edits) > 0 })
	if err != nil {
		e.t.Fatal(err)
	}
	if ex.Response.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || !ex.Response.Ephemeral() {
		e.t.Fatalf("modal submit answered %+v", ex.Response)
	}
	var w struct{ Content string }
	json.Unmarshal(ex.Edits[len(ex.Edits)-1], &w)
	return w.Content
}

func (e *e2eAsk) teamMessages(n int) []discordtest.Message {
	e.t.Helper()
	msgs, err := e.srv.WaitMessages(e.ctx(), discordtest.TeamChannelID, n)
	if err != nil {
		e.t.Fatal(err)
	}
	return msgs
}

// checkE2ENoPings: every request that can carry a message says
// allowed_mentions explicitly and allows nothing but the member.
func checkE2ENoPings(t testing.TB, srv *discordtest.Server) {
	t.Helper()
	n := 0
	for _, r := range srv.Requests() {
		p := r.Path
		carries := (r.Method == "POST" && strings.HasSuffix(p, "/messages")) ||
			(r.Method == "PATCH" && strings.Contains(p, "/messages/")) ||
			strings.HasSuffix(p, "/callback") || (r.Method == "POST" && strings.HasPrefix(p, "/webhooks/"))
		if !carries {
			continue
		}
		var body struct {
			Type            int             `json:"type"`
			Data            json.RawMessage `json:"data"`
			AllowedMentions json.RawMessage `json:"allowed_mentions"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Errorf("%s %s: %v", r.Method, p, err)
			continue
		}
		am := body.AllowedMentions
		if strings.HasSuffix(p, "/callback") {
			if body.Type == int(discordgo.InteractionResponseModal) {
				continue
			}
			var d struct {
				AllowedMentions json.RawMessage `json:"allowed_mentions"`
			}
			json.Unmarshal(body.Data, &d)
			am = d.AllowedMentions
		}
		var m struct {
			Parse *[]string `json:"parse"`
			Roles []string  `json:"roles"`
			Users []string  `json:"users"`
		}
		if err := json.Unmarshal(am, &m); err != nil || m.Parse == nil || len(*m.Parse) != 0 || len(m.Roles) != 0 ||
			len(m.Users) > 1 || (len(m.Users) == 1 && m.Users[0] != discordtest.MemberUserID) {
			t.Errorf("%s %s allows mentions %s", r.Method, p, am)
		}
		n++
	}
	if n == 0 {
		t.Error("no message-bearing request recorded")
	}
	for _, ch := range []string{discordtest.TeamChannelID, discordtest.GeneralChannelID, discordtest.NewsChannelID} {
		for _, m := range srv.Messages(ch) {
			if m.MentionEveryone || len(m.MentionRoles) > 0 {
				t.Errorf("message %s in %s pinged everyone/roles", m.ID, ch)
			}
		}
	}
}

func TestAskE2EHappyPath(t *testing.T) {
	t.Parallel()
	e := newE2EAsk(t, nil)
	texts := []string{
		"Hello @everyone and @here, <@&320> and <@600>! **bold** _it_ ~~s~~ ||spoiler|| > quote\n```go\nfmt.Println(\"@everyone\")\n```\nzero\u200bwidth\u200d joiner",
		strings.Repeat("x", commands.AskMaxQuestion-11) + " @everyone!",
	}
	for k, text := range texts {
		r := e.askQ(text)
		want := fmt.Sprintf("sent to the team as #%d.", k+1)
		if !r.Ephemeral() || !strings.Contains(r.Content(), want) {
			t.Fatalf("response %q, ephemeral %v", r.Content(), r.Ephemeral())
		}
		msgs := e.teamMessages(k + 1)
		m := msgs[k]
		if len(m.Embeds) != 1 || m.Embeds[0].Description != text || m.Embeds[0].Footer.Text != fmt.Sprintf("Question #%d", k+1) {
			t.Fatalf("team message %d: %+v", k, m.Embeds)
		}
		if m.Nonce == "" || !m.EnforceNonce {
			t.Fatalf("team message without nonce: %q %v", m.Nonce, m.EnforceNonce)
		}
		if err := e.srv.WaitFor(e.ctx(), func() bool { return len(e.srv.Threads(discordtest.TeamChannelID)) == k+1 }); err != nil {
			t.Fatal(err)
		}
	}
	th := e.srv.Threads(discordtest.TeamChannelID)[0]
	if !strings.HasPrefix(th.Name, "Question #1: Hello @everyone") {
		t.Fatalf("thread name %q", th.Name)
	}

	msgID := e.teamMessages(1)[0].ID
	_, r := e.interact(discordtest.Button("ask:reply:1", msgID), discordtest.FromUser(discordtest.TeamUserID, discordtest.TeamUsername))
	if r.Type != discordgo.InteractionResponseModal || r.Data.CustomID != "ask:answer:1" {
		t.Fatalf("reply: %+v", r)
	}
	report := e.answer(1, "Hi! @everyone see **this**.", discordtest.OnMessage(msgID))
	if !strings.Contains(report, "by DM") {
		t.Fatalf("report %q", report)
	}
	dms := e.srv.DMs(discordtest.MemberUserID)
	if len(dms) != 1 {
		t.Fatalf("%d DMs", len(dms))
	}
	d := dms[0].Embeds[0].Description
	if !strings.Contains(d, "> Hello @everyone") || !strings.Contains(d, "see **this**") || !strings.Contains(d, "The Test Guild team") ||
		strings.Contains(d, discordtest.TeamUsername) {
		t.Fatalf("DM %q", d)
	}
	tm, _ := e.srv.Message(discordtest.TeamChannelID, msgID)
	fields := tm.Embeds[0].Fields
	if last := fields[len(fields)-1]; !strings.Contains(last.Name, discordtest.TeamUsername) || !strings.Contains(last.Value, "Delivered by DM") {
		t.Fatalf("team message fields %+v", last)
	}
	checkE2ENoPings(t, e.srv)
}

func TestAskE2EEmptyAndBlank(t *testing.T) {
	t.Parallel()
	e := newE2EAsk(t, nil)
	for _, text := range []string{"", "   ", "\u200b\u200b", "\n\u2060\t"} {
		if r := e.askQ(text); !r.Ephemeral() || !strings.Contains(r.Content(), "empty") {
			t.Errorf("%q: %q", text, r.Content())
		}
	}
	if n := len(e.srv.Messages(discordtest.TeamChannelID)); n != 0 {
		t.Fatalf("%d team messages", n)
	}
	checkE2ENoPings(t, e.srv)
}

func TestAskE2ELimit(t *testing.T) {
	t.Parallel()
	e := newE2EAsk(t, func(o *commands.AskOptions) { o.Limit = 2 })
	e.askQ("one")
	e.askQ("two")
	e.restart()
	if r := e.askQ("three"); !strings.Contains(r.Content(), "Please wait 10 minutes") {
		t.Fatalf("limit: %q", r.Content())
	}
	if n := len(e.teamMessages(2)); n != 2 {
		t.Fatalf("%d team messages", n)
	}
}

func TestAskE2EDMsClosed(t *testing.T) {
	t.Parallel()
	e := newE2EAsk(t, nil)
	e.askQ("Can you hear me?")
	e.srv.SetDMsClosed(discordtest.MemberUserID, true)
	report := e.answer(1, "Yes, in a thread.")
	if !strings.Contains(report, "private thread") {
		t.Fatalf("report %q", report)
	}
	ths := e.srv.Threads(discordtest.GeneralChannelID)
	if len(ths) != 1 || ths[0].Type != discordgo.ChannelTypeGuildPrivateThread {
		t.Fatalf("threads %+v", ths)
	}
	members := e.srv.ThreadMembers(ths[0].ID)
	found := false
	for _, m := range members {
		found = found || m == discordtest.MemberUserID
	}
	if !found {
		t.Fatalf("thread members %v", members)
	}
	msgs := e.srv.Messages(ths[0].ID)
	if len(msgs) != 1 || len(msgs[0].Mentions) != 1 || msgs[0].Mentions[0].ID != discordtest.MemberUserID {
		t.Fatalf("thread messages %+v", msgs)
	}
	tm := e.teamMessages(1)[0]
	tm, _ = e.srv.Message(discordtest.TeamChannelID, tm.ID)
	fields := tm.Embeds[0].Fields
	if !strings.Contains(fields[len(fields)-1].Value, "private thread <#"+ths[0].ID+">") {
		t.Fatalf("team field %+v", fields[len(fields)-1])
	}
	checkE2ENoPings(t, e.srv)
}

func TestAskE2ETeamChannelFailsThenRecovers(t *testing.T) {
	t.Parallel()
	e := newE2EAsk(t, nil)
	e.srv.FailNext("POST", "/channels/401/messages", 1, 500, 0)
	r := e.askQ("Anyone?")
	if !strings.Contains(r.Content(), "queued as #1:") {
		t.Fatalf("response %q", r.Content())
	}
	// Run retries it, once, after the back-off.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.ask.Run(ctx); close(done) }()
	e.clock.Advance(5 * time.Second)
	e.ask.Kick()
	e.teamMessages(1)
	e.ask.Kick()
	cancel()
	<-done
	e.ask.RetryDue(context.Background())
	if n := len(e.srv.Messages(discordtest.TeamChannelID)); n != 1 {
		t.Fatalf("%d team messages", n)
	}
	posts := 0
	for _, rq := range e.srv.Requests() {
		if rq.Method == "POST" && rq.Path == "/channels/401/messages" {
			posts++
		}
	}
	if posts != 2 {
		t.Fatalf("%d posts to the team channel, want 2 (the failure and the retry)", posts)
	}
}

func TestAskE2ERestartBetweenQuestionAndAnswer(t *testing.T) {
	t.Parallel()
	e := newE2EAsk(t, nil)
	e.askQ("Will you remember?")
	msgID := e.teamMessages(1)[0].ID
	e.restart()
	_, r := e.interact(discordtest.Button("ask:reply:1", msgID), discordtest.FromUser(discordtest.TeamUserID, discordtest.TeamUsername))
	if r.Type != discordgo.InteractionResponseModal {
		t.Fatalf("reply after restart: %+v", r)
	}
	if report := e.answer(1, "We do.", discordtest.OnMessage(msgID)); !strings.Contains(report, "by DM") {
		t.Fatalf("report %q", report)
	}
	if n := len(e.srv.DMs(discordtest.MemberUserID)); n != 1 {
		t.Fatalf("%d DMs", n)
	}
}

func TestAskE2ETwoRepliesAtOnce(t *testing.T) {
	t.Parallel()
	e := newE2EAsk(t, nil)
	e.askQ("Who answers?")
	msgID := e.teamMessages(1)[0].ID
	users := [][2]string{{discordtest.TeamUserID, discordtest.TeamUsername}, {"601", "other"}}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			it, err := e.srv.Interact(e.ctx(), discordtest.Button("ask:reply:1", msgID), discordtest.FromUser(u[0], u[1]))
			if err != nil {
				t.Error(err)
				return
			}
			if r, err := e.srv.WaitResponse(e.ctx(), it.ID); err != nil || r.Type != discordgo.InteractionResponseModal {
				t.Errorf("reply by %s: %+v %v", u[1], r, err)
			}
		}()
	}
	wg.Wait()
	for k, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.answer(1, fmt.Sprintf("answer from %s", u[1]), discordtest.FromUser(u[0], u[1]), discordtest.OnMessage(msgID))
			_ = k
		}()
	}
	wg.Wait()
	dms := e.srv.DMs(discordtest.MemberUserID)
	answers, err := e.db.Answers(context.Background(), 1)
	if err != nil || len(dms) != 2 || len(answers) != 2 {
		t.Fatalf("%d DMs, %d answers, %v", len(dms), len(answers), err)
	}
	for k, a := range answers {
		if a.State != commands.AnswerDelivered || !strings.Contains(dms[k].Embeds[0].Description, a.Text) {
			t.Fatalf("answer %d %+v delivered as %q", k, a, dms[k].Embeds[0].Description)
		}
	}
	tm, _ := e.srv.Message(discordtest.TeamChannelID, msgID)
	if n := len(tm.Embeds[0].Fields); n != 5 {
		t.Fatalf("team message has %d fields", n)
	}
	checkE2ENoPings(t, e.srv)
}

// A burst of questions, some forwards failing: every question reaches the
// team channel exactly once, and every member got an answer in time.
func TestAskE2EBurst(t *testing.T) {
	t.Parallel()
	e := newE2EAsk(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.ask.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	e.srv.FailNext("POST", "/channels/401/messages", 5, 503, 0)
	const n = 30
	var wg sync.WaitGroup
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.askQ(fmt.Sprintf("burst question %d", k), discordtest.FromUser(fmt.Sprint(7000+k), "asker"))
			if !r.Ephemeral() || !strings.Contains(r.Content(), "as #") {
				t.Errorf("response %q", r.Content())
			}
		}()
	}
	wg.Wait()
	e.clock.Advance(time.Hour) // the queued ones are due
	e.ask.Kick()
	if err := e.srv.WaitFor(e.ctx(), func() bool { return len(e.srv.Messages(discordtest.TeamChannelID)) >= n }); err != nil {
		t.Fatalf("%d of %d questions forwarded: %v", len(e.srv.Messages(discordtest.TeamChannelID)), n, err)
	}
	e.ask.RetryDue(context.Background()) // nothing left to send
	seen := map[string]int{}
	for _, m := range e.srv.Messages(discordtest.TeamChannelID) {
		seen[m.Embeds[0].Footer.Text]++
	}
	if len(seen) != n {
		t.Fatalf("%d distinct questions in the team channel, want %d", len(seen), n)
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("%s forwarded %d times", k, c)
		}
	}
}

// An answer whose DM reached the member but whose reply was lost is found
// in the DM channel by the retry and not sent twice, even after Discord
// has forgotten the nonce.
func TestAskE2EAnswerLostReplyNotDuplicated(t *testing.T) {
	t.Parallel()
	for _, status := range []int{500, 0} { // 0: the connection drops
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			e := newE2EAsk(t, nil, discordtest.WithNonceWindow(time.Nanosecond))
			e.askQ("Is the changelog online?")
			e.teamMessages(1)
			e.srv.AcceptThenFail("POST", "/channels/*/messages", status)
			report := e.answer(1, "Yes: see the release notes.")
			if !strings.Contains(report, "delivered automatically") {
				t.Fatalf("report %q", report)
			}
			if n := len(e.srv.DMs(discordtest.MemberUserID)); n != 1 {
				t.Fatalf("%d DMs after the lost reply, want the 1 Discord kept", n)
			}
			// The retry, after the back-off (and a restart, which keeps
			// only the database).
			e.restart()
			e.clock.Advance(time.Minute)
			e.ask.RetryDue(context.Background())
			dms := e.srv.DMs(discordtest.MemberUserID)
			if len(dms) != 1 {
				t.Fatalf("%d DMs after the retry, want 1", len(dms))
			}
			searched := false
			for _, rq := range e.srv.Requests() {
				searched = searched || rq.Method == "GET" && rq.Path == "/channels/"+e.srv.DMChannel(discordtest.MemberUserID)+"/messages"
			}
			if !searched {
				t.Fatal("the retry did not look in the DM channel first")
			}
			tm, _ := e.srv.Message(discordtest.TeamChannelID, e.teamMessages(1)[0].ID)
			fields := tm.Embeds[0].Fields
			if !strings.Contains(fields[len(fields)-1].Value, "by DM") {
				t.Fatalf("team message says %q", fields[len(fields)-1].Value)
			}
			// A later answer with the same text is a new answer: delivered.
			if report := e.answer(1, "Yes: see the release notes."); !strings.Contains(report, "by DM") {
				t.Fatalf("second answer: %q", report)
			}
			if n := len(e.srv.DMs(discordtest.MemberUserID)); n != 2 {
				t.Fatalf("%d DMs after a second answer, want 2", n)
			}
		})
	}
}

// The team's discussion thread is opened later when Discord fails at
// first, once, also when the first attempt created it but lost the reply.
func TestAskE2ETeamThreadRetried(t *testing.T) {
	t.Parallel()
	for name, fail := range map[string]func(*discordtest.Server){
		"500":      func(s *discordtest.Server) { s.FailNext("POST", "/channels/401/messages/*/threads", 1, 500, 0) },
		"accepted": func(s *discordtest.Server) { s.AcceptThenFail("POST", "/channels/401/messages/*/threads", 502) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newE2EAsk(t, nil)
			fail(e.srv)
			e.askQ("Will there be a meetup in Lyon?")
			tm := e.teamMessages(1)[0]
			// Run's end waits for the forward in progress, thread
			// attempt included; then a restart keeps only the database.
			stopped, cancel := context.WithCancel(context.Background())
			cancel()
			e.ask.Run(stopped)
			e.restart()
			e.clock.Advance(time.Minute)
			e.ask.RetryDue(context.Background())
			q, err := e.db.Question(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			ths := e.srv.Threads(discordtest.TeamChannelID)
			if len(ths) != 1 || q.TeamThreadID != tm.ID || ths[0].ID != tm.ID || q.TeamStale {
				t.Fatalf("threads %+v, recorded %q (message %s), stale %v", ths, q.TeamThreadID, tm.ID, q.TeamStale)
			}
			if n := len(e.srv.Messages(discordtest.TeamChannelID)); n != 1 {
				t.Fatalf("%d team messages", n)
			}
		})
	}
}
