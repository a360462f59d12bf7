// Package agentstest builds a Fleet wired to real parts for end-to-end
// tests: the real Claude Code CLI (testenv.RequireClaude) run through the
// native sandbox backend (or Options.Backend, e.g. the Docker one), the
// claudetest fake model API, a real SQLite store, a bot.Mux holding the
// chat adapters under test, redaction and a logger.
//
// For the fleet's own logic, Options.Runtime replaces the CLI with a
// Runtime whose turns the test scripts (no CLI, no model, no process: the
// backend is a sandboxtest.Fake), so those tests run everywhere.
//
// Package agents must not import it (agentstest imports agents); its own
// end-to-end tests live in package agents_test.
package agentstest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
	"github.com/herdbot/herdbot/agents/redact"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/internal/testenv"
	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/sandbox/native"
	"github.com/herdbot/herdbot/sandbox/sandboxtest"
	"github.com/herdbot/herdbot/store"
)

// Agent is the name of the rig's agent unless Options.Agent says otherwise.
const Agent = "garden"

// Grace is the fleet's shutdown grace for runs in flight.
const Grace = 2 * time.Second

// FastStream edits status messages every 50 ms, so tests see tool rows
// quickly. The zero bot.StreamOptions keeps the renderer's defaults.
var FastStream = bot.StreamOptions{EditInterval: 50 * time.Millisecond}

// Chat is one chat adapter the rig registers for its agent in the Mux and
// runs against the fleet.
type Chat struct {
	Platform string // bot.Console, bot.Discord, bot.Slack
	Adapter  bot.Adapter
}

// Options configure a Rig. The zero value is a rig with no chat adapters
// and a model that must not be called.
type Options struct {
	// Agent names the one agent (default [Agent]).
	Agent string
	// Model answers the CLI's model requests, on a new fake model server.
	Model claudetest.Responder
	// ModelServer, when set, is used instead of a new server for Model, so
	// that a restarted rig talks to the same fake model.
	ModelServer *claudetest.ModelServer
	// Workspace is the agent's workspace (default a new t.TempDir()).
	Workspace string
	// DB is the SQLite file (default herdbot.db in a new t.TempDir()). A
	// restarted rig passes the same file.
	DB string
	// Approvers is AgentSpec.Approvers.
	Approvers map[string][]string
	// Spec, when set, adjusts the agent's spec before the fleet is built.
	Spec func(*agents.AgentSpec)
	// Chats are registered in the Mux for the agent and run with the fleet
	// as their handler; a Run error fails the test.
	Chats []Chat
	// Secrets are redacted from chat, transcripts and logs (token shapes
	// are redacted regardless).
	Secrets []string
	// Stream is the status renderer's options (zero: its defaults).
	Stream bot.StreamOptions
	// LogOutput receives the fleet's text log (default t.Output()).
	LogOutput io.Writer
	// LogLevel is the log's level (default slog.LevelDebug).
	LogLevel slog.Leveler
	// BeforeRecover, when set, runs after the fleet is built and before
	// Recover.
	BeforeRecover func()
	// FakeCLI, when set, runs the fake CLI in that mode (a fakecli.Mode*)
	// instead of the real one: the test binary re-executes itself, so its
	// TestMain must call fakecli.RunIfRequested. No model server is made.
	// For benchmarks of the plumbing, and tests the real CLI cannot drive.
	FakeCLI string
	// Metrics is the fleet's metrics sink (default none).
	Metrics agents.Metrics
	// Disk is the fleet's disk-limit options (zero: the defaults).
	Disk agents.DiskOptions
	// Backend, when set, runs the agent instead of the native backend
	// (a docker.Backend, say); the CLI is then started as "claude", the
	// name on the agent image's PATH, and Spec must set the sandbox
	// (image, environment, network) for it.
	Backend sandbox.Backend
	// Runtime, when set, plays the agent instead of a CLI, on a
	// sandboxtest.Fake backend unless Backend is set. No CLI is needed
	// and no model server is made.
	Runtime *Runtime
	// Clock is the fleet's clock (default the real one).
	Clock clockwork.Clock
	// Location is where budget days and months begin (default UTC).
	Location *time.Location
}

