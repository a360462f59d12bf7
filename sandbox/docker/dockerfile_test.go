package docker

import (
	"os"
	"path/filepath"
	"regexp"
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
