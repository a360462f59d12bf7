// Package sandboxtest is the contract suite every sandbox.Backend runs:
// start, a stdin/stdout round trip, an environment that is exactly the
// declared list, exit codes, signals, and Wait called twice.
//
// The suite runs the helper program (sandbox/sandboxtest/helper, built with
// BuildHelper) inside the backend; the Harness says how.
package sandboxtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herdbot/herdbot/internal/testenv"
	"github.com/herdbot/herdbot/sandbox"
)

// Harness is a backend under test and how to run the helper in it.
type Harness struct {
	// Backend is the backend under test.
	Backend sandbox.Backend
	// Spec returns a Spec whose Command runs the helper program with
	// args (for example Command = [helperPath, args...]) and that is
	// otherwise ready to start (workspace, image…).
	Spec func(t *testing.T, args ...string) sandbox.Spec
	// ExtraEnv names the variables the backend adds by itself (HOME,
	// PATH, HOSTNAME…). Any other variable the process sees must be one
	// the Spec declared.
	ExtraEnv []string
}

// leakKey is set in the test process's environment; it must never reach a
// sandboxed process.
const leakKey = "HERDBOT_SANDBOXTEST_LEAK"

// TestBackend runs the contract suite. newHarness is called once.
func TestBackend(t *testing.T, newHarness func(t *testing.T) Harness) {
	h := newHarness(t)

	t.Run("EnvIsExactlyTheDeclaredList", func(t *testing.T) {
		t.Setenv(leakKey, "must-not-leak")
		spec := h.Spec(t, "env")
		declared := map[string]string{"HERDBOT_A": "1", "HERDBOT_B": "two words = three", "HERDBOT_EMPTY": ""}
		for k, v := range declared {
			spec.Env = append(spec.Env, k+"="+v)
		}
		want := make(map[string]string)
		for _, kv := range spec.Env {
			k, v, _ := strings.Cut(kv, "=")
			want[k] = v
		}
		out, _, st := run(t, h, spec, "")
		if st.Code != 0 {
			t.Fatalf("exit code = %d, want 0", st.Code)
		}
		got := make(map[string]string)
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			k, v, _ := strings.Cut(line, "=")
			got[k] = v
		}
		extra := make(map[string]bool)
		for _, k := range h.ExtraEnv {
			extra[k] = true
		}
		for k, v := range declared {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("declared %s: got %q (present %t), want %q", k, g, ok, v)
			}
		}
		for k, v := range got {
			if strings.Contains(v, "must-not-leak") || k == leakKey {
				t.Errorf("herdbot's own environment leaked: %s", k)
			}
			if _, ok := want[k]; !ok && !extra[k] {
				t.Errorf("undeclared variable %s reached the process", k)
			}
		}
	})

	t.Run("StdinStdoutRoundTrip", func(t *testing.T) {
		t.Parallel()
		p := start(t, h, h.Spec(t, "cat"))
		r := bufio.NewReader(p.Stdout())
		for _, msg := range []string{"hello", "second line", strings.Repeat("x", 100_000)} {
			if _, err := io.WriteString(p.Stdin(), msg+"\n"); err != nil {
				t.Fatalf("write stdin: %v", err)
			}
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("read stdout: %v", err)
			}
			if got := strings.TrimSuffix(line, "\n"); got != msg {
				t.Fatalf("echo = %.40q (len %d), want %.40q (len %d)", got, len(got), msg, len(msg))
			}
		}
		if err := p.Stdin().Close(); err != nil {
			t.Fatalf("close stdin: %v", err)
		}
		if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
			t.Fatalf("after EOF: read %q, %v; want nothing", rest, err)
		}
		if st := wait(t, p); st.Code != 0 || st.OOMKilled {
			t.Fatalf("status = %+v, want code 0", st)
		}
	})

	t.Run("ExitCode", func(t *testing.T) {
		t.Parallel()
		_, errOut, st := run(t, h, h.Spec(t, "exit", "7"), "")
		if st.Code != 7 || st.OOMKilled {
			t.Fatalf("status = %+v, want code 7, not OOM-killed", st)
		}
		if strings.TrimSpace(errOut) != "bye" {
			t.Fatalf("stderr = %q, want bye", errOut)
		}
	})

	t.Run("StdoutAndStderrAreSeparate", func(t *testing.T) {
		t.Parallel()
		out, errOut, st := run(t, h, h.Spec(t, "streams"), "")
		if out != "out\n" || errOut != "err\n" || st.Code != 0 {
			t.Fatalf("stdout %q, stderr %q, code %d; want out, err, 0", out, errOut, st.Code)
		}
	})

	t.Run("SignalTerm", func(t *testing.T) {
		t.Parallel()
		p := start(t, h, h.Spec(t, "trap"))
		r := bufio.NewReader(p.Stdout())
		expectLine(t, r, "ready")
		if err := p.Signal(ctx(t), syscall.SIGTERM); err != nil {
			t.Fatalf("signal: %v", err)
		}
		expectLine(t, r, "got terminated")
		if st := wait(t, p); st.Code != 143 {
			t.Fatalf("status = %+v, want code 143 (the helper's own exit)", st)
		}
	})

	t.Run("SignalKill", func(t *testing.T) {
		t.Parallel()
		p := start(t, h, h.Spec(t, "hang"))
		r := bufio.NewReader(p.Stdout())
		expectLine(t, r, "ready")
		if err := p.Signal(ctx(t), syscall.SIGKILL); err != nil {
			t.Fatalf("signal: %v", err)
		}
		_, _ = io.Copy(io.Discard, r)
		if st := wait(t, p); st.Code != -1 && st.Code != 128+9 {
			t.Fatalf("status = %+v, want code -1 or 137 (killed)", st)
		}
	})

	t.Run("WaitTwiceAndSignalAfterExit", func(t *testing.T) {
		t.Parallel()
		p := start(t, h, h.Spec(t, "exit", "3"))
		drain(p)
		first := wait(t, p)
		second := wait(t, p)
		if first != second || first.Code != 3 {
			t.Fatalf("Wait returned %+v then %+v, want code 3 twice", first, second)
		}
		if err := p.Signal(ctx(t), syscall.SIGTERM); err != nil {
			t.Fatalf("signal after exit = %v, want nil", err)
		}
	})

	t.Run("WaitHonoursContext", func(t *testing.T) {
		t.Parallel()
		p := start(t, h, h.Spec(t, "hang"))
		expectLine(t, bufio.NewReader(p.Stdout()), "ready")
		c, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := p.Wait(c); !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait(cancelled ctx) = %v, want context.Canceled", err)
		}
		if err := p.Signal(ctx(t), syscall.SIGKILL); err != nil {
			t.Fatalf("signal: %v", err)
		}
		drain(p)
		wait(t, p)
	})

	t.Run("BadSpecIsAnError", func(t *testing.T) {
		t.Parallel()
		spec := h.Spec(t, "cat")
		spec.Command = nil
		p, err := h.Backend.Start(ctx(t), spec)
		if err == nil {
			drain(p)
			wait(t, p)
			t.Fatal("Start with an empty command succeeded")
		}
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// start starts spec and makes sure the process is gone when the test ends.
func start(t *testing.T, h Harness, spec sandbox.Spec) sandbox.Process {
	t.Helper()
	p, err := h.Backend.Start(ctx(t), spec)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = p.Signal(c, syscall.SIGKILL)
		drain(p)
		_, _ = p.Wait(c)
	})
	return p
}

