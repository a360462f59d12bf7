package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/sandbox/egress"
)

// Sidecar limits: the proxy is a small Go program.
const (
	sidecarMemory = 256 << 20
	sidecarPids   = 256
	sidecarCPUs   = 1_000_000_000
	// readyTimeout bounds the wait for a new sidecar to listen.
	readyTimeout = 20 * time.Second
)

// The model credential reaches the sidecar as a file: an anonymous volume
// at credentialDir (the root file system is read-only), into which the
// backend copies credentialFile (mode 0400, the sidecar's user) between
// create and start. It is in no environment variable, command line or
// label of any container, so `docker inspect` does not show it; the only
// copy outside the sidecar's memory is in the engine's volume store
// (root-only, /var/lib/docker/volumes), removed with the sidecar. No agent
// container mounts anything of it.
const (
	credentialDir  = "/run/herdbot-egress"
	credentialName = "model-credential.json"
	credentialFile = credentialDir + "/" + credentialName
)

// agentState is what the backend shares between one agent's processes.
type agentState struct {
	mu    sync.Mutex // held while setting up the agent's network and sidecar
	volMu sync.Mutex // held while preparing its volumes (remote engines)
	name  string

	net    netInfo // zero until the agent network exists
	hasNet bool
	gen    int // the backend's lostGen when the network and sidecar were set up

	sidecar  string // sidecar container id; "" when none runs
	cfgSum   [32]byte
	stopLogs context.CancelFunc
	logsDone chan struct{}
}

func (b *Backend) agent(name string) (*agentState, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.New("docker backend is closed")
	}
	a, ok := b.agents[name]
	if !ok {
		a = &agentState{name: name}
		b.agents[name] = a
	}
	return a, nil
}

