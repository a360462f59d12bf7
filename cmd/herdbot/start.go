package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude"
	"github.com/herdbot/herdbot/agents/claude/scripted"
	"github.com/herdbot/herdbot/agents/redact"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/console"
	"github.com/herdbot/herdbot/config"
	"github.com/herdbot/herdbot/internal/control"
	"github.com/herdbot/herdbot/internal/metrics"
	"github.com/herdbot/herdbot/internal/statedir"
	"github.com/herdbot/herdbot/sandbox/docker"
	"github.com/herdbot/herdbot/sandbox/native"
	"github.com/herdbot/herdbot/sched"
	"github.com/herdbot/herdbot/store"
)

// errConsoleClosed ends `start --demo/--console` when its input ends.
var errConsoleClosed = errors.New("console input closed")

// service is a started herdbot: everything `herdbot start` wires.
type service struct {
	model       model
	demo        bool
	demoPrivate string          // the demo model's host:port, a private opt-in for sandboxed agents
	useDocker   map[string]bool // decided at start; reload decides new agents alike
	noIsolation bool            // start --demo --no-isolation: every agent native
	backends    *backendMux
	native      *native.Backend // local processes, made for the first agent that runs without a container
	chat        *chatSup
	cfg         *config.Fleet
	cfgNow      atomic.Pointer[config.Fleet] // cfg, for readers outside the reload goroutine (the dashboard)
	log         *slog.Logger
	red         *redact.Redactor
	store       *store.DB
	fleet       *agents.Fleet
	mux         *bot.Mux
	hub         *console.Hub
	sched       *sched.Scheduler
	docker      *docker.Backend
	// engines are the backends of the fleet file's engines (remote Docker
	// engines), by name; each agent placed on one runs there only.
	engines map[string]*docker.Backend
	demoSrv *scripted.ModelServer
	demoLn  net.Listener
	// runs are the long-lived parts, run together under one errgroup.
	runs []func(ctx context.Context) error
}

func cmdStart(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("start", e, false)
	demo := fs.Bool("demo", false, "use the scripted demo model (no model account needed); clearly labelled in every reply")
	stdinChat := fs.Bool("console", false, "read console chat from this terminal's stdin (on by default with --demo)")
	claudeBin := fs.String("claude", "", "the Claude Code CLI ("+pinnedClaudeVersion+") the demo builds the agent image from and native agents run "+
		"(default: $"+claudeEnv+", next to herdbot, the .tools/ of its checkout or of this directory, then PATH)")
	logLevel := fs.String("log-level", "info", "the log's level: debug, info, warn or error")
	logFile := fs.String("log-file", "", "append the log to this file (default: stderr; with the console on a terminal, <state_dir>/herdbot.log, and warnings on the terminal too)")
	noIsolation := fs.Bool("no-isolation", false, "with --demo: run every agent as a local process, WITHOUT a container (when Docker cannot be used)")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	if *noIsolation && !*demo {
		return errors.New("start: --no-isolation is for the demo (--demo); a fleet's agents run natively only with docker.enabled: false in its files")
	}
	cfg, err := config.Load(fs.config)
	if err != nil {
		return err
	}
	// One herdbot owns a state dir: before anything opens the store,
	// touches a container or expires an approval, a second instance
	// stops here, naming the first.
	lock, err := statedir.Acquire(cfg.StateDir)
	if err != nil {
		return err
	}
	defer lock.Release()
	installation, err := statedir.InstallationID(cfg.StateDir)
	if err != nil {
		return err
	}
	if l := os.Getenv("HERDBOT_HTTP_LISTEN"); l != "" {
		// In a container (deploy/docker-compose.yml) herdbot listens on its
		// own namespace's addresses; the host publishes the port on loopback.
		cfg.HTTP.Listen = l
	}
	red := redact.NewNamed(redactSecrets(cfg)...)
	// With the console on a terminal, the chat has the terminal: the log
	// goes to a file, and only warnings and errors are also shown.
	onTerminal := (*demo || *stdinChat) && isTerminal(e.stdout)
	logTo := *logFile
	if logTo == "" && onTerminal {
		logTo = filepath.Join(cfg.StateDir, "herdbot.log")
	}
	// Warnings on the terminal go above the console's prompt once there
	// is one.
	termErr := &swapWriter{w: e.stderr}
	lh, closeLog, err := logHandler(termErr, logTo, *logLevel, onTerminal)
	if err != nil {
		return err
	}
	defer closeLog()
	log := slog.New(redact.NewHandler(lh, red))
	cfg.Warnings = append(cfg.Warnings, consoleApproverWarnings(cfg)...)
	for _, w := range cfg.Warnings {
		log.Warn("config: " + w)
	}
	svc, err := build(ctx, cfg, log, red, buildOptions{demo: *demo, noIsolation: *noIsolation, claudeBin: *claudeBin, stdout: e.stdout, installation: installation})
	if err != nil {
		return err
	}
	termErr.set(svc.hub.Above(e.stderr))
	approveCmd := selfCommand() + " approve %s"
	if fs.config != "" {
		approveCmd += " -c " + strings.ReplaceAll(shellQuote(fs.config), "%", "%%")
	}
	svc.hub.SetApproveCommand(approveCmd)
	if *demo || *stdinChat {
		svc.runs = append(svc.runs, func(ctx context.Context) error {
			printDemoBanner(e.stdout, cfg, *demo, svc.hub, approveCmd, logTo)
			svc.hub.SetPrompt(onTerminal)
			err := svc.hub.ReadFrom(ctx, e.stdin)
			svc.hub.SetPrompt(false)
			if err != nil || ctx.Err() != nil {
				return err
			}
			return errConsoleClosed // Ctrl-D: stop herdbot like Ctrl-C
		})
	}
	if err := svc.run(ctx); err != nil && !errors.Is(err, errConsoleClosed) {
		return err
	}
	return nil
}

