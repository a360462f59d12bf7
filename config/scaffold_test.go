package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScaffoldLoadsCleanly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fleet")
	if err := Scaffold(dir, "", ""); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"herdbot.yaml", ".env.example", ".gitignore", "agents/assistant/agent.yaml", "agents/assistant/.env.example"} {
		if !exists(filepath.Join(dir, f)) {
			t.Errorf("missing %s", f)
		}
	}
	f, err := load(dir, mapLookup(nil))
	if err != nil {
		t.Fatalf("scaffold does not load: %v", err)
	}
	if len(f.Agents) != 1 || f.Agents[0].Name != "assistant" || len(f.Warnings) != 0 {
		t.Errorf("agents %d, warnings %q", len(f.Agents), f.Warnings)
	}
	// Also once the .env.example files are copied to .env.
	for _, d := range []string{".", "agents/assistant"} {
		b, _ := os.ReadFile(filepath.Join(dir, d, ".env.example"))
		os.WriteFile(filepath.Join(dir, d, ".env"), b, 0o600)
	}
	if _, err := load(dir, mapLookup(nil)); err != nil {
		t.Fatalf("scaffold with .env does not load: %v", err)
	}
}

func TestScaffoldRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "herdbot.yaml"), []byte("mine\n"), 0o644)
	err := Scaffold(dir, "", "")
	if err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "herdbot.yaml")); string(b) != "mine\n" {
		t.Error("existing file changed")
	}
	if exists(filepath.Join(dir, "agents")) {
		t.Error("wrote other files despite refusing")
	}
}

// `herdbot init --fleet NAME --agent NAME` names the fleet and its agent,
// the agent's directory and its variables.
func TestScaffold(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fleet")
	if err := Scaffold(dir, "mygarden", "garden-bot"); err != nil {
		t.Fatal(err)
	}
	f, err := load(dir, mapLookup(nil))
	if err != nil {
		t.Fatalf("named scaffold does not load: %v", err)
	}
	if f.Name != "mygarden" || len(f.Agents) != 1 || f.Agents[0].Name != "garden-bot" || len(f.Warnings) != 0 {
		t.Fatalf("fleet %q, agents %+v, warnings %q", f.Name, f.Agents, f.Warnings)
	}
	b, err := os.ReadFile(filepath.Join(dir, "agents", "garden-bot", ".env.example"))
	if err != nil || !strings.Contains(string(b), "GARDEN_BOT_DISCORD_BOT_TOKEN=") {
		t.Fatalf("agent .env.example: %v\n%s", err, b)
	}
	if err := Scaffold(t.TempDir(), "", "bad name"); err == nil {
		t.Fatal("a bad agent name was accepted")
	}
}
