package docker

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/sandbox/docker/dockertest"
	"github.com/herdbot/herdbot/sandbox/egress"
)

// TestRemoteEngineOverTLS: a Backend for a second engine in its own
// network namespace, reached over TCP with client certificates, builds
// its sidecar and agent images there through the engine's API and runs
// the escape probes from an agent container there: the other agent (by
// name and IP), this host's and the engine's gateways and interface
// addresses, the metadata address, outside addresses and non-allowlisted
// egress all fail; the secret files never reached the engine; the model
// credential is added by the sidecar there (not in the container); this
// host is reached only through the agent's explicit private opt-in; and
// no container of the agent has a bind mount.
func TestRemoteEngineOverTLS(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	eng := dockertest.Start(t)
	rec := newRecorder()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	b, err := New(testCtx(t), Config{Fleet: testFleet(), HerdbotBinary: a.herdbot, Engine: "box2", Remote: true,
		Host: eng.Host, TLS: &TLSFiles{CA: eng.CA, Cert: eng.Cert, Key: eng.Key}, OnEgress: rec.add}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if v, err := b.Version(testCtx(t)); err != nil || v == "" {
		t.Fatalf("version over TLS: %q %v", v, err)
	}
	// Without the client certificate the engine refuses.
	if nb, err := New(testCtx(t), Config{Fleet: testFleet(), Engine: "box2", Remote: true, Host: eng.Host,
		TLS: &TLSFiles{CA: eng.CA}}, nil); err == nil {
		if err := nb.Ping(testCtx(t)); err == nil {
			t.Error("the engine answered a client without a certificate")
		}
		_ = nb.Close(context.Background())
	}

	ctx := testCtx(t)
	tag := "herdbot-sandbox-test:remote-" + randomHex(4)
	if err := buildTestImage(ctx, b, a, tag); err != nil {
		t.Fatalf("build the test image on the second engine: %v", err)
	}
	hostPort := hostServer(t)
	model, modelPort := startFakeModel(t)

	// Agent B, a server on its own network on the second engine.
	specB := testSpec(t, a, "bee", "/probe", "serve", "8000")
	specB.Image = tag
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
	ins, err := b.cli.ContainerInspect(ctx, pb.(*process).id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ins.Container.Mounts {
		if m.Type == mount.TypeBind {
			t.Errorf("bind mount in a container on the remote engine: %s -> %s", m.Source, m.Destination)
		}
	}
	if len(ins.Container.Mounts) != 2 {
		t.Errorf("mounts %+v, want the workspace and HOME volumes", ins.Container.Mounts)
	}

	specA := testSpec(t, a, "ay")
	specA.Image = tag
	for name, content := range map[string]string{".env": "GITHUB_TOKEN=ghp_secret", "sub/deploy.pem": "-----BEGIN", "README.md": "hello workspace"} {
		p := filepath.Join(specA.Workspace, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hp := strconv.Itoa(hostPort)
	specA.Network = sandbox.Network{
		Allow:   []string{"localhost", "allowed.example"},
		Private: []string{eng.HostIP + "/32:" + hp, eng.HostIP + "/32:" + strconv.Itoa(modelPort)},
		Model:   sandbox.ModelUpstream{URL: "http://" + eng.HostIP + ":" + strconv.Itoa(modelPort), APIKey: realModelKey},
	}
	var checks []probeCheck
	mustFail := map[string]bool{}
	add := func(fail bool, name, kind, target string) {
		checks = append(checks, probeCheck{Name: name, Kind: kind, Target: target})
		mustFail[name] = fail
	}
	add(true, "agent B by name (DNS)", "resolve", nameB)
	add(true, "agent B by name", "dial", nameB+":8000")
	add(true, "agent B by IP "+ipB, "dial", ipB+":8000")
	for _, h := range append(hostAddrs(t, b), eng.NSIP) { // the engine's networks' gateways, this host's addresses, the engine's own
		add(true, "host at "+h, "dial", net.JoinHostPort(h, hp))
		add(true, "docker API at "+h, "dial", net.JoinHostPort(h, dockertest.Port))
	}
	add(true, "metadata 169.254.169.254", "dial", "169.254.169.254:80")
	add(true, "outside IP 1.1.1.1:443", "dial", "1.1.1.1:443")
	add(true, "proxy: host not on the allowlist (CONNECT)", "connect", "example.com:443")
	add(true, "proxy: host not on the allowlist (plain HTTP)", "proxy_get", "http://example.org/")
	add(true, "proxy: the engine's address", "connect", eng.NSIP+":"+dockertest.Port)
	add(true, "proxy: agent B's IP", "connect", ipB+":8000")
	add(true, "proxy: metadata", "connect", "169.254.169.254:80")
	add(true, "model key anywhere in /proc", "scan", base64.StdEncoding.EncodeToString([]byte(realModelKey)))
	add(true, "workspace .env (never copied to the engine)", "read", "/workspace/.env")
	add(true, "workspace sub/deploy.pem", "read", "/workspace/sub/deploy.pem")
	add(false, "read workspace README.md", "read", "/workspace/README.md")
	add(false, "write workspace", "write", "/workspace/new-file")
	add(false, "write HOME", "write", "/home/agent/probe")
	add(false, "proxy: herdbot's host through the private opt-in", "connect", eng.HostIP+":"+hp)
	add(false, "model API through the sidecar", "model_do", "POST /v1/messages?beta=true")
	add(false, "status", "status", "")

	res := runProbe(t, b, specA, checks)
	checkProbe(t, checks, res, mustFail)
	st := res["status"].Fields
	if st["CapEff"] != "0000000000000000" || st["NoNewPrivs"] != "1" || st["uid"] == "0" {
		t.Errorf("hardening on the remote engine: %v", st)
	}
	model.mu.Lock()
	keys := append([]string(nil), model.keys...)
	model.mu.Unlock()
	if len(keys) == 0 || keys[0] != realModelKey {
		t.Errorf("the model upstream got keys %q, want the real key added by the remote sidecar", keys)
	}
	if r, ok := rec.waitFor(ctx, func(r egress.Record) bool { return r.Host == "example.com" && !r.Allowed }); !ok || r.Agent != "ay" {
		t.Errorf("no denied egress record for example.com from ay: %+v", r)
	}
	// The sidecar has the credential as a file, not in its environment.
	sc, err := b.cli.ContainerInspect(ctx, b.sidecarName("ay"), client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(sc.Container.Config.Env, " "), realModelKey) {
		t.Error("the model key is in the remote sidecar's environment")
	}
	for _, ag := range []string{"ay", "bee"} {
		if err := b.RemoveAgentVolumes(context.WithoutCancel(ctx), ag); err != nil && !strings.Contains(err.Error(), "in use") {
			t.Logf("remove volumes of %s: %v", ag, err)
		}
	}
}
