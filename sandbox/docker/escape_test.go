package docker

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/sandbox/egress"
)

// The real model key and a chat token: neither may be visible inside an
// agent container.
const (
	realModelKey = "sk-ant-api03-REAL-KEY-must-never-enter-the-sandbox-000"
	chatToken    = "xoxb-CHAT-TOKEN-must-never-enter-the-sandbox"
)

// probeCheck mirrors internal/probe.Check.
type probeCheck struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Target string `json:"target"`
}

// probeResult mirrors internal/probe.Result.
type probeResult struct {
	Name   string            `json:"name"`
	OK     bool              `json:"ok"`
	Detail string            `json:"detail"`
	Fields map[string]string `json:"fields"`
}

// recorder collects egress records.
type recorder struct {
	mu   sync.Mutex
	cond *sync.Cond
	recs []egress.Record
}

func newRecorder() *recorder {
	r := &recorder{}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *recorder) add(rec egress.Record) {
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.cond.Broadcast()
	r.mu.Unlock()
}

// waitFor returns the first record that matches, waiting for it until ctx
// is done.
func (r *recorder) waitFor(ctx context.Context, match func(egress.Record) bool) (egress.Record, bool) {
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		for _, rec := range r.recs {
			if match(rec) {
				return rec, true
			}
		}
		if ctx.Err() != nil {
			return egress.Record{}, false
		}
		r.cond.Wait()
	}
}

// hostServer listens on 0.0.0.0 (every host address) and greets each
// connection.
func hostServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "hello from host\n")
			c.Close()
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().(*net.TCPAddr).Port
}

// fakeModel is a model API on 0.0.0.0 that records the key it was sent.
type fakeModel struct {
	mu   sync.Mutex
	keys []string
}

func startFakeModel(t *testing.T) (*fakeModel, int) {
	t.Helper()
	fm := &fakeModel{}
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fm.mu.Lock()
		fm.keys = append(fm.keys, r.Header.Get("X-Api-Key"))
		fm.mu.Unlock()
		io.WriteString(w, "model says hi")
	})}
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	t.Cleanup(func() { srv.Close(); wg.Wait() })
	return fm, ln.Addr().(*net.TCPAddr).Port
}

// hostAddrs lists every IPv4 address the host answers on: each bridge's
// gateway and the host's own interface addresses.
func hostAddrs(t *testing.T, b *Backend) []string {
	t.Helper()
	set := map[string]bool{}
	nets, err := b.cli.NetworkList(testCtx(t), client.NetworkListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets.Items {
		for _, c := range n.IPAM.Config {
			if c.Gateway.IsValid() && c.Gateway.Is4() {
				set[c.Gateway.String()] = true
			}
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			set[ipn.IP.String()] = true
		}
	}
	var out []string
	for a := range set {
		out = append(out, a)
	}
	return out
}

func containerIP(t *testing.T, b *Backend, p sandbox.Process) (name, ip string) {
	t.Helper()
	ins, err := b.cli.ContainerInspect(testCtx(t), p.(*process).id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range ins.Container.NetworkSettings.Networks {
		return strings.TrimPrefix(ins.Container.Name, "/"), ep.IPAddress.String()
	}
	t.Fatal("container has no network")
	return "", ""
}

// runProbe runs the probe's checks in a container for spec and returns
// the results by name.
// checkProbe fails the test for every check in mustFail that
// succeeded (an escape) and every other check that failed.
func checkProbe(t testing.TB, checks []probeCheck, res map[string]probeResult, mustFail map[string]bool) {
	t.Helper()
	for _, c := range checks {
		r := res[c.Name]
		if mustFail[c.Name] && r.OK {
			t.Errorf("ESCAPE: %s succeeded: %s", c.Name, r.Detail)
		} else if !mustFail[c.Name] && !r.OK {
			t.Errorf("%s failed, want it to work: %s", c.Name, r.Detail)
		} else {
			t.Logf("ok  %-55s %s", c.Name, r.Detail)
		}
	}
}

func runProbe(t testing.TB, b sandbox.Backend, spec sandbox.Spec, checks []probeCheck) map[string]probeResult {
	t.Helper()
	raw, _ := json.Marshal(checks)
	spec.Command = []string{"/probe", "run", string(raw)}
	p, err := b.Start(testCtx(t), spec)
	if err != nil {
		t.Fatalf("start probe: %v", err)
	}
	var stderr strings.Builder
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = io.Copy(&stderr, p.Stderr()) })
	_ = p.Stdin().Close()
	res := make(map[string]probeResult)
	sc := bufio.NewScanner(p.Stdout())
	for sc.Scan() {
		var r probeResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("probe output %q: %v", sc.Text(), err)
		}
		res[r.Name] = r
	}
	wg.Wait()
	st, err := p.Wait(testCtx(t))
	if err != nil || st.Code != 0 {
		t.Fatalf("probe ended %+v, %v; stderr: %s", st, err, stderr.String())
	}
	for _, c := range checks {
		if _, ok := res[c.Name]; !ok {
			t.Fatalf("probe gave no result for %s; stderr: %s", c.Name, stderr.String())
		}
	}
	return res
}

