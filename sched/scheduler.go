// Package sched runs agents' scheduled prompts with gocron v2 and posts
// their reports to chat: interval (from the end of the previous run), cron
// (per-schedule time zone), one-shot "at" and webhook schedules; no overlap
// of a schedule with itself; exactly-once slots across restarts through
// State.ClaimSlot; catch-up after downtime; hot reload with Apply.
package sched

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
)

// Runner runs one prompt of an agent and blocks until it ends, waiting for a
// slot under the agent's concurrency cap first. agents.Fleet implements it.
type Runner interface {
	Run(ctx context.Context, req agents.RunRequest) (agents.RunResult, error)
}

// Poster posts a message to a chat target as agent's bot.
type Poster interface {
	Post(ctx context.Context, agent string, to bot.Target, m bot.Message) error
}

// State is the persistent state the scheduler needs; store.DB implements it.
type State interface {
	// ScheduleState returns agents.ErrNotFound when the schedule has none.
	ScheduleState(ctx context.Context, agent, name string) (agents.ScheduleState, error)
	PutScheduleState(ctx context.Context, s agents.ScheduleState) error
	ScheduleStates(ctx context.Context) ([]agents.ScheduleState, error)
	// ClaimSlot returns true exactly once per (agent, name, slot), ever.
	ClaimSlot(ctx context.Context, agent, name string, slot time.Time) (bool, error)
	Audit(ctx context.Context, e agents.AuditEntry) error
}

// Metrics records how late scheduled runs start and the audit rows the
// store did not take (metrics.Metrics implements it; a nil
// *metrics.Metrics is fine).
type Metrics interface {
	ScheduleLag(agent, schedule string, lag time.Duration)
	RecordLost(record string)
}

// Config configures a Scheduler. Every field is optional.
type Config struct {
	Clock    clockwork.Clock // nil = the real clock; tests pass a fake one
	Location *time.Location  // the fleet's time zone for cron schedules; nil = time.Local
	Metrics  Metrics
	// Redact masks secrets in error text before a failure report is
	// posted, and in the payload values the webhook endpoint puts into a
	// prompt; nil leaves text as is (the fleet's answers arrive redacted).
	Redact func(string) string
	// PostTimeout bounds posting a report and saving state after a run,
	// also when the run was cancelled by shutdown. 0 = 30 s.
	PostTimeout time.Duration
	// StopGrace is how long Run, once its ctx is done, lets scheduled runs
	// still going finish before it cancels them. The Runner is expected
	// to end them itself within its own grace (the fleet gives every run
	// the same grace period on shutdown, then interrupts it); this is the
	// backstop. 0 = 1 min.
	StopGrace time.Duration
}

// Errors.
var (
	ErrUnknownSchedule = errors.New("unknown schedule")
	ErrBusy            = errors.New("schedule is already running")
	ErrStopped         = errors.New("scheduler stopped")
)

// Scheduler owns the gocron scheduler and the schedules applied to it.
//
// Lifecycle: New, then Apply (any number of times, before or during Run),
// then Run, which starts firing, handles catch-up of missed slots and blocks
// until its ctx is done. List, Trigger and the Webhooks endpoint work with or
// without Run (herdbot schedules and herdbot trigger call them directly).
type Scheduler struct {
	cfg   Config
	clock clockwork.Clock
	loc   *time.Location
	run   Runner
	post  Poster
	st    State
	log   *slog.Logger
	gs    gocron.Scheduler

	applyMu sync.Mutex    // serialises Apply with Run's start and stop
	started bool          // Run has activated the schedules (under applyMu)
	stopped bool          // Run has returned or is returning (under applyMu)
	quit    chan struct{} // closed when Run stops: no new fires
	abort   chan struct{} // closed StopGrace later: cancel the runs still going

	mu      sync.Mutex
	entries map[string]*entry
	busy    map[string]bool // schedule key → a run is going
	closing bool            // no new fires (under mu)
	flight  sync.WaitGroup  // fires in progress

	saveMu sync.Mutex // orders state writes

	// onFire, set only by tests before Run, hears how each fire ended.
	onFire func(key string, slot time.Time, outcome string)
}

// New returns a Scheduler with no schedules. run, post and st are required.
func New(cfg Config, run Runner, post Poster, st State, log *slog.Logger) (*Scheduler, error) {
	if run == nil || post == nil || st == nil {
		return nil, errors.New("new scheduler: runner, poster and state are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.PostTimeout <= 0 {
		cfg.PostTimeout = 30 * time.Second
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = time.Minute
	}
	gs, err := gocron.NewScheduler(
		gocron.WithClock(cfg.Clock),
		gocron.WithLocation(cfg.Location),
		gocron.WithLogger(log.With("component", "gocron")),
		gocron.WithStopTimeout(cfg.PostTimeout+5*time.Second),
	)
	if err != nil {
		return nil, fmt.Errorf("new scheduler: %w", err)
	}
	return &Scheduler{
		cfg: cfg, clock: cfg.Clock, loc: cfg.Location,
		run: run, post: post, st: st, log: log.With("component", "sched"), gs: gs,
		quit:    make(chan struct{}),
		abort:   make(chan struct{}),
		entries: map[string]*entry{},
		busy:    map[string]bool{},
	}, nil
}

// Run activates the applied schedules (running or skipping the slots missed
// while herdbot was down, per CatchUp), starts firing and blocks until ctx
// is done. It then fires nothing new and lets running jobs end (the
// Runner's own shutdown ends them; after StopGrace they are cancelled),
// waits for their reports and returns nil. Run may be called once.
func (s *Scheduler) Run(ctx context.Context) error {
	s.applyMu.Lock()
	if s.started || s.stopped {
		s.applyMu.Unlock()
		return errors.New("scheduler: Run called twice")
	}
	s.started = true
	for _, e := range s.sortedEntries() {
		if err := s.activate(ctx, e, !e.fresh); err != nil {
			s.log.Error("activate schedule", "agent", e.s.Agent, "schedule", e.s.Name, "err", err)
		}
	}
	s.gs.Start()
	s.applyMu.Unlock()
	s.log.Info("scheduler started")

	<-ctx.Done()

	s.applyMu.Lock()
	abort := s.clock.AfterFunc(s.cfg.StopGrace, func() { close(s.abort) })
	s.stopped = true
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	close(s.quit)
	s.applyMu.Unlock()

	err := s.gs.Shutdown()
	s.flight.Wait()
	abort.Stop()
	if err != nil {
		s.log.Warn("gocron shutdown", "err", err)
	}
	s.log.Info("scheduler stopped")
	return nil
}

// enter registers a fire in progress; false once Run is stopping.
func (s *Scheduler) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.flight.Add(1)
	return true
}

// detach returns a context for a run: not cancelled when gocron removes or
// replaces the job (a hot reload lets a running run finish), nor when Run
// stops (the Runner's shutdown gives every run the same grace), but
// StopGrace after that. The returned cancel waits for its watcher
// goroutine.
func (s *Scheduler) detach(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-s.abort:
			cancel()
		case <-ctx.Done():
		}
	})
	return ctx, func() { cancel(); wg.Wait() }
}

// afterCtx is the context for reporting and saving state after a run:
// it outlives a cancelled run ctx, bounded by PostTimeout.
func (s *Scheduler) afterCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PostTimeout)
}

// tryBusy marks key running; false if it already is.
func (s *Scheduler) tryBusy(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[key] {
		return false
	}
	s.busy[key] = true
	return true
}

func (s *Scheduler) unbusy(key string) {
	s.mu.Lock()
	delete(s.busy, key)
	s.mu.Unlock()
}
