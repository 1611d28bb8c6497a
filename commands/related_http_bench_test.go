package commands_test

import (
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/bot"
	"github.com/newsbot/newsbot/commands"
	"github.com/newsbot/newsbot/internal/discordtest"
)

// newRelHTTP serves /related at an interactions endpoint the fake Discord
// POSTs signed interactions to (no gateway session at all).
func newRelHTTP(tb testing.TB, opts ...discordtest.Option) *relE2E {
	tb.Helper()
	srv := discordtest.New(tb, opts...)
	s, err := discordgo.New("Bot " + discordtest.Token)
	if err != nil {
		tb.Fatal(err)
	}
	s.Client = srv.HTTPClient()
	resp := bot.NewHTTPResponder(s)
	log := slog.New(slog.DiscardHandler)
	router := bot.NewRouter([]commands.Command{commands.NewRelated(relIndex(), resp)}, discordtest.GuildID, resp, log)
	key, err := hex.DecodeString(srv.PublicKey())
	if err != nil {
		tb.Fatal(err)
	}
	ix := bot.NewHTTPInteractions(bot.HTTPInteractionsOptions{PublicKey: key, Responder: resp, Handler: router, Log: log})
	mux := http.NewServeMux()
	mux.Handle(bot.InteractionsPath, ix)
	hs := httptest.NewServer(mux)
	tb.Cleanup(hs.Close)
	srv.SetInteractionsEndpoint(hs.URL + bot.InteractionsPath)
	return &relE2E{t: tb, srv: srv}
}

// TestRelatedHTTPBurst: the burst of TestRelatedE2EBurst over HTTP, each
// answered once, in its HTTP response.
// The callback deadline is lifted as in TestRelatedE2EBurst.
func TestRelatedHTTPBurst(t *testing.T) {
	e := newRelHTTP(t, discordtest.WithInteractionDeadline(time.Minute))
	relBurst(t, e, 100, 20)
	exs := e.srv.Interactions()
	if len(exs) != 100 {
		t.Fatalf("%d interactions, want 100", len(exs))
	}
	for _, ex := range exs {
		if ex.Response == nil || len(ex.Refused) != 0 || ex.Delivery == nil || ex.Delivery.Status != http.StatusOK {
			t.Errorf("interaction %s: answered %v, refused %d, delivery %+v", ex.Interaction.ID, ex.Response != nil, len(ex.Refused), ex.Delivery)
		}
	}
}

// BenchmarkRelatedOverHTTP: one /related at a time, from the fake's POST
// to its taking the HTTP answer as the callback.
func BenchmarkRelatedOverHTTP(b *testing.B) {
	e := newRelHTTP(b)
	ds := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		r := e.interact(discordtest.Command("related", discordtest.Opt("query", "garbage collector")))
		ds = append(ds, time.Since(start))
		if r.Type != discordgo.InteractionResponseChannelMessageWithSource {
			b.Fatalf("answered with type %d", r.Type)
		}
	}
	reportPercentiles(b, ds)
}

// BenchmarkRelatedBurstOverHTTP is BenchmarkRelatedBurst (300 interactions
// from 50 members at once) over HTTP (run without -race for figures).
func BenchmarkRelatedBurstOverHTTP(b *testing.B) {
	e := newRelHTTP(b)
	var all []time.Duration
	for b.Loop() {
		all = append(all, relBurst(b, e, 300, 50)...)
	}
	reportPercentiles(b, all)
}
