package agents

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// TestTimerSetOwnsItsTimers: a timer fires on the set's clock; Stop keeps
// a timer from firing; the set's stop waits for a func that is running,
// and no timer fires after it (one pending then, or one started later).
func TestTimerSetOwnsItsTimers(t *testing.T) {
	clk := clockwork.NewFakeClock()
	s := newTimerSet(clk)
	fired := make(chan string, 4)
	release := make(chan struct{})
	s.after(time.Minute, func() { fired <- "running"; <-release })
	stopped := s.after(time.Minute, func() { fired <- "stopped" })
	s.after(time.Hour, func() { fired <- "pending" })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop of a live timer reports true once")
	}
	clk.Advance(time.Minute)
	if got := <-fired; got != "running" {
		t.Fatalf("fired %q, want running", got)
	}
	done := make(chan struct{})
	go func() { s.stop(); close(done) }()
	select {
	case <-done:
		t.Fatal("stop returned while a timer's func was running")
	case <-time.After(50 * time.Millisecond): // the func still holds: stop must still wait
	}
	close(release)
	<-done
	s.after(0, func() { fired <- "after stop" })
	clk.Advance(2 * time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	select {
	case got := <-fired:
		t.Fatalf("%q fired after stop", got)
	case <-ctx.Done():
	}
}
