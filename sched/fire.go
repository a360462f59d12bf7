package sched

import (
	"context"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
)

// statusError is saved in ScheduleState.LastStatus besides the job statuses.
const statusError = "error" // the run could not start (no job)

// fire is the gocron task of a schedule. explicit, when not zero, is the
// missed slot a catch-up job runs.
//
// A schedule never overlaps itself: a fire while a run of it is going (a
// long scheduled run, a Trigger, a catch-up) is skipped, logged and audited.
// This is singleton mode done here rather than with gocron's
// WithSingletonMode, whose limiter is released only after the task returns
// (a fire in that gap would be dropped silently) and which cannot see runs
// started outside gocron. Interval jobs cannot overlap anyway: gocron arms
// the next one when a run ends (WithIntervalFromCompletion).
func (s *Scheduler) fire(jobCtx context.Context, e *entry, explicit time.Time) {
	if !s.enter() {
		return
	}
	defer s.flight.Done()
	var key, outcome string
	var slot time.Time
	if s.onFire != nil {
		defer func() { s.onFire(key, slot, outcome) }()
	}
	ctx, cancel := s.detach(jobCtx)
	defer cancel()

	now := s.clock.Now()
	s.mu.Lock()
	sc := e.s
	slot, catchUp, skipped := explicit, true, 0
	if explicit.IsZero() {
		slot, catchUp, skipped = e.nextSlot(now)
	}
	s.mu.Unlock()
	key, outcome = sc.Key(), fireCancelled
	log := s.log.With("agent", sc.Agent, "schedule", sc.Name, "slot", slot)
	if skipped > 0 {
		log.Warn("slots passed over: the previous run was still going", "count", skipped)
	}

	if !s.tryBusy(key) {
		outcome = fireBusy
		log.Warn("slot skipped: the schedule is already running")
		s.audit(ctx, sc, "schedule.overlap", slot.UTC().Format(time.RFC3339), `{"reason":"previous run still going"}`)
		s.finishSlot(ctx, e, sc, now)
		return
	}
	defer s.unbusy(key)

	due := slot
	if catchUp {
		due = now // a late run on purpose: no lag to speak of
	} else if off := jitterOffset(key, slot, sc.Jitter); off > 0 {
		due = slot.Add(off)
		if wait := due.Sub(s.clock.Now()); wait > 0 {
			select {
			case <-s.clock.After(wait):
			case <-ctx.Done():
				return
			case <-s.quit: // stopping before the run began: nothing to give a grace to
				return
			}
		}
	}

	ok, err := s.st.ClaimSlot(ctx, sc.Agent, sc.Name, slot)
	if err != nil {
		outcome = fireClaimError
		log.Error("claim slot: not running it", "err", err)
		s.finishSlot(ctx, e, sc, s.clock.Now())
		return
	}
	if !ok {
		outcome = fireDone
		log.Info("slot already ran (or was skipped) before; not running it again")
		s.finishSlot(ctx, e, sc, s.clock.Now())
		return
	}

	outcome = fireRan
	res, start, runErr := s.execute(ctx, e, sc, agents.TriggerSchedule, sc.Prompt, due)
	s.finish(ctx, e, sc, start, res, runErr)
}

// What became of a fire (for the test hook).
const (
	fireRan        = "ran"
	fireDone       = "done-before" // the slot was claimed before (a restart)
	fireBusy       = "busy"
	fireClaimError = "claim-error"
	fireCancelled  = "cancelled"
)

// finishSlot plans the next slot after a fire that did not run and saves it.
func (s *Scheduler) finishSlot(ctx context.Context, e *entry, sc Schedule, end time.Time) {
	s.advance(e, sc, end)
	actx, cancel := s.afterCtx(ctx)
	defer cancel()
	if err := s.saveNext(actx, e); err != nil {
		s.log.Error("save schedule state", "agent", sc.Agent, "schedule", sc.Name, "err", err)
	}
}

// advance plans an interval schedule's next slot from the end of a run.
func (s *Scheduler) advance(e *entry, sc Schedule, end time.Time) {
	if sc.Type != TypeInterval {
		return
	}
	s.mu.Lock()
	if e.catchUp.IsZero() {
		e.due = end.Add(sc.Interval)
	}
	s.mu.Unlock()
}

// finish records a run's start and outcome in the schedule state.
func (s *Scheduler) finish(ctx context.Context, e *entry, sc Schedule, start time.Time, res agents.RunResult, err error) {
	s.advance(e, sc, s.clock.Now())
	actx, cancel := s.afterCtx(ctx)
	defer cancel()
	outcome := outcomeOf(res, err)
	if err := s.save(actx, e, true, func(st *agents.ScheduleState) {
		st.LastRun = start
		st.LastStatus = outcome
		st.LastJob = res.Job.ID
	}); err != nil {
		s.log.Error("save schedule state", "agent", sc.Agent, "schedule", sc.Name, "err", err)
	}
}

// execute runs one prompt for sc, records lag against due (when not zero),
// logs the outcome and posts the report. It writes no state before the run
// (the slot claim is the only write on the way to a run); the caller saves
// the outcome with finish.
func (s *Scheduler) execute(ctx context.Context, e *entry, sc Schedule, trigger, prompt string, due time.Time) (agents.RunResult, time.Time, error) {
	start := s.clock.Now()
	res, err := s.run.Run(ctx, agents.RunRequest{
		Agent:    sc.Agent,
		Prompt:   prompt,
		Trigger:  trigger,
		Schedule: sc.Name,
		Target:   sc.PostTo,
		Silent:   true,
		Resume:   sc.ResumeSession,
	})
	end := s.clock.Now()
	log := s.log.With("agent", sc.Agent, "schedule", sc.Name, "trigger", trigger, "job", res.Job.ID)
	if !due.IsZero() {
		started := res.Job.Started
		if started.IsZero() {
			started = start
		}
		lag := max(started.Sub(due), 0)
		if s.cfg.Metrics != nil {
			s.cfg.Metrics.ScheduleLag(sc.Agent, sc.Name, lag)
		}
		log = log.With("lag", lag)
	}
	took := runDuration(res, end.Sub(start))
	outcome := outcomeOf(res, err)
	if err != nil {
		log.Warn("scheduled run failed", "outcome", outcome, "took", took, "err", s.redact(err.Error()))
	} else {
		log.Info("scheduled run done", "outcome", outcome, "took", took, "cost_usd", bot.RoundUSD(res.Job.CostUSD))
	}
	if hasTarget(sc.PostTo) {
		actx, cancel := s.afterCtx(ctx)
		defer cancel()
		if perr := s.post.Post(actx, sc.Agent, sc.PostTo, s.report(sc, res, err, took)); perr != nil {
			log.Error("post report", "err", perr)
		}
	}
	return res, start, err
}

func (s *Scheduler) redact(v string) string {
	if s.cfg.Redact == nil {
		return v
	}
	return s.cfg.Redact(v)
}

// outcomeOf names how a run ended: the job status, or "error" when the run
// did not produce a final job.
func outcomeOf(res agents.RunResult, err error) string {
	if res.Job.Status != "" && res.Job.Status.Final() {
		return string(res.Job.Status)
	}
	if err != nil {
		return statusError
	}
	return string(agents.JobSucceeded)
}

func runDuration(res agents.RunResult, measured time.Duration) time.Duration {
	if !res.Job.Started.IsZero() && res.Job.Finished.After(res.Job.Started) {
		return res.Job.Finished.Sub(res.Job.Started)
	}
	return measured
}
