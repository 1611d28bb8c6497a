package commands_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/newsbot/newsbot/commands"
	"github.com/newsbot/newsbot/internal/discordtest"
)

// reportPercentiles adds p50 and p99 of ds (milliseconds) to the benchmark.
func reportPercentiles(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	at := func(p float64) float64 {
		k := int(p * float64(len(ds)-1))
		return float64(ds[k].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// BenchmarkAskToTeamMessage: /ask dispatched by the fake's gateway until the
// question's message is in the team channel (REST through discordgo).
func BenchmarkAskToTeamMessage(b *testing.B) {
	e := newE2EAsk(b, func(o *commands.AskOptions) { o.Limit = 1 << 30 })
	ctx := context.Background()
	b.ReportAllocs()
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for k := range b.N {
		start := time.Now()
		if _, err := e.srv.Interact(ctx, discordtest.Command("ask", discordtest.Opt("question", fmt.Sprintf("Question number %d?", k)))); err != nil {
			b.Fatal(err)
		}
		if _, err := e.srv.WaitMessages(ctx, discordtest.TeamChannelID, k+1); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, ds)
}

// BenchmarkAnswerToDM: the answer modal's submit until the member has the DM.
func BenchmarkAnswerToDM(b *testing.B) {
	e := newE2EAsk(b, func(o *commands.AskOptions) { o.Limit = 1 << 30 })
	ctx := context.Background()
	for k := range b.N {
		e.srv.Interact(ctx, discordtest.Command("ask", discordtest.Opt("question", fmt.Sprintf("Question number %d?", k))))
	}
	if _, err := e.srv.WaitMessages(ctx, discordtest.TeamChannelID, b.N); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for k := range b.N {
		start := time.Now()
		_, err := e.srv.Interact(ctx, discordtest.ModalSubmit(fmt.Sprintf("ask:answer:%d", k+1), map[string]string{"answer": "Here is your answer."}),
			discordtest.FromUser(discordtest.TeamUserID, discordtest.TeamUsername), discordtest.InChannel(discordtest.TeamChannelID))
		if err != nil {
			b.Fatal(err)
		}
		if err := e.srv.WaitFor(ctx, func() bool { return len(e.srv.DMs(discordtest.MemberUserID)) == k+1 }); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, ds)
}
