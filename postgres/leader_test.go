package postgres

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/newsbot/newsbot/articles"
	"github.com/newsbot/newsbot/commands"
	"github.com/newsbot/newsbot/internal/storetest"
)

// instance is one Leader under test with its duties' events.
type instance struct {
	db      *DB
	l       *Leader
	started chan int64 // an epoch, when duties start
	stopped chan int64 // when they stop (their context was cancelled)
	cancel  context.CancelFunc
	done    chan struct{}
}

func startInstance(t *testing.T, url, holder string) *instance {
	t.Helper()
	in := &instance{db: openAt(t, url), started: make(chan int64, 10), stopped: make(chan int64, 10), done: make(chan struct{})}
	in.l = in.db.NewLeader(LeaderOptions{
		Holder: holder,
		Log:    slog.New(slog.DiscardHandler),
		Lead: func(ctx context.Context, epoch int64) {
			in.started <- epoch
			<-ctx.Done()
			in.stopped <- epoch
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	go func() { defer close(in.done); in.l.Run(ctx) }()
	t.Cleanup(in.stop)
	return in
}

func (in *instance) stop() {
	in.cancel()
	<-in.done
}

func waitEpoch(t *testing.T, ch chan int64, within time.Duration, what string) int64 {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(within):
		t.Fatalf("%s: nothing within %v", what, within)
		return 0
	}
}

// lockHolderPID is the server process of the session that holds the
// leader lock.
func lockHolderPID(t *testing.T, db *DB) int32 {
	t.Helper()
	var pid int32
	err := db.Pool().QueryRow(context.Background(), `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1`,
		leaderLockKey>>32, leaderLockKey&0xffffffff).Scan(&pid)
	if err != nil {
		t.Fatalf("who holds the lock: %v", err)
	}
	return pid
}

// One instance leads, the other stands by; when the leader's connection is
// cut, its duties stop at once, the standby takes over within 10 s with a
// new epoch, and the deposed leader's claims are fenced.
func TestLeaderTakeoverAndFence(t *testing.T) {
	url := pgtestURL(t)
	ctx := context.Background()
	a := startInstance(t, url, "a")
	e1 := waitEpoch(t, a.started, 10*time.Second, "a leads")
	b := startInstance(t, url, "b")
	// b stands by while a holds the lock (b tries every 3 s).
	select {
	case <-b.started:
		t.Fatal("two leaders at once")
	case <-time.After(DefaultRetry + time.Second):
	}
	if !a.l.Leading() || b.l.Leading() || !b.l.Running() {
		t.Fatalf("a leading %v, b leading %v, b running %v", a.l.Leading(), b.l.Leading(), b.l.Running())
	}
	info, err := b.db.WhoLeads(ctx)
	if err != nil || !info.Held || info.Holder != "a" || info.Epoch != e1 {
		t.Fatalf("WhoLeads = %+v, %v", info, err)
	}

	// An article a is about to send.
	if _, err := a.db.RecordPoll(ctx, storetest.Poll("https://ex.com/feed", storetest.TenItems()...), 2); err != nil {
		t.Fatal(err)
	}
	due, _ := a.db.Due(ctx, 0)
	if len(due) != 2 {
		t.Fatalf("due = %d", len(due))
	}

	// The network between a and the database is cut (its session ends).
	cut := time.Now()
	if _, err := b.db.Pool().Exec(ctx, "SELECT pg_terminate_backend($1)", lockHolderPID(t, b.db)); err != nil {
		t.Fatal(err)
	}
	if e := waitEpoch(t, a.stopped, 2*DefaultPing+2*time.Second, "a stops its duties"); e != e1 {
		t.Fatalf("a stopped epoch %d, want %d", e, e1)
	}
	e2 := waitEpoch(t, b.started, 10*time.Second, "b takes over")
	took := time.Since(cut)
	t.Logf("takeover %v after the leader's connection was cut", took)
	if e2 <= e1 {
		t.Fatalf("new epoch %d after %d", e2, e1)
	}
	if a.l.Leading() || !b.l.Leading() {
		t.Fatalf("after takeover: a leading %v, b leading %v", a.l.Leading(), b.l.Leading())
	}
	// a cannot claim anything now; b can.
	if err := a.db.MarkSending(ctx, due[0].ID); !errors.Is(err, ErrFenced) {
		t.Fatalf("deposed MarkSending: %v", err)
	}
	if err := a.db.MarkRetry(ctx, due[0].ID, "x", false); !errors.Is(err, ErrFenced) {
		t.Fatalf("deposed MarkRetry: %v", err)
	}
	if got, _ := a.db.ArticleByID(ctx, due[0].ID); got.State != articles.StatePending || got.Attempts != 0 {
		t.Fatalf("a fenced claim changed the article: %+v", got)
	}
	if err := b.db.MarkSending(ctx, due[0].ID); err != nil {
		t.Fatalf("leader's MarkSending: %v", err)
	}
	// a stands by again and does not get the lock back while b holds it.
	select {
	case <-a.started:
		t.Fatal("a took the lock from b")
	case <-time.After(DefaultRetry + time.Second):
	}
}

// An instance that holds an old epoch (it has not noticed the takeover
// yet) cannot claim, even though its own state still says it leads.
func TestStaleEpochIsFenced(t *testing.T) {
	url := pgtestURL(t)
	ctx := context.Background()
	old := openAt(t, url)
	cur := openAt(t, url)
	lead(t, cur, "current")
	if _, err := cur.RecordPoll(ctx, storetest.Poll("https://ex.com/feed", storetest.TenItems()...), 1); err != nil {
		t.Fatal(err)
	}
	due, _ := cur.Due(ctx, 0)
	old.epoch.Store(cur.Epoch() - 1) // what the deposed leader still holds
	if err := old.MarkSending(ctx, due[0].ID); !errors.Is(err, ErrFenced) {
		t.Fatalf("MarkSending with a stale epoch: %v", err)
	}
	if err := old.MarkFailed(ctx, due[0].ID, "400"); !errors.Is(err, ErrFenced) {
		t.Fatalf("MarkFailed with a stale epoch: %v", err)
	}
	// Recording a message that exists is never refused.
	if err := old.MarkPosted(ctx, due[0].ID, "m1"); err != nil {
		t.Fatalf("MarkPosted with a stale epoch: %v", err)
	}

	// Deliveries to channels (text, announcement, forum posts) and their
	// follow-ups (publishing, threads) are fenced the same way.
	p := storetest.RoutedPoll(storetest.TenItems(), articles.Route{Name: "r", Feeds: []string{storetest.FeedA}, ChannelID: "10"})
	if _, err := cur.RecordPoll(ctx, p, 2); err != nil {
		t.Fatal(err)
	}
	follow := articles.FollowUps{Publish: true, Thread: true}
	curPosts, oldPosts := cur.ChannelPosts("10", follow), old.ChannelPosts("10", follow)
	ds, err := curPosts.Due(ctx, 0)
	if err != nil || len(ds) != 2 {
		t.Fatalf("deliveries due = %v, %v", ds, err)
	}
	if err := oldPosts.MarkSending(ctx, ds[0].ID); !errors.Is(err, ErrFenced) {
		t.Fatalf("a stale epoch's delivery MarkSending: %v", err)
	}
	if err := curPosts.MarkSending(ctx, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := oldPosts.MarkRetry(ctx, ds[0].ID, "x", false); !errors.Is(err, ErrFenced) {
		t.Fatalf("a stale epoch's delivery MarkRetry: %v", err)
	}
	if err := curPosts.MarkPosted(ctx, ds[0].ID, "m10"); err != nil {
		t.Fatal(err)
	}
	if fs, err := cur.DueFollowUps(ctx, "10", articles.FollowPublish, time.Now(), 10); err != nil || len(fs) != 1 {
		t.Fatalf("leader's due publishes = %v, %v", fs, err)
	}
	if _, err := old.DueFollowUps(ctx, "10", articles.FollowThread, time.Now(), 10); !errors.Is(err, ErrFenced) {
		t.Fatalf("a stale epoch's due threads: %v", err)
	}
}

// A question is forwarded by whichever instance claims it first: a second
// claim fails while the first holds it, and after a failed attempt the
// question is free again.
func TestForwardClaim(t *testing.T) {
	db := openDB(t)
	other := openAt(t, pgURL(t, db))
	ctx := context.Background()
	now := time.Now()
	id, err := db.CreateQuestion(ctx, &commands.Question{UserID: "500", Text: "q", AskedAt: now, NextAttempt: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.MarkForwardAttempt(ctx, id, now); err != nil {
		t.Fatalf("first claim: %v", err)
	}
	if err := other.MarkForwardAttempt(ctx, id, now.Add(time.Second)); !errors.Is(err, ErrClaimed) {
		t.Fatalf("second claim: %v", err)
	}
	if due, _ := other.DueForwards(ctx, now.Add(90*time.Second), 10); len(due) != 0 {
		t.Fatalf("a claimed question is due elsewhere: %+v", due)
	}
	// The claimer dies: the claim ends with its lease.
	later := now.Add(forwardLease + time.Second)
	if due, _ := other.DueForwards(ctx, later, 10); len(due) != 1 {
		t.Fatalf("an abandoned claim is not due again: %+v", due)
	}
	if err := other.MarkForwardFailed(ctx, id, now, "503"); err != nil {
		t.Fatal(err)
	}
	if err := other.MarkForwardAttempt(ctx, id, now.Add(2*time.Second)); err != nil {
		t.Fatalf("claim after a failed attempt: %v", err)
	}
	if q, _ := other.Question(ctx, id); q.ForwardAttempts != 2 {
		t.Fatalf("attempts = %d", q.ForwardAttempts)
	}
	if err := other.MarkForwarded(ctx, id, "team", "m1", now); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkForwardAttempt(ctx, id, later.Add(time.Hour)); err == nil {
		t.Fatal("a forwarded question was claimed")
	}
}

// An answer is delivered by one instance at a time: a second delivery's
// claim fails while the first holds it, and the retry loops do not list it.
func TestAnswerClaim(t *testing.T) {
	db := openDB(t)
	other := openAt(t, pgURL(t, db))
	ctx := context.Background()
	now := time.Now()
	qid, err := db.CreateQuestion(ctx, &commands.Question{UserID: "500", Text: "q", AskedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	aid, err := db.AddAnswer(ctx, &commands.Answer{QuestionID: qid, Text: "a", CreatedAt: now.Add(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.MarkAnswerAttempt(ctx, aid); err != nil {
		t.Fatalf("first claim: %v", err)
	}
	if err := other.MarkAnswerAttempt(ctx, aid); !errors.Is(err, ErrClaimed) {
		t.Fatalf("second claim: %v", err)
	}
	if due, _ := other.DueAnswers(ctx, time.Now(), 10); len(due) != 0 {
		t.Fatalf("a claimed answer is due elsewhere: %+v", due)
	}
	if err := db.MarkAnswerRetry(ctx, aid, now, "503"); err != nil {
		t.Fatal(err)
	}
	if due, _ := other.DueAnswers(ctx, time.Now(), 10); len(due) != 1 {
		t.Fatalf("an answer given back is not due: %+v", due)
	}
	if err := other.MarkAnswerAttempt(ctx, aid); err != nil {
		t.Fatalf("claim after a retry: %v", err)
	}
	if err := other.MarkAnswerDelivered(ctx, aid, commands.DeliveredDM, "dm1", now); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkAnswerAttempt(ctx, aid); err == nil || errors.Is(err, ErrClaimed) {
		t.Fatalf("claim of a delivered answer: %v", err)
	}
}

// A leader that stops cleanly tells the standbys: one takes over at once,
// not at its next periodic try (here an hour away).
func TestCleanStopHandsOverAtOnce(t *testing.T) {
	url := pgtestURL(t)
	a := startInstance(t, url, "a")
	waitEpoch(t, a.started, 10*time.Second, "a leads")
	b := &instance{db: openAt(t, url), started: make(chan int64, 10), stopped: make(chan int64, 10), done: make(chan struct{})}
	tried := make(chan struct{}, 10)
	b.l = b.db.NewLeader(LeaderOptions{
		Holder: "b",
		Log:    slog.New(slog.DiscardHandler),
		Retry:  time.Hour,
		Ready:  func(context.Context) error { tried <- struct{}{}; return nil },
		Lead: func(ctx context.Context, epoch int64) {
			b.started <- epoch
			<-ctx.Done()
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	go func() { defer close(b.done); b.l.Run(ctx) }()
	t.Cleanup(b.stop)
	// b has tried the lock and found it taken: its lock session is idle
	// after pg_try_advisory_lock (the server offers no event to wait on).
	holder := lockHolderPID(t, a.db)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := a.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'newsbot leader lock' AND pid <> $1 AND state = 'idle'
			AND query LIKE 'SELECT pg_try_advisory_lock%'`, holder).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("b never tried the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.stop()
	waitEpoch(t, b.started, 10*time.Second, "b takes over when a steps down")
	if n := len(tried); n != 2 {
		t.Fatalf("b led after %d tries, want 2 (the second on a's notice)", n)
	}
}
