package docker

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/internal/testenv"
)

// TestDockerfilePinsTheCLIVersion keeps deploy/agent/Dockerfile, the
// Makefile and testenv.ClaudeVersion on one CLI version.
func TestDockerfilePinsTheCLIVersion(t *testing.T) {
	root := testenv.ModuleRoot()
	for _, c := range []struct{ file, re string }{
		{"deploy/agent/Dockerfile", `(?m)^ARG CLAUDE_VERSION=(\S+)$`},
		{"Makefile", `(?m)^CLAUDE_VERSION\s*:=\s*(\S+)$`},
	} {
		b, err := os.ReadFile(filepath.Join(root, c.file))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(c.re).FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s: no CLI version found", c.file)
		}
		if got := string(m[1]); got != testenv.ClaudeVersion {
			t.Errorf("%s pins CLI %s, testenv.ClaudeVersion is %s", c.file, got, testenv.ClaudeVersion)
		}
	}
	if want := "herdbot-agent:" + testenv.ClaudeVersion; DefaultAgentImage != want {
		t.Errorf("DefaultAgentImage = %s, want %s", DefaultAgentImage, want)
	}
}

// TestDockerfileCarriesTheManagedSettings keeps the production agent image
// (deploy/agent) on the local image's managed settings: the same file,
// copied to the same path and made root's and read-only.
func TestDockerfileCarriesTheManagedSettings(t *testing.T) {
	root := testenv.ModuleRoot()
	got, err := os.ReadFile(filepath.Join(root, "deploy/agent/managed-settings.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != ManagedSettings {
		t.Errorf("deploy/agent/managed-settings.json is\n%s\nwant sandbox/docker.ManagedSettings:\n%s", got, ManagedSettings)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil || m["allowManagedHooksOnly"] != true {
		t.Errorf("managed settings %v (%v): want allowManagedHooksOnly true", m, err)
	}
	df, err := os.ReadFile(filepath.Join(root, "deploy/agent/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"COPY managed-settings.json " + ManagedSettingsPath + "\n",
		"chmod 0444 " + ManagedSettingsPath,
		"chown -R root:root " + path.Dir(ManagedSettingsPath),
	} {
		if !strings.Contains(string(df), want) {
			t.Errorf("deploy/agent/Dockerfile lacks %q", want)
		}
	}
	// The settings must be in place before the image switches to the
	// agent's user.
	if i, j := strings.Index(string(df), "COPY managed-settings.json"), strings.Index(string(df), "\nUSER "); i < 0 || j < i {
		t.Errorf("deploy/agent/Dockerfile copies the managed settings after USER")
	}
}
