package discordtest

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// endpoint is a minimal interactions endpoint as a bot serves it: signature checked
// before parsing (401), timestamps more than 5 minutes off refused, PING answered
// {"type":1}, everything else answered by answer.
type endpoint struct {
	t      *testing.T
	pub    ed25519.PublicKey
	answer func(w http.ResponseWriter, i *discordgo.Interaction)

	mu   sync.Mutex
	seen []string // interaction ids that passed the checks
}

func newEndpoint(t *testing.T, s *Server, answer func(http.ResponseWriter, *discordgo.Interaction)) (*endpoint, *httptest.Server) {
	pub, err := hex.DecodeString(s.PublicKey())
	if err != nil || len(pub) != ed25519.PublicKeySize {
		t.Fatalf("public key %q: %v", s.PublicKey(), err)
	}
	e := &endpoint{t: t, pub: pub, answer: answer}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return e, srv
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	ts := r.Header.Get("X-Signature-Timestamp")
	sig, err := hex.DecodeString(r.Header.Get("X-Signature-Ed25519"))
	if err != nil || !ed25519.Verify(e.pub, append([]byte(ts), body...), sig) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		http.Error(w, "stale", http.StatusUnauthorized)
		return
	}
	var i discordgo.Interaction
	if err := json.Unmarshal(body, &i); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if i.Type == discordgo.InteractionPing {
		_, _ = w.Write([]byte(`{"type":1}`))
		return
	}
	e.mu.Lock()
	e.seen = append(e.seen, i.ID)
	e.mu.Unlock()
	e.answer(w, &i)
}

func (e *endpoint) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.seen)
}

func reply(content string) func(http.ResponseWriter, *discordgo.Interaction) {
	return func(w http.ResponseWriter, i *discordgo.Interaction) {
		_ = json.NewEncoder(w).Encode(discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: content + " " + i.ApplicationCommandData().Name}})
	}
}

func TestHTTPInteractionsRoundRobin(t *testing.T) {
	s := New(t)
	ctx := testCtx(t)
	a, srvA := newEndpoint(t, s, reply("from a"))
	b, srvB := newEndpoint(t, s, reply("from b"))
	s.SetInteractionsEndpoint(srvA.URL, srvB.URL)

	var contents []string
	for range 4 {
		it, err := s.Interact(ctx, Command("related"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.WaitResponse(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Type != discordgo.InteractionResponseChannelMessageWithSource || it.Seq != 0 {
			t.Fatalf("response %+v, seq %d", resp, it.Seq)
		}
		contents = append(contents, resp.Content())
		ex, _ := s.Exchange(it.ID)
		if ex.Delivery == nil || !ex.Delivery.Accepted || ex.Delivery.Status != 200 || ex.Original == nil {
			t.Fatalf("exchange = %+v", ex)
		}
	}
	if a.count() != 2 || b.count() != 2 || contents[0] != "from a related" || contents[1] != "from b related" {
		t.Fatalf("a %d b %d, %v", a.count(), b.count(), contents)
	}
	// The answers are messages in the channel, as over the gateway.
	if n := len(s.Messages(GeneralChannelID)); n != 4 {
		t.Fatalf("%d messages", n)
	}
	if d := s.Deliveries(); len(d) != 4 || d[0].URL != srvA.URL || d[1].URL != srvB.URL {
		t.Fatalf("deliveries %+v", d)
	}
	// Back to the gateway: no session, no interaction.
	s.SetInteractionsEndpoint()
	if _, err := s.Interact(ctx, Command("related")); !errors.Is(err, ErrNoSession) {
		t.Fatalf("gateway mode without a session: %v", err)
	}
}

func TestHTTPInteractionDeferredThenWebhook(t *testing.T) {
	s := New(t)
	ctx := testCtx(t)
	dg, _ := session(t, s, false, false)
	got := make(chan *discordgo.Interaction, 1)
	_, srv := newEndpoint(t, s, func(w http.ResponseWriter, i *discordgo.Interaction) {
		_ = json.NewEncoder(w).Encode(discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}})
		got <- i
	})
	s.SetInteractionsEndpoint(srv.URL)
	it, err := s.Interact(ctx, Command("ask", Opt("question", "why?")))
	if err != nil {
		t.Fatal(err)
	}
	i := recv(t, ctx, got)
	if i.ID != it.ID || i.Token != it.Token || i.Member == nil || i.Member.User.ID != MemberUserID {
		t.Fatalf("interaction as received = %+v", i)
	}
	if _, err := s.WaitResponse(ctx, it.ID); err != nil {
		t.Fatal(err)
	}
	content := "because"
	if _, err := dg.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &content}); err != nil {
		t.Fatal(err)
	}
	if _, err := dg.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: "more"}); err != nil {
		t.Fatal(err)
	}
	ex, _ := s.Exchange(it.ID)
	if ex.Original == nil || ex.Original.Content != "because" || ex.Original.Flags&discordgo.MessageFlagsLoading != 0 ||
		len(ex.Edits) != 1 || len(ex.Followups) != 1 {
		t.Fatalf("exchange = %+v", ex)
	}
}

