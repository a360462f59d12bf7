package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/agents/claude/scripted"
	"github.com/herdbot/herdbot/sandbox/docker/dockertest"
)

// TestRemoteEngineAgent: herdbot places agent far on a second Docker
// engine (its own network namespace, TLS on the namespace's address, the
// certificates named in the fleet file's engines:) and runs agent near on
// this host. At start herdbot builds the agent image on that engine
// through its API (from the pinned CLI). A chat message to far is answered
// by the real CLI in a container there, whose workspace and HOME are
// volumes there: no bind mount of this host; `herdbot workspace ls|get`
// read its workspace back; /healthz and doctor show the engine and its
// version. Killing the engine fails only far's run ("container engine
// lost", said in chat), /healthz stays 200 ("degraded"), near keeps
// answering; once the engine is back, far answers again without a restart.
func TestRemoteEngineAgent(t *testing.T) {
	eng := dockertest.Start(t)
	dir := t.TempDir()

	// The model: reachable from this host and, through the namespace's
	// NAT, from the remote sidecar; each agent's answer names it.
	srv := scripted.New(func(req *scripted.Request) scripted.Reply {
		switch {
		case strings.Contains(req.System, "AGENT-FAR"):
			return scripted.Text("far-pong")
		case strings.Contains(req.System, "AGENT-NEAR"):
			return scripted.Text("near-pong")
		}
		return scripted.Text("ok")
	}, scripted.WithoutRecording())
	ln, err := net.Listen("tcp4", net.JoinHostPort(eng.HostIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() { stop(); <-served })
	modelAddr := ln.Addr().String()

	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		b, err := os.ReadFile(filepath.Join(eng.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "certs", f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("ANTHROPIC_API_KEY=sk-ant-api03-remote-test-key-000000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fleet := filepath.Join(dir, "herdbot.yaml")
	name := "e2e-remote-" + filepath.Base(dir)
	if len(name) > 40 {
		name = name[:40]
	}
	write(t, fleet, "version: 1\nfleet:\n  name: "+name+"\nhttp:\n  listen: 127.0.0.1:0\n"+
		"model_api:\n  base_url: http://"+modelAddr+"\n"+
		"engines:\n  box2:\n    host: "+eng.Host+"\n    tls:\n      ca: certs/ca.pem\n      cert: certs/cert.pem\n      key: certs/key.pem\n"+
		"agents:\n"+
		"  - path: agents/far\n    overrides:\n      docker:\n        engine: box2\n        ephemeral: false\n      network:\n        private: [\""+modelAddr+"\"]\n"+
		"  - path: agents/near\n    overrides:\n      docker:\n        enabled: false\n")
	write(t, filepath.Join(dir, "agents", "far", "agent.yaml"), "name: far\nsystem_prompt: AGENT-FAR\napprovers:\n  console: [local]\n")
	write(t, filepath.Join(dir, "agents", "far", "notes.txt"), "seeded from the agent directory\n")
	write(t, filepath.Join(dir, "agents", "far", ".env"), "FAR_TOKEN=never-leaves-this-host\n")
	write(t, filepath.Join(dir, "agents", "near", "agent.yaml"), "name: near\nsystem_prompt: AGENT-NEAR\napprovers:\n  console: [local]\n")
	for _, a := range []string{"far", "near"} {
		if err := os.Chmod(filepath.Join(dir, "agents", a), 0o777); err != nil { // the container user writes there
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "agents", "far", ".env"), 0o600); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	s := startService(t, fleet)
	deadline := time.Now().Add(5 * time.Minute)
	for !strings.Contains(s.stderr.String(), "herdbot started") {
		if time.Now().After(deadline) {
			t.Fatal("herdbot did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("herdbot started in %v (the agent image built on the second engine)", time.Since(start).Round(time.Second))
	addr := s.opsAddr(t)
	body := waitHealthz(t, addr, 200)
	if !strings.Contains(body, `"name":"engine:box2","ok":true,"detail":"20.`) {
		t.Errorf("/healthz does not show engine box2 and its version: %s", body)
	}

	s.say("@far hello")
	s.expect(`far-pong`)

	// The remote container: only volumes and tmpfs, no bind of this host.
	cli2nd, err := client.New(client.WithHost(eng.Sock()))
	if err != nil {
		t.Fatal(err)
	}
	defer cli2nd.Close()
	cs, err := cli2nd.ContainerList(t.Context(), client.ContainerListOptions{Filters: make(client.Filters).Add("label", "herdbot.agent=far", "herdbot.role=agent")})
	if err != nil || len(cs.Items) == 0 {
		t.Fatalf("far's warm container on the second engine: %v %v", cs.Items, err)
	}
	for _, m := range cs.Items[0].Mounts {
		if m.Type == mount.TypeBind {
			t.Errorf("bind mount in far's container: %s -> %s", m.Source, m.Destination)
		}
	}

	out, err := cli(t, fleet, "workspace", "ls", "far")
	if err != nil || !strings.Contains(out, "notes.txt") || !strings.Contains(out, "agent.yaml") || strings.Contains(out, ".env") {
		t.Errorf("workspace ls far: %q %v", out, err)
	}
	if out, err := cli(t, fleet, "workspace", "get", "far", "notes.txt"); err != nil || out != "seeded from the agent directory\n" {
		t.Errorf("workspace get far notes.txt: %q %v", out, err)
	}
	if _, err := cli(t, fleet, "workspace", "get", "far", "../../etc/passwd"); err == nil || !strings.Contains(err.Error(), "leaves the workspace") {
		t.Errorf("workspace get out of the workspace: %v", err)
	}
	if out, err := cli(t, fleet, "doctor"); !strings.Contains(out, "engine box2: reachable at "+eng.Host) {
		t.Errorf("doctor does not show engine box2: %s %v", out, err)
	}

	eng.Kill()
	s.say("@far are you there")
	m := s.expect(`failed: container engine lost`)
	t.Logf("far, engine down: %s", m[0])
	body = waitHealthz(t, addr, 200)
	if !strings.Contains(body, `"status":"degraded"`) || !strings.Contains(body, `"name":"engine:box2","ok":false`) {
		t.Errorf("/healthz with engine box2 down: %s", body)
	}
	s.say("@near hello")
	s.expect(`near-pong`)

	eng.Restart()
	waitHealthz(t, addr, 200)
	s.say("@far hello again")
	s.expect(`far-pong`)
	s.expectLog(t, "setting up the agent's networks and sidecar again")
}
