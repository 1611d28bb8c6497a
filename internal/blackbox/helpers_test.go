// Package blackbox runs the built newsbot binary against the in-repo fake
// Discord and httptest feed servers, configured only through the environment
// variables of design.md, as an outside judge would.
package blackbox

import (
	"context"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/newsbot/newsbot/internal/discordtest"
	"github.com/newsbot/newsbot/internal/testutil"
)

// binary is the newsbot binary built once for this test run.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "newsbot-blackbox-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "blackbox:", err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "newsbot")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err == nil {
		cmd := exec.Command("go", "build", "-o", binary, "./cmd/newsbot")
		cmd.Dir = root
		var out []byte
		out, err = cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "blackbox: building the binary:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ---- the bot process ----

type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout testutil.Buffer
	stderr testutil.Buffer
	done   chan struct{}
	state  *os.ProcessState
}

// start runs the binary with exactly env (no inherited variables) in an
// empty working directory (so no .env file is read).
func start(t *testing.T, env map[string]string, args ...string) *proc {
	t.Helper()
	return startIn(t, t.TempDir(), env, args...)
}

// startIn is start in the working directory dir.
func startIn(t *testing.T, dir string, env map[string]string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Dir = dir
	p.cmd.Env = envList(env)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting newsbot: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// wait waits up to d for the process to exit and returns its exit code
// (-1 when killed by a signal); ok is false when it is still running.
func (p *proc) wait(d time.Duration) (code int, ok bool) {
	select {
	case <-p.done:
		return p.state.ExitCode(), true
	case <-time.After(d):
		return 0, false
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// dump ends the process with SIGQUIT (the Go runtime prints every
// goroutine) and returns its whole stderr: for diagnosing a hang.
func (p *proc) dump() string {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		if _, ok := p.wait(10 * time.Second); !ok {
			p.kill()
		}
	}
	return p.stderr.String()
}

// term sends SIGTERM and requires exit status 0 within the 10 s contract.
func (p *proc) term() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	code, ok := p.wait(10 * time.Second)
	if !ok {
		p.kill()
		p.t.Fatalf("no exit within 10 s of SIGTERM\nstderr:\n%s", p.stderr.String())
	}
	if code != 0 {
		p.t.Fatalf("exit status %d after SIGTERM\nstderr:\n%s", code, p.stderr.String())
	}
}

// run runs the binary to completion (a verb such as fetch or related).
func run(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := start(t, env, args...)
	code, ok := p.wait(30 * time.Second)
	if !ok {
		p.kill()
		t.Fatalf("newsbot %v did not finish within 30 s\nstderr:\n%s", args, p.stderr.String())
	}
	return code, p.stdout.String(), p.stderr.String()
}

// botEnv is the environment of a run against fake with feeds.
func botEnv(fake *discordtest.Server, dir string, feeds ...string) map[string]string {
	env := map[string]string{
		"DISCORD_TOKEN":   discordtest.Token,
		"NEWS_CHANNEL_ID": discordtest.NewsChannelID,
		"TEAM_CHANNEL_ID": discordtest.TeamChannelID,
		"FEED_URLS":       strings.Join(feeds, ","),
		"DATABASE_URL":    filepath.Join(dir, "newsbot.db"),
		"POST_SCHEDULE":   "@every 1s",
		"BACKFILL_LIMIT":  "0",
		"FULL_TEXT":       "off",
		"LOG_LEVEL":       "debug",
	}
	if fake != nil {
		env["DISCORD_API_URL"] = fake.APIURL()
	}
	return env
}

func waitCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// healthz returns the status and body of GET /healthz.
func healthz(addr string) (int, string, error) {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitHealthz polls /healthz (an outside process offers no event to wait on)
// until cond holds or ctx ends; it returns the last answer.
func waitHealthz(ctx context.Context, addr string, cond func(status int, body string) bool) (int, string, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var status int
	var body string
	var err error
	for {
		status, body, err = healthz(addr)
		if err == nil && cond(status, body) {
			return status, body, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return status, body, err
		case <-tick.C:
		}
	}
}

// titles lists the first embed title of each message.
func titles(ms []discordtest.Message) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		if len(m.Embeds) == 0 {
			out = append(out, "<no embed: "+m.Content+">")
			continue
		}
		out = append(out, m.Embeds[0].Title)
	}
	return out
}

// ---- feeds ----