// TestEscape runs the escape probes from inside agent A's container. Each
// "must fail" attempt must fail and each "must hold" property must hold.
func TestEscape(t *testing.T) {
	a := testArtefacts(t)
	rec := newRecorder()
	b := newTestBackend(t, func(c *Config) { c.OnEgress = rec.add })
	ctx := testCtx(t)
	t.Setenv("HERDBOT_TEST_CHAT_TOKEN", chatToken) // in herdbot's own environment

	hostPort := hostServer(t)
	model, modelPort := startFakeModel(t)

	// Agent B: a server on its own network.
	specB := testSpec(t, a, "bee", "/probe", "serve", "8000")
	specB.Network = sandbox.Network{}
	pb, err := b.Start(ctx, specB)
	if err != nil {
		t.Fatalf("start agent B: %v", err)
	}
	t.Cleanup(func() { _ = pb.Signal(context.Background(), 9); _, _ = pb.Wait(context.Background()) })
	go func() { _, _ = io.Copy(io.Discard, pb.Stderr()) }()
	br := bufio.NewReader(pb.Stdout())
	if line, err := br.ReadString('\n'); err != nil || line != "listening\n" {
		t.Fatalf("agent B: %q, %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, br) }()
	nameB, ipB := containerIP(t, b, pb)

	egressNet, err := b.ensureEgressNetwork(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gw := egressNet.gateways[0].String()

	// Agent A: a workspace with secrets in it.
	specA := testSpec(t, a, "ay")
	ws := specA.Workspace
	for name, content := range map[string]string{
		".env": "GITHUB_TOKEN=ghp_secret", ".env.local": "X=secret", "sub/deploy.pem": "-----BEGIN",
		"tls.key": "PRIVATE", "README.md": "hello workspace",
	} {
		p := filepath.Join(ws, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, 1000, 1000); err != nil {
			t.Fatal(err)
		}
	}
	specA.Network = sandbox.Network{
		Allow:   []string{"localhost", "allowed.example"},
		Private: []string{gw + "/32:" + strconv.Itoa(hostPort), gw + "/32:" + strconv.Itoa(modelPort)},
		Model:   sandbox.ModelUpstream{URL: "http://" + gw + ":" + strconv.Itoa(modelPort), APIKey: realModelKey},
	}
	specA.Env = []string{"DECLARED=yes"}

	var checks []probeCheck
	mustFail := map[string]bool{}
	add := func(fail bool, name, kind, target string) {
		checks = append(checks, probeCheck{Name: name, Kind: kind, Target: target})
		mustFail[name] = fail
	}
	add(true, "agent B by name (DNS)", "resolve", nameB)
	add(true, "agent B by name", "dial", nameB+":8000")
	add(true, "agent B by IP "+ipB, "dial", ipB+":8000")
	for _, h := range hostAddrs(t, b) {
		add(true, "host at "+h, "dial", net.JoinHostPort(h, strconv.Itoa(hostPort)))
		add(true, "docker API at "+h, "dial", net.JoinHostPort(h, "2375"))
	}
	add(true, "metadata 169.254.169.254", "dial", "169.254.169.254:80")
	add(true, "outside IP 1.1.1.1:443", "dial", "1.1.1.1:443")
	add(true, "outside IP 8.8.8.8:53", "dial", "8.8.8.8:53")
	add(true, "proxy: host not on the allowlist (CONNECT)", "connect", "example.com:443")
	add(true, "proxy: host not on the allowlist (plain HTTP)", "proxy_get", "http://example.org/")
	add(true, "proxy: literal private IP", "connect", "172.17.0.1:"+strconv.Itoa(hostPort))
	add(true, "proxy: literal loopback IP", "connect", "127.0.0.1:"+strconv.Itoa(hostPort))
	add(true, "proxy: agent B's IP", "connect", ipB+":8000")
	add(true, "proxy: allowlisted name resolving to loopback", "connect", "localhost:443")
	add(true, "proxy: metadata", "connect", "169.254.169.254:80")
	add(true, "docker socket /var/run/docker.sock", "exists", "/var/run/docker.sock")
	add(true, "docker socket /run/docker.sock", "exists", "/run/docker.sock")
	add(true, "model key anywhere in /proc", "scan", base64.StdEncoding.EncodeToString([]byte(realModelKey)))
	add(true, "chat token anywhere in /proc", "scan", base64.StdEncoding.EncodeToString([]byte(chatToken)))
	add(false, "scan finds a declared variable (control)", "scan", base64.StdEncoding.EncodeToString([]byte("DECLARED=yes")))
	add(true, "workspace .env", "read", "/workspace/.env")
	add(true, "workspace .env.local", "read", "/workspace/.env.local")
	add(true, "workspace sub/deploy.pem", "read", "/workspace/sub/deploy.pem")
	add(true, "workspace tls.key", "read", "/workspace/tls.key")
	add(true, "overwrite masked .env", "write", "/workspace/.env")
	add(true, "write to the root fs", "write", "/etc/probe")
	add(false, "read workspace README.md", "read", "/workspace/README.md")
	add(false, "write /tmp", "write", "/tmp/probe")
	add(false, "write HOME", "write", "/home/agent/probe")
	add(false, "write workspace", "write", "/workspace/new-file")
	add(false, "proxy: host through the private-destination opt-in", "connect", gw+":"+strconv.Itoa(hostPort))
	add(false, "model API through the sidecar", "model_do", "POST /v1/messages?beta=true")
	add(true, "model proxy: another API path", "model_do", "GET /v1/models")
	add(false, "status", "status", "")
	add(false, "env", "env", "")

	res := runProbe(t, b, specA, checks)
	checkProbe(t, checks, res, mustFail)

	st := res["status"].Fields
	for _, k := range []string{"CapEff", "CapPrm", "CapBnd", "CapAmb"} {
		if st[k] != "0000000000000000" {
			t.Errorf("%s = %s, want 0", k, st[k])
		}
	}
	if st["NoNewPrivs"] != "1" {
		t.Errorf("NoNewPrivs = %s, want 1", st["NoNewPrivs"])
	}
	if st["uid"] == "0" || st["euid"] == "0" {
		t.Errorf("uid = %s, euid = %s: running as root", st["uid"], st["euid"])
	}
	if st["cwd"] != "/workspace" {
		t.Errorf("cwd = %s, want /workspace", st["cwd"])
	}
	var names []string
	for k := range res["env"].Fields {
		names = append(names, k)
	}
	slices.Sort(names)
	wantEnv := []string{"ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "DECLARED", "HOME", "HOSTNAME", "HTTPS_PROXY", "HTTP_PROXY",
		"NO_PROXY", "PATH", "http_proxy", "https_proxy", "no_proxy"}
	if !slices.Equal(names, wantEnv) {
		t.Errorf("agent environment has %v, want exactly %v", names, wantEnv)
	}
	if k := res["env"].Fields["ANTHROPIC_API_KEY"]; k != placeholderKey {
		t.Errorf("ANTHROPIC_API_KEY in the container = %q, want the placeholder", k)
	}
	if got := res["model API through the sidecar"].Detail; !strings.Contains(got, "model says hi") {
		t.Errorf("model API answer = %q", got)
	}
	model.mu.Lock()
	keys := append([]string(nil), model.keys...)
	model.mu.Unlock()
	if len(keys) == 0 || keys[0] != realModelKey {
		t.Errorf("the model upstream got keys %q, want the real key added by the proxy", keys)
	}

	// The proxy reported what it allowed and what it refused.
	for _, want := range []struct {
		host    string
		allowed bool
	}{{"example.com", false}, {"localhost", false}, {"127.0.0.1", false}, {"169.254.169.254", false}, {gw, true}} {
		r, ok := rec.waitFor(ctx, func(r egress.Record) bool { return r.Host == want.host && r.Allowed == want.allowed })
		if !ok {
			t.Errorf("no egress record for %s allowed=%t", want.host, want.allowed)
			continue
		}
		if r.Agent != "ay" {
			t.Errorf("record for %s has agent %q, want ay", want.host, r.Agent)
		}
	}
}

// TestForkBombStopsAtPidsLimit starts processes until the pids limit stops
// it.
func TestForkBombStopsAtPidsLimit(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	b := newTestBackend(t)
	spec := testSpec(t, a, "bomb", "/probe", "forkbomb", "1000")
	spec.Limits.PidsLimit = 32
	out, errOut, st := runAll(t, b, spec)
	if strings.Contains(out, "started 1000") {
		t.Fatalf("fork bomb ran 1000 processes under pids_limit 32: %s", out)
	}
	if !strings.Contains(out+errOut, "resource temporarily unavailable") && !strings.Contains(errOut, "failed to create new OS thread") {
		t.Fatalf("fork bomb was not stopped by the pids limit; stdout %q stderr %.300q status %+v", out, errOut, st)
	}
	t.Logf("fork bomb: %s (status %+v)", strings.TrimSpace(out), st)
}

// TestMemoryHogIsOOMKilled checks that exceeding the memory limit is
// reported as an OOM kill.
func TestMemoryHogIsOOMKilled(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	b := newTestBackend(t)
	spec := testSpec(t, a, "hog", "/probe", "memhog", "1024")
	spec.Limits.MemoryBytes = 64 << 20
	out, _, st := runAll(t, b, spec)
	if !st.OOMKilled {
		t.Fatalf("status = %+v, want OOMKilled; output %q", st, out)
	}
	if strings.Contains(out, "survived") {
		t.Fatalf("memory hog survived a 64 MiB limit: %q", out)
	}
}

// runAll starts spec, closes stdin and collects everything.
func runAll(t testing.TB, b *Backend, spec sandbox.Spec) (stdout, stderr string, st sandbox.ExitStatus) {
	t.Helper()
	p, err := b.Start(testCtx(t), spec)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	_ = p.Stdin().Close()
	var errb strings.Builder
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = io.Copy(&errb, p.Stderr()) })
	outb, _ := io.ReadAll(p.Stdout())
	wg.Wait()
	st, err = p.Wait(testCtx(t))
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	return string(outb), errb.String(), st
}
