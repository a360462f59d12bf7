package agents

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/agents/redact"
	"github.com/herdbot/herdbot/internal/diskuse"
	"github.com/herdbot/herdbot/sandbox"
)

// diskRig is a fleet with one agent and a clock the test moves; only the
// disk guard is exercised.
type diskRig struct {
	f   *Fleet
	a   *agentState
	clk *clockwork.FakeClock
	ws  string
	st  string
}

func newDiskRig(t testing.TB, limit int64, readOnly bool, o DiskOptions) *diskRig {
	t.Helper()
	r := &diskRig{clk: clockwork.NewFakeClockAt(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)), ws: t.TempDir(), st: t.TempDir()}
	o.defaults(r.clk)
	r.f = &Fleet{cfg: Config{Disk: o}, log: slog.New(slog.DiscardHandler), red: redact.New(), clock: r.clk,
		timers: newTimerSet(r.clk), stops: map[uint64]context.CancelCauseFunc{}}
	r.a = newAgentState(AgentSpec{Name: "garden", DiskLimit: limit,
		Sandbox: sandbox.Spec{Workspace: r.ws, WorkspaceReadOnly: readOnly, StateDir: r.st}})
	// Plenty of free space, whatever this machine has: tests that care
	// set their own.
	r.a.disk.free = func([]string) (int64, error) { return 1 << 40, nil }
	return r
}

func fill(t testing.TB, path string, size int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
}

// check is the check before a run, without the audit.
func (r *diskRig) check(t testing.TB) *DiskError {
	t.Helper()
	rd, err := r.f.measureDisk(context.Background(), r.a, r.f.cfg.Disk.Interval)
	if err != nil {
		t.Fatal(err)
	}
	return r.a.disk.over("garden", rd, r.f.cfg.Disk.Reserve)
}

func (r *diskRig) walks() int {
	r.a.disk.mu.Lock()
	defer r.a.disk.mu.Unlock()
	return r.a.disk.walks
}

func TestDiskGuardMeasuresWorkspaceAndHome(t *testing.T) {
	if g := newDiskGuard(AgentSpec{Sandbox: sandbox.Spec{Workspace: "/w", StateDir: "/s"}}); g != nil {
		t.Fatal("no limit: want no guard")
	}
	if g := newDiskGuard(AgentSpec{DiskLimit: 1, Sandbox: sandbox.Spec{Workspace: "/w", WorkspaceReadOnly: true}}); g != nil {
		t.Fatal("nothing writable to measure: want no guard")
	}
	g := newDiskGuard(AgentSpec{DiskLimit: 1, Sandbox: sandbox.Spec{Workspace: "/w", StateDir: "/s"}})
	if strings.Join(g.paths, ",") != "/w,/s" || g.what != "workspace and HOME" {
		t.Fatalf("rw: %v %q", g.paths, g.what)
	}
	g = newDiskGuard(AgentSpec{DiskLimit: 1, Sandbox: sandbox.Spec{Workspace: "/w", WorkspaceReadOnly: true, StateDir: "/s"}})
	if strings.Join(g.paths, ",") != "/s" || g.what != "HOME" {
		t.Fatalf("ro: %v %q", g.paths, g.what)
	}
}

func TestDiskCheckRefusesOverTheLimitAndLooksAgainEachTime(t *testing.T) {
	r := newDiskRig(t, 2<<20, false, DiskOptions{})
	if de := r.check(t); de != nil {
		t.Fatalf("empty: %v", de)
	}
	r.clk.Advance(time.Hour)
	fill(t, filepath.Join(r.ws, "big"), 3<<20)
	de := r.check(t)
	if de == nil || de.Used < 3<<20 || de.Limit != 2<<20 || !errors.Is(de, ErrDiskLimit) {
		t.Fatalf("3 MiB in the workspace: %+v", de)
	}
	want := "refused because garden's workspace and HOME take 3MiB, over its disk limit of 2MiB: free space in the workspace or raise docker.disk_limit in the fleet file"
	if got := de.Error(); !strings.HasPrefix(got, "refused because garden's workspace and HOME take 3") || !strings.HasSuffix(got, want[strings.Index(want, ", over"):]) {
		t.Fatalf("message %q", got)
	}
	if got := de.chatText(); !strings.HasPrefix(got, "🛑 Refused because garden's") || !strings.HasSuffix(got, "fleet file.") {
		t.Fatalf("chat text %q", got)
	}
	// Over the limit, every check walks again (no time passes): the
	// person told to free space is believed at once.
	n := r.walks()
	if de := r.check(t); de == nil || r.walks() != n+1 {
		t.Fatalf("second check: %v, walks %d→%d", de, n, r.walks())
	}
	if err := os.Remove(filepath.Join(r.ws, "big")); err != nil {
		t.Fatal(err)
	}
	if de := r.check(t); de != nil {
		t.Fatalf("after freeing space: %v", de)
	}
	// HOME counts too.
	r.clk.Advance(time.Hour)
	fill(t, filepath.Join(r.st, "home", ".cache", "junk"), 3<<20)
	if de := r.check(t); de == nil {
		t.Fatal("3 MiB in HOME: not refused")
	}
}

