// Package agents is herdbot's core: the fleet of agents, their
// conversations, sessions and queues, runs recorded as jobs, and the
// approvals broker that turns tool requests into chat buttons and back.
// It imports no chat or container library: only the contracts in bot and
// sandbox, and a Runtime (agents/claude) that drives the CLI.
package agents

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/agents/redact"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/internal/broadcast"
	"github.com/herdbot/herdbot/sandbox"
)

// Errors of the fleet.
var (
	ErrUnknownAgent = errors.New("unknown agent")
	ErrCancelled    = errors.New("cancelled")
	ErrShuttingDown = errors.New("herdbot is shutting down")
	ErrQueueFull    = errors.New("queue full")
	ErrNotRunning   = errors.New("job is not running")
)

// AgentSpec is one agent as the fleet runs it. cmd/herdbot maps the config
// to it.
type AgentSpec struct {
	Name        string
	Description string
	Options     RunOptions   // CLI options; Resume is set per run
	Sandbox     sandbox.Spec // process template; Command and Job are set per run
	// Approvers lists, per platform (bot.Discord, bot.Slack, bot.Console),
	// who may decide tool requests: user ids, "role:ID", or "*".
	Approvers map[string][]string

	MaxConcurrent   int           // runs at once (their turns; posting the answer is not counted), chat, schedules and CLI together (default 1)
	QueueMax        int           // waiting messages per conversation (default 10)
	AgentQueueMax   int           // waiting chat messages across all conversations (default DefaultAgentQueueMax)
	UserRate        Rate          // chat messages per person (token bucket); zero: DefaultUserRate; N < 0: no limit
	NoticeEvery     time.Duration // at most one intake notice per person per this (default DefaultNoticeEvery)
	Steer           bool          // a new message interrupts the running turn instead of queueing behind it
	Warm            bool          // keep the process between turns (not ephemeral)
	MaxProcesses    int           // live processes per agent, warm or running (default 5)
	IdleTimeout     time.Duration // warm process idle limit (default 10 min)
	SessionTimeout  time.Duration // a conversation's session expires after this idle time (default 24 h)
	RunTimeout      time.Duration // wall-clock limit per run (default 30 min)
	ApprovalTimeout time.Duration // approval expiry, then deny (default 10 min)
	// DiskLimit is the most disk space, in bytes, that the agent's
	// writable places may take: Sandbox.Workspace unless read-only, and
	// Sandbox.StateDir (its HOME). 0: no limit. See DiskOptions.
	DiskLimit int64
	// Budget caps what the agent's runs may cost per day and month (see
	// budget.go).
	Budget Budget
	// Models are the models an approver may switch a conversation to with
	// /model (commands.go); empty: none.
	Models []string
	// Files limit the files people send with chat messages (defaults:
	// DefaultMaxFile, DefaultMaxMessage, DefaultMaxCount, DefaultFileTypes).
	Files FileLimits
}

func (s *AgentSpec) defaults() {
	if s.MaxConcurrent <= 0 {
		s.MaxConcurrent = 1
	}
	if s.QueueMax <= 0 {
		s.QueueMax = 10
	}
	if s.AgentQueueMax <= 0 {
		s.AgentQueueMax = DefaultAgentQueueMax
	}
	if s.UserRate.N == 0 || (s.UserRate.N > 0 && s.UserRate.Per <= 0) {
		s.UserRate = DefaultUserRate
	}
	if s.NoticeEvery <= 0 {
		s.NoticeEvery = DefaultNoticeEvery
	}
	if s.MaxProcesses <= 0 {
		s.MaxProcesses = 5
	}
	if s.MaxProcesses < s.MaxConcurrent {
		s.MaxProcesses = s.MaxConcurrent
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = 10 * time.Minute
	}
	if s.SessionTimeout <= 0 {
		s.SessionTimeout = 24 * time.Hour
	}
	if s.RunTimeout <= 0 {
		s.RunTimeout = 30 * time.Minute
	}
	if s.ApprovalTimeout <= 0 {
		s.ApprovalTimeout = 10 * time.Minute
	}
	s.Files.defaults()
}

