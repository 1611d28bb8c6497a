package bot

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/newsbot/newsbot/internal/config"
	"github.com/robfig/cron/v3"
)

// Scheduler runs a job at once and then on a cron schedule (POST_SCHEDULE),
// never two runs at a time, with panics recovered.
type Scheduler struct {
	sched cron.Schedule
	job   func(context.Context)
	log   *slog.Logger
}

// NewScheduler parses spec with config.ScheduleParser (five or six fields,
// descriptors such as "@every 5m", a CRON_TZ= prefix).
func NewScheduler(spec string, job func(context.Context), log *slog.Logger) (*Scheduler, error) {
	sched, err := config.ScheduleParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("bot: schedule %q: %w", spec, err)
	}
	return newScheduler(sched, job, log), nil
}

func newScheduler(sched cron.Schedule, job func(context.Context), log *slog.Logger) *Scheduler {
	if log == nil {
		log = slog.Default()
	}
	return &Scheduler{sched: sched, job: job, log: log}
}

// Next returns the first scheduled run after t.
func (s *Scheduler) Next(t time.Time) time.Time { return s.sched.Next(t) }

// Run runs the job at once, then on schedule, until ctx is done; then it
// waits for a running job (which sees ctx done) and returns nil. A tick that
// comes while the job still runs is skipped.
func (s *Scheduler) Run(ctx context.Context) error {
	routine := cronLogger{log: s.log, info: slog.LevelDebug}
	// One wrapped job serves the first run and every tick, so that
	// SkipIfStillRunning keeps them all apart. Recover sits inside it: a
	// panic escaping SkipIfStillRunning would keep its token, skipping every
	// later run.
	job := cron.NewChain(
		cron.SkipIfStillRunning(cronLogger{log: s.log, info: slog.LevelWarn, skip: true}),
		cron.Recover(routine),
	).Then(cron.FuncJob(func() { s.job(ctx) }))
	c := cron.New(cron.WithLogger(routine))
	c.Schedule(s.sched, job)

	var first sync.WaitGroup
	first.Add(1)
	go func() {
		defer first.Done()
		job.Run()
	}()
	c.Start()
	s.log.Debug("scheduler started", slog.Time("next", s.sched.Next(time.Now())))

	<-ctx.Done()
	<-c.Stop().Done()
	first.Wait()
	return nil
}

// cronLogger adapts slog to cron.Logger; cron's Info messages go at level
// info (debug for its routine chatter, warn for skipped runs).
type cronLogger struct {
	log  *slog.Logger
	info slog.Level
	skip bool
}

func (l cronLogger) Info(msg string, kv ...any) {
	if l.skip && msg == "skip" {
		msg = "previous run still going; this run skipped"
	} else {
		msg = "cron: " + msg
	}
	l.log.Log(context.Background(), l.info, msg, kv...)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	if msg == "panic" {
		msg = "scheduled run panicked"
	}
	l.log.Error(msg, append([]any{slog.Any("error", err)}, kv...)...)
}