type buildOptions struct {
	demo         bool
	noIsolation  bool   // --no-isolation: the demo's agents run natively
	claudeBin    string // --claude; "" finds it (findClaude)
	stdout       interface{ Write([]byte) (int, error) }
	installation string // the state dir's installation id (internal/statedir)
}

// build wires config → store → sandbox → runtime → fleet → chat → scheduler
// → control API.
func build(ctx context.Context, cfg *config.Fleet, log *slog.Logger, red *redact.Redactor, o buildOptions) (*service, error) {
	svc := &service{cfg: cfg, log: log, red: red}
	svc.cfgNow.Store(cfg)
	reg, met := newMetrics()
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	st, err := store.Open(ctx, filepath.Join(cfg.StateDir, "herdbot.db"), log)
	if err != nil {
		return nil, err
	}
	svc.store = st

	// Sandbox backends: Docker for agents with docker.enabled, native
	// (no isolation) for the others. Nothing ever falls back to running an
	// agent without isolation: that takes docker.enabled: false in the
	// agent's config or, for the demo, --no-isolation. Without a usable
	// engine herdbot refuses to start.
	svc.noIsolation = o.noIsolation
	wantDocker := false
	for _, a := range cfg.Agents {
		wantDocker = wantDocker || (a.Docker.Enabled && a.Docker.Engine == "" && !o.noIsolation)
	}
	if o.noIsolation {
		log.Warn("--no-isolation: the demo runs every agent as a local process, WITHOUT a container")
	}
	if wantDocker {
		b, err := newDocker(ctx, cfg, o.installation, log, svc, met)
		switch {
		case err == nil:
			svc.docker = b
		case o.demo:
			return nil, fmt.Errorf("the demo runs its agents in Docker containers, but Docker is not usable: %w\n"+
				"Start the engine (`make docker-up` as root, or `sudo systemctl start docker`), or run the demo WITHOUT isolation: herdbot start --demo --no-isolation", err)
		default:
			return nil, fmt.Errorf("agents have docker.enabled but Docker is not usable: %w (set docker.enabled: false in the fleet file to run them natively, without isolation)", err)
		}
	}
	if !o.noIsolation {
		// Each engine of the fleet file, whether it answers now or not:
		// one that does not fails its own agents' runs ("engine lost")
		// until it does.
		svc.engines = map[string]*docker.Backend{}
		for _, name := range engineNames(cfg) {
			b, err := newEngine(ctx, cfg, cfg.Engines[name], o.installation, log, svc, met)
			if err != nil {
				svc.closeEngines(ctx)
				return nil, err
			}
			svc.engines[name] = b
		}
	}
	useDocker := map[string]bool{}
	for _, a := range cfg.Agents {
		useDocker[a.Name] = a.Docker.Enabled && (svc.docker != nil || svc.engines[a.Docker.Engine] != nil)
	}
	bin := o.claudeBin
	if bin == "" {
		bin = findClaude()
	}
	for _, a := range cfg.Agents {
		if !useDocker[a.Name] && bin == "" {
			return nil, fmt.Errorf("agent %s runs without a container and needs the Claude Code CLI: %s", a.Name, claudeNotFound())
		}
	}

	m := model{URL: cfg.Model.BaseURL, APIKey: cfg.Model.APIKey, OAuthToken: cfg.Model.OAuthToken}
	var demoPrivate string // the demo model's address, a private opt-in for sandboxed agents
	if o.demo {
		host := "127.0.0.1"
		if svc.docker != nil || len(svc.engines) > 0 {
			if err := svc.demoImages(ctx, cfg, useDocker, bin); err != nil {
				return nil, err
			}
		}
		if svc.docker != nil {
			if gw, err := svc.docker.HostGateway(ctx); err == nil {
				host = gw.String() // reachable from the host and from the sidecars
			} else {
				return nil, err
			}
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("demo model: %w", err)
		}
		svc.demoLn, svc.demoSrv = ln, scripted.New(scripted.Demo(), scripted.WithoutRecording())
		m = model{URL: "http://" + ln.Addr().String(), APIKey: scripted.DummyAPIKey}
		demoPrivate = ln.Addr().String()
		log.Info("DEMO MODE: agents talk to a scripted demo model on " + demoPrivate + ", not to Claude")
	}

	if !o.demo && len(svc.engines) > 0 {
		if err := svc.engineImages(ctx, cfg, useDocker, bin); err != nil {
			return nil, err
		}
	}
	svc.model, svc.demo, svc.demoPrivate = m, o.demo, demoPrivate
	svc.useDocker = useDocker
	svc.backends = newBackendMux(bin)
	specs, err := svc.specs(cfg)
	if err != nil {
		return nil, err
	}
	rt := claude.New(claude.Config{Log: log})

	svc.mux = bot.NewMux()
	svc.hub = console.New(console.Operator, o.stdout)
	svc.hub.SetName(operatorName())
	f, err := agents.New(agents.Config{
		Fleet: cfg.Name, Agents: specs, Store: st, Backend: svc.backends, Runtime: rt,
		Chat: svc.mux, Redactor: red, Log: log.With("component", "fleet"), Metrics: met,
		Location: cfg.BudgetLocation(),
	})
	if err != nil {
		return nil, err
	}
	svc.fleet = f
	svc.runs = append(svc.runs, f.Serve)

	// Chat: the console for every agent; Discord and Slack where configured,
	// owned by a supervisor that reload can change.
	svc.chat = newChatSup(log, f, svc.mux)
	svc.wantChat(cfg)
	svc.runs = append(svc.runs, svc.chat.Run)
	// Recover once chat is wired, so the interrupted conversations are told
	// and stale approval cards are edited.
	if err := f.Recover(ctx); err != nil {
		return nil, err
	}

	s, err := sched.New(sched.Config{Location: cfg.Timezone, Redact: red.String, Metrics: met, StopGrace: runsStopGrace}, f, reportPoster{mux: svc.mux, log: log, demo: o.demo}, st, log)
	if err != nil {
		return nil, err
	}
	if err := s.Apply(ctx, schedules(cfg)); err != nil {
		return nil, err
	}
	svc.sched = s
	svc.runs = append(svc.runs, s.Run)
	if err := svc.addOps(reg, met); err != nil {
		return nil, err
	}
	svc.addRetention()
	svc.addReload()

	ctl := &control.Server{Fleet: f, Store: st, Lost: met, Console: svc.hub, Log: log.With("component", "control"),
		Workspaces: workspaces{svc: svc},
		List:       func(now time.Time) any { return s.List(now) },
		Trigger:    s.Trigger}
	sock := filepath.Join(cfg.StateDir, "herdbot.sock")
	ln, err := control.Listen(sock)
	if err != nil {
		return nil, err
	}
	svc.runs = append(svc.runs, func(ctx context.Context) error {
		defer os.Remove(sock)
		return ctl.Serve(ctx, ln)
	})
	return svc, nil
}

