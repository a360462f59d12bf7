package docker

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/moby/moby/api/types/mount"

	"github.com/herdbot/herdbot/sandbox"
)

// offlineBackend is a Backend for the parts that never call the engine.
func offlineBackend(t *testing.T) *Backend {
	return &Backend{
		cfg:       Config{Fleet: "f", ScanLimit: 1000},
		limits:    DefaultLimits,
		emptyFile: "/run/herdbot/empty",
	}
}

func TestValidateRejectsBadSpecs(t *testing.T) {
	good := func() sandbox.Spec {
		return sandbox.Spec{Agent: "garden", Image: "img", Command: []string{"claude"}}
	}
	for _, c := range []struct {
		name string
		mod  func(*sandbox.Spec)
		want string
	}{
		{"other fleet", func(s *sandbox.Spec) { s.Fleet = "other" }, "fleet"},
		{"no agent", func(s *sandbox.Spec) { s.Agent = "" }, "agent name"},
		{"agent with slash", func(s *sandbox.Spec) { s.Agent = "../x" }, "agent name"},
		{"no image", func(s *sandbox.Spec) { s.Image = "" }, "no image"},
		{"no command", func(s *sandbox.Spec) { s.Command = nil }, "empty command"},
		{"empty program", func(s *sandbox.Spec) { s.Command = []string{""} }, "empty command"},
		{"env without =", func(s *sandbox.Spec) { s.Env = []string{"SECRET"} }, "KEY=VALUE"},
		{"real model key in env", func(s *sandbox.Spec) { s.Env = []string{"ANTHROPIC_API_KEY=sk-ant-real"} }, "model credentials"},
		{"oauth token in env", func(s *sandbox.Spec) { s.Env = []string{"CLAUDE_CODE_OAUTH_TOKEN=x"} }, "model credentials"},
		{"relative workspace", func(s *sandbox.Spec) { s.Workspace = "ws" }, "absolute"},
		{"container workspace /", func(s *sandbox.Spec) { s.ContainerWorkspace = "/" }, "container workspace"},
		{"container workspace unclean", func(s *sandbox.Spec) { s.ContainerWorkspace = "/a/../b" }, "container workspace"},
		{"relative tmpfs", func(s *sandbox.Spec) { s.Tmpfs = map[string]string{"tmp": ""} }, "tmpfs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := good()
			c.mod(&s)
			err := offlineBackend(t).validate(&s)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("validate = %v, want an error about %q", err, c.want)
			}
		})
	}
	s := good()
	s.Env = []string{"ANTHROPIC_API_KEY=placeholder", "EMPTY="}
	if err := offlineBackend(t).validate(&s); err != nil {
		t.Fatalf("good spec: %v", err)
	}
}

func TestValidateNeverLeaksEnvValues(t *testing.T) {
	s := sandbox.Spec{Agent: "a", Image: "i", Command: []string{"c"}, Env: []string{"TOKEN\x00=hunter2"}}
	err := offlineBackend(t).validate(&s)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("validate = %v; want an error without the value", err)
	}
}

