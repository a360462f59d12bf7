package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const exampleDir = "../deploy/example"

// copyExample copies deploy/example to a temp dir as a fresh clone has it:
// without local .env files and without the state of a local run.
func copyExample(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(exampleDir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(exampleDir, p)
		if d.IsDir() {
			if d.Name() == ".herdbot" {
				return filepath.SkipDir // state of a local run
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if d.Name() == ".env" || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestExampleFleetFreshClone: the example validates with no .env at all,
// chat reported as not connected, console approvers present.
func TestExampleFleetFreshClone(t *testing.T) {
	dir := copyExample(t)
	f, err := load(dir, mapLookup(nil))
	if err != nil {
		t.Fatalf("load example: %v", err)
	}
	if len(f.Warnings) != 0 {
		t.Errorf("warnings: %q", f.Warnings)
	}
	g, h := f.Agent("garden"), f.Agent("homelab")
	if g == nil || h == nil {
		t.Fatal("want agents garden and homelab")
	}
	if s := g.Schedules[0]; s.Type != "interval" || s.Interval != 72*time.Hour || s.PostTo.Platform != "discord" {
		t.Errorf("garden schedule = %+v", s)
	}
	if s := h.Schedules[0]; s.Type != "cron" || s.Timezone.String() != "Europe/Berlin" {
		t.Errorf("homelab schedule = %+v", s)
	}
	if g.Chat.Discord.Connected() || h.Chat.Slack.Connected() || h.Chat.Discord.Connected() {
		t.Error("chat connected without tokens")
	}
	if len(g.Approvers.Console) == 0 || len(h.Approvers.Console) == 0 {
		t.Error("example agents need console approvers")
	}
	if len(h.Network.Private) == 0 || h.Network.Private[0] != "proxmox.lan:8006" || len(g.Network.Private) != 0 {
		t.Errorf("private: garden %v homelab %v", g.Network.Private, h.Network.Private)
	}
	var out bytes.Buffer
	// The fire times come from the caller (the scheduler's own NextRuns);
	// here a stand-in that counts days shows they are printed per schedule.
	day := func(a *Agent, s Schedule, now time.Time, n int) []time.Time {
		out := make([]time.Time, n)
		for i := range out {
			out[i] = now.Add(time.Duration(i+1) * 24 * time.Hour)
		}
		return out
	}
	if err := Summary(f, &out, time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), day); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"agent garden", "agent homelab", "not connected (GARDEN_DISCORD_BOT_TOKEN",
		"weather: every 3d", "next: 2026-11-23 12:00 UTC, 2026-11-24 12:00 UTC, 2026-11-25 12:00 UTC",
		`morning-check: cron "30 7 * * *" (Europe/Berlin)`,
		"sandbox:   docker", "private:   proxmox.lan:8006",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

// TestExampleFleetWithSecrets: with the .env.example files copied to .env,
// tokens resolve per agent and the summary never prints them.
func TestExampleFleetWithSecrets(t *testing.T) {
	dir := copyExample(t)
	for _, d := range []string{".", "agents/garden", "agents/homelab"} {
		b, err := os.ReadFile(filepath.Join(dir, d, ".env.example"))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, d, ".env"), b, 0o600)
	}
	f, err := load(dir, mapLookup(nil))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	g, h := f.Agent("garden"), f.Agent("homelab")
	if !g.Chat.Discord.Connected() || !h.Chat.Slack.Connected() {
		t.Error("tokens not resolved")
	}
	if g.Docker.Env["GITHUB_TOKEN"] != g.Env["GARDEN_GITHUB_TOKEN"] || h.Docker.Env["GITHUB_TOKEN"] != "" {
		t.Errorf("container env: garden %v homelab %v", g.Docker.Env, h.Docker.Env)
	}
	var out bytes.Buffer
	if err := Summary(f, &out, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{f.Model.APIKey, g.Chat.Discord.Token, h.Chat.Slack.BotToken, h.Chat.Slack.AppToken, g.Env["GARDEN_GITHUB_TOKEN"], h.Env["HOMELAB_PROXMOX_TOKEN"]} {
		if secret == "" || strings.Contains(out.String(), secret) {
			t.Errorf("secret %q empty or printed", secret)
		}
	}
	if !strings.Contains(out.String(), "token set (GARDEN_DISCORD_BOT_TOKEN); connects when herdbot starts") {
		t.Errorf("summary:\n%s", out.String())
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{72 * time.Hour: "3d", 30 * time.Minute: "30m", time.Hour: "1h", 10 * time.Second: "10s", 90 * time.Minute: "1h30m"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestQueueIntakeSettings(t *testing.T) {
	f := mustLoad(t, baseFleet, nil)
	if q := f.Agents[0].Queue; q.Max != 10 || q.AgentMax != 50 || q.PerUser != (Rate{N: 10, Per: time.Minute}) || q.NoticeEvery != time.Minute {
		t.Errorf("defaults %+v", q)
	}
	f = mustLoad(t, with(baseFleet, map[string]string{"agents/a/agent.yaml": "name: a\nqueue:\n  max: 3\n  agent_max: 7\n  per_user: 4/30s\n  notice_every: 5m\n"}), nil)
	if q := f.Agents[0].Queue; q.Max != 3 || q.AgentMax != 7 || q.PerUser != (Rate{N: 4, Per: 30 * time.Second}) || q.NoticeEvery != 5*time.Minute {
		t.Errorf("set %+v", q)
	}
	for in, want := range map[string]Rate{"10/m": {10, time.Minute}, "100/1d": {100, 24 * time.Hour}, "off": {N: -1}, " 2 / 1h ": {2, time.Hour}} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"3d": 72 * time.Hour, "1d12h": 36 * time.Hour, "72h": 72 * time.Hour, "90s": 90 * time.Second,
		// herdctl's session timeouts: one unit, decimals, weeks.
		"1w": 7 * 24 * time.Hour, "1.5d": 36 * time.Hour, "0.5h": 30 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "3x", "-1d", "1.5x", "1W", "2 w"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", in)
		}
	}
}
