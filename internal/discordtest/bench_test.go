package discordtest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// BenchmarkInteractionRoundTrip measures dispatch -> discordgo handler -> callback
// accepted by the fake, with a trivial handler.
func BenchmarkInteractionRoundTrip(b *testing.B) {
	b.ReportAllocs()
	s := New(b, WithInteractionDeadline(time.Hour))
	PointDiscordgo(s.APIURL())
	dg, err := discordgo.New("Bot " + Token)
	if err != nil {
		b.Fatal(err)
	}
	dg.ShouldReconnectOnError = false
	dg.LogLevel = -1
	dg.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		_ = s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: "ok", Flags: discordgo.MessageFlagsEphemeral},
		})
	})
	if err := dg.Open(); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		it, err := s.Interact(ctx, Command("ping"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.WaitResponse(ctx, it.ID); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