// Chat gives the fleet an agent's outbox on a platform.
type Chat interface {
	Outbox(agent, platform string) (bot.Outbox, bool)
}

// Metrics records what the fleet does; *metrics.Metrics implements it and
// is nil-safe.
type Metrics interface {
	RunFinished(agent, trigger, outcome string, d time.Duration)
	ApprovalDecided(agent, outcome string, latency time.Duration)
	QueueDepth(agent string, n int)
	// DiskUsage sets the agent's measured disk use and its limit (bytes).
	DiskUsage(agent string, used, limit int64)
	// DiskOverLimit counts a run refused or stopped (action) over the
	// disk limit.
	DiskOverLimit(agent, action string)
	// BudgetRefused counts a run refused because the agent had reached its
	// budget for period (daily, monthly, unknown).
	BudgetRefused(agent, period string)
	// RecordLost counts a record the store did not take (audit,
	// card_refs, conversation_reset, approval_settle).
	RecordLost(record string)
}

// Config is everything a Fleet needs.
type Config struct {
	Fleet    string
	Agents   []AgentSpec
	Store    Store
	Backend  sandbox.Backend
	Runtime  Runtime
	Chat     Chat             // nil: no chat
	Redactor *redact.Redactor // nil: token shapes only
	Metrics  Metrics          // nil: none
	Disk     DiskOptions      // how AgentSpec.DiskLimit is enforced
	Log      *slog.Logger
	// Clock is the fleet's one clock: every time it reads and every timer
	// it starts (approval expiry, idle processes, run timeouts, shutdown's
	// grace, the disk watcher's ticks, the status messages' edit throttle
	// and typing indicator). nil: the real clock.
	Clock clockwork.Clock
	// Location is where budget days and months begin (nil: UTC).
	Location *time.Location
	Stream   bot.StreamOptions
	// Grace is how long shutdown lets running jobs finish before
	// interrupting them (default 30 s).
	Grace time.Duration
}

// Fleet runs agents. Create it with New, call Recover once, then Serve.
type Fleet struct {
	cfg    Config
	log    *slog.Logger
	red    *redact.Redactor
	clock  clockwork.Clock
	timers *timerSet // every timer the fleet starts; stopped and waited for by Serve

	// The parts of the store, each used for one kind of record.
	jobs          JobStore
	conversations ConversationStore
	approvalRows  ApprovalStore
	auditLog      AuditLog
	spend         SpendStore
	models        ModelStore

	amu    sync.RWMutex // guards agents; an agentState is replaced whole, never changed
	agents map[string]*agentState

	mu      sync.Mutex
	closing bool
	// stops cancel what lives as long as the fleet's runs (the runs, the
	// disk watchers' walks), by registration; stopped: they were
	// cancelled, and what registers later is cancelled at once.
	stops    map[uint64]context.CancelCauseFunc
	nextStop uint64
	stopped  bool
	loc      *time.Location        // where budget days begin (Config.Location, SetLocation)
	convs    map[string]*convState // by agent + "|" + key; only those with work
	intakes  map[string]*intake    // by agent: waiting work, per-person buckets
	running  map[string]*runState  // by job id
	events   broadcast.Hub[JobEvent]
	notices  bot.Notifier // intake notices, sent off the inbound path

	approvals *broker
	wg        sync.WaitGroup // every goroutine the fleet starts but the disk watchers
	watchers  sync.WaitGroup // disk watchers: they end with the fleet's life
	runs      sync.WaitGroup // every run in progress, whoever asked for it (Add under mu, while not closing)
	giveUp    chan struct{}  // closed at the end of shutdown: stop retrying store writes
}

type agentState struct {
	spec  AgentSpec
	slots chan struct{}
	disk  *diskGuard // nil: no disk limit

	mu     sync.Mutex
	procs  int
	idle   map[string]*warmConn // by conversation key
	grants *grantBook           // "allow for this session" grants, by session id
	// Under mu too, for the disk watcher:
	starts   uint64 // processes started, ever (disk readings compare it)
	watching bool   // the watcher runs
}