// drain reads whatever output is left, in the background.
func drain(p sandbox.Process) {
	go func() { _, _ = io.Copy(io.Discard, p.Stdout()) }()
	go func() { _, _ = io.Copy(io.Discard, p.Stderr()) }()
}

func wait(t *testing.T, p sandbox.Process) sandbox.ExitStatus {
	t.Helper()
	st, err := p.Wait(ctx(t))
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	return st
}

// run starts spec, writes stdin and closes it, and collects the output.
func run(t *testing.T, h Harness, spec sandbox.Spec, stdin string) (stdout, stderr string, st sandbox.ExitStatus) {
	t.Helper()
	p := start(t, h, spec)
	errc := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(p.Stderr())
		errc <- string(b)
	}()
	if stdin != "" {
		if _, err := io.WriteString(p.Stdin(), stdin); err != nil {
			t.Fatalf("write stdin: %v", err)
		}
	}
	_ = p.Stdin().Close()
	out, err := io.ReadAll(p.Stdout())
	if err != nil {
		t.Fatalf("read stdout: %v", err)
	}
	stderr = <-errc
	return string(out), stderr, wait(t, p)
}

func expectLine(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read stdout (want %q): %v", want, err)
	}
	if got := strings.TrimSuffix(line, "\n"); got != want {
		t.Fatalf("stdout line = %q, want %q", got, want)
	}
}

// BuildHelper builds the helper program, static, into dir and returns its
// path.
func BuildHelper(dir string) (string, error) {
	out := filepath.Join(dir, "helper")
	cmd := exec.Command(testenv.GoBin(), "build", "-trimpath", "-o", out, "./sandbox/sandboxtest/helper")
	cmd.Dir = testenv.ModuleRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build helper: %v: %s", err, b)
	}
	return out, nil
}
