package docker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/sandbox"
)

// TestReadOnlyPathsCannotBeChanged: the agent's own config file inside a
// rw workspace stays read-only in the container (an agent cannot widen its
// approvers, schedules or tools), while the rest of the workspace is
// writable. A path outside the workspace is ignored.
func TestReadOnlyPathsCannotBeChanged(t *testing.T) {
	t.Parallel()
	b, tag := testCLIImage(t)
	ws := workspace(t, 1000, 1000)
	cfg := filepath.Join(ws, "agent.yaml")
	if err := os.WriteFile(cfg, []byte("name: garden\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(cfg, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	spec := sandbox.Spec{
		Agent: "ro", Job: "readonly", Image: tag,
		Command: []string{"/bin/sh", "-c",
			"echo 'approvers: {discord: [\"*\"]}' >> /workspace/agent.yaml; echo append=$?; " +
				"rm -f /workspace/agent.yaml; echo rm=$?; echo ok > /workspace/notes.txt; echo write=$?"},
		Workspace: ws, StateDir: t.TempDir(), Network: sandbox.Network{None: true},
		ReadOnly: []string{cfg, "/etc/passwd"},
	}
	out, errOut, st := runAll(t, b, spec)
	if st.Code != 0 {
		t.Fatalf("exit %d: %s %s", st.Code, out, errOut)
	}
	if !strings.Contains(out, "append=1") || !strings.Contains(out, "rm=1") || !strings.Contains(out, "write=0") {
		t.Fatalf("want the config file unwritable and the workspace writable, got %q (stderr %q)", out, errOut)
	}
	if b, err := os.ReadFile(cfg); err != nil || string(b) != "name: garden\n" {
		t.Fatalf("agent.yaml changed: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(ws, "notes.txt")); err != nil {
		t.Fatalf("workspace not writable: %v", err)
	}
}