func newDocker(ctx context.Context, cfg *config.Fleet, installation string, log *slog.Logger, svc *service, met *metrics.Metrics) (*docker.Backend, error) {
	b, err := docker.New(ctx, docker.Config{Fleet: cfg.Name, Installation: installation, OnEgress: svc.onEgress(config.LocalEngine, log, met)}, log)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.Ping(pctx); err != nil {
		_ = b.Close(ctx)
		return nil, err
	}
	if err := b.Cleanup(pctx); err != nil {
		log.Warn("remove orphans of a previous run", "err", err)
	}
	return b, nil
}

// specs maps every agent of cfg to the fleet's view of it and routes it to
// its sandbox backend. A new agent (reload) that wants Docker when Docker
// is not in use is an error (unless --no-isolation said every agent runs
// natively).
func (svc *service) specs(cfg *config.Fleet) ([]agents.AgentSpec, error) {
	out := make([]agents.AgentSpec, 0, len(cfg.Agents))
	for _, a := range cfg.Agents {
		docker, known := svc.useDocker[a.Name]
		if !known {
			docker = a.Docker.Enabled && (svc.docker != nil || svc.engines[a.Docker.Engine] != nil)
			if a.Docker.Enabled && !docker && !svc.noIsolation {
				return nil, fmt.Errorf("agent %s has docker.enabled but herdbot runs without Docker; restart herdbot to add it", a.Name)
			}
			svc.useDocker[a.Name] = docker
		}
		spec := agentSpec(cfg, a, svc.model, !docker)
		if svc.demo {
			// The demo works in a scratch workspace, never in the fleet's
			// own directories.
			ws, err := demoWorkspace(cfg, a.Name, docker)
			if err != nil {
				return nil, err
			}
			spec.Sandbox.Workspace = ws
			if spec.Sandbox.WorkspaceReadOnly {
				// The demo model writes its greeting elsewhere.
				spec.Options.AppendSystemPrompt = strings.TrimSpace(spec.Options.AppendSystemPrompt + "\n" + scripted.DemoReadOnlyHint)
			}
		}
		if docker && a.Docker.Engine != "" {
			eng := svc.engines[a.Docker.Engine]
			if eng == nil {
				return nil, fmt.Errorf("agent %s is placed on engine %s, which this herdbot does not use; restart herdbot to add it", a.Name, a.Docker.Engine)
			}
			svc.backends.set(a.Name, eng.With(dockerOptions(a)), false)
		} else if docker && svc.docker == nil {
			return nil, fmt.Errorf("agent %s has docker.enabled but herdbot runs without the local Docker engine; restart herdbot to add it", a.Name)
		} else if docker {
			svc.backends.set(a.Name, svc.docker.With(dockerOptions(a)), false)
			if svc.demoPrivate != "" {
				spec.Sandbox.Network.Private = append(spec.Sandbox.Network.Private, svc.demoPrivate)
			}
		} else {
			if svc.native == nil {
				svc.native = native.New(svc.log)
			}
			svc.backends.set(a.Name, svc.native, true)
		}
		out = append(out, spec)
	}
	return out, nil
}

