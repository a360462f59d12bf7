package sched

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/herdbot/herdbot/agents"
)

// entry is one applied schedule. Fields other than s (set at creation) and
// jobs (under applyMu) are guarded by Scheduler.mu.
type entry struct {
	s    Schedule
	cron *cronSpec // TypeCron

	jobs  []gocron.Job // the regular job and any catch-up job (under applyMu)
	fresh bool         // changed by Apply before Run: start from now, no catch-up

	due     time.Time // the next nominal slot; zero = none planned
	catchUp time.Time // interval/at: the first fire runs this missed slot
	st      agents.ScheduleState
}

func newEntry(s Schedule, loc *time.Location) (*entry, error) {
	if s.Type == TypeCron {
		s.Location = locOr(s.Location, loc)
		c, err := parseCron(s.Cron, s.Location)
		if err != nil {
			return nil, err
		}
		return &entry{s: s, cron: c}, nil
	}
	return &entry{s: s}, nil
}

// timed reports whether e fires on its own (not a webhook, enabled).
func (e *entry) timed() bool { return e.s.Enabled && e.s.Type != TypeWebhook }

// nextSlot picks the slot a regular fire at now runs and plans the next
// one. catchUp is true when it is a missed slot run late on purpose; skipped
// counts cron slots passed over because a previous run was still going.
// Call with Scheduler.mu held.
func (e *entry) nextSlot(now time.Time) (slot time.Time, catchUp bool, skipped int) {
	switch e.s.Type {
	case TypeCron:
		slot = e.due
		if slot.IsZero() || slot.After(now) {
			// Not planned, or fired before the planned time: take the
			// latest fire time not after now.
			slot = e.cron.Next(now.Add(-e.cron.minGap(now)))
			if slot.After(now) {
				slot = now.Truncate(time.Second)
			}
		}
		for n := e.cron.Next(slot); !n.IsZero() && !n.After(now); n = e.cron.Next(n) {
			slot = n
			skipped++
		}
		e.due = e.cron.Next(slot)
	case TypeInterval:
		if !e.catchUp.IsZero() {
			slot, catchUp, e.catchUp = e.catchUp, true, time.Time{}
		} else if slot = e.due; slot.IsZero() {
			slot = now
		}
		e.due = now.Add(e.s.Interval) // an estimate until the run ends
	case TypeAt:
		slot, catchUp = e.s.At, !e.catchUp.IsZero()
		e.catchUp, e.due = time.Time{}, time.Time{}
	}
	return slot, catchUp, skipped
}

// activate registers e's gocron jobs, first dealing with the slots missed
// while nothing ran it (when catchUp). Call with applyMu held.
func (s *Scheduler) activate(ctx context.Context, e *entry, catchUp bool) error {
	now := s.clock.Now()
	if !e.timed() {
		s.mu.Lock()
		e.due = time.Time{}
		s.mu.Unlock()
		return s.saveNext(ctx, e)
	}
	var runSlot, lastMissed time.Time
	total := 0
	if catchUp {
		s.mu.Lock()
		st := e.st
		s.mu.Unlock()
		var slots []time.Time
		slots, total = missedSlots(e.s, st, now)
		if total > 0 {
			lastMissed = slots[len(slots)-1]
			skip := slots
			if e.s.CatchUp == CatchUpOnce {
				runSlot, skip = lastMissed, slots[:len(slots)-1]
			}
			s.skipMissed(ctx, e.s, skip, total-len(slots))
		}
	}

	task := func(ctx context.Context) { s.fire(ctx, e, time.Time{}) }
	name := gocron.WithName(e.s.Key())
	var due time.Time
	var jobs []gocron.Job
	var err error
	add := func(def gocron.JobDefinition, fn func(context.Context), opts ...gocron.JobOption) {
		if err != nil {
			return
		}
		var j gocron.Job
		j, err = s.gs.NewJob(def, gocron.NewTask(fn), opts...)
		if err == nil {
			jobs = append(jobs, j)
		}
	}
	s.mu.Lock()
	st := e.st
	s.mu.Unlock()
	switch e.s.Type {
	case TypeCron:
		due = e.cron.Next(now)
		// WithStartDateTimePast: due may have passed by the time gocron
		// checks it (a second-granular cron at .999); gocron then moves
		// on to the next fire time itself.
		add(gocron.CronJob(e.s.Cron, true), task, name,
			gocron.WithCronImplementation(firing{e.cron, s.clock}), gocron.WithStartAt(gocron.WithStartDateTimePast(due)))
		if !runSlot.IsZero() {
			slot := runSlot
			add(gocron.OneTimeJob(gocron.OneTimeJobStartImmediately()),
				func(ctx context.Context) { s.fire(ctx, e, slot) },
				gocron.WithName(e.s.Key()+" catch-up"), gocron.WithLimitedRuns(1))
		}
	case TypeInterval:
		iv := gocron.DurationJob(e.s.Interval)
		opts := []gocron.JobOption{name, gocron.WithIntervalFromCompletion()}
		switch {
		case !runSlot.IsZero():
			due = runSlot
			opts = append(opts, gocron.WithStartAt(gocron.WithStartImmediately()))
		case !lastMissed.IsZero():
			due = lastMissed.Add(e.s.Interval)
		case catchUp && st.NextRun.After(now):
			due = st.NextRun
		default:
			due = now.Add(e.s.Interval)
		}
		if runSlot.IsZero() {
			opts = append(opts, gocron.WithStartAt(gocron.WithStartDateTimePast(due)))
		}
		add(iv, task, opts...)
	case TypeAt:
		switch {
		case !runSlot.IsZero():
			due = runSlot
			add(gocron.OneTimeJob(gocron.OneTimeJobStartImmediately()), task, name, gocron.WithLimitedRuns(1))
		case e.s.At.After(now) && st.LastRun.Before(e.s.At):
			due = e.s.At
			add(gocron.OneTimeJob(gocron.OneTimeJobStartDateTime(e.s.At)), task, name, gocron.WithLimitedRuns(1))
			if errors.Is(err, gocron.ErrOneTimeJobStartDateTimePast) {
				err = nil // At passed while we were setting up: run it now
				add(gocron.OneTimeJob(gocron.OneTimeJobStartImmediately()), task, name, gocron.WithLimitedRuns(1))
			}
		case st.LastRun.Before(e.s.At) && total == 0:
			s.log.Info("one-shot time has passed before the schedule was first seen; not running it",
				"agent", e.s.Agent, "schedule", e.s.Name, "at", e.s.At)
		}
	}
	if err != nil {
		s.removeJobs(jobs)
		return fmt.Errorf("schedule %s: %w", e.s.Key(), err)
	}
	s.mu.Lock()
	e.jobs, e.due = jobs, due
	if e.s.Type != TypeCron {
		e.catchUp = runSlot
	}
	s.mu.Unlock()
	return s.saveNext(ctx, e)
}