func TestHTTPInteractionSignatureAndPing(t *testing.T) {
	s := New(t)
	ctx := testCtx(t)
	e, srv := newEndpoint(t, s, reply("ok"))
	s.SetInteractionsEndpoint(srv.URL)

	pong, err := s.Ping(ctx)
	if err != nil || !pong.Pong() || pong.InteractionID != "" {
		t.Fatalf("PING: %+v %v", pong, err)
	}
	if err := s.ValidateEndpoint(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	// An endpoint that skips the check is refused, as Discord refuses to save it.
	lax := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"type":1}`)) }))
	defer lax.Close()
	if err := s.ValidateEndpoint(ctx, lax.URL); err == nil {
		t.Fatal("an endpoint that accepts bad signatures validated")
	}

	for _, tc := range []struct {
		name  string
		opt   SpecOption
		stale bool
	}{{"bad signature", BadSignature(), false}, {"stale timestamp", StaleTimestamp(10 * time.Minute), true}} {
		it, err := s.Interact(ctx, Command("related"), tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.WaitDelivered(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		ex, _ := s.Exchange(it.ID)
		if d.Status != http.StatusUnauthorized || d.Accepted || ex.Response != nil || ex.Original != nil {
			t.Fatalf("%s: delivery %+v, exchange %+v", tc.name, d, ex)
		}
		sec, _ := strconv.ParseInt(d.Timestamp, 10, 64)
		if age := time.Since(time.Unix(sec, 0)); (age > 9*time.Minute) != tc.stale {
			t.Fatalf("%s: timestamp %s is %v old", tc.name, d.Timestamp, age)
		}
	}
	if d := s.Deliveries(); len(d) != 7 { // 1 + 2 + 2 PINGs, 2 interactions
		t.Fatalf("%d deliveries", len(d))
	}
	if e.count() != 0 {
		t.Fatalf("the endpoint handled %d refused interactions", e.count())
	}
}

func TestHTTPInteractionDeadlineAndRefusals(t *testing.T) {
	s := New(t, WithClock(fixedClock()))
	ctx := testCtx(t)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	_, srv := newEndpoint(t, s, func(w http.ResponseWriter, i *discordgo.Interaction) {
		if i.ApplicationCommandData().Name == "slow" {
			entered <- struct{}{}
			<-release
		}
		// An autocomplete result is no answer to a command.
		typ := discordgo.InteractionResponseChannelMessageWithSource
		if i.ApplicationCommandData().Name == "wrong" {
			typ = discordgo.InteractionApplicationCommandAutocompleteResult
		}
		_ = json.NewEncoder(w).Encode(discordgo.InteractionResponse{Type: typ, Data: &discordgo.InteractionResponseData{Content: "late?"}})
	})
	s.SetInteractionsEndpoint(srv.URL)
	// Answered after the deadline on the fake's clock: refused like a late callback.
	it, err := s.Interact(ctx, Command("slow"))
	if err != nil {
		t.Fatal(err)
	}
	recv(t, ctx, entered)
	s.Advance(4 * time.Second)
	close(release)
	d, err := s.WaitDelivered(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	ex, _ := s.Exchange(it.ID)
	if d.Accepted || ex.Response != nil || len(ex.Refused) != 1 || ex.Refused[0].Code != 10062 {
		t.Fatalf("late: delivery %+v exchange %+v", d, ex)
	}
	// An invalid answer is refused with 50035.
	it, err = s.Interact(ctx, Command("wrong"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitDelivered(ctx, it.ID); err != nil {
		t.Fatal(err)
	}
	ex, _ = s.Exchange(it.ID)
	if ex.Response != nil || len(ex.Refused) != 1 || ex.Refused[0].Code != 50035 {
		t.Fatalf("invalid: %+v", ex)
	}
}

// An endpoint that never answers is given up at the deadline (real time for the
// transport), leaving the interaction unanswered.
func TestHTTPInteractionTimeout(t *testing.T) {
	s := New(t, WithInteractionDeadline(100*time.Millisecond))
	ctx := testCtx(t)
	release := make(chan struct{})
	defer close(release)
	_, srv := newEndpoint(t, s, func(http.ResponseWriter, *discordgo.Interaction) { <-release })
	s.SetInteractionsEndpoint(srv.URL)
	it, err := s.Interact(ctx, Command("related"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.WaitDelivered(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Err == "" || d.Status != 0 || d.Accepted {
		t.Fatalf("delivery %+v", d)
	}
	if ex, _ := s.Exchange(it.ID); ex.Response != nil {
		t.Fatalf("answered: %+v", ex.Response)
	}
}

func TestApplicationInteractionsEndpointURL(t *testing.T) {
	s := New(t, WithInteractionsEndpoint("https://bot.example.com/interactions"))
	dg, _ := session(t, s, false, false)
	app := func() map[string]any {
		raw, err := dg.RequestWithBucketID("GET", discordgo.EndpointApplication("@me"), nil, "x")
		if err != nil {
			t.Fatal(err)
		}
		var o map[string]any
		if err := json.Unmarshal(raw, &o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	o := app()
	if o["interactions_endpoint_url"] != "https://bot.example.com/interactions" || o["verify_key"] != s.PublicKey() {
		t.Fatalf("application = %v", o)
	}
	a, err := dg.Application("@me")
	if err != nil || a.VerifyKey != s.PublicKey() {
		t.Fatalf("discordgo application %+v %v", a, err)
	}
	s.SetApplicationEndpointURL("https://elsewhere.example.com/")
	if o := app(); o["interactions_endpoint_url"] != "https://elsewhere.example.com/" {
		t.Fatalf("after SetApplicationEndpointURL: %v", o["interactions_endpoint_url"])
	}
	s.SetApplicationEndpointURL("")
	if o := app(); o["interactions_endpoint_url"] != nil {
		t.Fatalf("unset: %v", o["interactions_endpoint_url"])
	}
}
