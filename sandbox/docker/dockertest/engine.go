// Package dockertest starts a second Docker engine for tests: another
// machine's engine as far as herdbot can tell. It runs in a network
// namespace of its own, joined to this host by a veth pair, and listens on
// TCP with --tlsverify on the namespace's address, with certificates the
// test makes (crypto/x509); it has its own data root, exec root (and so its
// own containerd), pidfile, config file and address pool, and its iptables
// rules are the namespace's. It needs root.
package dockertest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herdbot/herdbot/internal/testenv"
)

// Engine is a running (or killed) second engine.
type Engine struct {
	t   testing.TB
	Dir string // its files: data, exec root, socket, certificates
	NS  string // network namespace name
	// HostIP is this host's address on the veth pair (where a server of
	// the test is reachable from the engine's containers, through NAT),
	// NSIP the engine's.
	HostIP, NSIP string
	// Host is the engine's address for a client: tcp://NSIP:2376.
	Host string
	// CA, Cert, Key are the client's PEM files (the key mode 0600).
	CA, Cert, Key string
	// Pool is the engine's default address pool.
	Pool string

	cmd  *exec.Cmd
	done chan struct{}
}

// Port is the engine's TLS port.
const Port = "2376"

// RequireRoot skips the test without root, or fails it when
// HERDBOT_REQUIRE_DOCKER=1 (CI runs as root).
func RequireRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("HERDBOT_REQUIRE_DOCKER") == "1" {
		t.Fatalf("%s needs root (required because HERDBOT_REQUIRE_DOCKER=1)", what)
	}
	t.Skipf("%s needs root; set HERDBOT_REQUIRE_DOCKER=1 to make this a failure", what)
}

// Start starts a second engine and stops and removes it (its containers,
// mounts, namespace and files) when the test ends.
func Start(t testing.TB) *Engine {
	t.Helper()
	testenv.RequireDocker(t)
	RequireRoot(t, "a second Docker engine in its own network namespace")
	for _, tool := range []string{"dockerd", "ip", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: %v", tool, err)
		}
	}
	dir, err := os.MkdirTemp("/tmp", "hbe") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	var rb [2]byte
	_, _ = rand.Read(rb[:])
	n := 1 + int(rb[0])%250
	id := fmt.Sprintf("%x", rb)
	e := &Engine{t: t, Dir: dir, NS: "hbe" + id + strconv.Itoa(os.Getpid()%1000),
		HostIP: fmt.Sprintf("10.215.%d.1", n), NSIP: fmt.Sprintf("10.215.%d.2", n),
		Pool: fmt.Sprintf("10.216.%d.0/24", n)}
	e.Host = "tcp://" + net.JoinHostPort(e.NSIP, Port)
	t.Cleanup(e.cleanup)
	e.netns()
	e.certs()
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.Restart()
	return e
}

func (e *Engine) run(args ...string) {
	e.t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		e.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// netns makes the namespace and the veth pair: HostIP here, NSIP there,
// the namespace's default route through this host.
func (e *Engine) netns() {
	e.t.Helper()
	h, p := e.NS+"h", e.NS+"n"
	if len(h) > 15 {
		e.t.Fatalf("interface name %s too long", h)
	}
	e.run("ip", "netns", "add", e.NS)
	e.run("ip", "link", "add", h, "type", "veth", "peer", "name", p)
	e.run("ip", "link", "set", p, "netns", e.NS)
	e.run("ip", "addr", "add", e.HostIP+"/30", "dev", h)
	e.run("ip", "link", "set", h, "up")
	in := []string{"ip", "netns", "exec", e.NS}
	e.run(append(in, "ip", "addr", "add", e.NSIP+"/30", "dev", p)...)
	e.run(append(in, "ip", "link", "set", p, "up")...)
	e.run(append(in, "ip", "link", "set", "lo", "up")...)
	e.run(append(in, "ip", "route", "add", "default", "via", e.HostIP)...)
}

// certs makes a CA, the engine's server certificate (for NSIP) and the
// client's.
func (e *Engine) certs() {
	e.t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "herdbot test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		e.t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage, ips []net.IP) (certPEM, keyPEM []byte) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: ips,
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &k.PublicKey, caKey)
		if err != nil {
			e.t.Fatal(err)
		}
		kd, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			e.t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
	}
	sc, sk := leaf("engine", 2, x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP(e.NSIP)})
	cc, ck := leaf("herdbot", 3, x509.ExtKeyUsageClientAuth, nil)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	for name, b := range map[string][]byte{"ca.pem": caPEM, "server.pem": sc, "server-key.pem": sk, "cert.pem": cc, "key.pem": ck} {
		if err := os.WriteFile(filepath.Join(e.Dir, name), b, 0o600); err != nil {
			e.t.Fatal(err)
		}
	}
	e.CA, e.Cert, e.Key = filepath.Join(e.Dir, "ca.pem"), filepath.Join(e.Dir, "cert.pem"), filepath.Join(e.Dir, "key.pem")
}

