package config

import (
	"strings"
	"testing"
	"time"
)

// TestHerdctlFleetUnchanged loads a herdctl-style fleet (herdctl.yaml,
// herdctl-agent.yaml files, interval/cron schedules, safe docker options,
// chat.discord with guilds/channels/dm) exactly as herdctl users write it.
func TestHerdctlFleetUnchanged(t *testing.T) {
	f, err := load("testdata/herdctl", mapLookup(nil))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !strings.HasSuffix(f.Path, "herdctl.yaml") || f.Name != "multi-agent-docker-fleet" || len(f.Agents) != 2 {
		t.Fatalf("fleet = %s %q with %d agents", f.Path, f.Name, len(f.Agents))
	}
	g := f.Agent("Gardener")
	if g == nil {
		t.Fatal("no Gardener")
	}
	if g.PermissionMode != "acceptEdits" {
		t.Errorf("permission mode %q; want acceptEdits from defaults", g.PermissionMode)
	}
	d := g.Docker
	if d.Memory != 1<<30 || d.PidsLimit != 50 || d.CPUShares != 512 || d.WorkspaceMode != "ro" || d.MaxContainers != 2 ||
		d.User != "1000:1000" || len(d.Volumes) != 1 || d.Tmpfs["/tmp/cache"] != "size=64m" || d.Labels["team"] != "garden" {
		t.Errorf("Gardener docker = %+v", d)
	}
	if len(g.Schedules) != 2 || g.Schedules[0].Name != "weather" || g.Schedules[0].Interval != 72*time.Hour ||
		g.Schedules[1].Cron != "0 9 * * 1" || g.Schedules[1].Enabled {
		t.Errorf("Gardener schedules = %+v", g.Schedules)
	}
	dc := g.Chat.Discord
	if dc == nil || dc.Token != "garden-discord-bot-token" || len(dc.Guilds) != 1 || dc.Guilds[0].ID != "8888888888888888888" ||
		dc.Guilds[0].Channels[0].ID != "9999999999999999999" || dc.Guilds[0].Channels[0].Mode != "auto" ||
		!dc.DM.Enabled || dc.DM.Allowlist[0] != "777777777777777777" {
		t.Errorf("Gardener discord = %+v", dc)
	}
	h := f.Agent("homelab")
	if h.WorkingDirectory != h.Dir || h.MaxTurns != 20 || h.MCPServers["filesystem"].Type != "stdio" || h.MCPServers["docs"].URL == "" {
		t.Errorf("homelab = %+v", h)
	}
	if h.Docker.HostConfig["ShmSize"] != int64(67108864) {
		t.Errorf("homelab host_config = %v", h.Docker.HostConfig)
	}
	// Every unsupported herdctl field set there: one warning each.
	for _, w := range []string{"web.port:", "log_level", "context_messages", "dm.mode", "chat.discord.output", "hooks"} {
		n := 0
		for _, got := range f.Warnings {
			if strings.Contains(got, w) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d warnings mention %q; want 1. Warnings:\n%s", n, w, strings.Join(f.Warnings, "\n"))
		}
	}
	// herdctl's web: is the dashboard's (enabled: false there); its port is not (http.listen).
	if f.Web.Enabled || f.Web.SessionExpiry != 12*time.Hour || !f.Web.ToolResults {
		t.Errorf("web = %+v", f.Web)
	}
	if len(f.Warnings) != 6 {
		t.Errorf("%d warnings, want 6:\n%s", len(f.Warnings), strings.Join(f.Warnings, "\n"))
	}
}

// TestWarningsNamePlace: a warning names file, line and field.
func TestWarningsNamePlace(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{
		"agents/a/agent.yaml": "name: a\nidentity:\n  name: Bob\nruntime: sdk\n",
	}), nil)
	want := []string{"agents/a/agent.yaml:2: identity: identity is not supported", "agents/a/agent.yaml:4: runtime: runtime sdk is not supported"}
	for _, w := range want {
		found := false
		for _, got := range f.Warnings {
			found = found || strings.HasSuffix(got, w) || strings.Contains(got, w)
		}
		if !found {
			t.Errorf("no warning %q in %q", w, f.Warnings)
		}
	}
}

// TestAgentCannotWidenItsSandbox: an agent can edit its own file, so it may
// not turn docker off or skip approvals there; the fleet file may.
func TestAgentCannotWidenItsSandbox(t *testing.T) {
	for name, agent := range map[string]string{
		"docker off": "name: a\ndocker:\n  enabled: false\n",
		"bypass":     "name: a\npermission_mode: bypassPermissions\n",
	} {
		_, _, err := loadFiles(t, with(baseFleet, map[string]string{"agents/a/agent.yaml": agent}), nil)
		ps := problemsOf(t, err)
		if len(ps) != 1 || !strings.Contains(ps[0].Message, "fleet file") || !strings.HasSuffix(ps[0].File, "agent.yaml") {
			t.Errorf("%s: want one error naming the fleet file, got %+v", name, ps)
		}
	}
	// The same settings from the fleet's overrides for the agent load.
	f := mustLoad(t, with(baseFleet, map[string]string{
		"herdbot.yaml":        "version: 1\nagents:\n  - path: agents/a\n    overrides:\n      permission_mode: bypassPermissions\n      docker:\n        enabled: false\n",
		"agents/a/agent.yaml": "name: a\n",
	}), nil)
	if a := f.Agents[0]; a.Docker.Enabled || a.PermissionMode != "bypassPermissions" {
		t.Fatalf("fleet overrides not applied: %+v %q", a.Docker.Enabled, a.PermissionMode)
	}
}

// TestWarningsHerdbot: things that load but deserve a word.
func TestWarningsHerdbot(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{
		"agents/a/agent.yaml": "name: a\nchat:\n  discord:\n    bot_token_env: T\n    guilds: []\n    dm:\n      enabled: true\n",
	}), nil)
	want := []string{"agents/a/agent.yaml:7: chat.discord.dm.enabled: DMs are enabled but the allowlist is empty"}
	for _, w := range want {
		found := false
		for _, got := range f.Warnings {
			found = found || strings.Contains(got, w)
		}
		if !found {
			t.Errorf("no warning %q in %q", w, f.Warnings)
		}
	}
	// Warnings survive a failed load on Errors.Warnings.
	_, _, err := loadFiles(t, with(baseFleet, map[string]string{"agents/a/agent.yaml": "name: a\nplugins: [x]\nbogus: 1\n"}), nil)
	problemsOf(t, err)
	if es := err.(*Errors); len(es.Warnings) != 1 || !strings.Contains(es.Warnings[0], "plugins") {
		t.Errorf("Errors.Warnings = %q", es.Warnings)
	}
}