// deactivate removes e's gocron jobs; a run in progress finishes. Call with
// applyMu held.
func (s *Scheduler) deactivate(e *entry) {
	s.removeJobs(e.jobs)
	e.jobs = nil
}

func (s *Scheduler) removeJobs(jobs []gocron.Job) {
	for _, j := range jobs {
		if err := s.gs.RemoveJob(j.ID()); err != nil && !errors.Is(err, gocron.ErrJobNotFound) {
			s.log.Warn("remove job", "job", j.Name(), "err", err)
		}
	}
}

// skipMissed claims, logs and audits each skipped missed slot; more counts
// older slots beyond maxMissed, summarised in one row.
func (s *Scheduler) skipMissed(ctx context.Context, sc Schedule, slots []time.Time, more int) {
	log := s.log.With("agent", sc.Agent, "schedule", sc.Name)
	if more > 0 {
		log.Warn("missed slots skipped while down", "count", more, "catch_up", catchUpOf(sc))
		s.audit(ctx, sc, "schedule.skipped", "", fmt.Sprintf(`{"reason":"missed while down","slots":%d}`, more))
	}
	for _, slot := range slots {
		ok, err := s.st.ClaimSlot(ctx, sc.Agent, sc.Name, slot)
		if err != nil {
			log.Error("claim missed slot", "slot", slot, "err", err)
			continue
		}
		if !ok {
			continue // ran, or was skipped, before the restart
		}
		log.Info("missed slot skipped", "slot", slot, "catch_up", catchUpOf(sc))
		s.audit(ctx, sc, "schedule.skipped", slot.UTC().Format(time.RFC3339),
			`{"reason":"missed while down","catch_up":"`+catchUpOf(sc)+`"}`)
	}
}

func catchUpOf(sc Schedule) string {
	if sc.CatchUp == "" {
		return CatchUpSkip
	}
	return sc.CatchUp
}

func (s *Scheduler) audit(ctx context.Context, sc Schedule, action, subject, detail string) {
	err := s.st.Audit(ctx, agents.AuditEntry{
		Time: s.clock.Now(), Agent: sc.Agent, Actor: "schedule:" + sc.Name,
		Action: action, Subject: subject, Detail: detail,
	})
	if err != nil {
		s.log.Error("record lost: the store did not take it", "record", "audit", "action", action, "agent", sc.Agent, "schedule", sc.Name, "err", err)
		if s.cfg.Metrics != nil {
			s.cfg.Metrics.RecordLost("audit")
		}
	}
}

func (s *Scheduler) sortedEntries() []*entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*entry, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *entry) int {
		if a.s.Agent != b.s.Agent {
			if a.s.Agent < b.s.Agent {
				return -1
			}
			return 1
		}
		switch {
		case a.s.Name < b.s.Name:
			return -1
		case a.s.Name > b.s.Name:
			return 1
		}
		return 0
	})
	return out
}
