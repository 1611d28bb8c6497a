package discordtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// session returns a discordgo session pointed at s; open connects the gateway.
// Without reconnect, the fake's Close (cleanup) ends the session quickly.
func session(t *testing.T, s *Server, open, reconnect bool) (*discordgo.Session, chan *discordgo.InteractionCreate) {
	dg, ints, _ := sessionG(t, s, open, reconnect)
	return dg, ints
}

// sessionG is session with a channel that receives the id of every GUILD_CREATE
// discordgo has handled (its State is filled by then).
func sessionG(t *testing.T, s *Server, open, reconnect bool) (*discordgo.Session, chan *discordgo.InteractionCreate, chan string) {
	t.Helper()
	PointDiscordgo(s.APIURL())
	dg, err := discordgo.New("Bot " + Token)
	if err != nil {
		t.Fatal(err)
	}
	dg.ShouldReconnectOnError = reconnect
	dg.Identify.Intents = discordgo.IntentsGuilds
	dg.LogLevel = -1
	ints := make(chan *discordgo.InteractionCreate, 64)
	dg.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { ints <- i })
	guilds := make(chan string, 16)
	dg.AddHandler(func(_ *discordgo.Session, g *discordgo.GuildCreate) { guilds <- g.ID })
	if open {
		if err := dg.Open(); err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() {
			if reconnect {
				// discord.md: without this a heartbeat blocked on the lock can
				// reconnect after Close returns. The lock orders this write after
				// discordgo's last read (made before its Open took the lock).
				dg.Lock()
				dg.ShouldReconnectOnError = false
				dg.Unlock()
				_ = dg.Close()
			}
			s.Close()
		})
	}
	return dg, ints, guilds
}

func recv[T any](t *testing.T, ctx context.Context, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("timed out waiting: %v", ctx.Err())
	}
	var zero T
	return zero
}

// restCode returns the HTTP status and Discord code of a discordgo REST error.
func restCode(t *testing.T, err error) (int, int) {
	t.Helper()
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		t.Fatalf("want *discordgo.RESTError, got %T %v", err, err)
	}
	code := 0
	if re.Message != nil {
		code = re.Message.Code
	}
	return re.Response.StatusCode, code
}

func wantCode(t *testing.T, err error, status, code int) {
	t.Helper()
	gs, gc := restCode(t, err)
	if gs != status || gc != code {
		t.Fatalf("got %d/%d, want %d/%d (%v)", gs, gc, status, code, err)
	}
}

// fixedClock is a settable clock for deterministic deadlines and windows.
func fixedClock() func() time.Time {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time { return t0 }
}

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }
