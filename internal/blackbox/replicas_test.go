package blackbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/newsbot/newsbot/internal/discordtest"
	"github.com/newsbot/newsbot/internal/pgtest"
)

// replica is one newsbot instance of a PostgreSQL deployment.
type replica struct {
	p    *proc
	addr string // HTTP_ADDR
	name string
}

func startReplica(t *testing.T, env map[string]string, name string) *replica {
	t.Helper()
	return startReplicaOn(t, env, name, "HTTP_ADDR")
}

// startHTTPReplica starts one that also serves interactions on that address.
func startHTTPReplica(t *testing.T, env map[string]string, name string) *replica {
	t.Helper()
	return startReplicaOn(t, env, name, "HTTP_ADDR", "INTERACTIONS_ADDR")
}

// startReplicaOn starts "run" with env and a free address in each of vars.
func startReplicaOn(t *testing.T, env map[string]string, name string, vars ...string) *replica {
	t.Helper()
	r := &replica{addr: freeAddr(t), name: name}
	e := maps.Clone(env)
	for _, v := range vars {
		e[v] = r.addr
	}
	r.p = start(t, e, "run")
	return r
}

// role reads /healthz's role when it answers 200.
func waitRole(ctx context.Context, r *replica, role string) error {
	_, body, err := waitHealthz(ctx, r.addr, func(status int, body string) bool {
		var h struct {
			Role string `json:"role"`
		}
		return status == http.StatusOK && json.Unmarshal([]byte(body), &h) == nil && h.Role == role
	})
	if err != nil {
		return fmt.Errorf("%s never %s: %w (last /healthz %s)", r.name, role, err, body)
	}
	return nil
}

func metric(addr, name string) string {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

// TestLeaderKilledWhileDiscordHoldsItsPost: two binaries on one PostgreSQL
// database. Ten times, the leader sends a post that Discord performs but
// whose answer it holds, and the leader is SIGKILLed then: the standby takes
// over within 10 s, finds the post in the channel instead of sending it
// again, and the killed instance comes back as the standby. No post is
// duplicated or lost.
func TestLeaderKilledWhileDiscordHoldsItsPost(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "replicas", 2)
	env := botEnv(fake, t.TempDir(), f.url())
	env["DATABASE_URL"] = pgtest.NewDatabase(t)
	env["BACKLOG_LIMIT"] = "2"
	ctx := waitCtx(t, 4*time.Minute)
	logs := func(rs ...*replica) string {
		var b strings.Builder
		for _, r := range rs {
			fmt.Fprintf(&b, "--- %s:\n%s\n", r.name, r.p.stderr.String())
		}
		return b.String()
	}

	leader := startReplica(t, env, "r0")
	if err := waitRole(ctx, leader, "leader"); err != nil {
		t.Fatalf("%v\n%s", err, logs(leader))
	}
	standby := startReplica(t, env, "r1")
	if err := waitRole(ctx, standby, "standby"); err != nil {
		t.Fatalf("%v\n%s", err, logs(leader, standby))
	}
	if _, err := fake.WaitMessages(ctx, discordtest.NewsChannelID, 2); err != nil {
		t.Fatalf("backlog not posted: %v\n%s", err, logs(leader, standby))
	}
	if got := metric(leader.addr, "newsbot_leader"); got != "1" {
		t.Errorf("leader's newsbot_leader = %q", got)
	}
	if got := metric(standby.addr, "newsbot_leader"); got != "0" {
		t.Errorf("standby's newsbot_leader = %q", got)
	}
	var all []*replica
	all = append(all, leader, standby)

	const rounds = 10
	var worst time.Duration
	for round := 1; round <= rounds; round++ {
		hold := fake.HoldAnswer("POST", postRoute)
		f.add(item{})
		select {
		case <-hold.Arrived():
		case <-ctx.Done():
			t.Fatalf("round %d: no post reached Discord\n%s", round, logs(all...))
		}
		leader.p.kill()
		killed := time.Now()
		hold.Release()
		if err := waitRole(ctx, standby, "leader"); err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, logs(all...))
		}
		took := time.Since(killed)
		worst = max(worst, took)
		t.Logf("round %d: %s took over %v after %s was killed", round, standby.name, took.Round(time.Millisecond), leader.name)
		if took > 10*time.Second {
			t.Errorf("round %d: takeover took %v (> 10 s)", round, took)
		}
		if got := metric(standby.addr, "newsbot_leader_takeovers_total"); got != "1" {
			t.Errorf("round %d: the new leader's newsbot_leader_takeovers_total = %q", round, got)
		}
		// The killed instance comes back and stands by.
		back := startReplica(t, env, fmt.Sprintf("r%d", round+1))
		all = append(all, back)
		if err := waitRole(ctx, back, "standby"); err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, logs(all...))
		}
		leader, standby = standby, back
	}
	// One more item: the leader posts in order, so when it is there every
	// earlier one was settled.
	f.add(item{})
	want := f.titles(0)
	if _, err := fake.WaitMessages(ctx, discordtest.NewsChannelID, len(want)); err != nil {
		t.Fatalf("%v: %q\n%s", err, titles(fake.Messages(discordtest.NewsChannelID)), logs(all...))
	}
	leader.p.term()
	standby.p.term()
	exactlyOnce(t, fake, want, logs(all...))
	t.Logf("%d rounds: 0 duplicates, 0 lost, slowest takeover %v", rounds, worst.Round(time.Millisecond))
}

// TestLeaderSIGTERMHandsOver: a leader stopped with SIGTERM exits 0 within
// 10 s and releases the lock, so that the standby takes over at its next
// try; what is published meanwhile is posted once.
func TestLeaderSIGTERMHandsOver(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "handover", 1)
	env := botEnv(fake, t.TempDir(), f.url())
	env["DATABASE_URL"] = pgtest.NewDatabase(t)
	env["BACKLOG_LIMIT"] = "1"
	ctx := waitCtx(t, time.Minute)

	a := startReplica(t, env, "a")
	if err := waitRole(ctx, a, "leader"); err != nil {
		t.Fatalf("%v\n%s", err, a.p.stderr.String())
	}
	b := startReplica(t, env, "b")
	if err := waitRole(ctx, b, "standby"); err != nil {
		t.Fatalf("%v\n%s", err, b.p.stderr.String())
	}
	if _, err := fake.WaitMessages(ctx, discordtest.NewsChannelID, 1); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	a.p.term()
	if err := waitRole(ctx, b, "leader"); err != nil {
		t.Fatalf("%v\n%s", err, b.p.stderr.String())
	}
	t.Logf("b leads %v after a was told to stop", time.Since(stopped).Round(time.Millisecond))
	f.add(item{})
	if _, err := fake.WaitMessages(ctx, discordtest.NewsChannelID, 2); err != nil {
		t.Fatalf("%v\n%s", err, b.p.stderr.String())
	}
	b.p.term()
	exactlyOnce(t, fake, f.titles(0), a.p.stderr.String()+"\n---\n"+b.p.stderr.String())
}

// TestNewerSchemaStandsBy: a binary that finds the database migrated by a
// newer newsbot does not lead (nor write): it stands by, healthy, and says
// why in its log.
func TestNewerSchemaStandsBy(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "newer", 2)
	env := botEnv(fake, t.TempDir(), f.url())
	url := pgtest.NewDatabase(t)
	env["DATABASE_URL"] = url
	ctx := waitCtx(t, time.Minute)

	// The database as a newer release left it.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL);
		INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	r := startReplica(t, env, "old")
	_, body, err := waitHealthz(ctx, r.addr, func(status int, body string) bool {
		return status == http.StatusOK && strings.Contains(body, `"role":"standby"`) &&
			strings.Contains(body, "newer than this newsbot knows")
	})
	if err != nil {
		t.Fatalf("the standby does not say why on /healthz: %v (%s)\n%s", err, body, r.p.stderr.String())
	}
	r.p.term()
	if !strings.Contains(r.p.stderr.String(), "newer than this newsbot knows") {
		t.Fatalf("the standby does not say why in its log:\n%s", r.p.stderr.String())
	}
	if n := len(fake.Messages(discordtest.NewsChannelID)); n != 0 || fake.Connected() {
		t.Fatalf("a standby posted %d messages (gateway connected %v)", n, fake.Connected())
	}
	var tables int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'articles'").Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("the old binary migrated the database (%d, %v)", tables, err)
	}
}

// TestReplicasAnswerInteractionsOverHTTP: with INTERACTIONS_ADDR, Discord
// spreads interactions over both replicas, leader and standby: each is
// answered once, a question asked on either is forwarded once, and a bad
// signature gets 401 and no answer on both.
func TestReplicasAnswerInteractionsOverHTTP(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "hr", 3)
	env := botEnv(fake, t.TempDir(), f.url())
	env["DATABASE_URL"] = pgtest.NewDatabase(t)
	env["BACKLOG_LIMIT"] = "3"
	env["DISCORD_PUBLIC_KEY"] = fake.PublicKey()
	ctx := waitCtx(t, time.Minute)

	a := startHTTPReplica(t, env, "a")
	if err := waitRole(ctx, a, "leader"); err != nil {
		t.Fatalf("%v\n%s", err, a.p.stderr.String())
	}
	if _, err := fake.WaitMessages(ctx, discordtest.NewsChannelID, 3); err != nil {
		t.Fatalf("%v\n%s", err, a.p.stderr.String())
	}
	b := startHTTPReplica(t, env, "b")
	if err := waitRole(ctx, b, "standby"); err != nil {
		t.Fatalf("%v\n%s", err, b.p.stderr.String())
	}
	logs := func() string { return a.p.stderr.String() + "\n---\n" + b.p.stderr.String() }
	fake.SetInteractionsEndpoint("http://"+a.addr+"/interactions", "http://"+b.addr+"/interactions")

	members := []string{"510", "511", "512", "513"}
	var ids []string
	byURL := map[string]int{}
	for i := 0; i < 8; i++ {
		spec := discordtest.Command("related", discordtest.Opt("query", "hr story 2"))
		var opts []discordtest.SpecOption
		if i%2 == 1 {
			m := members[i/2]
			spec = discordtest.Command("ask", discordtest.Opt("question", "question from "+m))
			opts = append(opts, discordtest.FromUser(m, "member"+m))
		}
		in, err := fake.Interact(ctx, spec, opts...)
		if err != nil {
			t.Fatal(err)
		}
		d, err := fake.WaitDelivered(ctx, in.ID)
		if err != nil || d.Status != http.StatusOK || !d.Accepted {
			t.Fatalf("interaction %d: %+v, %v\n%s", i, d, err, logs())
		}
		byURL[d.URL]++
		ids = append(ids, in.ID)
		if i%2 == 0 {
			ex, _ := fake.Exchange(in.ID)
			if !strings.Contains(string(ex.Response.Raw), f.link(1)) && !strings.Contains(string(ex.Response.Raw), f.link(3)) {
				t.Errorf("/related on %s lists none of the other stories: %s", d.URL, ex.Response.Raw)
			}
		}
	}
	if len(byURL) != 2 {
		t.Fatalf("deliveries by replica: %v", byURL)
	}
	if _, err := fake.WaitMessages(ctx, discordtest.TeamChannelID, 4); err != nil {
		t.Fatalf("questions not forwarded: %v\n%s", err, logs())
	}
	for _, r := range []*replica{a, b} {
		fake.SetInteractionsEndpoint("http://" + r.addr + "/interactions")
		in, err := fake.Interact(ctx, discordtest.Command("related"), discordtest.BadSignature())
		if err != nil {
			t.Fatal(err)
		}
		d, err := fake.WaitDelivered(ctx, in.ID)
		if err != nil || d.Status != http.StatusUnauthorized {
			t.Errorf("bad signature to %s: %+v, %v", r.name, d, err)
		}
		if ex, _ := fake.Exchange(in.ID); ex.Response != nil || len(ex.Followups) > 0 {
			t.Errorf("a forged interaction was answered by %s", r.name)
		}
	}
	a.p.term()
	b.p.term()
	for _, id := range ids {
		ex, _ := fake.Exchange(id)
		if ex.Response == nil || len(ex.Refused) > 0 {
			t.Errorf("interaction %s: response %v, refused %+v", id, ex.Response != nil, ex.Refused)
		}
	}
	if n := len(fake.Messages(discordtest.TeamChannelID)); n != 4 {
		t.Errorf("%d team messages, want 4 (each question once)", n)
	}
}