// New builds a fleet from cfg.
func New(cfg Config) (*Fleet, error) {
	if cfg.Store == nil || cfg.Backend == nil || cfg.Runtime == nil {
		return nil, errors.New("fleet needs a store, a sandbox backend and a runtime")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 30 * time.Second
	}
	cfg.Disk.defaults(cfg.Clock)
	if cfg.Stream.Log == nil {
		cfg.Stream.Log = cfg.Log
	}
	if cfg.Stream.Clock == nil {
		cfg.Stream.Clock = cfg.Clock
	}
	f := &Fleet{
		cfg: cfg, log: cfg.Log, red: cfg.Redactor, clock: cfg.Clock, timers: newTimerSet(cfg.Clock),
		jobs: cfg.Store, conversations: cfg.Store, approvalRows: cfg.Store, auditLog: cfg.Store, spend: cfg.Store, models: cfg.Store,
		agents: map[string]*agentState{}, stops: map[uint64]context.CancelCauseFunc{},
		convs: map[string]*convState{}, intakes: map[string]*intake{}, running: map[string]*runState{},
		giveUp: make(chan struct{}), loc: cfg.Location,
	}
	f.notices.Log = cfg.Log
	if f.red == nil {
		f.red = redact.New()
	}
	if err := f.SetAgents(cfg.Agents); err != nil {
		return nil, err
	}
	f.approvals = newBroker(f)
	return f, nil
}

func newAgentState(s AgentSpec) *agentState {
	s.defaults()
	return &agentState{spec: s, slots: make(chan struct{}, s.MaxConcurrent), disk: newDiskGuard(s),
		idle: map[string]*warmConn{}, grants: newGrantBook()}
}

// SetAgents replaces the fleet's agents (hot reload). New agents start
// taking work; removed ones take none (their running jobs finish and their
// warm processes are closed); a changed agent's next run uses its new
// spec, while running jobs keep the spec they started with. An unchanged
// agent keeps its state (warm processes, session grants).
func (f *Fleet) SetAgents(specs []AgentSpec) error {
	seen := map[string]bool{}
	for _, s := range specs {
		if s.Name == "" {
			return errors.New("agent without a name")
		}
		if seen[s.Name] {
			return fmt.Errorf("agent %q defined twice", s.Name)
		}
		seen[s.Name] = true
	}
	next := make(map[string]*agentState, len(specs))
	var retired []*agentState
	f.amu.Lock()
	for _, s := range specs {
		ns := newAgentState(s)
		if old, ok := f.agents[s.Name]; ok && reflect.DeepEqual(old.spec, ns.spec) {
			next[s.Name] = old
			continue
		}
		if old, ok := f.agents[s.Name]; ok {
			retired = append(retired, old)
			ns.grants = old.grants // allow-for-session grants belong to sessions, which survive
		}
		next[s.Name] = ns
	}
	for name, old := range f.agents {
		if !seen[name] {
			retired = append(retired, old)
		}
	}
	f.agents = next
	f.amu.Unlock()
	for _, a := range retired {
		f.closeIdleOf(context.Background(), a)
	}
	f.mu.Lock()
	for name := range f.intakes {
		if !seen[name] { // removed: its waiting messages will not run
			f.drainLocked(name, "this agent was removed; the message did not run.")
			delete(f.intakes, name)
		}
	}
	f.mu.Unlock()
	return nil
}

// Agents returns the agents' specs.
func (f *Fleet) Agents() []AgentSpec {
	f.amu.RLock()
	defer f.amu.RUnlock()
	out := make([]AgentSpec, 0, len(f.agents))
	for _, a := range f.agents {
		out = append(out, a.spec)
	}
	return out
}

func (f *Fleet) agent(name string) (*agentState, error) {
	f.amu.RLock()
	a, ok := f.agents[name]
	f.amu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownAgent, name)
	}
	return a, nil
}