func TestDiskCheckReadOnlyWorkspaceCountsOnlyHome(t *testing.T) {
	r := newDiskRig(t, 2<<20, true, DiskOptions{})
	fill(t, filepath.Join(r.ws, "big"), 8<<20)
	if de := r.check(t); de != nil {
		t.Fatalf("a ro workspace counted: %v", de)
	}
	fill(t, filepath.Join(r.st, "home", "big"), 3<<20)
	r.clk.Advance(time.Hour)
	de := r.check(t)
	if de == nil || !strings.Contains(de.Error(), "garden's HOME take 3") || !strings.Contains(de.Error(), "free space in its HOME (under herdbot's state dir, agents/garden/home)") {
		t.Fatalf("HOME over: %v", de)
	}
}

// The check before a run reuses a reading under the limit while it is
// younger than Interval, or, when nothing of the agent's ran since it was
// taken with no process alive, younger than Fresh.
func TestDiskCheckReusesAFreshReading(t *testing.T) {
	r := newDiskRig(t, 8<<20, false, DiskOptions{Interval: 10 * time.Second, Fresh: 5 * time.Minute})
	r.check(t) // quiet: no process
	if r.walks() != 1 {
		t.Fatalf("walks %d", r.walks())
	}
	r.clk.Advance(4 * time.Minute)
	r.check(t)
	if r.walks() != 1 {
		t.Fatalf("a quiet reading 4 min old was not reused: walks %d", r.walks())
	}
	r.clk.Advance(time.Minute)
	r.check(t)
	if r.walks() != 2 {
		t.Fatalf("a reading 5 min old was reused: walks %d", r.walks())
	}

	// A process starts: the quiet reading no longer says anything.
	r.a.mu.Lock()
	r.a.procs++
	r.a.starts++ // as procStarted does, without a watcher
	r.a.mu.Unlock()
	r.clk.Advance(11 * time.Second)
	r.check(t)
	if r.walks() != 3 {
		t.Fatalf("after a process started: walks %d, want 3", r.walks())
	}
	// With a process alive, a reading is good for Interval only.
	r.clk.Advance(9 * time.Second)
	r.check(t)
	if r.walks() != 3 {
		t.Fatalf("reading 9 s old not reused: walks %d", r.walks())
	}
	r.clk.Advance(2 * time.Second)
	r.check(t)
	if r.walks() != 4 {
		t.Fatalf("reading 11 s old reused with a process alive: walks %d", r.walks())
	}
	r.a.disk.mu.Lock()
	quiet := r.a.disk.last.quiet
	r.a.disk.mu.Unlock()
	if quiet {
		t.Fatal("a reading taken with a process alive is marked quiet")
	}
}

func TestDiskCheckTooManyEntriesIsOverTheLimit(t *testing.T) {
	r := newDiskRig(t, 1<<30, false, DiskOptions{MaxEntries: 10})
	for i := range 20 {
		fill(t, filepath.Join(r.ws, "d", string(rune('a'+i))), 1)
	}
	de := r.check(t)
	if de == nil || !de.Truncated || !strings.Contains(de.Error(), "hold more than 10 files and directories") {
		t.Fatalf("20 files, bound 10: %v", de)
	}
}

func TestDiskErrorWhenUseCannotBeMeasured(t *testing.T) {
	de := &DiskError{Agent: "garden", What: "HOME", Limit: 1 << 20, Stopped: true,
		Err: errors.Join(diskuse.ErrUnreadable, errors.New("/s/home/x: permission denied"))}
	if de.Error() == "" || !strings.HasPrefix(de.Error(), "stopped because garden's disk use cannot be measured") || !strings.Contains(de.Error(), "permission denied") {
		t.Fatalf("message %q", de.Error())
	}
	r := &diskGuard{limit: 1 << 20, what: "HOME"}
	if r.over("garden", diskReading{ok: true, err: errors.New("x")}, 1) == nil {
		t.Fatal("an unmeasurable reading is not over the limit")
	}
	if r.over("garden", diskReading{ok: true, usage: diskuse.Usage{Bytes: 1 << 20}}, 1) != nil {
		t.Fatal("exactly at the limit is over it")
	}
}

