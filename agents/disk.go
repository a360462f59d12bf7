package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/docker/go-units"
	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/internal/diskuse"
)

// ErrDiskLimit matches a *DiskError: a run refused or stopped because the
// agent's writable places take more disk space than its limit.
var ErrDiskLimit = errors.New("disk limit reached")

// DiskOptions configure how the fleet enforces AgentSpec.DiskLimit.
//
// An agent's writable places (its workspace unless read-only, and its
// state dir, which holds its HOME) are walked before each run, and while
// the agent has a process (running, or warm, which may have left a
// background job writing) every Interval, or sooner: every Poll the free
// space of their file systems is read (one statfs), and when it dropped by
// more than the agent's headroom under its limit since the last walk, the
// agent may be over it and is walked at once. Over the limit, new runs are
// refused and running ones stopped. So are they when those file systems
// have less than Reserve free, whatever the agent's own use: herdbot's
// state usually lives there too.
type DiskOptions struct {
	// Interval is the longest time between walks while the agent has a
	// process (default 10 s). The check before a run reuses a walk
	// younger than this.
	Interval time.Duration
	// Poll is how often the free space is read while the agent has a
	// process (default 1 s).
	Poll time.Duration
	// Fresh is how long a measurement taken while the agent had no
	// process at all stays good for the check before a run: nothing of
	// the agent's could write since (default 5 min; it bounds what the
	// operator changes by hand).
	Fresh time.Duration
	// Reserve is the free space kept on the file systems of an agent's
	// writable places (default 512 MiB).
	Reserve int64
	// MaxEntries bounds a walk (default diskuse.DefaultMaxEntries).
	// More entries than that counts as over the limit.
	MaxEntries int
	// Ticker makes the watcher's ticks every d (Poll) and returns a func
	// that stops them; nil: a ticker of the fleet's clock. Tests that
	// drive the watcher's ticks by hand, and nothing else, set it.
	Ticker func(d time.Duration) (<-chan time.Time, func())
}

func (o *DiskOptions) defaults(clock clockwork.Clock) {
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Fresh <= 0 {
		o.Fresh = 5 * time.Minute
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = diskuse.DefaultMaxEntries
	}
	if o.Reserve <= 0 {
		o.Reserve = 512 << 20
	}
	if o.Ticker == nil {
		o.Ticker = func(d time.Duration) (<-chan time.Time, func()) {
			t := clock.NewTicker(d)
			return t.Chan(), t.Stop
		}
	}
}

// DiskError says why a run was refused or stopped: the agent's writable
// places take more than its limit, hold more entries than herdbot walks,
// or could not be measured at all.
type DiskError struct {
	Agent   string
	What    string // what was measured: "workspace and HOME", "HOME"
	Used    int64  // bytes (a lower bound when Truncated)
	Limit   int64
	Entries int
	// Truncated: more than the walk's entry bound.
	Truncated bool
	// Free is set (with Reserve) when the file systems had less than
	// Reserve free.
	Free, Reserve int64
	// Err is why the use could not be measured (nil when it was).
	Err error
	// Stopped: found during a run, which was stopped; otherwise the run
	// was refused before it started.
	Stopped bool
}

func (e *DiskError) Error() string {
	var b strings.Builder
	if e.Stopped {
		b.WriteString("stopped because ")
	} else {
		b.WriteString("refused because ")
	}
	switch {
	case e.Err != nil:
		fmt.Fprintf(&b, "%s's disk use cannot be measured (%v); herdbot does not run an agent whose disk use it cannot see: make that readable to herdbot, remove it, or set docker.disk_limit: none for this agent in the fleet file", e.Agent, e.Err)
		return b.String()
	case e.Truncated:
		fmt.Fprintf(&b, "%s's %s hold more than %d files and directories, more than herdbot measures", e.Agent, e.What, e.Entries)
	case e.Reserve > 0:
		fmt.Fprintf(&b, "the disk of %s's %s has %s free, under the %s herdbot keeps free for its own state: free space on that disk", e.Agent, e.What, sizeText(e.Free), sizeText(e.Reserve))
		return b.String()
	default:
		fmt.Fprintf(&b, "%s's %s take %s, over its disk limit of %s", e.Agent, e.What, sizeText(e.Used), sizeText(e.Limit))
	}
	if strings.Contains(e.What, "workspace") {
		b.WriteString(": free space in the workspace or raise docker.disk_limit in the fleet file")
	} else {
		b.WriteString(": free space in its HOME (under herdbot's state dir, agents/" + e.Agent + "/home) or raise docker.disk_limit in the fleet file")
	}
	return b.String()
}

// Unwrap lets errors.Is match ErrDiskLimit.
func (e *DiskError) Unwrap() error { return ErrDiskLimit }

