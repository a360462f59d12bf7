package sched

import "time"

// JitterOffset exposes jitterOffset to the external tests.
var JitterOffset = jitterOffset

// JobNextRun is gocron's next run of the schedule's regular job (zero when
// it has none), to check what gocron planned rather than wait for nothing
// to happen.
func (s *Scheduler) JobNextRun(key string) time.Time {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.mu.Lock()
	e := s.entries[key]
	s.mu.Unlock()
	if e == nil || len(e.jobs) == 0 {
		return time.Time{}
	}
	t, err := e.jobs[0].NextRun()
	if err != nil {
		return time.Time{}
	}
	return t
}

// OnFire sets a hook called at the end of every fire with its outcome
// ("ran", "done-before", "busy", "claim-error", "cancelled"). Call before Run.
func (s *Scheduler) OnFire(f func(key string, slot time.Time, outcome string)) { s.onFire = f }
