package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

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
	"github.com/herdbot/herdbot/sandbox/egress"
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
	backends    *backendMux
	nat         *native.Backend
	chat        *chatSup
	cfg         *config.Fleet
	log         *slog.Logger
	red         *redact.Redactor
	store       *store.DB
	fleet       *agents.Fleet
	mux         *bot.Mux
	hub         *console.Hub
	sched       *sched.Scheduler
	docker      *docker.Backend
	demoSrv     *scripted.ModelServer
	demoLn      net.Listener
	// runs are the long-lived parts, run together under one errgroup.
	runs []func(ctx context.Context) error
}

func cmdStart(ctx context.Context, e env, args []string) error {
	fs := newFlags("start", e, false)
	demo := fs.Bool("demo", false, "use the scripted demo model (no model account needed); clearly labelled in every reply")
	stdinChat := fs.Bool("console", false, "read console chat from this terminal's stdin (on by default with --demo)")
	claudeBin := fs.String("claude", "", "Claude Code CLI for agents run without Docker (default: .tools/node_modules/.bin/claude, then claude on PATH)")
	if _, err := fs.parse(args); err != nil {
		return err
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
	log := slog.New(redact.NewHandler(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}), red))
	for _, w := range cfg.Warnings {
		log.Warn("config: " + w)
	}
	svc, err := build(ctx, cfg, log, red, buildOptions{demo: *demo, claudeBin: *claudeBin, stdout: e.stdout, installation: installation})
	if err != nil {
		return err
	}
	if *demo || *stdinChat {
		svc.runs = append(svc.runs, func(ctx context.Context) error {
			printDemoBanner(e.stdout, cfg, *demo)
			if err := svc.hub.ReadFrom(ctx, e.stdin); err != nil || ctx.Err() != nil {
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
	claudeBin    string
	stdout       interface{ Write([]byte) (int, error) }
	installation string // the state dir's installation id (internal/statedir)
}

// build wires config → store → sandbox → runtime → fleet → chat → scheduler
// → control API.
func build(ctx context.Context, cfg *config.Fleet, log *slog.Logger, red *redact.Redactor, o buildOptions) (*service, error) {
	svc := &service{cfg: cfg, log: log, red: red}
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
	// (no isolation) for the others. Without a usable engine only the
	// demo falls back to native; a real fleet refuses to start.
	wantDocker := false
	for _, a := range cfg.Agents {
		wantDocker = wantDocker || a.Docker.Enabled
	}
	if wantDocker {
		b, err := newDocker(ctx, cfg, o.installation, log, svc, met)
		switch {
		case err == nil:
			svc.docker = b
		case o.demo:
			log.Warn("no usable Docker engine: the demo runs agents WITHOUT isolation (native)", "err", err)
		default:
			return nil, fmt.Errorf("agents have docker.enabled but Docker is not usable: %w (set docker.enabled: false in the fleet file to run them natively, without isolation)", err)
		}
	}
	useDocker := map[string]bool{}
	for _, a := range cfg.Agents {
		useDocker[a.Name] = a.Docker.Enabled && svc.docker != nil
	}

	m := model{URL: cfg.Model.BaseURL, APIKey: cfg.Model.APIKey, OAuthToken: cfg.Model.OAuthToken}
	var demoPrivate string // the demo model's address, a private opt-in for sandboxed agents
	if o.demo {
		host := "127.0.0.1"
		if svc.docker != nil {
			if err := svc.demoImages(ctx, cfg, useDocker, o.claudeBin); err != nil {
				log.Warn("agent image unavailable: the demo runs agents WITHOUT isolation (native)", "err", err)
				for k := range useDocker {
					useDocker[k] = false
				}
			} else if gw, err := svc.docker.HostGateway(ctx); err == nil {
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
		log.Warn("DEMO MODE: agents talk to a scripted demo model on " + demoPrivate + ", not to Claude")
	}

	svc.model, svc.demo, svc.demoPrivate = m, o.demo, demoPrivate
	svc.useDocker = useDocker
	bin := o.claudeBin
	if bin == "" {
		bin = findClaude()
	}
	svc.backends = newBackendMux(bin)
	specs, err := svc.specs(cfg)
	if err != nil {
		return nil, err
	}
	rt := claude.New(claude.Config{Log: log})

	svc.mux = bot.NewMux()
	svc.hub = console.New(consoleUser(), o.stdout)
	f, err := agents.New(agents.Config{
		Fleet: cfg.Name, Agents: specs, Store: st, Backend: svc.backends, Runtime: rt,
		Chat: svc.mux, Redactor: red, Log: log.With("component", "fleet"), Metrics: met,
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

	s, err := sched.New(sched.Config{Location: cfg.Timezone, Redact: red.String, Metrics: met, StopGrace: runsStopGrace}, f, svc.mux, st, log)
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
		List:    func(now time.Time) any { return s.List(now) },
		Trigger: s.Trigger}
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
	b, err := docker.New(ctx, docker.Config{Fleet: cfg.Name, Installation: installation, OnEgress: func(r egress.Record) {
		met.Egress(r.Agent, r.Allowed)
		action := "egress.allowed"
		if !r.Allowed {
			action = "egress.denied"
		}
		if err := svc.store.Audit(context.Background(), agents.AuditEntry{Time: r.Time, Agent: r.Agent, Actor: "agent:" + r.Agent,
			Action: action, Subject: fmt.Sprintf("%s:%d", r.Host, r.Port),
			Detail: fmt.Sprintf(`{"addr":%q,"reason":%q,"bytes_up":%d,"bytes_down":%d}`, r.Addr, r.Reason, r.BytesUp, r.BytesDown)}); err != nil {
			log.Error("record lost: the store did not take it", "record", "audit", "action", action, "agent", r.Agent, "err", err)
			met.RecordLost("audit")
		}
	}}, log)
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
// is not in use is an error outside the demo.
func (svc *service) specs(cfg *config.Fleet) ([]agents.AgentSpec, error) {
	out := make([]agents.AgentSpec, 0, len(cfg.Agents))
	for _, a := range cfg.Agents {
		docker, known := svc.useDocker[a.Name]
		if !known {
			docker = a.Docker.Enabled && svc.docker != nil
			if a.Docker.Enabled && svc.docker == nil && !svc.demo {
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
		}
		if docker {
			svc.backends.set(a.Name, svc.docker, false)
			if svc.demoPrivate != "" {
				spec.Sandbox.Network.Private = append(spec.Sandbox.Network.Private, svc.demoPrivate)
			}
		} else {
			if svc.nat == nil {
				svc.nat = native.New(svc.log)
			}
			svc.backends.set(a.Name, svc.nat, true)
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
// sandboxed agents use, from the pinned CLI in .tools/.
func (svc *service) demoImages(ctx context.Context, cfg *config.Fleet, useDocker map[string]bool, claudeBin string) error {
	if claudeBin == "" {
		claudeBin = findClaude()
	}
	done := map[string]bool{}
	for _, a := range cfg.Agents {
		if !useDocker[a.Name] || done[a.Docker.Image] {
			continue
		}
		svc.log.Info("building the agent image from the pinned CLI (a few seconds the first time)", "image", a.Docker.Image)
		if err := svc.docker.BuildCLIImage(ctx, a.Docker.Image, claudeBin); err != nil {
			return fmt.Errorf("build %s: %w", a.Docker.Image, err)
		}
		done[a.Docker.Image] = true
	}
	return nil
}

func (svc *service) run(ctx context.Context) error {
	defer svc.store.Close()
	g, gctx := errgroup.WithContext(ctx)
	if svc.demoSrv != nil {
		g.Go(func() error { return svc.demoSrv.Serve(gctx, svc.demoLn) })
	}
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
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	svc.log.Info("herdbot stopped")
	return nil
}

// findClaude finds the CLI for native agents.
func findClaude() string {
	if abs, err := filepath.Abs(".tools/node_modules/.bin/claude"); err == nil {
		if _, err := os.Stat(abs); err == nil {
			return abs
		}
	}
	if p, err := exec.LookPath("claude"); err == nil {
		return p
	}
	return "claude"
}

func consoleUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "local"
}

func printDemoBanner(w interface{ Write([]byte) (int, error) }, cfg *config.Fleet, demo bool) {
	names := make([]string, 0, len(cfg.Agents))
	for _, a := range cfg.Agents {
		names = append(names, a.Name)
	}
	var b strings.Builder
	b.WriteString("\nherdbot console chat — agents: " + strings.Join(names, ", ") + "\n")
	if demo {
		b.WriteString("DEMO: replies come from a scripted demo model, not from Claude.\n")
	}
	b.WriteString("Type a message and press Enter (start with @agent to pick one). /help, /status, /reset; approve with /approve ID once|session|deny. Ctrl-C or Ctrl-D stops.\n\n")
	_, _ = w.Write([]byte(b.String()))
}
