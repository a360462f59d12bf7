package native_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/sandbox/native"
)

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// run starts spec, reads all of stdout and stderr and waits.
func run(t *testing.T, b *native.Backend, spec sandbox.Spec) (stdout, stderr string, st sandbox.ExitStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	p, err := b.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	_ = p.Stdin().Close()
	errc := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(p.Stderr())
		errc <- b
	}()
	out, err := io.ReadAll(p.Stdout())
	if err != nil {
		t.Fatalf("read stdout: %v", err)
	}
	eb := <-errc
	st, err = p.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return string(out), string(eb), st
}

func TestStart_OnlyDeclaredEnv(t *testing.T) {
	t.Setenv("HERDBOT_NATIVE_LEAK", "leaked")
	ws := t.TempDir()
	b := native.New(testLog(t))
	out, _, st := run(t, b, sandbox.Spec{
		Command:   []string{"/usr/bin/env"},
		Env:       []string{"A=1", "B=two words"},
		Workspace: ws,
	})
	if st.Code != 0 {
		t.Fatalf("exit %d", st.Code)
	}
	got := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{"A=1", "B=two words"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("env = %q, want exactly %q", got, want)
	}
}

func TestStart_HomeFromStateDir(t *testing.T) {
	ws, state := t.TempDir(), t.TempDir()
	b := native.New(testLog(t))
	out, _, _ := run(t, b, sandbox.Spec{
		Command:   []string{"/bin/sh", "-c", `echo "$HOME"; pwd`},
		Workspace: ws,
		StateDir:  state,
	})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("output %q", out)
	}
	if want := filepath.Join(state, "home"); lines[0] != want {
		t.Errorf("HOME = %q, want %q", lines[0], want)
	}
	if fi, err := os.Stat(lines[0]); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("home dir: %v, mode %v", err, fi.Mode().Perm())
	}
	if lines[1] != ws {
		t.Errorf("cwd = %q, want %q", lines[1], ws)
	}

	// An explicit HOME wins.
	out, _, _ = run(t, b, sandbox.Spec{
		Command:   []string{"/bin/sh", "-c", `echo "$HOME"`},
		Env:       []string{"HOME=/explicit"},
		Workspace: ws,
		StateDir:  state,
	})
	if strings.TrimSpace(out) != "/explicit" {
		t.Errorf("HOME = %q, want /explicit", out)
	}
}

func TestStart_PathLookup(t *testing.T) {
	ws := t.TempDir()
	bin := t.TempDir()
	script := filepath.Join(bin, "hello-herdbot")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho from-agent-path\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := native.New(testLog(t))
	out, _, _ := run(t, b, sandbox.Spec{
		Command:   []string{"hello-herdbot"},
		Env:       []string{"PATH=" + bin},
		Workspace: ws,
	})
	if strings.TrimSpace(out) != "from-agent-path" {
		t.Errorf("output %q", out)
	}
	// Without PATH in Env, the program is found in herdbot's PATH but the
	// child still gets no PATH.
	out, _, _ = run(t, b, sandbox.Spec{
		Command:   []string{"sh", "-c", `echo "path=[$PATH]"`},
		Workspace: ws,
	})
	// sh sets a default PATH for itself only when none is exported; it must
	// not be herdbot's.
	if strings.Contains(out, os.Getenv("PATH")) && os.Getenv("PATH") != "" {
		t.Errorf("child saw herdbot's PATH: %q", out)
	}
	_, err := b.Start(t.Context(), sandbox.Spec{
		Command:   []string{"sh"},
		Env:       []string{"PATH=" + bin},
		Workspace: ws,
	})
	if err == nil || !strings.Contains(err.Error(), "agent's PATH") {
		t.Errorf("Start with sh missing from PATH: err = %v", err)
	}
}