// ensureNetworking makes sure the agent's network and egress sidecar exist
// and that the sidecar runs with the policy in spec, and returns the agent
// network. A changed policy replaces the sidecar.
func (b *Backend) ensureNetworking(ctx context.Context, spec *sandbox.Spec) (netInfo, error) {
	a, err := b.agent(spec.Agent)
	if err != nil {
		return netInfo{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	n, err := b.ensureNetworkingLocked(ctx, a, spec)
	if err != nil {
		b.forgetNetworks(a)
	}
	return n, err
}

func (b *Backend) ensureNetworkingLocked(ctx context.Context, a *agentState, spec *sandbox.Spec) (netInfo, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		// Close tore this agent down before this call got a.mu.
		return netInfo{}, errors.New("docker backend is closed")
	}
	b.mu.Lock()
	gen := b.lostGen
	b.mu.Unlock()
	stopped := false
	if a.sidecar != "" && a.logsDone != nil {
		select {
		case <-a.logsDone: // the follower's log stream ends when the sidecar stops
			stopped = true
		default:
		}
	}
	if a.gen != gen || stopped {
		// The engine was lost since, or the sidecar stopped (an engine
		// restart stops every container): the networks may be gone too,
		// so they are looked up (and created) again.
		if a.sidecar != "" {
			b.log.Warn("egress sidecar stopped; setting up the agent's networks and sidecar again", "agent", a.name)
		}
		b.forgetNetworks(a)
		a.gen = gen
	}
	if !a.hasNet {
		n, err := b.ensureAgentNetwork(ctx, spec.Agent)
		if err != nil {
			return netInfo{}, err
		}
		a.net, a.hasNet = n, true
	}
	egressNet, err := b.ensureEgressNetwork(ctx)
	if err != nil {
		return netInfo{}, err
	}
	cfg := egress.Config{
		Agent:          spec.Agent,
		Listen:         ":" + proxyPort,
		ModelListen:    ":" + modelPort,
		Allow:          spec.Network.Allow,
		Private:        spec.Network.Private,
		DenyCIDRs:      denyCIDRs(a.net, egressNet),
		ModelURL:       spec.Network.Model.URL,
		CredentialFile: credentialFile,
	}
	raw, err := json.Marshal(cfg) // no credentials: they are not marshalled
	if err != nil {
		return netInfo{}, fmt.Errorf("egress config: %w", err)
	}
	cred, err := json.Marshal(egress.Credentials{ModelAPIKey: spec.Network.Model.APIKey, ModelOAuthToken: spec.Network.Model.OAuthToken})
	if err != nil {
		return netInfo{}, fmt.Errorf("egress credentials: %w", err)
	}
	// A changed credential also replaces the sidecar.
	sum := sha256.Sum256(append(append(raw, 0), cred...))
	if a.sidecar != "" && a.cfgSum == sum && !stopped {
		return a.net, nil
	}
	if err := b.stopSidecar(ctx, a); err != nil {
		return netInfo{}, err
	}
	id, err := b.startSidecar(ctx, a, string(raw), cred, egressNet)
	if err != nil {
		return netInfo{}, err
	}
	a.sidecar, a.cfgSum = id, sum
	return a.net, nil
}

// denyCIDRs lists herdbot's own subnets for the proxy to refuse even when a
// Private entry matches: the agent network, and the egress network except
// its gateway, which is the host (reachable only through an explicit
// Private opt-in, like any other host address).
func denyCIDRs(agentNet, egressNet netInfo) []string {
	var out []string
	for _, p := range agentNet.subnets {
		out = append(out, p.String())
	}
	for _, p := range egressNet.subnets {
		parts := []netip.Prefix{p}
		for _, gw := range egressNet.gateways {
			if p.Contains(gw) {
				parts = excludeAddr(p, gw)
			}
		}
		for _, q := range parts {
			out = append(out, q.String())
		}
	}
	return out
}

// excludeAddr returns prefixes covering p except the address a (which p
// contains): the sibling of a's prefix at each length below p's.
func excludeAddr(p netip.Prefix, a netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for l := p.Bits(); l < a.BitLen(); l++ {
		cur, _ := a.Prefix(l + 1)
		raw := cur.Addr().AsSlice()
		raw[l/8] ^= 0x80 >> (l % 8)
		sib, _ := netip.AddrFromSlice(raw)
		out = append(out, netip.PrefixFrom(sib, l+1))
	}
	return out
}

// startSidecar creates and starts the agent's egress proxy on the egress
// network and the agent network (alias "egress"), with its credential file
// copied in, follows its records, and returns once it accepts connections.
func (b *Backend) startSidecar(ctx context.Context, a *agentState, cfgJSON string, cred []byte, egressNet netInfo) (string, error) {
	img, err := b.ensureEgressImage(ctx)
	if err != nil {
		return "", err
	}
	name := b.sidecarName(a.name)
	if err := b.removeContainer(ctx, name); err != nil {
		return "", err
	}
	labels := b.baseLabels(roleEgress)
	labels[LabelAgent] = a.name
	hc := hardenedHostConfig(hardenedInput{
		netMode:   egressNet.id,
		limits:    limitsSpec{memory: sidecarMemory, nanoCPUs: sidecarCPUs, pids: sidecarPids},
		mounts:    []mount.Mount{{Type: mount.TypeVolume, Target: credentialDir}},
		readOnly:  true,
		logDriver: "json-file",
	})
	hc.Init = nil // a Go program handles its signals
	cctx, cancel := b.callCtx(ctx)
	res, err := b.cli.ContainerCreate(cctx, client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image:    img,
			User:     egressUser,
			Env:      []string{"HERDBOT_EGRESS_CONFIG=" + cfgJSON},
			Labels:   labels,
			Hostname: egressAlias,
		},
		HostConfig: hc,
	})
	cancel()
	if err != nil {
		return "", fmt.Errorf("create egress sidecar for %s: %w", a.name, err)
	}
	b.track(res.ID)
	if err := b.checkWarnings(res.Warnings, name); err != nil {
		return "", errors.Join(err, b.removeContainer(ctx, res.ID))
	}
	fail := func(err error) (string, error) {
		return "", errors.Join(err, b.removeContainer(ctx, res.ID))
	}
	if err := b.copyCredential(ctx, res.ID, cred); err != nil {
		return fail(fmt.Errorf("egress sidecar for %s: %w", a.name, err))
	}
	cctx, cancel = b.callCtx(ctx)
	_, err = b.cli.NetworkConnect(cctx, a.net.id, client.NetworkConnectOptions{
		Container:      res.ID,
		EndpointConfig: &network.EndpointSettings{Aliases: []string{egressAlias}},
	})
	cancel()
	if err != nil {
		return fail(fmt.Errorf("connect egress sidecar for %s to its network: %w", a.name, err))
	}
	cctx, cancel = b.callCtx(ctx)
	_, err = b.cli.ContainerStart(cctx, res.ID, client.ContainerStartOptions{})
	cancel()
	if err != nil {
		return fail(fmt.Errorf("start egress sidecar for %s: %w", a.name, err))
	}
	ready := b.followSidecar(a, res.ID)
	if err := b.waitSidecarReady(ctx, res.ID, ready, a.logsDone); err != nil {
		b.stopFollowing(a)
		return fail(fmt.Errorf("egress sidecar for %s: %w", a.name, err))
	}
	b.log.Debug("egress sidecar started", "agent", a.name, "container", name)
	return res.ID, nil
}

