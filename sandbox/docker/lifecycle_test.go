package docker

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/sandbox"
)

func listFleet(t *testing.T, b *Backend, fleet string) (containers, networks []string) {
	t.Helper()
	f := make(client.Filters).Add("label", LabelFleet+"="+fleet)
	cs, err := b.cli.ContainerList(testCtx(t), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs.Items {
		containers = append(containers, c.Labels[LabelRole]+":"+c.Labels[LabelAgent])
	}
	ns, err := b.cli.NetworkList(testCtx(t), client.NetworkListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns.Items {
		networks = append(networks, n.Name)
	}
	slices.Sort(containers)
	slices.Sort(networks)
	return containers, networks
}

// startHang starts a networked process that prints "ready" and blocks.
func startHang(t *testing.T, b *Backend, a *artefacts, agent string) sandbox.Process {
	t.Helper()
	spec := testSpec(t, a, agent, "/helper", "hang")
	spec.Network = sandbox.Network{}
	p, err := b.Start(testCtx(t), spec)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, p.Stderr()) }()
	r := bufio.NewReader(p.Stdout())
	if line, err := r.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	return p
}

func TestImageMissing(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	b := newTestBackend(t)
	spec := testSpec(t, a, "noimg", "/helper", "env")
	spec.Image = "herdbot-agent:does-not-exist"
	_, err := b.Start(testCtx(t), spec)
	if !errors.Is(err, sandbox.ErrImageMissing) {
		t.Fatalf("Start = %v, want ErrImageMissing", err)
	}
	for _, want := range []string{"herdbot-agent:does-not-exist", "make agent-image"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestOneNetworkAndSidecarPerAgent starts processes of two agents at once:
// each agent gets one network and one sidecar, shared by its processes,
// and a process's container is gone once it has been waited for.
func TestOneNetworkAndSidecarPerAgent(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	b := newTestBackend(t)
	var wg sync.WaitGroup
	procs := make(chan sandbox.Process, 6)
	for i := range 6 {
		agent := []string{"one", "two"}[i%2]
		wg.Go(func() { procs <- startHang(t, b, a, agent) })
	}
	wg.Wait()
	close(procs)
	containers, networks := listFleet(t, b, b.cfg.Fleet)
	wantC := []string{"agent:one", "agent:one", "agent:one", "agent:two", "agent:two", "agent:two", "egress:one", "egress:two"}
	wantN := []string{b.agentNetworkName("one"), b.agentNetworkName("two"), b.egressNetworkName()}
	slices.Sort(wantN)
	if !slices.Equal(containers, wantC) || !slices.Equal(networks, wantN) {
		t.Fatalf("containers %v networks %v; want %v and %v", containers, networks, wantC, wantN)
	}
	for p := range procs {
		if err := p.Signal(testCtx(t), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Wait(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	containers, _ = listFleet(t, b, b.cfg.Fleet)
	if !slices.Equal(containers, []string{"egress:one", "egress:two"}) {
		t.Fatalf("after Wait: containers %v, want only the sidecars", containers)
	}
}

// TestCleanupRemovesOrphans: a second backend of the same installation (a
// new herdbot process after a crash) removes what the first left behind.
func TestCleanupRemovesOrphans(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	fleet, inst := testFleet(), randomHex(16)
	crashed := newTestBackend(t, func(c *Config) { c.Fleet, c.Installation = fleet, inst })
	p := startHang(t, crashed, a, "orphan")
	if c, n := listFleet(t, crashed, fleet); len(c) != 2 || len(n) != 2 {
		t.Fatalf("before cleanup: containers %v networks %v", c, n)
	}

	next := newTestBackend(t, func(c *Config) { c.Fleet, c.Installation = fleet, inst })
	if err := next.Cleanup(testCtx(t)); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	if c, n := listFleet(t, next, fleet); len(c) != 0 || len(n) != 0 {
		t.Fatalf("after cleanup: containers %v networks %v; want none", c, n)
	}
	// The orphaned process is gone: its Wait returns.
	if _, err := p.Wait(testCtx(t)); err == nil {
		t.Log("orphan's Wait returned without error")
	}
}

// TestSameFleetNameTwoInstallations: two herdbot installations whose fleets
// have the same name (two copies of deploy/example) run the same agent on
// one engine side by side; one's Cleanup and Close leave the other's
// containers and networks running.
func TestSameFleetNameTwoInstallations(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	fleet := testFleet()
	one := newTestBackend(t, func(c *Config) { c.Fleet = fleet })
	two := newTestBackend(t, func(c *Config) { c.Fleet = fleet })
	p1 := startHang(t, one, a, "garden")
	p2 := startHang(t, two, a, "garden")
	if one.agentNetworkName("garden") == two.agentNetworkName("garden") || one.sidecarName("garden") == two.sidecarName("garden") {
		t.Fatalf("both installations name their resources %s", one.agentNetworkName("garden"))
	}
	if c, n := listFleet(t, one, fleet); len(c) != 4 || len(n) != 4 {
		t.Fatalf("two installations: containers %v networks %v, want 2 agents + 2 sidecars on 4 networks", c, n)
	}
	// A restart of the second installation: its Cleanup spares the first.
	if err := two.Cleanup(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	restarted := newTestBackend(t, func(c *Config) { c.Fleet, c.Installation = fleet, two.cfg.Installation })
	if err := restarted.Cleanup(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := two.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	c, n := listFleet(t, one, fleet)
	if !slices.Equal(c, []string{"agent:garden", "egress:garden"}) || !slices.Equal(n, []string{one.egressNetworkName(), one.agentNetworkName("garden")}) {
		t.Fatalf("after the other installation's cleanup and close: containers %v networks %v, want the first one's untouched", c, n)
	}
	if up, err := one.isRunning(testCtx(t), p1.(*process).id); err != nil || !up {
		t.Fatalf("the first installation's process stopped (%v)", err)
	}
	_ = p1.Signal(testCtx(t), syscall.SIGKILL)
	_, _ = p1.Wait(testCtx(t))
	_, _ = p2.Wait(testCtx(t))
}

// TestCleanupSparesOwnResources: Cleanup on a running backend keeps what
// it created itself.
func TestCleanupSparesOwnResources(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	b := newTestBackend(t)
	p := startHang(t, b, a, "mine")
	if err := b.Cleanup(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if c, n := listFleet(t, b, b.cfg.Fleet); len(c) != 2 || len(n) != 2 {
		t.Fatalf("Cleanup removed this backend's own resources: containers %v networks %v", c, n)
	}
	_ = p.Signal(testCtx(t), syscall.SIGKILL)
	_, _ = p.Wait(testCtx(t))
}

// TestCloseStopsEverything: Close kills running processes and removes
// every container and network (newTestBackend's cleanup checks that nothing
// of the fleet is left).
func TestCloseStopsEverything(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	b, err := New(testCtx(t), Config{Fleet: testFleet(), HerdbotBinary: a.herdbot}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := startHang(t, b, a, "closing")
	if err := b.Close(testCtx(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := p.Wait(testCtx(t)); err != nil && errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait after Close: %v", err)
	}
	assertNothingLeft(t, b.cfg.Installation)
	if _, err := b.Start(testCtx(t), testSpec(t, a, "late", "/helper", "env")); err == nil {
		t.Fatal("Start after Close succeeded")
	}
}

// TestContainerIsHardened inspects a running agent container.
func TestContainerIsHardened(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	b := newTestBackend(t)
	spec := testSpec(t, a, "inspected", "/helper", "hang")
	spec.Workspace = workspace(t, 1234, 1234)
	spec.Limits = sandbox.Limits{MemoryBytes: 96 << 20, PidsLimit: 40, NanoCPUs: 500_000_000, TmpBytes: 8 << 20}
	p, err := b.With(Options{HostConfig: map[string]any{"shm_size": 1 << 20}}).Start(testCtx(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Signal(context.Background(), syscall.SIGKILL); _, _ = p.Wait(context.Background()) }()
	ins, err := b.cli.ContainerInspect(testCtx(t), p.(*process).id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, hc := ins.Container.Config, ins.Container.HostConfig
	if c.User != "1234:1234" {
		t.Errorf("user %s, want the workspace owner 1234:1234", c.User)
	}
	if !slices.Equal(hc.CapDrop, []string{"ALL"}) || !slices.Contains(hc.SecurityOpt, "no-new-privileges") || hc.Privileged || !hc.ReadonlyRootfs {
		t.Errorf("caps %v secopt %v privileged %t ro %t", hc.CapDrop, hc.SecurityOpt, hc.Privileged, hc.ReadonlyRootfs)
	}
	if hc.Memory != 96<<20 || hc.MemorySwap != 96<<20 || hc.PidsLimit == nil || *hc.PidsLimit != 40 || hc.NanoCPUs != 500_000_000 {
		t.Errorf("limits memory %d swap %d pids %v cpus %d", hc.Memory, hc.MemorySwap, hc.PidsLimit, hc.NanoCPUs)
	}
	if hc.ShmSize != 1<<20 {
		t.Errorf("passthrough ShmSize %d not applied", hc.ShmSize)
	}
	if hc.NetworkMode != "none" || hc.Tmpfs["/tmp"] != "rw,nosuid,nodev,mode=1777,size=8388608" {
		t.Errorf("network %s tmpfs %v", hc.NetworkMode, hc.Tmpfs)
	}
	for k, want := range map[string]string{LabelManaged: "1", LabelFleet: b.cfg.Fleet, LabelAgent: "inspected", LabelJob: t.Name(), LabelRole: "agent"} {
		if c.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], want)
		}
	}

	for _, o := range []Options{{HostConfig: map[string]any{"Privileged": true}}, {Privileged: true}, {HostNetwork: true}, {CapAdd: []string{"SYS_ADMIN"}}} {
		if _, err := b.With(o).Start(testCtx(t), spec); !errors.As(err, new(*HardeningError)) {
			t.Errorf("Start with %+v and no dangerous opt-in = %v, want a HardeningError", o, err)
		}
	}
}

// TestHomePersistsAcrossContainers: HOME lives in the state dir, so the
// CLI's sessions survive ephemeral containers, and the working directory is
// the same every time.
func TestHomePersistsAcrossContainers(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	b := newTestBackend(t)
	spec := testSpec(t, a, "homey", "/probe", "run", `[{"name":"w","kind":"write","target":"/home/agent/session.json"}]`)
	if _, _, st := runAll(t, b, spec); st.Code != 0 {
		t.Fatalf("write run: %+v", st)
	}
	got, err := os.ReadFile(filepath.Join(spec.StateDir, "home", "session.json"))
	if err != nil || string(got) != "probe" {
		t.Fatalf("session file on the host: %q, %v", got, err)
	}
	spec.Command = []string{"/probe", "run", `[{"name":"r","kind":"read","target":"/home/agent/session.json"}]`}
	out, _, _ := runAll(t, b, spec)
	if !strings.Contains(out, `"ok":true`) {
		t.Fatalf("second container cannot read the session: %s", out)
	}
	spec.Command = []string{"/helper", "pwd"}
	if out, _, _ := runAll(t, b, spec); out != "/workspace\n" {
		t.Fatalf("cwd %q, want /workspace", out)
	}
}

// TestSidecarFollowsPolicy: a changed allowlist replaces the sidecar; the
// same one keeps it.
func TestSidecarFollowsPolicy(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	b := newTestBackend(t)
	sidecar := func() string {
		st, _ := b.agent("pol")
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.sidecar
	}
	run := func(allow ...string) {
		spec := testSpec(t, a, "pol", "/helper", "exit", "0")
		spec.Network = sandbox.Network{Allow: allow}
		if _, _, st := runAll(t, b, spec); st.Code != 0 {
			t.Fatalf("run: %+v", st)
		}
	}
	run("a.example")
	first := sidecar()
	run("a.example")
	if sidecar() != first {
		t.Fatal("same policy: the sidecar was replaced")
	}
	run("b.example")
	if s := sidecar(); s == first || s == "" {
		t.Fatal("new policy: the sidecar was not replaced")
	}
	if running, _ := b.isRunning(testCtx(t), first); running {
		t.Fatal("the old sidecar still runs")
	}
}

// TestEgressImageFollowsTheBinary: the sidecar image is tagged by the
// binary's hash, so a changed binary gets a new image and the same binary
// is not rebuilt.
func TestEgressImageFollowsTheBinary(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "herdbot")
	copyFile(t, a.helper, bin) // any static binary will do: nothing runs it here
	b1 := newTestBackend(t, func(c *Config) { c.HerdbotBinary = bin })
	tag1, err := b1.ensureEgressImage(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = b1.cli.ImageRemove(context.Background(), tag1, client.ImageRemoveOptions{PruneChildren: true})
	})
	b2 := newTestBackend(t, func(c *Config) { c.HerdbotBinary = bin })
	ins1, _ := b1.cli.ImageInspect(testCtx(t), tag1)
	tag2, err := b2.ensureEgressImage(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	ins2, _ := b2.cli.ImageInspect(testCtx(t), tag2)
	if tag2 != tag1 || ins2.ID != ins1.ID {
		t.Fatalf("same binary: %s (%s) then %s (%s)", tag1, ins1.ID, tag2, ins2.ID)
	}

	copyFile(t, a.probe, bin) // the binary changed
	b3 := newTestBackend(t, func(c *Config) { c.HerdbotBinary = bin })
	tag3, err := b3.ensureEgressImage(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = b3.cli.ImageRemove(context.Background(), tag3, client.ImageRemoveOptions{PruneChildren: true})
	})
	if tag3 == tag1 {
		t.Fatalf("changed binary kept tag %s", tag1)
	}

	dyn := filepath.Join(dir, "dynamic")
	copyFile(t, "/bin/bash", dyn)
	b4 := newTestBackend(t, func(c *Config) { c.HerdbotBinary = dyn })
	if _, err := b4.ensureEgressImage(testCtx(t)); err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Fatalf("dynamic binary: %v, want a clear error", err)
	}
}

// TestBuildErrorIsReported: a failed build (HTTP 200 with an error line)
// is an error.
func TestBuildErrorIsReported(t *testing.T) {
	t.Parallel()
	testArtefacts(t)
	b := newTestBackend(t)
	err := b.buildImage(testCtx(t), "herdbot-broken:"+randomHex(4), nil, func(tw *tar.Writer) error {
		return tarFile(tw, "Dockerfile", 0o644, []byte("FROM scratch\nCOPY missing /missing\n"))
	})
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("build = %v, want the builder's error", err)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestSidecarThatFailsIsReported: a sidecar that exits before it listens
// (here a policy the proxy refuses: a literal IP in the name allowlist)
// fails Start with its own words from the exit path ("before listening"),
// not from the ready timeout ("not listening after").
func TestSidecarThatFailsIsReported(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	b := newTestBackend(t)
	spec := testSpec(t, a, "badpolicy", "/helper", "exit", "0")
	spec.Network = sandbox.Network{Allow: []string{"10.0.0.1"}}
	_, err := b.Start(testCtx(t), spec)
	if err == nil || !strings.Contains(err.Error(), "before listening") || !strings.Contains(err.Error(), "10.0.0.1") {
		t.Fatalf("Start: %v", err)
	}
}

// TestNetworksRecreatedAfterTheyVanish: the agent's sidecar and both
// networks disappear (an engine restart, a prune); the next Start sets them
// up again at once (it used to fail once on the stale network id), and the
// egress network gets its former subnet, so a server herdbot runs on the
// host's address there (the demo model) is reachable again.
func TestNetworksRecreatedAfterTheyVanish(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	b := newTestBackend(t)
	p := startHang(t, b, a, "gone")
	gw, err := b.HostGateway(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Signal(testCtx(t), syscall.SIGKILL)
	_, _ = p.Wait(testCtx(t))

	// Everything of the agent goes, behind the backend's back.
	ag, _ := b.agent("gone")
	ag.mu.Lock()
	sidecar := ag.sidecar
	ag.mu.Unlock()
	if _, err := b.cli.ContainerRemove(testCtx(t), sidecar, client.ContainerRemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{b.agentNetworkName("gone"), b.egressNetworkName()} {
		if _, err := b.cli.NetworkRemove(testCtx(t), n, client.NetworkRemoveOptions{}); err != nil {
			t.Fatalf("remove %s: %v", n, err)
		}
	}

	p2 := startHang(t, b, a, "gone") // fails the test if Start fails
	_ = p2.Signal(testCtx(t), syscall.SIGKILL)
	_, _ = p2.Wait(testCtx(t))
	if c, n := listFleet(t, b, b.cfg.Fleet); len(n) != 2 || !slices.Contains(c, "egress:gone") {
		t.Fatalf("after the second Start: containers %v networks %v", c, n)
	}
	gw2, err := b.HostGateway(testCtx(t))
	if err != nil || gw2 != gw {
		t.Fatalf("egress gateway %s (%v) after recreation, want the former %s", gw2, err, gw)
	}
}

// isRunning reports whether container id runs.
func (b *Backend) isRunning(ctx context.Context, id string) (bool, error) {
	cctx, cancel := b.callCtx(ctx)
	defer cancel()
	ins, err := b.cli.ContainerInspect(cctx, id, client.ContainerInspectOptions{})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("inspect container %s: %w", id, err)
	}
	return ins.Container.State != nil && ins.Container.State.Running, nil
}
