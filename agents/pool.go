package agents

import (
	"context"
	"fmt"
	"time"
)

// warmConn is an idle agent process kept for its conversation.
type warmConn struct {
	conn    Conn
	session string
	model   string // the --model it was started with ("" = the agent's)
	since   time.Time
	timer   *ownedTimer // closes it when idle too long
}

// acquire returns a process for rs: the conversation's warm one when it
// holds the same session and model (warm is then true), else a new one
// resuming session ("" = fresh) with the model rs.model (a /model choice;
// "" = the agent's).
func (f *Fleet) acquire(ctx context.Context, rs *runState, session string) (conn Conn, warm bool, err error) {
	a := rs.a
	key := rs.p.convKey
	a.mu.Lock()
	if w, ok := a.idle[key]; ok && key != "" {
		delete(a.idle, key)
		w.timer.Stop()
		if w.session == session && session != "" && w.model == rs.model {
			a.mu.Unlock()
			return w.conn, true, nil
		}
		a.mu.Unlock()
		f.closeConn(ctx, a, w.conn)
		a.mu.Lock()
	}
	// Respect the per-agent process cap: stop the oldest idle process.
	for a.procs >= a.spec.MaxProcesses {
		oldest := ""
		for k, w := range a.idle {
			if oldest == "" || w.since.Before(a.idle[oldest].since) {
				oldest = k
			}
		}
		if oldest == "" {
			break // all busy; the concurrency cap bounds this
		}
		w := a.idle[oldest]
		delete(a.idle, oldest)
		w.timer.Stop()
		a.mu.Unlock()
		f.closeConn(ctx, a, w.conn)
		a.mu.Lock()
	}
	a.procs++
	f.procStarted(a)
	a.mu.Unlock()

	// Session grants are never handed to the CLI as rules: it asks, and
	// herdbot answers identical calls itself (broker.request).
	opts := a.spec.Options
	opts.Resume = session
	if rs.model != "" {
		opts.Model = rs.model
	}
	spec := a.spec.Sandbox
	spec.Agent = a.spec.Name
	spec.Job = rs.job.ID
	spec.Command = f.cfg.Runtime.Command(opts)
	proc, err := f.cfg.Backend.Start(ctx, spec)
	if err != nil {
		a.mu.Lock()
		a.procs--
		f.procEnded(a)
		a.mu.Unlock()
		return nil, false, fmt.Errorf("start agent %s: %w", a.spec.Name, err)
	}
	return f.cfg.Runtime.Attach(proc), false, nil
}

// release ends a turn's use of conn: a healthy warm process waits for the
// conversation's next message, anything else is closed.
func (f *Fleet) release(rs *runState, conn Conn, healthy bool) {
	a := rs.a
	key := rs.p.convKey
	if !healthy || !a.spec.Warm || key == "" || rs.job.SessionID == "" {
		f.closeConn(context.Background(), a, conn)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if old, ok := a.idle[key]; ok { // cannot happen with one run per conversation; be safe
		old.timer.Stop()
		delete(a.idle, key)
		f.wg.Add(1)
		go func() { defer f.wg.Done(); f.closeConn(context.Background(), a, old.conn) }()
	}
	w := &warmConn{conn: conn, session: rs.job.SessionID, model: rs.model, since: f.now()}
	w.timer = f.timers.after(a.spec.IdleTimeout, func() {
		a.mu.Lock()
		if a.idle[key] != w {
			a.mu.Unlock()
			return
		}
		delete(a.idle, key)
		a.mu.Unlock()
		f.closeConn(context.Background(), a, w.conn)
	})
	a.idle[key] = w
}

func (f *Fleet) closeConn(ctx context.Context, a *agentState, c Conn) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := c.Close(cctx); err != nil {
		f.log.Debug("agent process ended", "agent", a.spec.Name, "err", err)
	}
	a.mu.Lock()
	a.procs--
	f.procEnded(a)
	a.mu.Unlock()
}

// dropWarm closes the warm process of a conversation, if any.
func (f *Fleet) dropWarm(ctx context.Context, a *agentState, key string) {
	a.mu.Lock()
	w, ok := a.idle[key]
	if ok {
		delete(a.idle, key)
		w.timer.Stop()
	}
	a.mu.Unlock()
	if ok {
		f.closeConn(ctx, a, w.conn)
	}
}

// closeIdle closes every warm process.
func (f *Fleet) closeIdle(ctx context.Context) {
	for _, a := range f.allAgents() {
		f.closeIdleOf(ctx, a)
	}
}

// closeIdleOf closes an agent's warm processes.
func (f *Fleet) closeIdleOf(ctx context.Context, a *agentState) {
	a.mu.Lock()
	keys := make([]string, 0, len(a.idle))
	for k := range a.idle {
		keys = append(keys, k)
	}
	a.mu.Unlock()
	for _, k := range keys {
		f.dropWarm(ctx, a, k)
	}
}

// LiveProcesses returns how many agent processes an agent has (running
// or warm), for status and tests.
func (f *Fleet) LiveProcesses(agent string) int {
	a, err := f.agent(agent)
	if err != nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.procs
}
