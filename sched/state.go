package sched

import (
	"context"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
)

// save applies mutate to the schedule's in-memory state, sets NextRun to
// the planned slot and writes it. e is the entry the caller worked with; if
// Apply replaced it meanwhile, the current entry's state is the one
// updated, and a removed schedule keeps no NextRun. With force false an
// unchanged state is not written.
func (s *Scheduler) save(ctx context.Context, e *entry, force bool, mutate func(*agents.ScheduleState)) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	target := e
	cur, ok := s.entries[e.s.Key()]
	if ok {
		target = cur
	}
	before := target.st
	if mutate != nil {
		mutate(&target.st)
	}
	target.st.Agent, target.st.Name = e.s.Agent, e.s.Name
	target.st.NextRun = target.due
	if !ok {
		target.st.NextRun = time.Time{}
	}
	st := target.st
	s.mu.Unlock()
	if !force && sameState(before, st) {
		return nil
	}
	return s.st.PutScheduleState(ctx, st)
}

// saveNext writes the planned NextRun if it changed.
func (s *Scheduler) saveNext(ctx context.Context, e *entry) error {
	return s.save(ctx, e, false, nil)
}

func sameState(a, b agents.ScheduleState) bool {
	return a.Agent == b.Agent && a.Name == b.Name && a.LastRun.Equal(b.LastRun) &&
		a.NextRun.Equal(b.NextRun) && a.LastStatus == b.LastStatus && a.LastJob == b.LastJob
}

func hasTarget(t bot.Target) bool { return t != bot.Target{} }