// Rig is a running fleet and its parts. Start registers a cleanup that
// stops it and then closes its store.
type Rig struct {
	Fleet     *agents.Fleet
	Store     *store.DB
	Model     *claudetest.ModelServer
	Mux       *bot.Mux
	Redactor  *redact.Redactor
	Log       *slog.Logger
	Agent     string
	Workspace string
	// Backend is the sandbox backend: Options.Backend, the
	// sandboxtest.Fake of a Runtime rig, or the native one.
	Backend sandbox.Backend
	// Stamps is the fake CLI's stamp file (FakeCLI): a line per prompt read.
	Stamps string

	t      testing.TB
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Sandbox is the native sandbox spec of an agent: workspace ws, state dir
// state, and an environment that points the CLI at the fake model at
// modelURL.
func Sandbox(ws, state, modelURL string) sandbox.Spec {
	return sandbox.Spec{Workspace: ws, StateDir: state,
		Env: append(claudetest.Env(modelURL), "PATH=/usr/local/bin:/usr/bin:/bin")}
}

// Start builds the fleet, recovers it, and runs Fleet.Serve and every chat
// adapter until the test ends or Stop is called. It skips the test (fails
// under HERDBOT_REQUIRE_CLAUDE=1) when the Claude Code CLI is not
// installed. It does not wait for adapters to connect: that is the
// caller's, who knows the platform.
func Start(t testing.TB, o Options) *Rig {
	t.Helper()
	var bin string
	switch {
	case o.Runtime != nil:
	case o.FakeCLI != "":
		bin = os.Args[0]
	case o.Backend != nil:
		testenv.RequireClaude(t)
		bin = "claude"
	default:
		bin = testenv.RequireClaude(t)
	}
	r := &Rig{t: t, Agent: o.Agent, Workspace: o.Workspace, Model: o.ModelServer, Mux: bot.NewMux()}
	if r.Agent == "" {
		r.Agent = Agent
	}
	if r.Workspace == "" {
		r.Workspace = t.TempDir()
	}
	out := o.LogOutput
	if out == nil {
		out = t.Output()
	}
	level := o.LogLevel
	if level == nil {
		level = slog.LevelDebug
	}
	r.Redactor = redact.New(o.Secrets...)
	r.Log = slog.New(redact.NewHandler(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}), r.Redactor))
	if r.Model == nil && o.FakeCLI == "" && o.Runtime == nil {
		r.Model = claudetest.NewModelServer(t, o.Model)
	}
	db := o.DB
	if db == "" {
		db = filepath.Join(t.TempDir(), "herdbot.db")
	}
	st, err := store.Open(context.Background(), db, r.Log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r.Store = st

	spec := agents.AgentSpec{
		Name:            r.Agent,
		Options:         agents.RunOptions{PermissionMode: "default"},
		Sandbox:         Sandbox(r.Workspace, t.TempDir(), modelURL(r.Model)),
		Approvers:       o.Approvers,
		ApprovalTimeout: time.Minute,
	}
	if o.FakeCLI != "" {
		r.Stamps = filepath.Join(t.TempDir(), "stamps")
		spec.Sandbox.Env = []string{fakecli.EnvMode + "=" + o.FakeCLI, fakecli.EnvStampFile + "=" + r.Stamps,
			"GORACE=atexit_sleep_ms=0"}
	}
	if o.Spec != nil {
		o.Spec(&spec)
	}
	for _, c := range o.Chats {
		r.Mux.Register(r.Agent, c.Platform, c.Adapter)
	}
	var backend sandbox.Backend
	var runtime agents.Runtime = claude.New(claude.Config{Binary: bin, Log: r.Log})
	switch {
	case o.Backend != nil:
		backend = o.Backend
	case o.Runtime != nil:
		backend = &sandboxtest.Fake{}
	default:
		backend = native.New(r.Log)
	}
	if o.Runtime != nil {
		runtime = o.Runtime
	}
	r.Backend = backend
	f, err := agents.New(agents.Config{
		Fleet: "test", Agents: []agents.AgentSpec{spec}, Store: st, Backend: backend, Disk: o.Disk,
		Runtime: runtime, Chat: r.Mux, Redactor: r.Redactor, Log: r.Log,
		Stream: o.Stream, Grace: Grace, Metrics: o.Metrics, Clock: o.Clock, Location: o.Location,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.Fleet = f
	if o.BeforeRecover != nil {
		o.BeforeRecover()
	}
	if err := f.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}

	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.wg.Go(func() { _ = f.Serve(r.ctx) })
	for _, c := range o.Chats {
		r.Go(c.Platform+" adapter", func(ctx context.Context) error { return c.Adapter.Run(ctx, f) })
	}
	t.Cleanup(r.Stop)
	return r
}

func modelURL(m *claudetest.ModelServer) string {
	if m == nil {
		return ""
	}
	return m.URL
}

// Go runs run beside the fleet until the rig stops; an error it returns
// fails the test, naming what.
func (r *Rig) Go(what string, run func(context.Context) error) {
	r.wg.Go(func() {
		if err := run(r.ctx); err != nil {
			r.t.Errorf("%s Run: %v", what, err)
		}
	})
}

// Stop cancels the fleet, its adapters and everything started with Go, and
// waits for them to return. It is idempotent; the store stays open (a test
// may close it first to play a crash).
func (r *Rig) Stop() { r.once.Do(func() { r.cancel(); r.wg.Wait() }) }

// WaitCardRecorded waits until the agent has a pending approval whose chat
// card refs are stored, and returns it. An approval card is posted before
// its refs are written, so a test that plays a crash right after seeing the
// card in chat must wait for this first: otherwise the restarted herdbot
// has no card to edit.
func (r *Rig) WaitCardRecorded(t testing.TB) agents.Approval {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		as, err := r.Store.Approvals(context.Background(), r.Agent, true, 10)
		if err != nil {
			t.Fatalf("list approvals: %v", err)
		}
		for _, a := range as {
			if a.Refs != "" {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pending approval with its card recorded after 30 s: %+v", as)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
