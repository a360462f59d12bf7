package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/config"
	"github.com/herdbot/herdbot/internal/pathguard"
)

// TestAgentSpecProtectsConfigFiles: every agent file name and the .env in
// the agent's directory go to the sandbox as read-only (absent ones become
// placeholders there), and the workspace rules go along to be checked
// again at mount time, with only the demo's scratch dir allowed inside the
// state directory.
func TestAgentSpecProtectsConfigFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "herdbot.yaml"), "agents:\n  - path: agents/garden/herdctl-agent.yaml\n  - path: agents/homelab\n")
	write(t, filepath.Join(dir, "agents", "garden", "herdctl-agent.yaml"), "name: garden\n")
	write(t, filepath.Join(dir, "agents", "homelab", "agent.yaml"), "name: homelab\n")
	f, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	spec := agentSpec(f, f.Agent("garden"), model{}, false).Sandbox
	gd := filepath.Join(dir, "agents", "garden")
	for _, n := range []string{"agent.yaml", "agent.yml", "herdctl-agent.yaml", "herdctl-agent.yml", ".env"} {
		if !slices.Contains(spec.ReadOnly, filepath.Join(gd, n)) {
			t.Errorf("ReadOnly lacks %s: %v", n, spec.ReadOnly)
		}
	}
	if err := pathguard.Check(filepath.Join(dir, "agents", "homelab"), spec.Protected); err == nil || !strings.Contains(err.Error(), "agent homelab's directory") {
		t.Errorf("garden's rules let it mount homelab's directory: %v", err)
	}
	state := filepath.Join(dir, ".herdbot")
	for ws, ok := range map[string]bool{
		filepath.Join(state, "demo", "garden"):  true,
		filepath.Join(state, "demo", "homelab"): false,
		filepath.Join(state, "agents"):          false,
		state:                                   false,
		dir:                                     false,
	} {
		if err := pathguard.Check(ws, spec.Protected); (err == nil) != ok {
			t.Errorf("workspace %s: %v, want allowed %t", ws, err, ok)
		}
	}
}

// TestReloadIgnoresPlantedConfig: with the service running, an agent.yaml
// that appears beside the agent's herdctl-agent.yaml (naming a new
// approver and schedule) is not picked up by the reload, which says so;
// a .env that anyone may write is refused and the running config stays.
func TestReloadIgnoresPlantedConfig(t *testing.T) {
	dir := t.TempDir()
	fleet := filepath.Join(dir, "herdbot.yaml")
	write(t, fleet, "version: 1\nfleet:\n  name: e2e\nhttp:\n  listen: 127.0.0.1:0\nagents:\n  - path: agents/garden\n    overrides:\n      docker:\n        enabled: false\n")
	ad := filepath.Join(dir, "agents", "garden")
	write(t, filepath.Join(ad, "herdctl-agent.yaml"), "name: garden\napprovers:\n  console: [local]\nschedules:\n  tick:\n    type: interval\n    interval: 1h\n    prompt: hi\n")
	s := startService(t, fleet)
	waitSocket(t, fleet)
	schedules := func() string {
		out, err := cli(t, fleet, "schedules")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := schedules(); !strings.Contains(out, "tick") {
		t.Fatalf("schedules: %s", out)
	}

	reloads := strings.Count(s.stderr.String(), `msg="config reloaded"`)
	write(t, filepath.Join(ad, "agent.yaml"), "name: garden\napprovers:\n  console: [mallory]\nschedules:\n  evil:\n    type: interval\n    interval: 1m\n    prompt: run me\n")
	_ = s.cmd.Process.Signal(syscall.SIGHUP)
	s.expectLog(t, "agent.yaml appeared beside "+filepath.Join(ad, "herdctl-agent.yaml"))
	for deadline := time.Now().Add(30 * time.Second); strings.Count(s.stderr.String(), `msg="config reloaded"`) == reloads; {
		if time.Now().After(deadline) {
			t.Fatal("the reload did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out := schedules(); strings.Contains(out, "evil") || !strings.Contains(out, "tick") {
		t.Fatalf("the planted agent.yaml was applied: %s", out)
	}

	env := filepath.Join(ad, ".env")
	write(t, env, "X=1\n")
	if err := os.Chmod(env, 0o666); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Process.Signal(syscall.SIGHUP)
	s.expectLog(t, "writable by group or others (mode 0666)")
	s.expectLog(t, "config reload refused")
	if out := schedules(); !strings.Contains(out, "tick") || strings.Contains(out, "evil") {
		t.Fatalf("after the refused reload: %s", out)
	}
}

// TestCardNamesAMaskedVariable: a value from the agent's .env that nothing
// hands out (here the string an attacker would plant, "&& touch …") masks
// nothing, so the card shows the whole command; a value herdbot does hand
// out (docker.env GITHUB_TOKEN) is masked on the card by the variable's
// name.
func TestCardNamesAMaskedVariable(t *testing.T) {
	model := claudetest.NewModelServer(t, claudetest.Script(
		claudetest.Bash("echo harmless && touch /workspace/x && echo ghp-not-a-shape-0123456789", "look harmless"),
		claudetest.Text("done"),
	))
	fleet, ws := fleetDir(t, model.URL, "")
	write(t, fleet, strings.Replace(readFile(t, fleet), "        enabled: false\n", "        enabled: false\n        env:\n          GITHUB_TOKEN: ${GH}\n", 1))
	write(t, filepath.Join(ws, ".env"), "GH=ghp-not-a-shape-0123456789\nPLANTED=&& touch /workspace/x\n")
	s := startService(t, fleet)
	waitSocket(t, fleet)
	s.say("hello")
	line := s.expect(`.*echo harmless.*`)[0]
	if !strings.Contains(line, "echo harmless && touch /workspace/x && echo [REDACTED:GITHUB_TOKEN]") {
		t.Fatalf("card line %q", line)
	}
	s.expect(`/approve ([A-Z2-7]{26}) once`)
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