func (f *Fleet) allAgents() []*agentState {
	f.amu.RLock()
	defer f.amu.RUnlock()
	out := make([]*agentState, 0, len(f.agents))
	for _, a := range f.agents {
		out = append(out, a)
	}
	return out
}

// Serve blocks until ctx is done, then shuts down: no new runs are taken,
// every running one (chat, schedule, webhook or CLI alike) gets the grace
// period to finish, then they are interrupted and recorded, and every
// process is closed. A run whose end the store cannot take is retried for
// at most storeGrace more; then Serve returns and the next start's
// Recover settles the job.
func (f *Fleet) Serve(ctx context.Context) error {
	<-ctx.Done()
	f.mu.Lock()
	f.closing = true
	f.mu.Unlock()
	f.drainAll() // waiting messages will not run: say so
	f.log.Info("fleet stopping: waiting for running jobs", "grace", f.cfg.Grace)
	// Runs waiting for a person cannot finish now: nobody will click
	// before the restart expires their cards anyway.
	f.approvals.cancelWaiting()

	done := make(chan struct{})
	go func() { f.runs.Wait(); f.wg.Wait(); close(done) }()
	grace := f.clock.NewTimer(f.cfg.Grace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.Chan():
		f.log.Warn("grace period over: interrupting running jobs")
		f.stopRuns()
		giveUp := f.clock.NewTimer(storeGrace)
		select {
		case <-done:
		case <-giveUp.Chan():
			f.log.Error("runs still recording their end after the grace period; giving up on the store")
			close(f.giveUp)
			<-done
		}
		giveUp.Stop()
	}
	f.stopRuns()
	f.watchers.Wait()
	select {
	case <-f.giveUp:
	default:
		close(f.giveUp)
	}
	f.timers.stop() // approval expiries and idle closes: none from now on
	f.closeIdle(context.WithoutCancel(ctx))
	f.notices.Close()
	return nil
}

// now is the time on the fleet's clock.
func (f *Fleet) now() time.Time { return f.clock.Now() }

// untilStopped returns a context that keeps parent's values but not its
// cancellation (a run outlives the chat event that queued it) and ends
// when the fleet stops its runs, or when cancel is called; release
// forgets it (call it when done, after cancel or not).
func (f *Fleet) untilStopped(parent context.Context) (ctx context.Context, cancel context.CancelCauseFunc, release func()) {
	ctx, cancel = context.WithCancelCause(context.WithoutCancel(parent))
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		cancel(context.Canceled)
		return ctx, cancel, func() {}
	}
	id := f.nextStop
	f.nextStop++
	f.stops[id] = cancel
	return ctx, cancel, func() {
		f.mu.Lock()
		delete(f.stops, id)
		f.mu.Unlock()
	}
}

// stopRuns cancels every run and disk walk (they end as interrupted), and
// those that start later at once.
func (f *Fleet) stopRuns() {
	f.mu.Lock()
	f.stopped = true
	stops := f.stops
	f.stops = map[uint64]context.CancelCauseFunc{}
	f.mu.Unlock()
	for _, cancel := range stops {
		cancel(context.Canceled)
	}
}

// audit appends e to the audit trail. A row the store does not take is
// lost: logged and counted, never dropped silently.
func (f *Fleet) audit(ctx context.Context, e AuditEntry) {
	if err := f.auditLog.Audit(context.WithoutCancel(ctx), e); err != nil {
		f.lost("audit", err, "action", e.Action, "subject", e.Subject)
	}
}

// lost logs and counts a record the store did not take.
func (f *Fleet) lost(record string, err error, args ...any) {
	f.log.Error("record lost: the store did not take it", append([]any{"record", record, "err", err}, args...)...)
	if f.cfg.Metrics != nil {
		f.cfg.Metrics.RecordLost(record)
	}
}

// storeGrace is how long shutdown waits, after interrupting the runs, for
// their ends to be recorded by a store that cannot write.
const storeGrace = 15 * time.Second

// newID returns a short random job id.
func newID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newSecretID returns an unguessable id (128 bits, base32).
func newSecretID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}