// Between walks the watcher reads the free space only; it walks when the
// last walk is Interval old, or when the free space dropped by the
// headroom the agent had under its limit (it may be over it now).
func TestDiskWatcherWalksWhenFreeSpaceDropsByTheHeadroom(t *testing.T) {
	r := newDiskRig(t, 8<<20, false, DiskOptions{Interval: 10 * time.Second})
	free := int64(100 << 30)
	r.a.disk.free = func([]string) (int64, error) { return free, nil }
	fill(t, filepath.Join(r.ws, "some"), 3<<20) // headroom: about 5 MiB
	r.check(t)
	r.a.disk.mu.Lock()
	headroom := r.a.disk.limit - r.a.disk.last.usage.Bytes
	r.a.disk.mu.Unlock()
	if r.f.walkDue(r.a) {
		t.Fatal("nothing changed: walk due")
	}
	free -= headroom - 1
	r.clk.Advance(9 * time.Second)
	if r.f.walkDue(r.a) {
		t.Fatal("free space dropped by less than the headroom: walk due")
	}
	free--
	if !r.f.walkDue(r.a) {
		t.Fatal("free space dropped by the headroom: no walk due")
	}
	free += headroom // someone else freed space: no drop
	if r.f.walkDue(r.a) {
		t.Fatal("no drop: walk due")
	}
	r.clk.Advance(time.Second)
	if !r.f.walkDue(r.a) {
		t.Fatal("last walk Interval old: no walk due")
	}
	r.a.disk.free = func([]string) (int64, error) { return 0, errors.New("statfs failed") }
	r.clk.Advance(-5 * time.Second)
	if !r.f.walkDue(r.a) {
		t.Fatal("free space unknown: no walk due")
	}
}

// The watcher runs while the agent has a process, walks once more when
// the last one ends, and then ends (waited for by the fleet).
func TestDiskWatcherLivesWithTheAgentsProcesses(t *testing.T) {
	ticks := make(chan time.Time)
	made := make(chan time.Duration, 1)
	r := newDiskRig(t, 8<<20, false, DiskOptions{Interval: time.Nanosecond, Poll: 3 * time.Second,
		Ticker: func(d time.Duration) (<-chan time.Time, func()) { made <- d; return ticks, func() {} }})
	stop := r.f.stopRuns // the fleet's end
	defer stop()
	start := func() {
		r.a.mu.Lock()
		r.a.procs++
		r.f.procStarted(r.a)
		r.a.mu.Unlock()
	}
	end := func() {
		r.a.mu.Lock()
		r.a.procs--
		r.f.procEnded(r.a)
		r.a.mu.Unlock()
	}
	start()
	if d := <-made; d != 3*time.Second {
		t.Fatalf("ticker every %v, want Poll", d)
	}
	start() // a second process: still one watcher
	ticks <- time.Now()
	ticks <- time.Now() // the first tick's walk is done once the second is taken
	if n := r.walks(); n < 1 {
		t.Fatalf("walks %d after ticks", n)
	}
	end()
	end()
	r.f.watchers.Wait() // the final walk, then the watcher ends
	r.a.mu.Lock()
	watching := r.a.watching
	r.a.mu.Unlock()
	r.a.disk.mu.Lock()
	last := r.a.disk.last
	r.a.disk.mu.Unlock()
	if watching || !last.quiet {
		t.Fatalf("after the last process: watching %v, last reading quiet %v", watching, last.quiet)
	}
	// A new process starts a new watcher; the fleet's end stops it.
	start()
	<-made
	stop()
	r.f.watchers.Wait()
}

// Whatever the agent's own use, a disk with less than Reserve free refuses
// runs and stops running ones: herdbot's state is usually on it.
func TestDiskCheckKeepsAReserveFree(t *testing.T) {
	r := newDiskRig(t, 8<<20, false, DiskOptions{Interval: 10 * time.Second, Reserve: 1 << 30})
	free := int64(2 << 30)
	r.a.disk.free = func([]string) (int64, error) { return free, nil }
	if de := r.check(t); de != nil {
		t.Fatalf("2 GiB free: %v", de)
	}
	free = 1<<30 - 1
	if !r.f.walkDue(r.a) {
		t.Fatal("under the reserve: no walk due")
	}
	r.clk.Advance(time.Hour)
	de := r.check(t)
	if de == nil || de.Reserve != 1<<30 || de.Free != free {
		t.Fatalf("under the reserve: %+v", de)
	}
	if want := "refused because the disk of garden's workspace and HOME has 1024MiB free, under the 1GiB herdbot keeps free for its own state: free space on that disk"; de.Error() != want {
		t.Fatalf("message\n%q\nwant\n%q", de.Error(), want)
	}
	// Under the reserve, no reading is reused.
	n := r.walks()
	r.check(t)
	if r.walks() != n+1 {
		t.Fatal("a reading under the reserve was reused")
	}
}
