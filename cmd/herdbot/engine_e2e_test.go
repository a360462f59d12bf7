package main

import (
	"context"
	"errors"
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

// testEngine is a second Docker engine that a test starts, kills and
// restarts, apart from the main one other tests and engineers use: its own
// socket, data root, exec root (and so its own containerd), pidfile,
// config file and address pool; no default bridge and no iptables rules,
// so it never touches the host's networking.
type testEngine struct {
	t    *testing.T
	dir  string
	sock string
	cmd  *exec.Cmd
	done chan struct{}
}

func startTestEngine(t *testing.T) *testEngine {
	t.Helper()
	testenv.RequireDocker(t)
	requireRoot(t, "a second dockerd")
	if _, err := exec.LookPath("dockerd"); err != nil {
		t.Fatalf("dockerd not found: %v", err)
	}
	dir, err := os.MkdirTemp("/tmp", "hbeng") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &testEngine{t: t, dir: dir, sock: filepath.Join(dir, "docker.sock")}
	t.Cleanup(e.cleanup)
	allowBridged(t)
	e.start()
	return e
}

// testPool is the test engine's address pool.
const testPool = "10.213.0.0/16"

// allowBridged lets traffic between containers on the test engine's
// bridges through the host's FORWARD chain (the main engine sets its
// policy to DROP, and the test engine, without iptables rules of its own,
// adds no exception): one rule for the test pool only, removed at the end.
func allowBridged(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("iptables"); err != nil {
		return // no firewall to pass
	}
	chain := "DOCKER-USER"
	if exec.Command("iptables", "-n", "-L", chain).Run() != nil {
		chain = "FORWARD"
	}
	rule := []string{chain, "-s", testPool, "-d", testPool, "-j", "ACCEPT", "-m", "comment", "--comment", "herdbot engine-loss test"}
	if out, err := exec.Command("iptables", append([]string{"-I"}, rule...)...).CombinedOutput(); err != nil {
		t.Fatalf("iptables: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("iptables", append([]string{"-D"}, rule...)...).Run() })
}

func (e *testEngine) host() string { return "unix://" + e.sock }

// start starts dockerd and waits until it answers. On a loaded machine
// its containerd can miss dockerd's start-up deadline (dockerd then exits):
// that is retried, twice.
func (e *testEngine) start() {
	e.t.Helper()
	for attempt := 1; ; attempt++ {
		err := e.startOnce()
		if err == nil {
			return
		}
		b, _ := os.ReadFile(filepath.Join(e.dir, "dockerd.log"))
		if attempt == 3 {
			e.t.Fatalf("test dockerd did not come up: %v\n%s", err, tail(string(b), 4000))
		}
		e.t.Logf("test dockerd did not come up (attempt %d, trying again): %v\n%s", attempt, err, tail(string(b), 1000))
	}
}

func (e *testEngine) startOnce() error {
	log, err := os.OpenFile(filepath.Join(e.dir, "dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	e.cmd = exec.Command("dockerd",
		"--host", e.host(),
		"--data-root", filepath.Join(e.dir, "data"),
		"--exec-root", filepath.Join(e.dir, "exec"),
		"--pidfile", filepath.Join(e.dir, "docker.pid"),
		"--config-file", filepath.Join(e.dir, "daemon.json"),
		"--bridge=none", "--iptables=false", "--ip-masq=false", "--ip6tables=false",
		"--default-address-pool", "base="+testPool+",size=24")
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
			e.kill()
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

func (e *testEngine) up() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, "docker", "info")
	c.Env = append(os.Environ(), "DOCKER_HOST="+e.host())
	return c.Run() == nil
}

// kill ends the engine the hard way (its containerd goes with it; the
// containers' shims stay until the engine is back).
func (e *testEngine) kill() {
	e.t.Helper()
	_ = e.cmd.Process.Kill()
	<-e.done
}

// cleanup stops the engine (which stops its containers), ends anything
// of it still running, unmounts what it mounted and removes its files.
func (e *testEngine) cleanup() {
	if e.cmd != nil {
		select {
		case <-e.done: // not running
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
	// Shims (and their containers) of this engine only: their command
	// line names its exec root.
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), e.dir+"/") {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mounts")
	var mine []string
	for _, l := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], e.dir+"/") {
			mine = append(mine, f[1])
		}
	}
	for i := len(mine) - 1; i >= 0; i-- { // deepest last mounted first
		_ = exec.Command("umount", "-l", mine[i]).Run()
	}
	if err := os.RemoveAll(e.dir); err != nil {
		e.t.Logf("remove %s: %v", e.dir, err)
	}
}

// TestEngineLossIsItsOwnOutcome: herdbot runs a sandboxed agent (garden)
// on an engine that dies mid-run, and a native one (notes). The run fails
// as "container engine lost" at once (not a timeout), /healthz says the
// engine is down, notes keeps answering, and once the engine is back garden
// works again, its networks and sidecar set up anew, without a restart.
// It is the --demo (make run) setup, so the demo recovers the same way.
func TestEngineLossIsItsOwnOutcome(t *testing.T) {
	eng := startTestEngine(t)
	t.Setenv("DOCKER_HOST", eng.host())
	dir := t.TempDir()
	fleet := filepath.Join(dir, "herdbot.yaml")
	write(t, fleet, "version: 1\nfleet:\n  name: e2e-engine\nhttp:\n  listen: 127.0.0.1:0\n"+
		"agents:\n  - path: agents/garden\n  - path: agents/notes\n    overrides:\n      docker:\n        enabled: false\n")
	write(t, filepath.Join(dir, "agents", "garden", "agent.yaml"), "name: garden\napprovers:\n  console: [local]\n")
	write(t, filepath.Join(dir, "agents", "notes", "agent.yaml"), "name: notes\napprovers:\n  console: [local]\n")
	s := startService(t, fleet, "--demo")
	// A fresh engine: the demo builds the agent image (from the pinned
	// CLI) and the sidecar image first.
	deadline := time.Now().Add(5 * time.Minute)
	for !strings.Contains(s.stderr.String(), "herdbot started") {
		if time.Now().After(deadline) {
			t.Fatal("herdbot did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	addr := s.opsAddr(t)

	s.say("@garden hello")
	s.expect(`/approve ([A-Z2-7]{26}) once`) // garden runs in its container on the test engine
	waitHealthz(t, addr, 200)

	lost := time.Now()
	eng.kill()
	m := s.expect(`failed: container engine lost: (.*) \(job (j-[0-9a-f]+)\)`)
	t.Logf("run failed %v after the engine died: %s", time.Since(lost).Round(time.Millisecond), m[0])
	if strings.Contains(m[0], "timed out") {
		t.Fatalf("engine loss reported as a timeout: %s", m[0])
	}
	body := waitHealthz(t, addr, 503)
	if !strings.Contains(body, `"name":"engine","ok":false`) {
		t.Fatalf("/healthz with the engine down: %s", body)
	}

	// The other agent keeps serving.
	s.say("@notes hello")
	id := s.expect(`/approve ([A-Z2-7]{26}) once`)[1]
	s.say("/approve " + id + " once")
	s.expect(`The sandbox ran the command`) // the answer, after the tool ran (its command shows "hello from the sandbox" before)

	// The engine comes back: garden works again without a restart.
	eng.start()
	waitHealthz(t, addr, 200)
	s.say("@garden hello again")
	got := s.expect(`(/approve ([A-Z2-7]{26}) once|You said)`)
	if got[2] != "" {
		s.say("/approve " + got[2] + " once")
		s.expect(`The sandbox ran the command`) // the answer, after the tool ran (its command shows "hello from the sandbox" before)
	}
	s.expectLog(t, "setting up the agent's networks and sidecar again")
}