// copyCredential copies the credential file into the created sidecar's
// credential volume, owned by the sidecar's user with mode 0400.
func (b *Backend) copyCredential(ctx context.Context, id string, cred []byte) error {
	uid, gid, err := egressIDs()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: credentialName, Mode: 0o400, Size: int64(len(cred)), Uid: uid, Gid: gid,
		Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	if _, err := tw.Write(cred); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	cctx, cancel := b.callCtx(ctx)
	defer cancel()
	// The archive's owner is kept (the engine extracts as root without
	// CopyUIDGID, which would look the user up on the host).
	if _, err := b.cli.CopyToContainer(cctx, id, client.CopyToContainerOptions{DestinationPath: credentialDir, Content: &buf}); err != nil {
		return fmt.Errorf("copy the credential file in: %w", err)
	}
	return nil
}

// egressIDs returns egressUser's uid and gid.
func egressIDs() (int, int, error) {
	u, g, ok := strings.Cut(egressUser, ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("egress user %q is not uid:gid", egressUser)
	}
	return uid, gid, nil
}

// readyLine is what the proxy logs once both its listeners are bound.
var readyLine = []byte(`"msg":"egress proxy listening"`)

// waitSidecarReady waits until the sidecar says it listens (its log line,
// read by followSidecar), or it exits, or readyTimeout passes. Readiness
// comes from the sidecar itself, so herdbot need not reach the egress
// network (it may run in a container on a private bridge of its own).
func (b *Backend) waitSidecarReady(ctx context.Context, id string, ready, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	select {
	case <-ready:
		return nil
	case <-exited:
		cctx, ccancel := b.callCtx(context.WithoutCancel(ctx))
		ins, err := b.cli.ContainerInspect(cctx, id, client.ContainerInspectOptions{})
		ccancel()
		if err == nil && ins.Container.State != nil && !ins.Container.State.Running {
			return fmt.Errorf("exited with code %d before listening: %s", ins.Container.State.ExitCode, b.sidecarTail(context.WithoutCancel(ctx), id))
		}
		return fmt.Errorf("its log stream ended before it listened: %s", b.sidecarTail(context.WithoutCancel(ctx), id))
	case <-ctx.Done():
		return fmt.Errorf("not listening after %s: %s", readyTimeout, b.sidecarTail(context.WithoutCancel(ctx), id))
	}
}

// sidecarTail returns the end of the sidecar's stderr for an error message.
// The egress proxy never writes credentials to its logs.
func (b *Backend) sidecarTail(ctx context.Context, id string) string {
	cctx, cancel := b.callCtx(ctx)
	defer cancel()
	rc, err := b.cli.ContainerLogs(cctx, id, client.ContainerLogsOptions{ShowStderr: true, Tail: "20"})
	if err != nil {
		return "(no logs: " + err.Error() + ")"
	}
	defer rc.Close()
	var sb strings.Builder
	_, _ = stdcopy.StdCopy(discard{}, &limitedBuilder{sb: &sb, max: 4096}, rc)
	return strings.TrimSpace(sb.String())
}