type feedMode int

const (
	modeOK feedMode = iota
	mode500
	modeGarbage
	modeHuge
	modeHang
	modeHold // answers normally once release is closed
)

type item struct {
	ID    int
	Title string // raw XML text of <title> (already escaped by the caller when needed)
	Desc  string // raw XML of <description>
}

// feed is an httptest RSS 2.0 feed whose items and behaviour the test controls.
type feed struct {
	mu      sync.Mutex
	name    string
	items   []item // oldest first
	mode    feedMode
	hits    int
	srv     *httptest.Server
	stop    chan struct{}
	base    time.Time
	hitCh   chan struct{} // closed and replaced on every hit
	release chan struct{} // modeHold waits for it
}

func newFeed(t *testing.T, name string, n int) *feed {
	t.Helper()
	f := &feed{name: name, stop: make(chan struct{}), base: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC), hitCh: make(chan struct{}), release: make(chan struct{})}
	for i := 1; i <= n; i++ {
		f.items = append(f.items, item{ID: i, Title: f.title(i)})
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.stop) }) // runs first: frees hanging handlers
	return f
}

func (f *feed) title(i int) string { return fmt.Sprintf("%s story %d", f.name, i) }

func (f *feed) url() string { return f.srv.URL + "/feed/" }

func (f *feed) link(id int) string { return fmt.Sprintf("%s/%s/story-%d/", f.srv.URL, f.name, id) }

func (f *feed) setMode(m feedMode) {
	f.mu.Lock()
	f.mode = m
	f.mu.Unlock()
}

func (f *feed) add(it item) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if it.ID == 0 {
		it.ID = len(f.items) + 1
	}
	if it.Title == "" {
		it.Title = f.title(it.ID)
	}
	f.items = append(f.items, it)
}

func (f *feed) hitCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

// waitHits waits until the feed was requested at least n times in all.
func (f *feed) waitHits(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		hits, ch := f.hits, f.hitCh
		f.mu.Unlock()
		if hits >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("feed %s: %d hits, want %d: %w", f.name, hits, n, ctx.Err())
		case <-ch:
		}
	}
}

// titles of items from, oldest first.
func (f *feed) titles(from int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, it := range f.items[from:] {
		out = append(out, html.UnescapeString(it.Title))
	}
	return out
}

func (f *feed) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits++
	close(f.hitCh)
	f.hitCh = make(chan struct{})
	mode := f.mode
	items := append([]item(nil), f.items...)
	f.mu.Unlock()
	if mode == modeHold {
		select {
		case <-f.release:
		case <-r.Context().Done():
			return
		case <-f.stop:
			return
		}
	}
	switch mode {
	case mode500:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	case modeGarbage:
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, "\x00\x01<<<this is not a feed>>> {\"json\": ")
		return
	case modeHuge:
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Huge</title><link>`+f.srv.URL+`/</link>`)
		fmt.Fprintf(w, `<item><title>Huge story</title><link>%s/huge/</link><guid>%s/?huge=1</guid><description>`, f.srv.URL, f.srv.URL)
		chunk := strings.Repeat("padding ", 1024)
		for n := 0; n < 11<<20; n += len(chunk) {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
		fmt.Fprint(w, `</description></item></channel></rss>`)
		return
	case modeHang:
		w.Header().Set("Content-Type", "application/rss+xml")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>`)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-f.stop:
		}
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>%s site</title><link>%s/</link>`, f.name, f.srv.URL)
	for i := len(items) - 1; i >= 0; i-- { // newest first, as feeds do
		it := items[i]
		desc := it.Desc
		if desc == "" {
			desc = fmt.Sprintf("Body of %s story %d, about gophers and channels.", f.name, it.ID)
		}
		fmt.Fprintf(&b, `<item><title>%s</title><link>%s</link><guid isPermaLink="false">%s-%d</guid><pubDate>%s</pubDate><description>%s</description></item>`,
			it.Title, f.link(it.ID), f.name, it.ID, f.base.Add(time.Duration(it.ID)*time.Hour).Format(time.RFC1123Z), desc)
	}
	b.WriteString(`</channel></rss>`)
	w.Header().Set("Content-Type", "application/rss+xml")
	fmt.Fprint(w, b.String())
}

// skipShort skips a test that takes several seconds under -short.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("several seconds of real schedules and back-off; skipped in -short")
	}
}
