package docker

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/herdbot/herdbot/sandbox/docker/dockertest"
)

// TestRemoteEngineOverSSH: a Backend for the second engine reached as an
// ssh:// engine (a real OpenSSH sshd in the engine's namespace, the
// engine's socket forwarded over streamlocal) reports that engine's
// version, builds an image there and runs an agent container there whose
// output comes back; an SSH connection that drops, or that stops
// answering, is dialled again; a host
// key that is not the one in known_hosts, or a host known_hosts does not
// list, is refused.
func TestRemoteEngineOverSSH(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	eng := dockertest.Start(t)
	sshd := eng.StartSSHD()
	files := &SSHFiles{Key: sshd.Key, KnownHosts: sshd.KnownHosts, Socket: sshd.Socket, KeepAlive: time.Second}
	ctx := testCtx(t)

	// A changed host key: the connection is refused before any request.
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	addr := knownhosts.Normalize(net.JoinHostPort(eng.NSIP, dockertest.SSHPort))
	wrong := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(wrong, []byte(knownhosts.Line([]string{addr}, other)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wb, err := New(ctx, Config{Fleet: testFleet(), Engine: "nas", Remote: true, Host: sshd.Host,
		SSH: &SSHFiles{Key: sshd.Key, KnownHosts: wrong, Socket: sshd.Socket}}, nil)
	if err != nil {
		t.Fatalf("New with a wrong known host key: %v", err)
	}
	if err := wb.Ping(ctx); err == nil || !strings.Contains(err.Error(), "key mismatch") {
		t.Errorf("ping with a wrong host key in known_hosts: %v, want a key mismatch", err)
	}
	_ = wb.Close(context.Background())
	// A host known_hosts does not list.
	unknown := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(unknown, []byte(knownhosts.Line([]string{"[192.0.2.1]:22"}, sshd.HostKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if nb, err := New(ctx, Config{Fleet: testFleet(), Engine: "nas", Remote: true, Host: sshd.Host,
		SSH: &SSHFiles{Key: sshd.Key, KnownHosts: unknown}}, nil); err == nil || !strings.Contains(err.Error(), "no host key") {
		if nb != nil {
			_ = nb.Close(context.Background())
		}
		t.Errorf("New with a known_hosts without the host: %v, want no host key", err)
	}

	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	b, err := New(ctx, Config{Fleet: testFleet(), HerdbotBinary: a.herdbot, Engine: "nas", Remote: true,
		Host: sshd.Host, SSH: files}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := b.Close(cctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	v, err := b.Version(ctx)
	if err != nil || v == "" {
		t.Fatalf("version over SSH: %q %v\nsshd: %s", v, err, sshd.Log())
	}
	info, err := b.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(eng.Dir, "data"); info.Info.DockerRootDir != want {
		t.Fatalf("the engine over SSH has data root %s, want the second engine's %s", info.Info.DockerRootDir, want)
	}
	t.Logf("engine over SSH: version %s, data root %s", v, info.Info.DockerRootDir)

	tag := "herdbot-sandbox-test:ssh-" + randomHex(4)
	if err := buildTestImage(ctx, b, a, tag); err != nil {
		t.Fatalf("build the test image on the engine over SSH: %v", err)
	}
	spec := testSpec(t, a, "sshy", "/helper", "cat")
	spec.Image = tag
	p, err := b.Start(ctx, spec)
	if err != nil {
		t.Fatalf("start an agent on the engine over SSH: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, p.Stderr()) }()
	const msg = "hello over ssh\n"
	if _, err := io.WriteString(p.Stdin(), msg); err != nil {
		t.Fatal(err)
	}
	_ = p.Stdin().Close()
	out, err := io.ReadAll(p.Stdout())
	if err != nil || string(out) != msg {
		t.Errorf("agent output over SSH: %q %v, want %q", out, err, msg)
	}
	if st, err := p.Wait(ctx); err != nil || st.Code != 0 {
		t.Errorf("wait: %+v %v", st, err)
	}

	// The SSH connection drops (sshd's side ends it): the next call dials
	// again.
	if n := sshd.DropConnections(); n == 0 {
		t.Fatal("no SSH connection to drop: the backend's calls did not go through sshd")
	}
	if v2, err := b.Version(ctx); err != nil || v2 != v {
		t.Fatalf("version after the SSH connection dropped: %q %v", v2, err)
	}
	// The server's side stops answering without closing (a network
	// failure): the keepalive (1 s here) ends the connection and the next
	// call dials again.
	if n := sshd.FreezeConnections(); n == 0 {
		t.Fatal("no SSH connection to freeze")
	}
	t0 := time.Now()
	if v3, err := b.Version(ctx); err != nil || v3 != v {
		t.Fatalf("version after the SSH connection stopped answering: %q %v", v3, err)
	}
	t.Logf("answered %v after the connection froze (keepalive 1 s)", time.Since(t0).Round(time.Millisecond))
	if err := b.RemoveAgentVolumes(context.WithoutCancel(ctx), "sshy"); err != nil {
		t.Logf("remove volumes: %v", err)
	}
}
