// Package testenv finds the real components tests need (a Docker engine, the
// pinned Claude Code CLI) and skips a test when one is absent, unless the
// environment requires it (HERDBOT_REQUIRE_DOCKER=1, HERDBOT_REQUIRE_CLAUDE=1),
// in which case the test fails.
package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// ClaudeVersion is the pinned Claude Code CLI version. The Makefile's
// CLAUDE_VERSION and deploy/agent/Dockerfile must say the same (a test checks).
const ClaudeVersion = "2.1.332"

// GoBin returns the go command tests build helpers with: the one on PATH
// (where `go test` itself was found), else "go".
func GoBin() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

// ModuleRoot returns the repository root (the directory holding go.mod).
func ModuleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func required(env string) bool { return os.Getenv(env) == "1" }

func missing(t testing.TB, env, why string) {
	t.Helper()
	if required(env) {
		t.Fatalf("%s (required because %s=1)", why, env)
	}
	t.Skipf("%s; set %s=1 to make this a failure", why, env)
}

// ClaudeBin returns the path of the pinned CLI: $HERDBOT_CLAUDE_BIN, else
// .tools/node_modules/.bin/claude under the module root (installed by
// `make tools`). It returns "" when the one it would return does not exist
// (a $HERDBOT_CLAUDE_BIN naming no file is not the CLI).
func ClaudeBin() string {
	if p := os.Getenv("HERDBOT_CLAUDE_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return ""
		}
		return p
	}
	p := filepath.Join(ModuleRoot(), ".tools", "node_modules", ".bin", "claude")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// RequireClaude returns the CLI path or skips (fails under
// HERDBOT_REQUIRE_CLAUDE=1) when it is not installed.
func RequireClaude(t testing.TB) string {
	t.Helper()
	p := ClaudeBin()
	if p == "" {
		missing(t, "HERDBOT_REQUIRE_CLAUDE", "Claude Code CLI not installed (run `make tools`)")
	}
	return p
}

// DockerAvailable reports whether `docker info` answers within 10 s.
func DockerAvailable() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "info").Run() == nil
}

// RequireDocker skips (fails under HERDBOT_REQUIRE_DOCKER=1) when no Docker
// engine is reachable.
func RequireDocker(t testing.TB) {
	t.Helper()
	if !DockerAvailable() {
		missing(t, "HERDBOT_REQUIRE_DOCKER", "no Docker engine reachable (`docker info` failed; run `make docker-up` as root)")
	}
}

// RequireBrowser returns a headless-capable chromium (Debian's chromium,
// which .ci/run installs), skipping (failing under
// HERDBOT_REQUIRE_BROWSER=1) when there is none.
func RequireBrowser(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missing(t, "HERDBOT_REQUIRE_BROWSER", "no headless browser (install Debian's chromium: apt-get install chromium)")
	return ""
}
