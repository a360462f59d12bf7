package docker

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/moby/api/types/mount"

	"github.com/herdbot/herdbot/internal/pathguard"
	"github.com/herdbot/herdbot/sandbox"
)

// agentNames are the agent-directory names cmd/herdbot protects.
var agentNames = []string{"agent.yaml", "agent.yml", "herdctl-agent.yaml", "herdctl-agent.yml", ".env"}

func protectedIn(dir string) []string {
	out := make([]string, len(agentNames))
	for i, n := range agentNames {
		out[i] = filepath.Join(dir, n)
	}
	return out
}

// TestMakePlanPlaceholders: in a writable workspace every protected name
// that is absent becomes an empty 0444 placeholder on the host, bound
// read-only; the operator's agent file is bound read-only over itself; the
// .env (a placeholder here) is masked once by the empty file and never
// bound with its contents.
func TestMakePlanPlaceholders(t *testing.T) {
	b := offlineBackend(t)
	ws := t.TempDir()
	if err := os.Chmod(ws, 0o777); err != nil { // writable by the container user
		t.Fatal(err)
	}
	agentFile := filepath.Join(ws, "herdctl-agent.yaml")
	if err := os.WriteFile(agentFile, []byte("name: garden\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := sandbox.Spec{
		Agent: "garden", Job: "j", Image: "img", Command: []string{"claude"}, User: "1234:1234",
		Workspace: ws, StateDir: t.TempDir(), Network: sandbox.Network{None: true},
		ReadOnly: append(protectedIn(ws), filepath.Join(t.TempDir(), "agent.yaml")), // the last is outside: ignored
	}
	pl, err := b.makePlan(&spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"agent.yaml", "agent.yml", "herdctl-agent.yml", ".env"} {
		fi, err := os.Lstat(filepath.Join(ws, n))
		if err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 || fi.Mode().Perm() != 0o444 {
			t.Errorf("placeholder %s: %v %v", n, fi, err)
		}
	}
	if b, _ := os.ReadFile(agentFile); string(b) != "name: garden\n" {
		t.Errorf("agent file changed: %q", b)
	}
	want := []mount.Mount{
		{Type: mount.TypeBind, Source: ws, Target: "/workspace"},
		{Type: mount.TypeBind, Source: b.emptyFile, Target: "/workspace/.env", ReadOnly: true},
		{Type: mount.TypeBind, Source: filepath.Join(ws, "agent.yaml"), Target: "/workspace/agent.yaml", ReadOnly: true},
		{Type: mount.TypeBind, Source: filepath.Join(ws, "agent.yml"), Target: "/workspace/agent.yml", ReadOnly: true},
		{Type: mount.TypeBind, Source: agentFile, Target: "/workspace/herdctl-agent.yaml", ReadOnly: true},
		{Type: mount.TypeBind, Source: filepath.Join(ws, "herdctl-agent.yml"), Target: "/workspace/herdctl-agent.yml", ReadOnly: true},
	}
	got := pl.base.Mounts[:min(len(want), len(pl.base.Mounts))] // then HOME and its protection (TestMakePlan)
	if !slices.Equal(got, want) {
		t.Errorf("mounts\n%+v\nwant\n%+v", got, want)
	}
	// A second plan (the next container) finds the placeholders and
	// plans the same mounts.
	pl2, err := b.makePlan(&spec, Options{})
	if err != nil || !slices.Equal(pl2.base.Mounts, pl.base.Mounts) {
		t.Errorf("second plan: %v\n%+v", err, pl2.base.Mounts)
	}
}

// TestMakePlanRealEnvNeverBound: an operator .env listed as read-only is
// masked by the empty file, never bound with its contents.
func TestMakePlanRealEnvNeverBound(t *testing.T) {
	b := offlineBackend(t)
	ws := t.TempDir()
	_ = os.Chmod(ws, 0o777)
	env := filepath.Join(ws, ".env")
	if err := os.WriteFile(env, []byte("TOKEN=secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := sandbox.Spec{Agent: "garden", Image: "img", Command: []string{"claude"}, User: "1234:1234",
		Workspace: ws, Network: sandbox.Network{None: true}, ReadOnly: []string{env}}
	pl, err := b.makePlan(&spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range pl.base.Mounts {
		if m.Source == env {
			t.Errorf("the real .env is bound: %+v", m)
		}
		if m.Target == "/workspace/.env" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d mounts at /workspace/.env, want the mask only: %+v", n, pl.base.Mounts)
	}
}

// TestMakePlanReadOnlyWorkspaceCreatesNothing: a read-only workspace gets
// no placeholders (nothing can be created in it) and still plans.
func TestMakePlanReadOnlyWorkspaceCreatesNothing(t *testing.T) {
	b := offlineBackend(t)
	ws := t.TempDir()
	_ = os.Chmod(ws, 0o755)
	if err := os.WriteFile(filepath.Join(ws, "herdctl-agent.yaml"), []byte("name: g\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := sandbox.Spec{Agent: "garden", Image: "img", Command: []string{"claude"}, User: "1234:1234",
		Workspace: ws, WorkspaceReadOnly: true, Network: sandbox.Network{None: true}, ReadOnly: protectedIn(ws)}
	if _, err := b.makePlan(&spec, Options{}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(ws)
	if len(ents) != 1 {
		t.Errorf("a read-only workspace got files: %v", ents)
	}
}

// TestMakePlanRefusesSymlinkAtProtectedName: a link at a protected name in
// a writable workspace could be replaced by the agent: refused.
func TestMakePlanRefusesSymlinkAtProtectedName(t *testing.T) {
	b := offlineBackend(t)
	ws := t.TempDir()
	_ = os.Chmod(ws, 0o777)
	if err := os.Symlink("notes.txt", filepath.Join(ws, "agent.yaml")); err != nil {
		t.Fatal(err)
	}
	spec := sandbox.Spec{Agent: "garden", Image: "img", Command: []string{"claude"}, User: "1234:1234",
		Workspace: ws, Network: sandbox.Network{None: true}, ReadOnly: protectedIn(ws)}
	if _, err := b.makePlan(&spec, Options{}); err == nil || !strings.Contains(err.Error(), "is a symbolic link inside the agent's writable workspace") {
		t.Fatalf("makePlan = %v", err)
	}
	if _, err := os.Lstat(filepath.Join(ws, "notes.txt")); err == nil {
		t.Error("the placeholder followed the link")
	}
}

// TestMakePlanChecksWorkspaceAtMountTime: the workspace rules are checked
// again on resolved paths when the container is planned: a link that now
// points into the state directory is refused, / and system directories
// always, and the workspace is mounted by its resolved path.
func TestMakePlanChecksWorkspaceAtMountTime(t *testing.T) {
	b := offlineBackend(t)
	root := t.TempDir()
	state := filepath.Join(root, "state")
	real := filepath.Join(root, "projects", "garden")
	for _, d := range []string{filepath.Join(state, "agents"), real} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(root, "ws")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	spec := sandbox.Spec{Agent: "garden", Image: "img", Command: []string{"claude"}, User: "1234:1234",
		Workspace: link, WorkspaceReadOnly: true, Network: sandbox.Network{None: true},
		Protected: []pathguard.Rule{{Path: state, What: "herdbot's state directory"}}}
	pl, err := b.makePlan(&spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if src := pl.base.Mounts[0].Source; src != real {
		t.Errorf("workspace mounted from %s, want the resolved %s", src, real)
	}
	// The link changes after the configuration was loaded.
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(state, "agents"), link); err != nil {
		t.Fatal(err)
	}
	if _, err := b.makePlan(&spec, Options{}); err == nil || !strings.Contains(err.Error(), "lies inside herdbot's state directory") {
		t.Fatalf("makePlan after the link moved = %v", err)
	}
	for _, ws := range []string{"/", "/etc"} {
		s := spec
		s.Workspace = ws
		if _, err := b.makePlan(&s, Options{}); err == nil || !strings.Contains(err.Error(), "workspace refused") {
			t.Errorf("workspace %s: %v", ws, err)
		}
	}
}

// TestMakePlanEngineMakesPlaceholdersWhenHerdbotCannot: when herdbot may
// not write the agent's directory (systemd's ProtectSystem=strict), the
// empty file is bound at every absent protected name, .env included, and
// the engine makes the mount points; nothing is created by herdbot.
func TestMakePlanEngineMakesPlaceholdersWhenHerdbotCannot(t *testing.T) {
	b := offlineBackend(t)
	b.createPlaceholder = func(p string) error { return &os.PathError{Op: "open", Path: p, Err: syscall.EROFS} }
	ws := t.TempDir()
	_ = os.Chmod(ws, 0o777)
	if err := os.WriteFile(filepath.Join(ws, "agent.yaml"), []byte("name: g\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := sandbox.Spec{Agent: "garden", Image: "img", Command: []string{"claude"}, User: "1234:1234",
		Workspace: ws, Network: sandbox.Network{None: true}, ReadOnly: protectedIn(ws)}
	pl, err := b.makePlan(&spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []mount.Mount{
		{Type: mount.TypeBind, Source: ws, Target: "/workspace"},
		{Type: mount.TypeBind, Source: filepath.Join(ws, "agent.yaml"), Target: "/workspace/agent.yaml", ReadOnly: true},
		{Type: mount.TypeBind, Source: b.emptyFile, Target: "/workspace/agent.yml", ReadOnly: true},
		{Type: mount.TypeBind, Source: b.emptyFile, Target: "/workspace/herdctl-agent.yaml", ReadOnly: true},
		{Type: mount.TypeBind, Source: b.emptyFile, Target: "/workspace/herdctl-agent.yml", ReadOnly: true},
		{Type: mount.TypeBind, Source: b.emptyFile, Target: "/workspace/.env", ReadOnly: true},
	}
	if got := pl.base.Mounts; !slices.Equal(got, want) {
		t.Errorf("mounts\n%+v\nwant\n%+v", got, want)
	}
	if ents, _ := os.ReadDir(ws); len(ents) != 1 {
		t.Errorf("herdbot created files: %v", ents)
	}
	// Any other failure is an error, not a silent fallback.
	b.createPlaceholder = func(p string) error { return &os.PathError{Op: "open", Path: p, Err: syscall.ENOSPC} }
	if _, err := b.makePlan(&spec, Options{}); err == nil || !strings.Contains(err.Error(), "no space") {
		t.Errorf("makePlan with a full disk = %v", err)
	}
}