// wrap returns the error of a run that e refused or stopped, so that
// errors.Is(err, ErrDiskLimit) holds for the caller; err otherwise.
func (e *DiskError) wrap(j Job, err error) error {
	if e == nil || err == nil {
		return err
	}
	return fmt.Errorf("job %s %s: %w", j.ID, j.Status, e)
}

// chatText is the refusal as a chat message.
func (e *DiskError) chatText() string {
	s := e.Error()
	return "🛑 " + strings.ToUpper(s[:1]) + s[1:] + "."
}

func sizeText(n int64) string { return units.BytesSize(float64(n)) }

// diskGuard measures one agent's writable places and keeps the last
// reading.
type diskGuard struct {
	limit int64
	paths []string
	what  string
	idle  chan struct{} // the agent's last process ended: measure now
	free  func(roots []string) (int64, error)

	mu    sync.Mutex // held while measuring: one walk at a time
	last  diskReading
	walks int // walks made (for tests and the log)
}

// diskReading is one measurement.
type diskReading struct {
	at    time.Time // when the walk began
	ok    bool      // taken at all
	usage diskuse.Usage
	err   error
	// quiet: the agent had no process when the walk began and started
	// none until it ended; it stays good while starts is the agent's
	// count of process starts (nothing of the agent's has run since).
	quiet  bool
	starts uint64
	// free is the free space of the file systems when the walk began
	// (freeOK: it could be read).
	free   int64
	freeOK bool
}

// newDiskGuard returns the guard for spec, or nil when there is no limit
// or nothing to measure.
func newDiskGuard(s AgentSpec) *diskGuard {
	if s.DiskLimit <= 0 {
		return nil
	}
	var paths, names []string
	if s.Sandbox.Workspace != "" && !s.Sandbox.WorkspaceReadOnly {
		paths, names = append(paths, s.Sandbox.Workspace), append(names, "workspace")
	}
	if s.Sandbox.StateDir != "" {
		paths, names = append(paths, s.Sandbox.StateDir), append(names, "HOME")
	}
	if len(paths) == 0 {
		return nil
	}
	return &diskGuard{limit: s.DiskLimit, paths: paths, what: strings.Join(names, " and "), idle: make(chan struct{}, 1),
		free: diskuse.Free}
}

// over returns the DiskError for a reading over the limit (or unknown,
// or with less than reserve free), or nil.
func (g *diskGuard) over(agent string, r diskReading, reserve int64) *DiskError {
	e := &DiskError{Agent: agent, What: g.what, Used: r.usage.Bytes, Limit: g.limit, Entries: r.usage.Entries,
		Truncated: r.usage.Truncated, Err: r.err}
	if r.err == nil && !r.usage.Truncated && r.freeOK && r.free < reserve {
		e.Free, e.Reserve = r.free, reserve
		return e
	}
	if r.err == nil && !r.usage.Truncated && r.usage.Bytes <= g.limit {
		return nil
	}
	return e
}

// measureDisk returns a reading of a's disk use: the last one when it is
// good enough (under the limit, and younger than maxAge or quiet and
// younger than the Fresh time), else a new walk. A reading over the limit
// is never reused: the person told to free space expects a new look.
func (f *Fleet) measureDisk(ctx context.Context, a *agentState, maxAge time.Duration) (diskReading, error) {
	g := a.disk
	g.mu.Lock()
	defer g.mu.Unlock()
	now := f.now()
	a.mu.Lock()
	procs, starts := a.procs, a.starts
	a.mu.Unlock()
	if l := g.last; l.ok && g.over(a.spec.Name, l, f.cfg.Disk.Reserve) == nil {
		age := now.Sub(l.at)
		if age < maxAge || (l.quiet && l.starts == starts && age < f.cfg.Disk.Fresh) {
			return l, nil
		}
	}
	g.walks++
	free, ferr := g.free(g.paths)
	u, err := diskuse.Measure(ctx, g.paths, diskuse.Options{MaxEntries: f.cfg.Disk.MaxEntries})
	if err != nil && ctx.Err() != nil {
		return diskReading{}, ctx.Err()
	}
	a.mu.Lock()
	quiet := procs == 0 && a.starts == starts
	a.mu.Unlock()
	g.last = diskReading{at: now, ok: true, usage: u, err: err, quiet: quiet, starts: starts, free: free, freeOK: ferr == nil}
	if f.cfg.Metrics != nil {
		f.cfg.Metrics.DiskUsage(a.spec.Name, u.Bytes, g.limit)
	}
	f.log.Debug("disk use measured", "agent", a.spec.Name, "bytes", u.Bytes, "entries", u.Entries,
		"truncated", u.Truncated, "err", err, "took", f.now().Sub(now))
	return g.last, nil
}

