package sched_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/internal/metrics"
	"github.com/herdbot/herdbot/sched"
)

// wait is the guard against a hung test; no assertion depends on it.
const wait = 20 * time.Second

// memState is an in-memory sched.State. Every write of a final run status
// (not "running") is also sent on finals, so tests know a fire is complete.
type memState struct {
	mu     sync.Mutex
	states map[string]agents.ScheduleState
	slots  map[string]bool
	claims []time.Time
	audits []agents.AuditEntry
	finals chan agents.ScheduleState
}

var (
	_ sched.State   = (*memState)(nil)
	_ sched.Metrics = (*metrics.Metrics)(nil)
)

func newMemState() *memState {
	return &memState{
		states: map[string]agents.ScheduleState{},
		slots:  map[string]bool{},
		finals: make(chan agents.ScheduleState, 1000),
	}
}

func (m *memState) ScheduleState(_ context.Context, agent, name string) (agents.ScheduleState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.states[agent+"/"+name]
	if !ok {
		return agents.ScheduleState{}, fmt.Errorf("schedule %s/%s: %w", agent, name, agents.ErrNotFound)
	}
	return st, nil
}

func (m *memState) PutScheduleState(_ context.Context, s agents.ScheduleState) error {
	m.mu.Lock()
	m.states[s.Agent+"/"+s.Name] = s
	m.mu.Unlock()
	if s.LastStatus != "" && s.LastStatus != "running" && s.LastJob != "" {
		select {
		case m.finals <- s:
		default: // a benchmark; tests read far fewer
		}
	}
	return nil
}

func (m *memState) ScheduleStates(context.Context) ([]agents.ScheduleState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []agents.ScheduleState
	for _, s := range m.states {
		out = append(out, s)
	}
	return out, nil
}

func (m *memState) ClaimSlot(_ context.Context, agent, name string, slot time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := fmt.Sprintf("%s/%s@%d", agent, name, slot.UnixMilli())
	if m.slots[k] {
		return false, nil
	}
	m.slots[k] = true
	m.claims = append(m.claims, slot)
	return true, nil
}

func (m *memState) Audit(_ context.Context, e agents.AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.audits = append(m.audits, e)
	return nil
}

func (m *memState) auditRows(action string) []agents.AuditEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []agents.AuditEntry
	for _, a := range m.audits {
		if a.Action == action {
			out = append(out, a)
		}
	}
	return out
}

func (m *memState) state(key string) agents.ScheduleState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.states[key]
}

func (m *memState) put(st agents.ScheduleState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.states[st.Agent+"/"+st.Name] = st
}

// call is one Runner.Run call; with a holding runner, close release to let
// it return.
type call struct {
	req     agents.RunRequest
	at      time.Time
	release chan struct{}
	ctx     context.Context // the run's
}

// fakeRunner records runs. result (optional) shapes the answer.
type fakeRunner struct {
	clock  clockwork.Clock
	hold   bool
	result func(c *call) (agents.RunResult, error)
	calls  chan *call

	mu         sync.Mutex
	n          int
	running    int
	maxRunning int
}

func newRunner(clk clockwork.Clock, hold bool) *fakeRunner {
	return &fakeRunner{clock: clk, hold: hold, calls: make(chan *call, 1000)}
}

func (r *fakeRunner) Run(ctx context.Context, req agents.RunRequest) (agents.RunResult, error) {
	r.mu.Lock()
	r.n++
	id := fmt.Sprintf("job-%d", r.n)
	r.running++
	r.maxRunning = max(r.maxRunning, r.running)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.running--
		r.mu.Unlock()
	}()
	c := &call{req: req, at: r.clock.Now(), release: make(chan struct{}), ctx: ctx}
	r.calls <- c
	if r.hold {
		select {
		case <-c.release:
		case <-ctx.Done():
			return agents.RunResult{Job: agents.Job{ID: id, Status: agents.JobInterrupted, Error: "shutdown"}}, ctx.Err()
		}
	}
	if r.result != nil {
		res, err := r.result(c)
		if res.Job.ID == "" {
			res.Job.ID = id
		}
		return res, err
	}
	return agents.RunResult{
		Job: agents.Job{
			ID: id, Agent: req.Agent, Trigger: req.Trigger, Schedule: req.Schedule,
			Status: agents.JobSucceeded, Started: c.at, Finished: r.clock.Now(), CostUSD: 0.0123,
		},
		Text: "answer for " + req.Schedule,
	}, nil
}

func (r *fakeRunner) max() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxRunning
}

type post struct {
	agent string
	to    bot.Target
	msg   bot.Message
}

type fakePoster struct{ posts chan post }

func (p *fakePoster) Post(_ context.Context, agent string, to bot.Target, m bot.Message) error {
	p.posts <- post{agent, to, m}
	return nil
}