// demoWorkspace makes <state>/demo/<agent>. For a sandboxed agent run by
// root it is given to uid 1000, the container user herdbot picks for
// root-owned workspaces (containers never run as root).
func demoWorkspace(cfg *config.Fleet, agent string, sandboxed bool) (string, error) {
	ws := filepath.Join(cfg.StateDir, "demo", agent)
	if err := os.MkdirAll(ws, 0o755); err != nil {
		return "", fmt.Errorf("demo workspace: %w", err)
	}
	if sandboxed && os.Geteuid() == 0 {
		if err := os.Chown(ws, 1000, 1000); err != nil {
			return "", fmt.Errorf("demo workspace: %w", err)
		}
	}
	return ws, nil
}

// demoImages builds (or finds up to date) the agent images the demo's
// sandboxed agents use, from the pinned CLI (claudeBin). Without a CLI an
// image already on the engine is used as it is; without either the demo
// cannot isolate its agents, and says so.
func (svc *service) demoImages(ctx context.Context, cfg *config.Fleet, useDocker map[string]bool, claudeBin string) error {
	done := map[string]bool{}
	for _, a := range cfg.Agents {
		eng := svc.engineOf(a)
		key := a.Docker.Engine + "\x00" + a.Docker.Image
		if !useDocker[a.Name] || eng == nil || done[key] {
			continue
		}
		done[key] = true
		if claudeBin == "" {
			ok, err := eng.ImageExists(ctx, a.Docker.Image)
			if err != nil {
				return fmt.Errorf("agent image %s: %w", a.Docker.Image, err)
			}
			if !ok {
				return fmt.Errorf("the demo needs the agent image %s, and it cannot be built: %s.\n"+
					"(Or run the demo WITHOUT isolation: herdbot start --demo --no-isolation, which needs the CLI too.)", a.Docker.Image, claudeNotFound())
			}
			svc.log.Info("no Claude Code CLI found: using the agent image as it is", "image", a.Docker.Image)
			continue
		}
		if v, err := claudeVersion(ctx, claudeBin); err != nil {
			return fmt.Errorf("the demo cannot build its agent image %s from %s: `--version`: %w", a.Docker.Image, claudeBin, err)
		} else if v != pinnedClaudeVersion {
			svc.log.Warn("the Claude Code CLI is not the pinned version herdbot is tested with", "claude", claudeBin, "version", v, "pinned", pinnedClaudeVersion)
		}
		svc.log.Info("building the agent image from the pinned CLI (a few seconds the first time)", "image", a.Docker.Image, "claude", claudeBin)
		if err := eng.BuildCLIImage(ctx, a.Docker.Image, claudeBin); err != nil {
			return fmt.Errorf("the demo cannot build its agent image %s, so it cannot isolate its agents: %w", a.Docker.Image, err)
		}
	}
	return nil
}

