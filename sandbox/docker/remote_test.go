package docker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/sandbox"
)

// newRemoteBackend is a Backend that treats the engine as remote (the
// local one, addressed as engine "box2"): what a second machine's engine
// gets, without needing one. Its volumes are removed at the end.
func newRemoteBackend(t *testing.T, agents ...string) *Backend {
	t.Helper()
	b := newTestBackend(t, func(c *Config) { c.Engine, c.Remote = "box2", true })
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, a := range agents {
			if err := b.RemoveAgentVolumes(ctx, a); err != nil {
				t.Errorf("remove volumes: %v", err)
			}
		}
	})
	return b
}

func writeOwned(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	for d := p; d != root; d = filepath.Dir(d) {
		if err := os.Lchown(d, 1000, 1000); err != nil {
			t.Fatal(err)
		}
	}
}

// fileResults runs "helper files ops..." and returns op → result.
func fileResults(t *testing.T, b *Backend, spec sandbox.Spec, ops ...string) map[string]string {
	t.Helper()
	spec.Command = append([]string{"/helper", "files"}, ops...)
	out, errOut, st := runAll(t, b, spec)
	if st.Code != 0 {
		t.Fatalf("helper files: exit %d: %s %s", st.Code, out, errOut)
	}
	res := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		for _, op := range ops {
			if r, ok := strings.CutPrefix(sc.Text(), op+": "); ok {
				res[op] = r
			}
		}
	}
	return res
}

// TestRemoteEngineWorkspaceAndHomeAreVolumes: on a remote engine the
// agent's workspace is a volume seeded once from its directory without
// the secret files, its HOME a volume whose shell startup files the agent
// cannot change, remove or rename, and the container has no bind mount of
// this host at all. What the agent writes stays on its engine (the host
// directory is untouched) and survives to the next container; `workspace
// ls|get` read it back, never through a link or out of the workspace.
func TestRemoteEngineWorkspaceAndHomeAreVolumes(t *testing.T) {
	t.Parallel()
	a := testArtefacts(t)
	b := newRemoteBackend(t, "far")
	ws := workspace(t, 1000, 1000)
	writeOwned(t, ws, "hello.txt", "hi")
	writeOwned(t, ws, ".env", "TOKEN=secret-value")
	writeOwned(t, ws, "certs/server.key", "KEY")
	writeOwned(t, ws, "sub/notes.md", "notes")
	if err := os.Symlink("/etc", filepath.Join(ws, "etclink")); err != nil {
		t.Fatal(err)
	}
	spec := testSpec(t, a, "far")
	spec.Workspace = ws

	r := fileResults(t, b, spec,
		"r:/workspace/hello.txt", "r:/workspace/.env", "r:/workspace/certs/server.key", "r:/workspace/sub/notes.md",
		"w:/workspace/made.txt:by the agent",
		"w:/home/agent/.bashrc:evil", "rm:/home/agent/.bashrc", "mv:/home/agent/.profile:/home/agent/p",
		"w:/home/agent/.claude/shell-snapshots/s.sh:evil",
		"w:/home/agent/mine:kept")
	want := map[string]string{
		"r:/workspace/hello.txt":             `ok "hi"`,
		"r:/workspace/sub/notes.md":          `ok "notes"`,
		"w:/workspace/made.txt:by the agent": "ok",
		"w:/home/agent/mine:kept":            "ok",
	}
	for op, w := range want {
		if r[op] != w {
			t.Errorf("%s: %q, want %q", op, r[op], w)
		}
	}
	for _, op := range []string{"r:/workspace/.env", "r:/workspace/certs/server.key", "w:/home/agent/.bashrc:evil",
		"rm:/home/agent/.bashrc", "mv:/home/agent/.profile:/home/agent/p", "w:/home/agent/.claude/shell-snapshots/s.sh:evil"} {
		if !strings.HasPrefix(r[op], "error") {
			t.Errorf("%s: %q, want an error", op, r[op])
		}
	}
	if _, err := os.Stat(filepath.Join(ws, "made.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the agent's write reached the host directory: %v", err)
	}

	// The next container: the volumes persist; the workspace is not
	// seeded again (the host's later change is not copied).
	writeOwned(t, ws, "hello.txt", "changed on the host")
	r = fileResults(t, b, spec, "r:/workspace/made.txt", "r:/home/agent/mine", "r:/workspace/hello.txt", "r:/home/agent/.bashrc")
	for op, w := range map[string]string{"r:/workspace/made.txt": `ok "by the agent"`, "r:/home/agent/mine": `ok "kept"`,
		"r:/workspace/hello.txt": `ok "hi"`, "r:/home/agent/.bashrc": `ok ""`} {
		if r[op] != w {
			t.Errorf("second run %s: %q, want %q", op, r[op], w)
		}
	}

	// No bind mount of this host: inspect a running container.
	spec.Command = []string{"/helper", "hang"}
	p, err := b.Start(testCtx(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := b.cli.ContainerInspect(testCtx(t), p.(*process).id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vols := 0
	for _, m := range ins.Container.Mounts {
		if m.Type == mount.TypeBind {
			t.Errorf("bind mount in a remote container: %s -> %s", m.Source, m.Destination)
		}
		if m.Type == mount.TypeVolume {
			vols++
		}
	}
	if vols != 2 {
		t.Errorf("want the workspace and HOME volumes, got mounts %+v", ins.Container.Mounts)
	}
	_ = p.Signal(testCtx(t), syscall.SIGKILL)
	_, _ = p.Wait(testCtx(t))

	// workspace ls|get.
	ents, err := b.WorkspaceList(testCtx(t), "far", "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name)
	}
	if got := strings.Join(names, ","); got != "certs,etclink,hello.txt,made.txt,sub" {
		t.Errorf("ls: %s, want certs,etclink,hello.txt,made.txt,sub (no .env)", got)
	}
	var buf bytes.Buffer
	if _, err := b.WorkspaceGet(testCtx(t), "far", "made.txt", &buf, 1<<20); err != nil || buf.String() != "by the agent" {
		t.Errorf("get made.txt: %q %v", buf.String(), err)
	}
	for _, p := range []string{"../../etc/passwd", "etclink/passwd", "etclink", "sub/../../x"} {
		buf.Reset()
		if _, err := b.WorkspaceGet(testCtx(t), "far", p, &buf, 1<<20); err == nil {
			t.Errorf("get %s: %q, want refused", p, buf.String())
		}
	}
	if _, err := b.WorkspaceList(testCtx(t), "far", "etclink"); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("ls through a link: %v", err)
	}
	if _, err := b.WorkspaceList(testCtx(t), "nobody", ""); !errors.Is(err, ErrNoWorkspace) {
		t.Errorf("ls of an agent without a volume: %v", err)
	}

	// Host binds are refused on a remote engine.
	spec.Command = []string{"/helper", "exit", "0"}
	if _, err := b.With(Options{Volumes: []string{t.TempDir() + ":/data"}}).Start(testCtx(t), spec); err == nil || !strings.Contains(err.Error(), "not on herdbot's host") {
		t.Errorf("docker.volumes on a remote engine: %v", err)
	}
	if _, err := b.With(Options{HostConfig: map[string]any{"Binds": []any{"/etc:/x:ro"}}, Dangerous: true}).Start(testCtx(t), spec); err == nil || !strings.Contains(err.Error(), "remote engine") {
		t.Errorf("a bind through host_config on a remote engine: %v", err)
	}
}
