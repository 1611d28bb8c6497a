package app

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/newsbot/newsbot/internal/discordtest"
	"github.com/newsbot/newsbot/internal/pgtest"
)

// role polls addr's /healthz (another instance offers no event to wait on)
// until it answers 200 with the role, or ctx ends.
func waitRole(ctx context.Context, addr, role string) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			var h struct {
				Role string `json:"role"`
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && json.Unmarshal(b, &h) == nil && h.Role == role {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func loopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Two instances in one process on one PostgreSQL database (so that the race
// detector sees the takeover): one leads and posts, the other stands by;
// when the leader stops, the other takes over and posts what comes next.
// Every post is made once.
func TestRunReplicatedTakeover(t *testing.T) {
	fake := discordtest.New(t)
	feed := newFeedServer(t, 2)
	env := botEnv(fake, t.TempDir(), feed.url())
	env["DATABASE_URL"] = pgtest.NewDatabase(t)
	env["BACKLOG_LIMIT"] = "2"
	env["POST_SCHEDULE"] = "@every 1s"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	instance := func() (stop func() int, addr string, stderr *syncBuffer) {
		e := make(map[string]string, len(env)+1)
		for k, v := range env {
			e[k] = v
		}
		addr = loopbackAddr(t)
		e["HTTP_ADDR"] = addr
		stop, _, stderr = runMain(t, e, "run")
		return stop, addr, stderr
	}
	stopA, addrA, errA := instance()
	if err := waitRole(ctx, addrA, "leader"); err != nil {
		t.Fatalf("a never leads: %v\n%s", err, errA.String())
	}
	stopB, addrB, errB := instance()
	if err := waitRole(ctx, addrB, "standby"); err != nil {
		t.Fatalf("b never stands by: %v\n%s", err, errB.String())
	}
	if _, err := fake.WaitMessages(ctx, "400", 2); err != nil {
		t.Fatalf("%v\n%s", err, errA.String())
	}
	if code := stopA(); code != 0 {
		t.Fatalf("a exit %d\n%s", code, errA.String())
	}
	if err := waitRole(ctx, addrB, "leader"); err != nil {
		t.Fatalf("b never takes over: %v\n%s", err, errB.String())
	}
	feed.add("After the takeover")
	if _, err := fake.WaitMessages(ctx, "400", 3); err != nil {
		t.Fatalf("%v\n%s", err, errB.String())
	}
	if code := stopB(); code != 0 {
		t.Fatalf("b exit %d\n%s", code, errB.String())
	}
	var got []string
	for _, m := range fake.Messages("400") {
		got = append(got, m.Embeds[0].Title)
	}
	want := []string{"Story number 1 about gophers", "Story number 2 about gophers", "After the takeover"}
	if !slices.Equal(got, want) {
		t.Fatalf("posts %q, want %q", got, want)
	}
}
