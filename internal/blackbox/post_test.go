package blackbox

import (
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/newsbot/newsbot/internal/discordtest"
)

const postRoute = "/channels/400/messages"

// exactlyOnce checks that channel 400 holds want, in order, once each.
func exactlyOnce(t *testing.T, fake *discordtest.Server, want []string, stderr string) {
	t.Helper()
	got := titles(fake.Messages(discordtest.NewsChannelID))
	if !slices.Equal(got, want) {
		t.Fatalf("news channel holds %q\nwant %q\nstderr:\n%s", got, want, stderr)
	}
}

// TestCrashWhileSendIsHeld: SIGKILL while Discord holds the first send; a
// restart on the same database posts every article once, in order.
func TestCrashWhileSendIsHeld(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "crash", 4)
	env := botEnv(fake, t.TempDir(), f.url())
	env["BACKLOG_LIMIT"] = "4"
	ctx := waitCtx(t, 40*time.Second)

	hold := fake.Hold("POST", postRoute)
	p := start(t, env, "run")
	select {
	case <-hold.Arrived():
	case <-ctx.Done():
		t.Fatalf("no send arrived\n%s", p.stderr.String())
	}
	p.kill()
	hold.Release()

	p2 := start(t, env, "run")
	if _, err := fake.WaitMessages(ctx, discordtest.NewsChannelID, 4); err != nil {
		t.Fatalf("%v: %q\nfirst run:\n%s\nsecond run:\n%s", err, titles(fake.Messages("400")), p.stderr.String(), p2.stderr.String())
	}
	p2.term()
	exactlyOnce(t, fake, f.titles(0), p.stderr.String()+"\n---\n"+p2.stderr.String())
}

// TestCrashAfterAcceptedSend: Discord creates the message but the answer is
// lost; the process is SIGKILLed before it learns anything; a restart must
// not post it twice.
func TestCrashAfterAcceptedSend(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "accepted", 4)
	env := botEnv(fake, t.TempDir(), f.url())
	env["BACKLOG_LIMIT"] = "4"
	ctx := waitCtx(t, 40*time.Second)

	// The first send is performed then its connection dropped; the next sends
	// are held so that the process is killed with the state it had then.
	fake.AcceptThenFail("POST", postRoute, 0)
	p := start(t, env, "run")
	if _, err := fake.WaitMessages(ctx, discordtest.NewsChannelID, 1); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	hold := fake.Hold("POST", postRoute)
	// Either the process retries (held) or it waits for its next run: kill it
	// as soon as the accepted-but-dropped request is recorded.
	if _, err := fake.WaitRequest(ctx, func(r discordtest.Request) bool {
		return r.Method == "POST" && r.Path == postRoute
	}); err != nil {
		t.Fatal(err)
	}
	p.kill()
	hold.Release()

	p2 := start(t, env, "run")
	if _, err := fake.WaitMessages(ctx, discordtest.NewsChannelID, 4); err != nil {
		t.Fatalf("%v: %q\n%s\n---\n%s", err, titles(fake.Messages("400")), p.stderr.String(), p2.stderr.String())
	}
	p2.term()
	exactlyOnce(t, fake, f.titles(0), p.stderr.String()+"\n---\n"+p2.stderr.String())
}

// TestCrashAfterAcceptedSendNonceForgotten: as above, but Discord has
// forgotten the nonce by the restart (its window is minutes): newsbot must
// find the message among the channel's recent ones.
func TestCrashAfterAcceptedSendNonceForgotten(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t, discordtest.WithNonceWindow(time.Nanosecond))
	f := newFeed(t, "forgot", 3)
	env := botEnv(fake, t.TempDir(), f.url())
	env["BACKLOG_LIMIT"] = "3"
	ctx := waitCtx(t, 40*time.Second)

	// A retry inside the first process must look before re-sending too.
	fake.AcceptThenFail("POST", postRoute, 0)
	p := start(t, env, "run")
	if _, err := fake.WaitMessages(ctx, discordtest.NewsChannelID, 1); err != nil {
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	p.kill()

	p2 := start(t, env, "run")
	if _, err := fake.WaitMessages(ctx, discordtest.NewsChannelID, 3); err != nil {
		t.Fatalf("%v: %q\n%s\n---\n%s", err, titles(fake.Messages("400")), p.stderr.String(), p2.stderr.String())
	}
	p2.term()
	exactlyOnce(t, fake, f.titles(0), p.stderr.String()+"\n---\n"+p2.stderr.String())
}

