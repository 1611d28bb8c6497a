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

// BenchmarkAskToTeamMessage: /ask dispatched by the fake's gateway until
// the member's confirmation, which /ask sends once the team message is
// created ("sent to the team"): an upper bound of the round trip to the team
// message. (Waiting on the fake's message list instead measures the fake:
// it copies every message on every event.)
func BenchmarkAskToTeamMessage(b *testing.B) {
	e := newE2EAsk(b, func(o *commands.AskOptions) { o.Limit = 1 << 30 })
	ctx := context.Background()
	b.ReportAllocs()
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for k := range b.N {
		start := time.Now()
		it, err := e.srv.Interact(ctx, discordtest.Command("ask", discordtest.Opt("question", fmt.Sprintf("Question number %d?", k))),
			discordtest.FromUser(fmt.Sprint(10000+k), "asker"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.srv.WaitResponse(ctx, it.ID); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	if n := len(e.srv.Messages(discordtest.TeamChannelID)); n != b.N {
		b.Fatalf("%d team messages for %d questions", n, b.N)
	}
	reportPercentiles(b, ds)
}

// BenchmarkAnswerToDM: the answer modal's submit until the member has the DM.
func BenchmarkAnswerToDM(b *testing.B) {
	e := newE2EAsk(b, func(o *commands.AskOptions) { o.Limit = 1 << 30 })
	ctx := context.Background()
	for k := range b.N {
		it, err := e.srv.Interact(ctx, discordtest.Command("ask", discordtest.Opt("question", fmt.Sprintf("Question number %d?", k))),
			discordtest.FromUser(fmt.Sprint(10000+k), "asker"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.srv.WaitResponse(ctx, it.ID); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := e.srv.WaitMessages(ctx, discordtest.TeamChannelID, b.N); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for k := range b.N {
		b.StopTimer()
		q, err := e.db.Question(ctx, int64(k+1)) // one member per question: the fake's DM list stays short
		if err != nil {
			b.Fatal(err)
		}
		user := q.UserID
		b.StartTimer()
		start := time.Now()
		_, err = e.srv.Interact(ctx, discordtest.ModalSubmit(fmt.Sprintf("ask:answer:%d", k+1), map[string]string{"answer": "Here is your answer."}),
			discordtest.FromUser(discordtest.TeamUserID, discordtest.TeamUsername), discordtest.InChannel(discordtest.TeamChannelID))
		if err != nil {
			b.Fatal(err)
		}
		if err := e.srv.WaitFor(ctx, func() bool { return len(e.srv.DMs(user)) == 1 }); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, ds)
}
