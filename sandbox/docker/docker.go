// Package docker is the sandbox.Backend that runs each agent process in a
// hardened Docker container on a network of its own.
//
// Topology, per agent:
//
//	agent container ──(agent network: internal, inhibit_ipv4)── egress sidecar ──(egress network)── outside
//
// The agent network is internal and has no IPv4 address on the host side
// (com.docker.network.bridge.inhibit_ipv4), so a container on it reaches
// nothing but the other members of that network: the agent's own containers
// and its egress sidecar, known there by the alias "egress". The sidecar runs
// `herdbot egress` (the herdbot binary itself, in a FROM scratch image tagged
// by the binary's sha256): a CONNECT/HTTP proxy on :3128 that allows only the
// agent's allowlist, and a model API reverse proxy on :8080 that adds the real
// credential, which therefore never enters the agent container.
//
// Why one sidecar per agent and not one shared proxy: the sidecar's identity
// is the agent's (no need to tell agents apart by the network a connection
// arrives on), its allowlist and credential are its own (a bug in matching
// cannot hand agent A's key to agent B), a crash or overload affects one
// agent, and no single container is attached to every agent network, which
// would make it a bridge between them. The cost is one small static Go
// process per agent (see docs/benchmarks/sandbox.md for its RSS).
//
// Lifecycle: the sidecar and the networks are created on an agent's first
// Start and shared by all its processes; each process gets its own container,
// removed once the process has exited and been waited for. Every resource
// carries the installation id (Config.Installation) in its labels and, in
// short, in its name. Cleanup removes what an earlier herdbot process of
// the same installation left behind; Close removes everything this Backend
// created.
//
// A Backend talks to one engine. On a remote one (Config.Remote: another
// machine's engine of the fleet file's engines:, reached with its own TLS
// client certificate or over SSH) everything above is made there through its API, and
// nothing of herdbot's host is bind-mounted: the workspace and HOME are
// volumes on that engine (remote.go), read back with WorkspaceList and
// WorkspaceGet (workspace.go).
package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/internal/sshdial"
	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/sandbox/egress"
)

// Defaults for Config fields left empty.
const (
	DefaultFleet       = "default"
	DefaultCallTimeout = 30 * time.Second
	DefaultScanLimit   = 100_000
	// DefaultAgentImage is the local image BuildCLIImage builds by default.
	DefaultAgentImage = "herdbot-agent:2.1.332"
)

// DefaultLimits apply to each Spec.Limits field left zero.
var DefaultLimits = sandbox.Limits{
	MemoryBytes: 2 << 30,
	NanoCPUs:    1_000_000_000,
	PidsLimit:   512,
	TmpBytes:    256 << 20,
}

// Config configures a Backend.
type Config struct {
	// Fleet names the fleet; it is in every resource name and label.
	// Default "default".
	Fleet string
	// Installation identifies this herdbot installation (cmd/herdbot keeps
	// it in the state dir: internal/statedir): 32 lowercase hex digits, in
	// every resource's labels and, shortened, in its name. Cleanup removes
	// only this installation's resources, so another herdbot whose fleet
	// has the same name is left alone. Empty: a new random id, so the
	// Backend owns nothing an earlier one created.
	Installation string
	// Host is the Docker endpoint (DOCKER_HOST syntax); empty uses the
	// environment (DOCKER_HOST, else the local socket).
	Host string
	// TLS is the client certificate for a tcp:// Host whose engine runs
	// with --tlsverify; nil for a unix socket.
	TLS *TLSFiles
	// SSH reaches an ssh://USER@HOST[:PORT] Host's engine socket over SSH
	// (internal/sshdial); nil for other hosts.
	SSH *SSHFiles
	// Engine names the engine in logs, errors and metrics; "" is the
	// local one.
	Engine string
	// Remote says the engine is not on herdbot's host (any engine but the
	// local one): nothing of this host is bind-mounted into its
	// containers; an agent's workspace and HOME are volumes on the engine,
	// seeded through the API (see remote.go).
	Remote bool
	// HerdbotBinary is the static herdbot binary the egress sidecar image
	// is built from. Default: os.Executable().
	HerdbotBinary string
	// OnEgress receives one Record per connection an egress sidecar
	// handled (for the audit table). It is called from one goroutine per
	// sidecar and must not block for long. Nil drops the records.
	OnEgress func(egress.Record)
	// Limits replace DefaultLimits for fields a Spec leaves zero.
	Limits sandbox.Limits
	// CallTimeout bounds each Docker API call. Default 30 s.
	CallTimeout time.Duration
	// ScanLimit bounds the number of workspace entries walked to find
	// secret files to mask; a larger workspace is refused (fail closed).
	// Default 100000.
	ScanLimit int
	// RunDir holds files the backend mounts (the empty file that masks
	// secrets). Default: a new directory under os.TempDir, removed by
	// Close.
	RunDir string
	// AllowDroppedLimits lets Start go on when the engine says it dropped a
	// resource limit (no cgroup controller). By default that is an error.
	AllowDroppedLimits bool
}

