package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/internal/testenv"
)

// TestBinaryLinksNoTestCode: herdbot's binary links neither the testing
// packages nor a test helper package of its own (…test, internal/testenv);
// the --demo model is agents/claude/scripted, not claudetest.
func TestBinaryLinksNoTestCode(t *testing.T) {
	cmd := exec.Command(testenv.GoBin(), "list", "-deps", "./cmd/herdbot")
	cmd.Dir = testenv.ModuleRoot()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps printed %d packages; want herdbot's whole graph:\n%s", len(deps), out)
	}
	for _, p := range deps {
		own, isOwn := strings.CutPrefix(p, "github.com/herdbot/herdbot/")
		if p == "testing" || strings.HasPrefix(p, "testing/") ||
			(isOwn && (strings.HasSuffix(own, "test") || strings.Contains(own, "test/") || own == "internal/testenv")) {
			t.Errorf("cmd/herdbot links %s", p)
		}
	}
}
