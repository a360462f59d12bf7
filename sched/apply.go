package sched

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/herdbot/herdbot/agents"
)

// Apply makes list the set of schedules, diffing by agent/name: new ones are
// added (after a restart, with their missed slots handled per CatchUp),
// removed ones stop (a run in progress finishes), changed ones take effect,
// and unchanged ones keep their timing. A change of prompt, target or other
// non-timing field keeps the timing too. If any schedule is invalid (or two
// share a key) nothing changes and the error says why.
func (s *Scheduler) Apply(ctx context.Context, list []Schedule) error {
	var errs []error
	seen := map[string]bool{}
	for _, sc := range list {
		if err := Validate(sc); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[sc.Key()] {
			errs = append(errs, fmt.Errorf("%w %s: defined twice", ErrInvalid, sc.Key()))
		}
		seen[sc.Key()] = true
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("apply schedules: %w", err)
	}

	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	running := s.started

	s.mu.Lock()
	old := s.entries
	s.mu.Unlock()

	next := make(map[string]*entry, len(list))
	var added, changed []*entry
	var removed []*entry
	for _, sc := range list {
		e, err := newEntry(sc, s.loc)
		if err != nil {
			return fmt.Errorf("apply schedules: %w", err)
		}
		key := sc.Key()
		prev, ok := old[key]
		switch {
		case !ok:
			st, err := s.st.ScheduleState(ctx, sc.Agent, sc.Name)
			if err != nil && !errors.Is(err, agents.ErrNotFound) {
				return fmt.Errorf("apply schedules: load state of %s: %w", key, err)
			}
			e.st = st
			next[key] = e
			added = append(added, e)
		case sameTiming(prev.s, e.s):
			s.mu.Lock()
			prev.s = e.s // prompt, target, secret… apply at the next fire
			s.mu.Unlock()
			next[key] = prev
		default:
			s.mu.Lock()
			e.st = prev.st
			s.mu.Unlock()
			e.fresh = true
			next[key] = e
			changed = append(changed, e)
			removed = append(removed, prev)
		}
	}
	for key, prev := range old {
		if _, ok := next[key]; !ok {
			removed = append(removed, prev)
		}
	}

	if running {
		for _, e := range removed {
			s.deactivate(e)
		}
	}
	s.mu.Lock()
	s.entries = next
	s.mu.Unlock()
	for _, e := range removed {
		if _, ok := next[e.s.Key()]; ok {
			continue
		}
		if err := s.saveNext(ctx, e); err != nil { // forget NextRun: no catch-up if re-added
			errs = append(errs, err)
		}
		s.log.Info("schedule removed", "agent", e.s.Agent, "schedule", e.s.Name)
	}
	if running {
		for _, e := range slices.Concat(added, changed) {
			if err := s.activate(ctx, e, !e.fresh); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, e := range added {
		s.log.Info("schedule added", "agent", e.s.Agent, "schedule", e.s.Name, "type", e.s.Type)
	}
	for _, e := range changed {
		s.log.Info("schedule changed", "agent", e.s.Agent, "schedule", e.s.Name, "type", e.s.Type)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("apply schedules: %w", err)
	}
	return nil
}

// sameTiming reports whether a and b fire at the same times. CatchUp is not
// timing: it is read when the schedule is next activated (a restart).
func sameTiming(a, b Schedule) bool {
	return a.Type == b.Type && a.Enabled == b.Enabled && a.Interval == b.Interval &&
		a.Cron == b.Cron && locName(a) == locName(b) && a.At.Equal(b.At) &&
		a.Jitter == b.Jitter
}

func locName(s Schedule) string {
	if s.Location == nil {
		return ""
	}
	return s.Location.String()
}