// followSidecar reads the sidecar's output until it stops: stdout carries
// one egress.Record per line (handed to Config.OnEgress), stderr its log.
// The returned channel is closed when the proxy logs that it listens.
func (b *Backend) followSidecar(a *agentState, id string) <-chan struct{} {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	ready := make(chan struct{})
	var readyOnce sync.Once
	a.stopLogs, a.logsDone = cancel, done
	log := b.log.With("agent", a.name, "component", "sandbox.egress")
	b.wg.Go(func() {
		defer close(done)
		defer cancel()
		rc, err := b.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("follow egress sidecar", "err", err)
			}
			return
		}
		defer rc.Close()
		records := &lineWriter{fn: func(line []byte) {
			rec, err := egress.ParseRecord(line)
			if err != nil {
				log.Warn("unparsable egress record", "err", err)
				return
			}
			if b.cfg.OnEgress != nil {
				b.cfg.OnEgress(rec)
			}
		}}
		logs := &lineWriter{fn: func(line []byte) {
			if bytes.Contains(line, readyLine) {
				readyOnce.Do(func() { close(ready) })
			}
			logSidecarLine(ctx, log, line)
		}}
		_, err = stdcopy.StdCopy(records, logs, rc)
		records.flush()
		logs.flush()
		if err != nil && ctx.Err() == nil {
			log.Warn("follow egress sidecar", "err", err)
		}
	})
	return ready
}

func (b *Backend) stopFollowing(a *agentState) {
	if a.stopLogs != nil {
		a.stopLogs()
		<-a.logsDone
		a.stopLogs, a.logsDone = nil, nil
	}
}

// stopSidecar removes the agent's sidecar (if any) and stops following it.
// The follower is given the sidecar's last lines before it is cancelled.
func (b *Backend) stopSidecar(ctx context.Context, a *agentState) error {
	if a.sidecar == "" {
		return nil
	}
	err := b.removeContainer(ctx, a.sidecar)
	if a.logsDone != nil {
		// The log stream ends when the container is gone; bound the
		// wait in case the engine keeps it open.
		select {
		case <-a.logsDone:
		case <-time.After(5 * time.Second):
		}
	}
	b.stopFollowing(a)
	a.sidecar = ""
	return err
}

// teardownAgent removes the agent's sidecar and network.
func (b *Backend) teardownAgent(ctx context.Context, a *agentState) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	err := b.stopSidecar(ctx, a)
	if a.hasNet {
		err = errors.Join(err, b.removeNetwork(ctx, a.net.id))
		a.hasNet = false
	} else if n, ferr := b.findNetwork(ctx, b.agentNetworkName(a.name)); ferr == nil && n != nil {
		// Forgotten after a failed start (the sidecar did not come up),
		// but created by this backend: remove it too.
		err = errors.Join(err, b.removeNetwork(ctx, n.ID))
	}
	return err
}

// logSidecarLine logs one line of the sidecar's own log (JSON, slog) as
// herdbot's: its message and attributes, its warnings and errors at their
// level, the rest at debug (the connections are in the audit table).
func logSidecarLine(ctx context.Context, log *slog.Logger, line []byte) {
	var rec map[string]any
	if err := json.Unmarshal(line, &rec); err != nil {
		log.Debug("egress: " + string(line))
		return
	}
	msg, _ := rec["msg"].(string)
	lvl := slog.LevelDebug
	if l, ok := rec["level"].(string); ok {
		var parsed slog.Level
		if parsed.UnmarshalText([]byte(l)) == nil && parsed >= slog.LevelWarn {
			lvl = parsed
		}
	}
	keys := make([]string, 0, len(rec))
	for k := range rec {
		switch k {
		case "time", "level", "msg", "component", "agent":
		default:
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	attrs := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		attrs = append(attrs, slog.Any(k, rec[k]))
	}
	log.LogAttrs(ctx, lvl, "egress: "+msg, attrs...)
}
