package agents

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/herdbot/herdbot/bot"
)

// queuedRun starts, on its own goroutine, a RunRequest that resumes the
// rig's conversation c1 and so waits in its queue (the agent's only slot
// is busy). It returns the requester's cancel and where Run's error goes.
func (r *intakeRig) queuedRun(t *testing.T) (context.CancelFunc, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := r.f.Run(ctx, RunRequest{Agent: "garden", Prompt: "report", Trigger: TriggerSchedule, Resume: true,
			Target: bot.Target{Platform: bot.Discord, Space: "g", Channel: "c1"}})
		errc <- err
	}()
	synctest.Wait() // Run waits in the queue
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if u := r.f.intakes["garden"].users["run:"+TriggerSchedule]; u == nil || len(u.queue) != 1 {
		t.Fatal("the resumed run is not waiting in the conversation's queue")
	}
	return cancel, errc
}

// idle reports whether the rig's fleet has nothing queued or running in
// any conversation.
func (r *intakeRig) idle() bool {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	for _, u := range r.f.intakes["garden"].users {
		if len(u.queue) > 0 {
			return false
		}
	}
	return len(r.f.convs) == 0
}

// TestRunRequestWaitingInTheQueue: a RunRequest that resumes a
// conversation waits in its queue on its requester's goroutine and
// context: cancelled while waiting, it leaves the queue and returns the
// context's error; cancelled just as it is dispatched, it gives the slot
// back without running; drained at shutdown, it returns ErrShuttingDown.
func TestRunRequestWaitingInTheQueue(t *testing.T) {
	t.Run("cancelled while waiting", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newIntakeRig(t, AgentSpec{QueueMax: 10})
			cancel, errc := r.queuedRun(t)
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Fatalf("Run: %v, want context.Canceled", err)
			}
			if !r.idle() || len(r.a.slots) != 1 {
				t.Fatalf("after the cancel: idle %v, slots taken %d (want the busy one only)", r.idle(), len(r.a.slots))
			}
		})
	})
	t.Run("cancelled as it is dispatched", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newIntakeRig(t, AgentSpec{QueueMax: 10})
			cancel, errc := r.queuedRun(t)
			// The busy run ends and the requester gives up at once: the
			// slot goes to the queued run, whose context is done.
			r.f.mu.Lock()
			cancel()
			<-r.a.slots
			r.f.dispatchLocked("garden")
			r.f.mu.Unlock()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Fatalf("Run: %v, want context.Canceled", err)
			}
			if !r.idle() || len(r.a.slots) != 0 {
				t.Fatalf("after the cancel: idle %v, slots taken %d (want none)", r.idle(), len(r.a.slots))
			}
		})
	})
	t.Run("drained at shutdown", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newIntakeRig(t, AgentSpec{QueueMax: 10})
			cancel, errc := r.queuedRun(t)
			defer cancel()
			r.f.drainAll()
			if err := <-errc; !errors.Is(err, ErrShuttingDown) {
				t.Fatalf("Run: %v, want ErrShuttingDown", err)
			}
			if !r.idle() {
				t.Fatal("the drained run is still queued")
			}
		})
	})
}