// TestSIGTERM: exit 0 within 10 s, idle and with a send hanging at Discord.
func TestSIGTERM(t *testing.T) {
	t.Parallel()
	t.Run("idle", func(t *testing.T) {
		fake := discordtest.New(t)
		f := newFeed(t, "term", 1)
		env := botEnv(fake, t.TempDir(), f.url())
		p := start(t, env, "run")
		if _, err := fake.WaitMessages(waitCtx(t, 20*time.Second), "400", 1); err != nil {
			t.Fatalf("%v\n%s", err, p.stderr.String())
		}
		p.term()
		if strings.Contains(p.stderr.String(), discordtest.Token) {
			t.Error("the token appears in the log")
		}
	})
	t.Run("send hanging", func(t *testing.T) {
		fake := discordtest.New(t)
		f := newFeed(t, "termhold", 1)
		env := botEnv(fake, t.TempDir(), f.url())
		hold := fake.Hold("POST", postRoute)
		t.Cleanup(hold.Release)
		p := start(t, env, "run")
		select {
		case <-hold.Arrived():
		case <-waitCtx(t, 20*time.Second).Done():
			t.Fatalf("no send\n%s", p.stderr.String())
		}
		p.term()
	})
}

// TestSIGTERMWhileWaiting: SIGTERM (and SIGINT) end the process with 0
// within 10 s while Discord rate-limits it for 30 s, or a feed hangs.
func TestSIGTERMWhileWaiting(t *testing.T) {
	t.Parallel()
	t.Run("rate limited", func(t *testing.T) {
		fake := discordtest.New(t)
		f := newFeed(t, "term429", 2)
		env := botEnv(fake, t.TempDir(), f.url())
		fake.Fail("POST", postRoute, discordtest.Fault{Status: 429, RetryAfter: 30 * time.Second, Global: true, Times: 100})
		p := start(t, env, "run")
		if _, err := fake.WaitRequest(waitCtx(t, 20*time.Second), func(r discordtest.Request) bool {
			return r.Method == "POST" && r.Path == postRoute && r.Status == 429
		}); err != nil {
			t.Fatalf("%v\n%s", err, p.stderr.String())
		}
		p.term()
	})
	t.Run("feed hanging, SIGINT", func(t *testing.T) {
		fake := discordtest.New(t)
		f := newFeed(t, "termhang", 1)
		f.setMode(modeHang)
		env := botEnv(fake, t.TempDir(), f.url())
		p := start(t, env, "run")
		if err := f.waitHits(waitCtx(t, 20*time.Second), 1); err != nil {
			t.Fatalf("%v\n%s", err, p.stderr.String())
		}
		_ = p.cmd.Process.Signal(os.Interrupt)
		code, ok := p.wait(10 * time.Second)
		if !ok || code != 0 {
			t.Fatalf("SIGINT with a hanging feed: exited %v, status %d\n%s", ok, code, p.dump())
		}
	})
}

// TestDiscordFaultsOnPosting: 500 x3, then 429, then OK: each article once,
// oldest first.
func TestDiscordFaultsOnPosting(t *testing.T) {
	t.Parallel()
	skipShort(t)
	fake := discordtest.New(t)
	f := newFeed(t, "faults", 5)
	env := botEnv(fake, t.TempDir(), f.url())
	env["BACKLOG_LIMIT"] = "5"
	fake.FailNext("POST", postRoute, 3, http.StatusInternalServerError, 0)
	fake.RateLimitNext("POST", postRoute, 1, time.Second)
	p := start(t, env, "run")
	ctx := waitCtx(t, 40*time.Second)
	if _, err := fake.WaitMessages(ctx, "400", 5); err != nil {
		t.Fatalf("%v: %q\n%s", err, titles(fake.Messages("400")), p.stderr.String())
	}
	p.term()
	exactlyOnce(t, fake, f.titles(0), p.stderr.String())
	var s500, s429 int
	for _, r := range fake.Requests() {
		if r.Method == "POST" && r.Path == postRoute {
			switch r.Status {
			case 500:
				s500++
			case 429:
				s429++
			}
		}
	}
	if s500 != 3 || s429 != 1 {
		t.Errorf("faults answered: %d x 500, %d x 429; want 3 and 1", s500, s429)
	}
}