type lagRec struct {
	mu   sync.Mutex
	lags map[string][]time.Duration
}

func (l *lagRec) ScheduleLag(agent, schedule string, lag time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lags == nil {
		l.lags = map[string][]time.Duration{}
	}
	l.lags[agent+"/"+schedule] = append(l.lags[agent+"/"+schedule], lag)
}

func (l *lagRec) RecordLost(string) {}

func (l *lagRec) get(key string) []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Duration(nil), l.lags[key]...)
}

// harness runs one Scheduler against the fakes.
type harness struct {
	t      *testing.T
	clk    *clockwork.FakeClock
	st     *memState
	runner *fakeRunner
	poster *fakePoster
	lags   *lagRec
	s      *sched.Scheduler
	fires  chan fireEvent
	stop   func()
}

type fireEvent struct {
	key     string
	slot    time.Time
	outcome string
}

type opts struct {
	hold     bool
	result   func(c *call) (agents.RunResult, error)
	noRun    bool // apply only, do not call Run
	location *time.Location
	state    sched.State // instead of the memState (then final() is not usable)
}

func newHarness(t *testing.T, clk *clockwork.FakeClock, st *memState, list []sched.Schedule, o opts) *harness {
	t.Helper()
	h := &harness{t: t, clk: clk, st: st, runner: newRunner(clk, o.hold),
		poster: &fakePoster{posts: make(chan post, 1000)}, lags: &lagRec{}}
	h.runner.result = o.result
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	var state sched.State = st
	if o.state != nil {
		state = o.state
	}
	s, err := sched.New(sched.Config{Clock: clk, Location: locOr(o.location), Metrics: h.lags}, h.runner, h.poster, state, log)
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	h.fires = make(chan fireEvent, 1000)
	s.OnFire(func(key string, slot time.Time, outcome string) { h.fires <- fireEvent{key, slot, outcome} })
	if err := s.Apply(t.Context(), list); err != nil {
		t.Fatal(err)
	}
	if o.noRun {
		h.stop = func() {}
		return h
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			// A run held by a test that failed before releasing it is
			// cancelled StopGrace later on the fake clock: move it on
			// rather than hang the whole test binary.
			for range 2 {
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("Run: %v", err)
					}
					return
				case <-time.After(wait):
					clk.Advance(time.Hour)
				}
			}
			t.Errorf("Run did not return %s after its ctx was cancelled and the stop grace passed", 2*wait)
		})
	}
	t.Cleanup(h.stop)
	return h
}

func locOr(l *time.Location) *time.Location {
	if l == nil {
		return time.UTC
	}
	return l
}

// timers waits until the fake clock has at least n timers armed.
func (h *harness) timers(n int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.clk.BlockUntilContext(ctx, n); err != nil {
		h.t.Fatalf("waiting for %d timers: %v", n, err)
	}
}

// advanceTo moves the fake clock to t.
func (h *harness) advanceTo(t time.Time) {
	h.t.Helper()
	if d := t.Sub(h.clk.Now()); d > 0 {
		h.clk.Advance(d)
	}
}

func (h *harness) nextCall() *call {
	h.t.Helper()
	select {
	case c := <-h.runner.calls:
		return c
	case <-time.After(wait):
		h.t.Fatal("no run")
		return nil
	}
}

// stopAndCount stops the scheduler (every fire that started has finished
// then) and returns how many runs are left unread.
func (h *harness) stopAndCount() int {
	h.t.Helper()
	h.stop()
	n := 0
	for {
		select {
		case <-h.runner.calls:
			n++
		default:
			return n
		}
	}
}

// fire waits for the end of the next fire.
func (h *harness) fire() fireEvent {
	h.t.Helper()
	select {
	case f := <-h.fires:
		return f
	case <-time.After(wait):
		h.t.Fatal("no fire")
		return fireEvent{}
	}
}

// final waits for the end-of-run state write of a fire.
func (h *harness) final() agents.ScheduleState {
	h.t.Helper()
	select {
	case st := <-h.st.finals:
		return st
	case <-time.After(wait):
		h.t.Fatal("no final state")
		return agents.ScheduleState{}
	}
}

// ran waits for the end of a fire that ran: its final state, then the
// fire's end (gocron is then free to fire the job again).
func (h *harness) ran() agents.ScheduleState {
	h.t.Helper()
	st := h.final()
	if f := h.fire(); f.outcome != "ran" {
		h.t.Fatalf("fire %+v, want ran", f)
	}
	return st
}

func (h *harness) nextPost() post {
	h.t.Helper()
	select {
	case p := <-h.poster.posts:
		return p
	case <-time.After(wait):
		h.t.Fatal("no post")
		return post{}
	}
}

var errBoom = errors.New("boom: the model is unreachable")
