package main

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/config"
)

func TestDMAllowedRemovesBlocklisted(t *testing.T) {
	got := dmAllowed(config.DM{Enabled: true, Allowlist: []string{"1", "2", "3"}, Blocklist: []string{"2", "9"}})
	if !slices.Equal(got, []string{"1", "3"}) {
		t.Fatalf("got %v", got)
	}
}

func TestSessionTimeoutFromChatExpiry(t *testing.T) {
	a := &config.Agent{Session: config.Session{Timeout: 24 * time.Hour}}
	if got := sessionTimeout(a); got != 24*time.Hour {
		t.Fatalf("default: %v", got)
	}
	a.Chat.Discord = &config.Discord{SessionExpiryHours: config.DefaultSessionExpiry}
	a.Chat.Slack = &config.Slack{SessionExpiryHours: 6}
	if got := sessionTimeout(a); got != 6*time.Hour {
		t.Fatalf("slack 6h: %v", got)
	}
}

// TestCLIArgumentErrors: commands that take one argument say what is
// missing, before touching any config or socket.
func TestCLIArgumentErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"job"}, "job: need a job id"},
		{[]string{"cancel", "a", "b"}, "cancel: need a job id"},
		{[]string{"chat"}, "chat: need one agent name"},
		{[]string{"trigger"}, "trigger: need one agent name"},
		{[]string{"approve", "X", "maybe"}, `approve: "maybe" is not a choice: once (this time), session (this exact input again in the session) or deny`},
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"docs", "other"}, "docs: the topics are `config` and `herdctl`"},
	} {
		var out, errb strings.Builder
		err := run(context.Background(), c.args, strings.NewReader(""), &out, &errb)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("herdbot %v: got %v, want %q", c.args, err, c.want)
		}
	}
}

// TestAgentSpecDiskLimit: docker.disk_limit reaches the fleet, which
// measures the workspace and the agent's state dir (its HOME).
func TestAgentSpecDiskLimit(t *testing.T) {
	f := &config.Fleet{Name: "f", StateDir: "/state"}
	a := &config.Agent{Name: "garden", WorkingDirectory: "/ws", File: "/ws/agent.yaml",
		Docker: config.Docker{DiskLimit: 8 << 20, WorkspaceMode: "ro"}}
	s := agentSpec(f, a, model{}, false)
	if s.DiskLimit != 8<<20 || s.Sandbox.StateDir != "/state/agents/garden" || !s.Sandbox.WorkspaceReadOnly {
		t.Fatalf("disk limit %d, state dir %q, read-only %v", s.DiskLimit, s.Sandbox.StateDir, s.Sandbox.WorkspaceReadOnly)
	}
}

// TestReloadNeverAddsAnUnisolatedAgent: an agent that wants a container,
// added by a reload to a herdbot running without Docker, is refused, in
// the demo too; only --no-isolation (every agent native, said at start)
// runs it natively.
func TestReloadNeverAddsAnUnisolatedAgent(t *testing.T) {
	dir := t.TempDir()
	cfg := &config.Fleet{Name: "f", StateDir: dir + "/.herdbot", Agents: []*config.Agent{
		{Name: "garden", Dir: dir + "/agents/garden", File: dir + "/agents/garden/agent.yaml", WorkingDirectory: dir + "/agents/garden",
			Docker: config.Docker{Enabled: true}},
	}}
	for _, c := range []struct {
		name        string
		demo, noIso bool
		wantErr     bool
	}{
		{"fleet", false, false, true},
		{"demo", true, false, true},
		{"demo --no-isolation", true, true, false},
	} {
		svc := &service{demo: c.demo, noIsolation: c.noIso, useDocker: map[string]bool{}, backends: newBackendMux("claude"),
			log: slog.New(slog.DiscardHandler)}
		_, err := svc.specs(cfg)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: err %v, want error %v", c.name, err, c.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "agent garden has docker.enabled but herdbot runs without Docker") {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// TestDockerOptionsFromConfig: an agent's Docker-only settings reach the
// docker backend as typed options, field for field; a default agent gets
// the zero options (nothing added to the hardened container).
func TestDockerOptionsFromConfig(t *testing.T) {
	a := &config.Agent{}
	a.Docker.Privileged, a.Docker.CapAdd, a.Docker.Runtime, a.Docker.Network = true, []string{"NET_ADMIN"}, "runsc", "host"
	a.Docker.HostConfig = map[string]any{"ShmSize": int64(1 << 20)}
	a.Docker.Volumes = []string{"/srv/photos:/photos:ro"}
	a.Docker.DangerousHostConfig = true
	o := dockerOptions(a)
	if !o.Privileged || !slices.Equal(o.CapAdd, []string{"NET_ADMIN"}) || o.Runtime != "runsc" || !o.HostNetwork ||
		o.HostConfig["ShmSize"] != int64(1<<20) || !slices.Equal(o.Volumes, []string{"/srv/photos:/photos:ro"}) || !o.Dangerous {
		t.Fatalf("options %+v", o)
	}
	if o := dockerOptions(&config.Agent{}); o.Privileged || o.HostNetwork || o.Dangerous || o.HostConfig != nil || o.Volumes != nil || o.CapAdd != nil {
		t.Fatalf("a default agent's options %+v, want none", o)
	}
}