// TestMissingPermission: without a permission in the news channel (Send
// Messages, Embed Links, View Channel), /healthz names it and stays 200;
// once fixed, the articles are posted, once each.
func TestMissingPermission(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		deny int64
	}{
		{"send messages", discordgo.PermissionSendMessages},
		{"embed links", discordgo.PermissionEmbedLinks},
		{"view channel", discordgo.PermissionViewChannel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := discordtest.New(t)
			f := newFeed(t, "perm", 2)
			env := botEnv(fake, t.TempDir(), f.url())
			env["BACKLOG_LIMIT"] = "2"
			addr := freeAddr(t)
			env["HTTP_ADDR"] = addr
			fake.SetOverwrites(discordtest.NewsChannelID, &discordgo.PermissionOverwrite{
				ID: discordtest.BotRoleID, Type: discordgo.PermissionOverwriteTypeRole, Deny: tc.deny,
			})
			p := start(t, env, "run")
			ctx := waitCtx(t, 30*time.Second)
			status, body, err := waitHealthz(ctx, addr, func(_ int, body string) bool {
				return strings.Contains(strings.ToLower(body), tc.name)
			})
			if err != nil {
				t.Fatalf("/healthz never named %s: %v: %d %s\n%s", tc.name, err, status, body, p.stderr.String())
			}
			if status != 200 {
				t.Errorf("/healthz status %d with a missing permission, want 200: %s", status, body)
			}
			if n := len(fake.Messages("400")); n != 0 {
				t.Fatalf("%d posts without permission: %q", n, titles(fake.Messages("400")))
			}
			// Fixed (Discord tells the bot with CHANNEL_UPDATE).
			fake.SetOverwrites(discordtest.NewsChannelID)
			if ch, ok := fake.Channel(discordtest.NewsChannelID); ok {
				if err := fake.Dispatch("CHANNEL_UPDATE", ch); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := fake.WaitMessages(ctx, "400", 2); err != nil {
				t.Fatalf("not posted once fixed: %v\n%s", err, p.stderr.String())
			}
			_, body, err = waitHealthz(ctx, addr, func(_ int, body string) bool {
				return !strings.Contains(strings.ToLower(body), tc.name)
			})
			if err != nil {
				t.Errorf("/healthz still names %s once fixed: %s", tc.name, body)
			}
			p.term()
			exactlyOnce(t, fake, f.titles(0), p.stderr.String())
		})
	}
}

// TestRestartPostsNothingAgain: a second run on the same database posts
// nothing again; an item added later is posted once.
func TestRestartPostsNothingAgain(t *testing.T) {
	t.Parallel()
	skipShort(t)
	fake := discordtest.New(t)
	f := newFeed(t, "restart", 5)
	env := botEnv(fake, t.TempDir(), f.url())
	ctx := waitCtx(t, 40*time.Second)
	p := start(t, env, "run")
	if _, err := fake.WaitMessages(ctx, "400", 3); err != nil { // BACKLOG_LIMIT default 3
		t.Fatalf("%v\n%s", err, p.stderr.String())
	}
	p.term()
	exactlyOnce(t, fake, f.titles(2), p.stderr.String())

	before := f.hitCount()
	p2 := start(t, env, "run")
	// Two polls of the second run: the first run's job (poll and post) is over.
	if err := f.waitHits(ctx, before+2); err != nil {
		t.Fatalf("%v\n%s", err, p2.stderr.String())
	}
	if n := len(fake.Messages("400")); n != 3 {
		t.Fatalf("the restart posted again: %q", titles(fake.Messages("400")))
	}
	f.add(item{Title: "A brand new story " + strconv.Itoa(6)})
	if _, err := fake.WaitMessages(ctx, "400", 4); err != nil {
		t.Fatalf("%v\n%s", err, p2.stderr.String())
	}
	p2.term()
	exactlyOnce(t, fake, f.titles(2), p2.stderr.String())
}

// TestAcceptedThen5xx: Discord creates the message and still answers 500
// or 502 (it happens); the nonce is already forgotten when newsbot retries:
// it must find the message instead of posting it twice.
func TestAcceptedThen5xx(t *testing.T) {
	t.Parallel()
	for _, status := range []int{500, 502, 503} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			fake := discordtest.New(t, discordtest.WithNonceWindow(time.Nanosecond))
			f := newFeed(t, "acc5xx", 3)
			env := botEnv(fake, t.TempDir(), f.url())
			env["BACKLOG_LIMIT"] = "3"
			fake.AcceptThenFail("POST", postRoute, status)
			p := start(t, env, "run")
			ctx := waitCtx(t, 30*time.Second)
			if _, err := fake.WaitMessages(ctx, "400", 3); err != nil {
				t.Fatalf("%v: %q\n%s", err, titles(fake.Messages("400")), p.stderr.String())
			}
			// Two more runs: a duplicate would have come by then.
			before := f.hitCount()
			if err := f.waitHits(ctx, before+2); err != nil {
				t.Fatal(err)
			}
			p.term()
			exactlyOnce(t, fake, f.titles(0), p.stderr.String())
		})
	}
}