// Sock is the engine's unix socket (for the test's own checks).
func (e *Engine) Sock() string { return "unix://" + filepath.Join(e.Dir, "docker.sock") }

// Restart starts dockerd (again) and waits until it answers. On a loaded
// machine its containerd can miss dockerd's start-up deadline (dockerd
// then exits): that is retried, twice.
func (e *Engine) Restart() {
	e.t.Helper()
	for attempt := 1; ; attempt++ {
		err := e.startOnce()
		if err == nil {
			return
		}
		b, _ := os.ReadFile(filepath.Join(e.Dir, "dockerd.log"))
		if attempt == 3 {
			e.t.Fatalf("second dockerd did not come up: %v\n%s", err, tail(string(b), 4000))
		}
		e.t.Logf("second dockerd did not come up (attempt %d, trying again): %v\n%s", attempt, err, tail(string(b), 1000))
	}
}

func (e *Engine) startOnce() error {
	log, err := os.OpenFile(filepath.Join(e.Dir, "dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	// nsenter joins only the network namespace: `ip netns exec` would
	// also remount /sys, hiding the cgroup mounts dockerd needs.
	e.cmd = exec.Command("nsenter", "--net=/var/run/netns/"+e.NS, "dockerd",
		"--host", e.Sock(),
		"--host", e.Host,
		"--tlsverify",
		"--tlscacert", e.CA,
		"--tlscert", filepath.Join(e.Dir, "server.pem"),
		"--tlskey", filepath.Join(e.Dir, "server-key.pem"),
		"--data-root", filepath.Join(e.Dir, "data"),
		"--exec-root", filepath.Join(e.Dir, "exec"),
		"--pidfile", filepath.Join(e.Dir, "docker.pid"),
		"--config-file", filepath.Join(e.Dir, "daemon.json"),
		"--bridge=none",
		"--default-address-pool", "base="+e.Pool+",size=28")
	e.cmd.Stdout, e.cmd.Stderr = log, log
	if err := e.cmd.Start(); err != nil {
		return err
	}
	e.done = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { _ = c.Wait(); close(done) }(e.cmd, e.done)
	deadline := time.Now().Add(2 * time.Minute)
	for !e.up() {
		select {
		case <-e.done:
			return errors.New("dockerd exited")
		default:
		}
		if time.Now().After(deadline) {
			e.Kill()
			return errors.New("no answer after 2 min")
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// up: the engine answers on its unix socket.
func (e *Engine) up() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, "docker", "-H", e.Sock(), "info")
	return c.Run() == nil
}

// Kill ends the engine the hard way (its containerd goes with it; the
// containers' shims stay until the engine is back).
func (e *Engine) Kill() {
	e.t.Helper()
	if e.cmd == nil || e.cmd.Process == nil {
		return
	}
	_ = e.cmd.Process.Kill()
	<-e.done
}

// cleanup stops the engine (which stops its containers), ends anything of
// it still running, unmounts what it mounted, and removes its namespace
// and files.
func (e *Engine) cleanup() {
	if e.cmd != nil && e.done != nil {
		select {
		case <-e.done:
		default:
			_ = e.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-e.done:
			case <-time.After(60 * time.Second):
				_ = e.cmd.Process.Kill()
				<-e.done
			}
		}
	}
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), e.Dir+"/") {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mounts")
	var mine []string
	for _, l := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], e.Dir+"/") {
			mine = append(mine, f[1])
		}
	}
	for i := len(mine) - 1; i >= 0; i-- {
		_ = exec.Command("umount", "-l", mine[i]).Run()
	}
	_ = exec.Command("ip", "netns", "del", e.NS).Run() // takes the veth pair with it
	if err := os.RemoveAll(e.Dir); err != nil {
		e.t.Logf("remove %s: %v", e.Dir, err)
	}
}
