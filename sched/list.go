package sched

import (
	"time"
)

// Info describes one schedule for herdbot schedules.
type Info struct {
	Schedule   Schedule    // Secret is blanked
	Next       []time.Time // the next three nominal fire times (none when disabled or a webhook)
	LastRun    time.Time
	LastStatus string // the last run's job status, or "error"; "" if it never ran
	LastJob    string
	Running    bool
}

// List returns every applied schedule, by agent and name, with its next
// three fire times after now and its last outcome.
func (s *Scheduler) List(now time.Time) []Info {
	entries := s.sortedEntries()
	out := make([]Info, 0, len(entries))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		sc := e.s
		sc.Secret = ""
		in := Info{
			Schedule: sc, LastRun: e.st.LastRun, LastStatus: e.st.LastStatus,
			LastJob: e.st.LastJob, Running: s.busy[sc.Key()],
		}
		if e.timed() {
			in.Next = e.upcoming(now, 3)
		}
		out = append(out, in)
	}
	return out
}

// upcoming is NextRuns anchored on the planned slot when there is one (an
// interval counts from the end of the last run). Call with mu held.
func (e *entry) upcoming(now time.Time, n int) []time.Time {
	if e.s.Type == TypeInterval && e.due.After(now) {
		return append([]time.Time{e.due}, NextRuns(e.s, e.due, n-1)...)
	}
	if e.s.Type == TypeAt && !e.st.LastRun.Before(e.s.At) {
		return nil // ran already
	}
	return NextRuns(e.s, now, n)
}