func (svc *service) run(ctx context.Context) error {
	defer svc.store.Close()
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	// The demo model serves until the fleet has drained: runs that go on
	// in the shutdown grace still talk to it (stopped with the rest, they
	// could only fail and wait for the grace to end). Its failure stops
	// herdbot.
	var demo sync.WaitGroup
	var demoErr error
	stopDemo := func() {}
	if svc.demoSrv != nil {
		dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stopDemo = func() { cancel(); demo.Wait() }
		demo.Go(func() {
			if err := svc.demoSrv.Serve(dctx, svc.demoLn); err != nil && dctx.Err() == nil {
				demoErr = fmt.Errorf("demo model: %w", err)
				stop(demoErr)
			}
		})
	}
	defer stopDemo()
	g, gctx := errgroup.WithContext(runCtx)
	for _, r := range svc.runs {
		g.Go(func() error { return r(gctx) })
	}
	svc.log.Info("herdbot started", "fleet", svc.cfg.Name, "agents", len(svc.cfg.Agents), "state", svc.cfg.StateDir)
	err := g.Wait()
	if svc.docker != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if cerr := svc.docker.Close(cctx); cerr != nil {
			svc.log.Warn("stop containers", "err", cerr)
		}
	}
	svc.closeEngines(ctx)
	stopDemo()
	if demoErr != nil {
		return demoErr
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	svc.log.Info("herdbot stopped")
	return nil
}

// logHandler is the log: to path (appended) or, when path is "", to
// stderr, at level; alsoWarnings also shows warnings and errors on stderr.
func logHandler(stderr io.Writer, path, level string, alsoWarnings bool) (slog.Handler, func(), error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	if path == "" {
		return slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}), func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	h := slog.Handler(slog.NewTextHandler(f, &slog.HandlerOptions{Level: lvl}))
	if alsoWarnings {
		h = slog.NewMultiHandler(h, slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: max(lvl, slog.LevelWarn)}))
	}
	return h, func() { _ = f.Close() }, nil
}

// swapWriter writes to a writer that can be replaced.
type swapWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *swapWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	w := s.w
	s.mu.Unlock()
	return w.Write(p)
}

func (s *swapWriter) set(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w = w
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// operatorName is the login name of the user running herdbot, as the
// console shows them (whatever $USER says; the id approver lists match is
// console.Operator).
func operatorName() string {
	if u, err := user.LookupId(strconv.Itoa(os.Getuid())); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "uid " + strconv.Itoa(os.Getuid())
}

// printDemoBanner says what the console is, who the person at it is, and
// how to approve.
func printDemoBanner(w io.Writer, cfg *config.Fleet, demo bool, hub *console.Hub, approveCmd, logTo string) {
	var names, approverOf []string
	for _, a := range cfg.Agents {
		names = append(names, a.Name)
		if slices.Contains(a.Approvers.Console, console.Operator) || slices.Contains(a.Approvers.Console, "*") {
			approverOf = append(approverOf, a.Name)
		}
	}
	u := hub.User()
	var b strings.Builder
	fmt.Fprintf(&b, "\nherdbot console chat — fleet %s, agents: %s. Lines go to %s; start one with @AGENT to talk to another.\n",
		cfg.Name, strings.Join(names, ", "), hub.Current())
	if demo {
		b.WriteString("DEMO: replies come from a scripted demo model, not from Claude.\n")
	}
	if len(approverOf) > 0 {
		fmt.Fprintf(&b, "You are %s, the console's operator (%q in approvers.console): you approve for %s.\n", u.Name, u.ID, strings.Join(approverOf, ", "))
		b.WriteString("When an agent asks to use a tool, its card shows the line to type: /approve ID once|session|deny\n")
		if approveCmd != "" {
			fmt.Fprintf(&b, "  (or, in another terminal: "+approveCmd+")\n", "ID once")
		}
	} else {
		fmt.Fprintf(&b, "You are %s, the console's operator; no agent lists %q under approvers.console, so tool requests here are denied.\n", u.Name, u.ID)
	}
	b.WriteString("/help lists what you can type. Ctrl-C or Ctrl-D stops herdbot.")
	if logTo != "" {
		b.WriteString(" The log is in " + logTo + ".")
	}
	b.WriteString("\n\n")
	_, _ = io.WriteString(w, b.String())
}
