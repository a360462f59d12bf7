// Package bottest holds shared fakes for tests of chat adapters and of the
// code that drives them.
package bottest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/herdbot/herdbot/bot"
)

// Wait is how long [Recorder.WaitFor] waits before failing the test.
const Wait = 10 * time.Second

// Recorder is a bot.Handler that records every message, command and action
// it is given, in arrival order, and lets a test wait for them. Hooks set
// with [Recorder.OnCommand] and [Recorder.OnAction] decide the answers (and
// may block, to play a slow handler).
//
// The zero value is ready to use; all methods are safe for concurrent use.
type Recorder struct {
	mu        sync.Mutex
	msgs      []bot.Inbound
	cmds      []bot.Command
	acts      []bot.Action
	changed   chan struct{} // closed and replaced on every record
	onCommand func(bot.Command) bot.Reply
	onAction  func(bot.Action) bot.ActionResult
}

// NewRecorder returns an empty Recorder without hooks.
func NewRecorder() *Recorder { return &Recorder{} }

// OnCommand sets the hook that answers commands, replacing any earlier one,
// and returns r. Without a hook a command gets the public reply "ok <name>".
func (r *Recorder) OnCommand(hook func(bot.Command) bot.Reply) *Recorder {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onCommand = hook
	return r
}

// OnAction sets the hook that answers actions (button clicks), replacing
// any earlier one, and returns r. Without a hook an action gets the zero
// bot.ActionResult.
func (r *Recorder) OnAction(hook func(bot.Action) bot.ActionResult) *Recorder {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onAction = hook
	return r
}

// changedLocked returns the channel the next record closes.
func (r *Recorder) changedLocked() chan struct{} {
	if r.changed == nil {
		r.changed = make(chan struct{})
	}
	return r.changed
}

// notifyLocked wakes everyone waiting for a change.
func (r *Recorder) notifyLocked() {
	close(r.changedLocked())
	r.changed = make(chan struct{})
}

// HandleMessage records in.
func (r *Recorder) HandleMessage(_ context.Context, in bot.Inbound) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, in)
	r.notifyLocked()
}

// HandleCommand records c, then answers with the OnCommand hook (called
// without the lock held) or the default reply.
func (r *Recorder) HandleCommand(_ context.Context, c bot.Command) bot.Reply {
	r.mu.Lock()
	r.cmds = append(r.cmds, c)
	r.notifyLocked()
	hook := r.onCommand
	r.mu.Unlock()
	if hook != nil {
		return hook(c)
	}
	return bot.Reply{Message: bot.Message{Text: "ok " + c.Name}}
}

// HandleAction records a, then answers with the OnAction hook (called
// without the lock held) or the zero result.
func (r *Recorder) HandleAction(_ context.Context, a bot.Action) bot.ActionResult {
	r.mu.Lock()
	r.acts = append(r.acts, a)
	r.notifyLocked()
	hook := r.onAction
	r.mu.Unlock()
	if hook != nil {
		return hook(a)
	}
	return bot.ActionResult{}
}

// Messages returns a copy of the messages recorded so far.
func (r *Recorder) Messages() []bot.Inbound {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Inbound(nil), r.msgs...)
}

// Commands returns a copy of the commands recorded so far.
func (r *Recorder) Commands() []bot.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Command(nil), r.cmds...)
}

// Actions returns a copy of the actions recorded so far.
func (r *Recorder) Actions() []bot.Action {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Action(nil), r.acts...)
}

// Changed returns a channel that is closed when the next message, command
// or action is recorded.
func (r *Recorder) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changedLocked()
}

// WaitFor waits until cond holds, checking it now and after every record,
// and fails the test naming what after [Wait]. cond is called without the
// lock held, so it may call Messages, Commands and Actions.
func (r *Recorder) WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	timer := time.NewTimer(Wait)
	defer timer.Stop()
	for {
		ch := r.Changed() // before cond: a record in between is not missed
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// WaitMessages waits until at least n messages are recorded and returns
// them all.
func (r *Recorder) WaitMessages(t testing.TB, n int) []bot.Inbound {
	t.Helper()
	r.WaitFor(t, "handled messages", func() bool { return len(r.Messages()) >= n })
	return r.Messages()
}
