package agents

import (
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// timerSet starts the fleet's timers (approval expiry, idle processes, run
// timeouts) on the fleet's clock and owns them: a timer's func runs on a
// goroutine the set waits for, and stop stops every timer that has not
// fired and waits for the funcs that are running.
type timerSet struct {
	clock   clockwork.Clock
	mu      sync.Mutex
	stopped bool
	live    map[*ownedTimer]struct{} // started, not fired, not stopped
	running sync.WaitGroup           // funcs running (Add under mu, while not stopped)
}

// ownedTimer is one timer of a timerSet.
type ownedTimer struct {
	set *timerSet
	t   clockwork.Timer // nil: started after the set stopped (never fires)
}

func newTimerSet(clock clockwork.Clock) *timerSet {
	return &timerSet{clock: clock, live: map[*ownedTimer]struct{}{}}
}

// after calls fn on its own goroutine once d has passed on the clock,
// unless the timer or the set is stopped first.
func (s *timerSet) after(d time.Duration, fn func()) *ownedTimer {
	ot := &ownedTimer{set: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ot
	}
	s.live[ot] = struct{}{}
	ot.t = s.clock.AfterFunc(d, func() {
		s.mu.Lock()
		if _, ok := s.live[ot]; !ok || s.stopped {
			s.mu.Unlock()
			return
		}
		delete(s.live, ot)
		s.running.Add(1)
		s.mu.Unlock()
		defer s.running.Done()
		fn()
	})
	return ot
}

// Stop keeps the timer's func from running if it has not started. It
// reports whether it did.
func (t *ownedTimer) Stop() bool {
	if t == nil || t.set == nil {
		return false
	}
	s := t.set
	s.mu.Lock()
	_, live := s.live[t]
	delete(s.live, t)
	s.mu.Unlock()
	if t.t != nil {
		t.t.Stop()
	}
	return live
}

// stop stops every timer not fired yet and waits for the funcs running.
// Timers started later never fire.
func (s *timerSet) stop() {
	s.mu.Lock()
	s.stopped = true
	for ot := range s.live {
		ot.t.Stop()
	}
	clear(s.live)
	s.mu.Unlock()
	s.running.Wait()
}