// TestQuestionQueuedOnStandbyForwardedByLeader: a question asked on the
// standby whose forward fails (the team channel answers 500) stays queued
// in the database, and the leader's retry loop forwards it, once.
func TestQuestionQueuedOnStandbyForwardedByLeader(t *testing.T) {
	t.Parallel()
	fake := discordtest.New(t)
	f := newFeed(t, "hq", 1)
	env := botEnv(fake, t.TempDir(), f.url())
	env["DATABASE_URL"] = pgtest.NewDatabase(t)
	env["BACKLOG_LIMIT"] = "1"
	env["DISCORD_PUBLIC_KEY"] = fake.PublicKey()
	ctx := waitCtx(t, 90*time.Second)

	a := startHTTPReplica(t, env, "a")
	if err := waitRole(ctx, a, "leader"); err != nil {
		t.Fatalf("%v\n%s", err, a.p.stderr.String())
	}
	b := startHTTPReplica(t, env, "b")
	if err := waitRole(ctx, b, "standby"); err != nil {
		t.Fatalf("%v\n%s", err, b.p.stderr.String())
	}
	logs := func() string { return a.p.stderr.String() + "\n---\n" + b.p.stderr.String() }
	fake.SetInteractionsEndpoint("http://" + b.addr + "/interactions")
	fake.FailNext("POST", "/channels/"+discordtest.TeamChannelID+"/messages", 1, http.StatusInternalServerError, 0)

	in, err := fake.Interact(ctx, discordtest.Command("ask", discordtest.Opt("question", "Who forwards me?")),
		discordtest.FromUser(discordtest.MemberUserID, discordtest.MemberUsername))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := fake.WaitDelivered(ctx, in.ID); err != nil || d.Status != http.StatusOK {
		t.Fatalf("/ask on the standby: %+v, %v\n%s", d, err, logs())
	}
	if _, err := fake.WaitMessages(ctx, discordtest.TeamChannelID, 1); err != nil {
		t.Fatalf("the queued question was never forwarded: %v\n%s", err, logs())
	}
	a.p.term()
	b.p.term()
	if n := len(fake.Messages(discordtest.TeamChannelID)); n != 1 {
		t.Fatalf("%d team messages, want 1\n%s", n, logs())
	}
	if !strings.Contains(a.p.stderr.String(), "ask: question forwarded") || strings.Contains(b.p.stderr.String(), "ask: question forwarded") {
		t.Fatalf("the leader did not forward it\n%s", logs())
	}
}

// TestReplicasRoutesAcrossTakeover: routes to a forum and to an
// announcement channel on PostgreSQL; the leader is killed while Discord
// holds the answer to its forum post. The standby takes over: each forum
// post exists once, and each announcement is posted and published once.
func TestReplicasRoutesAcrossTakeover(t *testing.T) {
	t.Parallel()
	skipShort(t)
	fake := discordtest.New(t)
	addForum(fake)
	addAnnouncement(fake)
	f := newFeed(t, "rtk", 2)
	env := routesEnv(t, fake, t.TempDir(), fmt.Sprintf(`routes:
  - name: forum
    feeds: [%s]
    channel: %s
    forum_tag: News
  - name: ann
    feeds: [%s]
    channel: %s
`, f.url(), forumChannel, f.url(), annChannel))
	env["DATABASE_URL"] = pgtest.NewDatabase(t)
	env["BACKLOG_LIMIT"] = "2"
	ctx := waitCtx(t, 90*time.Second)

	hold := fake.HoldAnswer("POST", "/channels/"+forumChannel+"/threads")
	a := startReplica(t, env, "a")
	select {
	case <-hold.Arrived():
	case <-ctx.Done():
		t.Fatalf("no forum post arrived\n%s", a.p.stderr.String())
	}
	b := startReplica(t, env, "b")
	if err := waitRole(ctx, b, "standby"); err != nil {
		t.Fatalf("%v\n%s", err, b.p.stderr.String())
	}
	a.p.kill()
	hold.Release()
	if err := waitRole(ctx, b, "leader"); err != nil {
		t.Fatalf("%v\n%s", err, b.p.stderr.String())
	}
	logs := func() string { return a.p.stderr.String() + "\n---\n" + b.p.stderr.String() }
	if err := fake.WaitFor(ctx, func() bool {
		return len(fake.ForumPosts(forumChannel)) >= 2 && len(fake.Crossposted(annChannel)) >= 2
	}); err != nil {
		t.Fatalf("forum posts %q, published %d: %v\n%s", forumNames(fake), len(fake.Crossposted(annChannel)), err, logs())
	}
	b.p.term()
	if got, want := forumNames(fake), f.titles(0); !slices.Equal(got, want) {
		t.Errorf("forum posts %q, want %q\n%s", got, want, logs())
	}
	if got, want := titles(fake.Messages(annChannel)), f.titles(0); !slices.Equal(got, want) {
		t.Errorf("announcements %q, want %q\n%s", got, want, logs())
	}
	pub := fake.Crossposted(annChannel)
	slices.Sort(pub)
	if len(pub) != 2 || pub[0] == pub[1] {
		t.Errorf("published %v, want each of the 2 announcements once", pub)
	}
}