// checkDisk is the check before a run: nil, the run may start; a
// *DiskError, it is refused (recorded in the audit and counted); or the
// context's error.
func (f *Fleet) checkDisk(ctx context.Context, rs *runState) error {
	a := rs.a
	r, err := f.measureDisk(ctx, a, f.cfg.Disk.Interval)
	if err != nil {
		return err
	}
	de := a.disk.over(a.spec.Name, r, f.cfg.Disk.Reserve)
	if de == nil {
		return nil
	}
	f.diskAudit(a, "disk.refused", rs.job.ID, de)
	return de
}

// diskAudit records a refusal or a stop and counts it.
func (f *Fleet) diskAudit(a *agentState, action, subject string, de *DiskError) {
	detail := map[string]any{"used_bytes": de.Used, "limit_bytes": de.Limit, "entries": de.Entries, "measured": de.What}
	if de.Truncated {
		detail["truncated"] = true
	}
	if de.Err != nil {
		detail["error"] = de.Err.Error()
	}
	b, _ := json.Marshal(detail)
	f.audit(context.Background(), AuditEntry{Time: f.now(), Agent: a.spec.Name, Actor: "herdbot",
		Action: action, Subject: subject, Detail: f.red.String(string(b))})
	if f.cfg.Metrics != nil {
		f.cfg.Metrics.DiskOverLimit(a.spec.Name, strings.TrimPrefix(action, "disk."))
	}
	f.log.Warn("disk limit", "agent", a.spec.Name, "action", action, "subject", subject, "reason", de.Error())
}

// walkDue reports whether the watcher should walk now: the last walk is
// Interval old (or failed, or over the limit), or the free space dropped by
// more than the headroom it left under the limit.
func (f *Fleet) walkDue(a *agentState) bool {
	g := a.disk
	g.mu.Lock()
	l := g.last
	g.mu.Unlock()
	if !l.ok || !l.freeOK || g.over(a.spec.Name, l, f.cfg.Disk.Reserve) != nil || f.now().Sub(l.at) >= f.cfg.Disk.Interval {
		return true
	}
	free, err := g.free(g.paths)
	return err != nil || free < f.cfg.Disk.Reserve || l.free-free >= g.limit-l.usage.Bytes
}

// procStarted is called (a.mu held) when a process of a starts: the disk
// watcher runs while the agent has any.
func (f *Fleet) procStarted(a *agentState) {
	a.starts++
	if a.disk == nil || a.watching {
		return
	}
	a.watching = true
	f.watchers.Add(1)
	go f.watchDisk(a)
}

// procEnded is called (a.mu held) when a process of a ends.
func (f *Fleet) procEnded(a *agentState) {
	if a.disk != nil && a.procs == 0 {
		select {
		case a.disk.idle <- struct{}{}:
		default:
		}
	}
}

// watchDisk measures a's disk use while it has a process (see
// DiskOptions), and once more when the last one ends (so the next run's
// check finds a quiet reading and need not walk). Over the limit it stops
// a's running jobs and closes its warm processes.
func (f *Fleet) watchDisk(a *agentState) {
	defer f.watchers.Done()
	ticks, stop := f.cfg.Disk.Ticker(f.cfg.Disk.Poll)
	defer stop()
	ctx, _, release := f.untilStopped(context.Background())
	defer release()
	for {
		select {
		case <-ctx.Done():
			a.mu.Lock()
			a.watching = false
			a.mu.Unlock()
			return
		case <-ticks:
			if !f.walkDue(a) {
				continue
			}
		case <-a.disk.idle:
		}
		r, err := f.measureDisk(ctx, a, 0)
		if err == nil {
			if de := a.disk.over(a.spec.Name, r, f.cfg.Disk.Reserve); de != nil {
				f.stopForDisk(a, de)
			}
		}
		a.mu.Lock()
		if a.procs == 0 && (err != nil || r.quiet) {
			a.watching = false
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
	}
}

// stopForDisk stops a's running jobs (each recorded and counted once) and
// closes its warm processes. Runs still waiting for a slot or in their
// check before the start are left to that check, which refuses them.
func (f *Fleet) stopForDisk(a *agentState, de *DiskError) {
	stopped := *de
	stopped.Stopped = true
	f.mu.Lock()
	var runs []*runState
	for _, rs := range f.running {
		if rs.a == a && rs.diskChecked && !rs.diskStopped {
			rs.diskStopped = true
			runs = append(runs, rs)
		}
	}
	f.mu.Unlock()
	for _, rs := range runs {
		rs.cancel(&stopped)
		f.diskAudit(a, "disk.stopped", rs.job.ID, &stopped)
	}
	f.closeIdleOf(context.Background(), a)
}