// Backend runs agent processes in hardened containers. Create it with New;
// it is safe for concurrent use.
type Backend struct {
	cli    *client.Client
	log    *slog.Logger
	cfg    Config
	limits sandbox.Limits

	runDir    string
	ownRunDir bool
	emptyFile string
	// createPlaceholder makes a read-only placeholder; nil means the
	// package's createPlaceholder (tests replace it).
	createPlaceholder func(path string) error
	// exposeHome, when set and true for a spec, leaves its persisted HOME
	// without protectHome's read-only shell startup files and config
	// directories: tests only, to show what those files do to the CLI.
	exposeHome func(*sandbox.Spec) bool

	netMu sync.Mutex // serializes network creation (20.10 accepts duplicate names)

	mu          sync.Mutex
	closed      bool
	agents      map[string]*agentState
	procs       map[*process]struct{}
	created     map[string]struct{} // container ids this backend created, for Cleanup to spare
	egressNetID string
	egressNet   netInfo         // cached once the egress network exists
	lastEgress  netInfo         // the egress network last seen, to recreate it alike
	images      map[string]bool // images seen present
	lostGen     int             // counts engine losses; agents set up before one are set up again

	egressMu    sync.Mutex
	egressImage string

	wg sync.WaitGroup // sidecar log followers and process monitors

	ssh *sshdial.Dialer // Config.SSH's connection, or nil
}

var _ sandbox.Backend = (*Backend)(nil)