func TestStart_BadInput(t *testing.T) {
	ws := t.TempDir()
	file := filepath.Join(ws, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b := native.New(nil)
	for _, tc := range []struct {
		name string
		spec sandbox.Spec
		want string
	}{
		{"no command", sandbox.Spec{Workspace: ws}, "empty command"},
		{"no workspace", sandbox.Spec{Command: []string{"/bin/true"}}, "no workspace"},
		{"missing workspace", sandbox.Spec{Command: []string{"/bin/true"}, Workspace: filepath.Join(ws, "nope")}, "workspace"},
		{"workspace is a file", sandbox.Spec{Command: []string{"/bin/true"}, Workspace: file}, "not a directory"},
		{"bad env", sandbox.Spec{Command: []string{"/bin/true"}, Workspace: ws, Env: []string{"SECRETVALUE123"}}, "not KEY=VALUE"},
		{"missing program", sandbox.Spec{Command: []string{"/nonexistent/prog"}, Workspace: ws}, "nonexistent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Start(t.Context(), tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "SECRETVALUE123") {
				t.Errorf("error echoes the env value: %v", err)
			}
		})
	}
}

func TestProcess_ExitCodeAndRepeatedWait(t *testing.T) {
	b := native.New(testLog(t))
	p, err := b.Start(t.Context(), sandbox.Spec{Command: []string{"/bin/sh", "-c", "cat; exit 3"}, Workspace: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(p.Stdin(), "echo-me\n"); err != nil {
		t.Fatal(err)
	}
	_ = p.Stdin().Close()
	out, _ := io.ReadAll(p.Stdout())
	if string(out) != "echo-me\n" {
		t.Errorf("stdout %q", out)
	}
	for i := range 2 {
		st, err := p.Wait(t.Context())
		if err != nil || st.Code != 3 {
			t.Errorf("Wait #%d = %+v, %v; want code 3", i, st, err)
		}
	}
}

func TestProcess_WaitHonoursContext(t *testing.T) {
	b := native.New(testLog(t))
	p, err := b.Start(t.Context(), sandbox.Spec{Command: []string{"/bin/sh", "-c", "read x"}, Workspace: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.Wait(ctx); err == nil {
		t.Error("Wait with a cancelled ctx returned nil error while the process runs")
	}
	_ = p.Stdin().Close()
	if st, err := p.Wait(t.Context()); err != nil || st.Code != 1 {
		t.Errorf("Wait after EOF = %+v, %v; want code 1 (read fails at EOF)", st, err)
	}
}

func TestProcess_SignalReachesProcessGroup(t *testing.T) {
	b := native.New(testLog(t))
	// The shell starts a grandchild and prints its pid, then waits.
	p, err := b.Start(t.Context(), sandbox.Spec{
		Command:   []string{"/bin/sh", "-c", "sleep 600 & echo $!; wait"},
		Workspace: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 32)
	n, err := p.Stdout().Read(line)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscan(strings.TrimSpace(string(line[:n])), &pid); err != nil {
		t.Fatalf("pid line %q: %v", line[:n], err)
	}
	if err := p.Signal(t.Context(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait(t.Context())
	if err != nil || st.Code != -1 {
		t.Errorf("Wait = %+v, %v; want code -1 (signalled)", st, err)
	}
	// The grandchild got the signal too: once reaped by init it is gone.
	// Poll /proc for it; a zombie or running sleep means the group kill failed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || bytes.Contains(b, []byte(") Z ")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d still alive after SIGKILL to the group: %s", pid, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Signalling a finished process group is not an error.
	if err := p.Signal(t.Context(), syscall.SIGTERM); err != nil {
		t.Errorf("Signal after exit: %v", err)
	}
}

func TestBackend_WarnsOnce(t *testing.T) {
	var buf bytes.Buffer
	b := native.New(slog.New(slog.NewTextHandler(&buf, nil)))
	for range 3 {
		run(t, b, sandbox.Spec{Command: []string{"/bin/true"}, Workspace: t.TempDir()})
	}
	if n := strings.Count(buf.String(), "WITHOUT isolation"); n != 1 {
		t.Errorf("warning logged %d times, want 1:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "level=WARN") {
		t.Errorf("not a warning: %s", buf.String())
	}
}