func TestMakePlan(t *testing.T) {
	b := offlineBackend(t)
	ws := t.TempDir()
	if err := os.Chmod(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{".env", "sub/id.pem", "notes.txt"} {
		p := filepath.Join(ws, f)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(ws, ".env.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	spec := sandbox.Spec{
		Agent: "garden", Job: "discord:1:2", Image: "img", Command: []string{"claude", "-p"},
		Workspace: ws, WorkspaceReadOnly: true, StateDir: state, User: "1234:1234",
		Labels:  map[string]string{"team": "green"},
		Limits:  sandbox.Limits{MemoryBytes: 100 << 20},
		Network: sandbox.Network{None: true},
	}
	opts := Options{Volumes: []string{"/srv/photos:/photos:ro"}}
	pl, err := b.makePlan(&spec, opts)
	if err != nil {
		t.Fatalf("makePlan: %v", err)
	}
	c := pl.config
	if c.User != "1234:1234" || c.WorkingDir != "/workspace" || !slices.Equal(c.Entrypoint, []string{"claude"}) || !slices.Equal(c.Cmd, []string{"-p"}) {
		t.Errorf("config %+v", c)
	}
	if c.Labels[LabelJob] != "discord:1:2" || c.Labels[LabelAgent] != "garden" || c.Labels[LabelFleet] != "f" || c.Labels["team"] != "green" {
		t.Errorf("labels %v", c.Labels)
	}
	if !c.OpenStdin || !c.StdinOnce || c.Tty {
		t.Errorf("stdio config %+v", c)
	}
	hc := pl.base
	wantMounts := []mount.Mount{
		{Type: mount.TypeBind, Source: ws, Target: "/workspace", ReadOnly: true},
		{Type: mount.TypeBind, Source: b.emptyFile, Target: "/workspace/.env", ReadOnly: true},
		{Type: mount.TypeBind, Source: b.emptyFile, Target: "/workspace/sub/id.pem", ReadOnly: true},
		{Type: mount.TypeBind, Source: filepath.Join(state, "home"), Target: "/home/agent"},
	}
	for _, n := range []string{".profile", ".bash_profile", ".bash_login", ".bashrc", ".bash_logout", ".zshenv", ".zprofile", ".zshrc", ".zlogin", ".zlogout"} {
		wantMounts = append(wantMounts, mount.Mount{Type: mount.TypeBind, Source: b.emptyFile, Target: "/home/agent/" + n, ReadOnly: true})
	}
	wantMounts = append(wantMounts, mount.Mount{Type: mount.TypeBind, Source: "/srv/photos", Target: "/photos", ReadOnly: true})
	if !slices.Equal(hc.Mounts, wantMounts) {
		t.Errorf("mounts\n%+v\nwant\n%+v", hc.Mounts, wantMounts)
	}
	if !strings.HasPrefix(hc.Tmpfs["/workspace/.env.d"], "ro,") || !strings.Contains(hc.Tmpfs["/tmp"], "size=268435456") {
		t.Errorf("tmpfs %v", hc.Tmpfs)
	}
	for _, d := range []string{"/home/agent/.claude/session-env", "/home/agent/.claude/shell-snapshots"} {
		if hc.Tmpfs[d] != "ro,nosuid,nodev,noexec,size=4k,mode=0555" {
			t.Errorf("tmpfs at %s: %q", d, hc.Tmpfs[d])
		}
	}
	if fi, err := os.Stat(filepath.Join(state, "home", ".claude")); err != nil || !fi.IsDir() || fi.Sys().(*syscall.Stat_t).Uid != 1234 {
		t.Errorf("the CLI's config dir, made for the container user before the engine mounts into it: %v %v", fi, err)
	}
	if hc.Memory != 100<<20 || hc.MemorySwap != 100<<20 || *hc.PidsLimit != DefaultLimits.PidsLimit {
		t.Errorf("limits: memory %d swap %d pids %d", hc.Memory, hc.MemorySwap, *hc.PidsLimit)
	}
	fi, err := os.Stat(filepath.Join(state, "home"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("home dir: %v %v", fi, err)
	}

	bad := spec
	bad.Labels = map[string]string{"herdbot.agent": "other"}
	if _, err := b.makePlan(&bad, Options{}); err == nil {
		t.Error("a herdbot.* label from the spec was accepted")
	}
	bad = spec
	sock := Options{Volumes: []string{"/var/run/docker.sock:/var/run/docker.sock"}}
	if _, err := b.makePlan(&bad, sock); err == nil || !strings.Contains(err.Error(), "socket") {
		t.Errorf("docker socket volume: %v", err)
	}
	sock.Dangerous = true
	if _, err := b.makePlan(&bad, sock); err != nil {
		t.Errorf("docker socket volume with the dangerous opt-in: %v", err)
	}
	bad = spec
	bad.User = "0:0"
	if _, err := b.makePlan(&bad, Options{}); err == nil {
		t.Error("root user accepted without the dangerous opt-in")
	}
	bad = spec
	bad.User = "2000:2000"
	bad.WorkspaceReadOnly = false
	if _, err := b.makePlan(&bad, Options{}); err == nil || !strings.Contains(err.Error(), "not usable") {
		t.Errorf("workspace not writable by the user: %v", err)
	}
}

func TestResolveUser(t *testing.T) {
	ws := t.TempDir()
	if err := os.Chown(ws, 1234, 5678); err != nil {
		t.Skipf("chown needs root: %v", err)
	}
	rootWS := t.TempDir()
	_ = os.Chown(rootWS, 0, 0)
	for _, c := range []struct {
		spec, ws  string
		dangerous bool
		want      string
		err       bool
	}{
		{"", ws, false, "1234:5678", false},
		{"", rootWS, false, "1000:1000", false},
		{"", "", false, "1000:1000", false},
		{"42:43", ws, false, "42:43", false},
		{"0:0", ws, false, "", true},
		{"0:0", ws, true, "0:0", false},
		{"alice", ws, false, "", true},
		{"-1:2", ws, false, "", true},
	} {
		u, err := resolveUser(c.spec, c.ws, c.dangerous)
		if (err != nil) != c.err || (!c.err && u.String() != c.want) {
			t.Errorf("resolveUser(%q, %q, %t) = %s, %v; want %s (error %t)", c.spec, c.ws, c.dangerous, u, err, c.want, c.err)
		}
	}
}

func TestFindSecrets(t *testing.T) {
	ws := t.TempDir()
	for _, f := range []string{".env", ".env.production", "a/b/server.KEY", "certs/ca.pem", "keep.txt", "environment.go", "a/.envrc"} {
		p := filepath.Join(ws, f)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(ws, "link.pem")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(ws, ".env.d", "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := findSecrets(ws, 100)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{".env", ".env.production", "a/.envrc", "a/b/server.KEY", "certs/ca.pem"}
	slices.Sort(got.files)
	if !slices.Equal(got.files, wantFiles) || !slices.Equal(got.dirs, []string{".env.d"}) {
		t.Errorf("files %v dirs %v; want %v and [.env.d]", got.files, got.dirs, wantFiles)
	}
	if _, err := findSecrets(ws, 3); !errors.Is(err, errScanLimit) {
		t.Errorf("over the scan limit: %v, want errScanLimit", err)
	}
}

func TestParseVolume(t *testing.T) {
	for _, c := range []struct {
		in  string
		ok  bool
		ro  bool
		src string
	}{
		{"/a:/b", true, false, "/a"}, {"/a:/b:ro", true, true, "/a"}, {"/a:/b:rw", true, false, "/a"},
		{"/a", false, false, ""}, {"a:/b", false, false, ""}, {"/a:/", false, false, ""}, {"/a:/b:x", false, false, ""},
	} {
		m, err := parseVolume(c.in)
		if (err == nil) != c.ok || (c.ok && (m.ReadOnly != c.ro || m.Source != c.src)) {
			t.Errorf("parseVolume(%q) = %+v, %v", c.in, m, err)
		}
	}
}

func TestLineWriter(t *testing.T) {
	var got []string
	w := &lineWriter{fn: func(b []byte) { got = append(got, string(b)) }}
	for _, chunk := range []string{"a", "b\nc\r\n", "\n", "d\ne", strings.Repeat("x", maxLine+10) + "\n", "tail"} {
		_, _ = w.Write([]byte(chunk))
	}
	w.flush()
	want := []string{"ab", "c", "d", "e" + strings.Repeat("x", maxLine-1), "tail"}
	if !slices.Equal(got, want) {
		t.Errorf("lines %d, want %d; first %q", len(got), len(want), got[:min(3, len(got))])
	}
}

func TestBufPipe(t *testing.T) {
	p := newBufPipe(4)
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = p.Write([]byte("hello, world")) // blocks until read
		p.closeWrite(nil)
	})
	got, err := io.ReadAll(p)
	wg.Wait()
	if err != nil || string(got) != "hello, world" {
		t.Fatalf("read %q, %v", got, err)
	}

	p = newBufPipe(4)
	wg.Go(func() {
		_, err := p.Write([]byte("more than four"))
		if !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("write after closeRead = %v", err)
		}
	})
	buf := make([]byte, 2)
	if n, _ := p.Read(buf); n != 2 {
		t.Fatalf("read %d", n)
	}
	p.closeRead()
	wg.Wait()
}