var (
	namePart       = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$`)
	installationRE = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// New connects to the Docker engine and returns a ready Backend. It does not
// remove orphans; call Cleanup once at startup for that. A remote engine
// (Config.Remote) that does not answer yet is not an error.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Backend, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Fleet == "" {
		cfg.Fleet = DefaultFleet
	}
	if !namePart.MatchString(cfg.Fleet) {
		return nil, fmt.Errorf("docker backend: fleet name %q: want letters, digits, '_', '.', '-' (at most 63)", cfg.Fleet)
	}
	if cfg.Installation == "" {
		cfg.Installation = randomHex(16)
	}
	if !installationRE.MatchString(cfg.Installation) {
		return nil, fmt.Errorf("docker backend: installation id %q: want 32 lowercase hex digits", cfg.Installation)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.ScanLimit <= 0 {
		cfg.ScanLimit = DefaultScanLimit
	}
	opts := []client.Opt{client.FromEnv}
	if cfg.Host != "" {
		opts = append(opts, client.WithHost(cfg.Host))
	}
	if cfg.TLS != nil {
		// A named engine's own certificate; DOCKER_CERT_PATH and
		// DOCKER_TLS_VERIFY (read by FromEnv) are for the local one.
		opts = []client.Opt{client.WithHost(cfg.Host), client.WithTLSClientConfig(cfg.TLS.CA, cfg.TLS.Cert, cfg.TLS.Key)}
	}
	var sd *sshdial.Dialer
	if cfg.SSH != nil {
		// The engine's socket over SSH: the client speaks HTTP over each
		// streamlocal channel the dialer opens.
		d, err := sshdial.New(sshdial.Config{Host: cfg.Host, Key: cfg.SSH.Key, KnownHosts: cfg.SSH.KnownHosts, Socket: cfg.SSH.Socket, KeepAlive: cfg.SSH.KeepAlive})
		if err != nil {
			return nil, fmt.Errorf("docker backend: %w", err)
		}
		sd = d
		opts = []client.Opt{client.WithHost("http://docker"), client.WithDialContext(d.DialContext)}
	}
	cli, err := client.New(opts...)
	if err != nil {
		if sd != nil {
			_ = sd.Close()
		}
		return nil, fmt.Errorf("docker backend: client: %w", err)
	}
	log = log.With("component", "sandbox.docker", "fleet", cfg.Fleet, "installation", cfg.Installation[:shortID]) // validated above
	if cfg.Engine != "" {
		log = log.With("engine", cfg.Engine)
	}
	b := &Backend{
		cli:     cli,
		log:     log,
		cfg:     cfg,
		limits:  mergeLimits(cfg.Limits, DefaultLimits),
		agents:  make(map[string]*agentState),
		procs:   make(map[*process]struct{}),
		created: make(map[string]struct{}),
		images:  make(map[string]bool),
		ssh:     sd,
	}
	if err := b.initRunDir(); err != nil {
		b.closeClient()
		return nil, err
	}
	if err := b.Ping(ctx); err != nil {
		if cfg.Remote {
			// Another machine's engine may come later; until then its
			// agents' starts fail as engine lost.
			b.log.Warn("engine not reachable", "host", cfg.Host, "err", err)
			return b, nil
		}
		b.removeRunDir()
		b.closeClient()
		return nil, err
	}
	return b, nil
}

// SSHFiles are the files of an ssh:// engine: herdbot's private key, the
// known_hosts file its host key must be in, and the engine's socket path
// there ("": sshdial.DefaultSocket).
type SSHFiles struct {
	Key, KnownHosts, Socket string
	// KeepAlive replaces sshdial.DefaultKeepAlive when positive (tests).
	KeepAlive time.Duration
}

// TLSFiles are the PEM files of a client certificate for an engine.
type TLSFiles struct {
	CA, Cert, Key string
}

// EngineName is Config.Engine: "" for the local engine.
func (b *Backend) EngineName() string { return b.cfg.Engine }

// Version returns the engine's version (for `herdbot doctor` and
// /healthz).
func (b *Backend) Version(ctx context.Context) (string, error) {
	ctx, cancel := b.callCtx(ctx)
	defer cancel()
	v, err := b.cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return "", fmt.Errorf("docker version: %w", err)
	}
	return v.Version, nil
}

// Ping checks that the engine answers (for /healthz).
func (b *Backend) Ping(ctx context.Context) error {
	ctx, cancel := b.callCtx(ctx)
	defer cancel()
	if _, err := b.cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		if b.cfg.Engine != "" {
			return fmt.Errorf("docker ping (engine %s at %s): %w", b.cfg.Engine, b.cfg.Host, err)
		}
		return fmt.Errorf("docker ping: %w", err)
	}
	return nil
}

// Close kills and removes every container, sidecar and network this Backend
// created and waits for its goroutines. Processes still running are killed;
// their Wait returns. Close is safe to call more than once.
func (b *Backend) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	procs := make([]*process, 0, len(b.procs))
	for p := range b.procs {
		procs = append(procs, p)
	}
	agents := b.agents
	b.agents = make(map[string]*agentState)
	b.mu.Unlock()

	ctx = context.WithoutCancel(ctx)
	var errs []error
	for _, p := range procs {
		p.abort(ctx)
	}
	for _, p := range procs {
		<-p.done
	}
	for _, a := range agents {
		errs = append(errs, b.teardownAgent(ctx, a))
	}
	b.mu.Lock()
	egressNet := b.egressNetID
	b.mu.Unlock()
	if egressNet != "" {
		if err := b.removeNetwork(ctx, egressNet); err != nil {
			b.log.Info("egress network left in place", "err", err)
		}
	}
	b.wg.Wait()
	b.removeRunDir()
	errs = append(errs, b.closeClient())
	return errors.Join(errs...)
}

// closeClient closes the Docker client and its SSH connection, if any.
func (b *Backend) closeClient() error {
	err := b.cli.Close()
	if b.ssh != nil {
		_ = b.ssh.Close() // the connection may be gone already
	}
	return err
}

// callCtx bounds one Docker call.
func (b *Backend) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.cfg.CallTimeout)
}

func (b *Backend) initRunDir() error {
	dir := b.cfg.RunDir
	if dir == "" {
		d, err := os.MkdirTemp("", "herdbot-docker-")
		if err != nil {
			return fmt.Errorf("docker backend: run dir: %w", err)
		}
		dir, b.ownRunDir = d, true
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("docker backend: run dir: %w", err)
	}
	// The run dir must be traversable by the container uid for the mask
	// file to be mountable; the file is empty and read-only.
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("docker backend: run dir: %w", err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o444); err != nil && !errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("docker backend: mask file: %w", err)
	}
	if fi, err := os.Stat(empty); err != nil || fi.Size() != 0 {
		return fmt.Errorf("docker backend: mask file %s is not an empty file", empty)
	}
	b.runDir, b.emptyFile = dir, empty
	return nil
}

func (b *Backend) removeRunDir() {
	if b.ownRunDir {
		_ = os.RemoveAll(b.runDir)
	}
}

func mergeLimits(l, def sandbox.Limits) sandbox.Limits {
	pick := func(v, d int64) int64 {
		if v != 0 {
			return v
		}
		return d
	}
	return sandbox.Limits{
		MemoryBytes: pick(l.MemoryBytes, def.MemoryBytes),
		NanoCPUs:    pick(l.NanoCPUs, def.NanoCPUs),
		CPUShares:   pick(l.CPUShares, def.CPUShares),
		CPUPeriod:   pick(l.CPUPeriod, def.CPUPeriod),
		CPUQuota:    pick(l.CPUQuota, def.CPUQuota),
		PidsLimit:   pick(l.PidsLimit, def.PidsLimit),
		TmpBytes:    pick(l.TmpBytes, def.TmpBytes),
	}
}
