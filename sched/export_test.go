package sched

import (
	"time"

	"github.com/jonboulle/clockwork"
)

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

// GocronNext is the next fire time gocron is given for a cron expression
// planned from t when clk reads now.
func GocronNext(expr string, clk clockwork.Clock, t time.Time) (time.Time, error) {
	c, err := parseCron(expr, time.UTC)
	if err != nil {
		return time.Time{}, err
	}
	return firing{c, clk}.Next(t), nil
}
