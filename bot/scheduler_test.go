package bot

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// everyTick fires every d (cron's own schedules go no finer than a second).
type everyTick time.Duration

func (e everyTick) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

func TestNewSchedulerSpecs(t *testing.T) {
	for _, spec := range []string{"*/10 * * * *", "0 */5 * * * *", "@every 5m", "@hourly", "CRON_TZ=Europe/Paris 0 9 * * *"} {
		if _, err := NewScheduler(spec, func(context.Context) {}, nil); err != nil {
			t.Errorf("%q: %v", spec, err)
		}
	}
	for _, spec := range []string{"", "* * *", "@every", "CRON_TZ=Nowhere/None * * * * *", "61 * * * *"} {
		if _, err := NewScheduler(spec, func(context.Context) {}, nil); err == nil || !strings.Contains(err.Error(), "bot: schedule") {
			t.Errorf("%q: err %v", spec, err)
		}
	}
	s, err := NewScheduler("CRON_TZ=UTC 30 9 * * *", func(context.Context) {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)
	if got, want := s.Next(from), time.Date(2024, 1, 2, 9, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("next %v, want %v", got, want)
	}
}

func TestSchedulerRunsAtOnceAndStopsAfterJob(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	var finished atomic.Bool
	var jobCtxDone atomic.Bool
	s, err := NewScheduler("@every 1h", func(ctx context.Context) {
		close(started)
		<-release
		jobCtxDone.Store(ctx.Err() != nil)
		finished.Store(true)
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	<-started // the first run comes at once, not after an hour
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned while the job was still running")
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !finished.Load() || !jobCtxDone.Load() {
		t.Errorf("finished %v, job saw ctx done %v", finished.Load(), jobCtxDone.Load())
	}
}

func TestSchedulerNoOverlapAndRecover(t *testing.T) {
	var (
		mu      sync.Mutex
		running int
		maxRun  int
		runs    int
	)
	first := make(chan struct{})
	release := make(chan struct{})
	third := make(chan struct{})
	logs := &logBuf{}
	s := newScheduler(everyTick(2*time.Millisecond), func(ctx context.Context) {
		mu.Lock()
		running++
		runs++
		n := runs
		maxRun = max(maxRun, running)
		mu.Unlock()
		defer func() {
			mu.Lock()
			running--
			mu.Unlock()
		}()
		switch n {
		case 1:
			close(first)
			<-release // ticks come meanwhile and must be skipped
		case 2:
			panic("boom")
		case 3:
			close(third)
		}
	}, slog.New(slog.NewTextHandler(logs, nil)))
	skipped := logs.logged("this run skipped")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	<-first
	<-skipped // a tick came while the first run was going
	close(release)
	<-third // the run after the panic still happened
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if maxRun != 1 {
		t.Errorf("%d runs overlapped", maxRun)
	}
	if logs.count("scheduled run panicked") != 1 || logs.count("boom") == 0 {
		t.Errorf("panic not logged once:\n%s", logs.b.String())
	}
}
