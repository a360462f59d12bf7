package main

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herdbot/herdbot/internal/testenv"
)

// The first-run tests drive the built binary as a person does: from a
// directory of their own, with USER set to their name, no --claude flag
// and no HERDBOT_CLAUDE_BIN: the CLI is found where a person has it.

// person is a terminal session: a command whose stdout is read line by
// line and whose stdin is typed into.
type person struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	seen   []string // every stdout line read so far
	stderr *testWriter
	done   chan struct{}
}

// systemPath is a person's PATH before they install anything.
const systemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// userEnv is a person's environment: PATH without a Claude CLI unless
// extraPath has one, USER=alice, a HOME of their own, herdbot's HTTP
// endpoint on a free port (the example's 9090 may be taken here).
func userEnv(t *testing.T, extraPath string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH", "USER", "HOME", claudeEnv, "HERDBOT_REQUIRE_CLAUDE", "HERDBOT_REQUIRE_DOCKER":
			continue
		}
		env = append(env, kv)
	}
	path := systemPath
	if extraPath != "" {
		path = extraPath + ":" + path
	}
	home := filepath.Join(t.TempDir(), "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	return append(env, "PATH="+path, "USER=alice", "HOME="+home, "HERDBOT_HTTP_LISTEN=127.0.0.1:0")
}

func startPerson(t *testing.T, dir string, env []string, bin string, args ...string) *person {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &person{t: t, cmd: cmd, stdin: stdin, lines: make(chan string, 1000), stderr: &testWriter{t: t}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			t.Logf("stdout: %s", sc.Text())
			p.lines <- sc.Text()
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *person) say(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatal(err)
	}
}

// expect waits for a stdout line matching re and returns its submatches.
func (p *person) expect(re string) []string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	timeout := time.After(120 * time.Second)
	for {
		select {
		case l := <-p.lines:
			p.seen = append(p.seen, l)
			if m := rx.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-p.done:
			p.t.Fatalf("herdbot exited before a line matching %q; stderr:\n%s", re, p.stderr.String())
		case <-timeout:
			p.t.Fatalf("no output line matching %q; saw:\n%s\nstderr:\n%s", re, strings.Join(p.seen, "\n"), p.stderr.String())
		}
	}
}

// seenIndex is the index of the first line seen containing s, or -1.
func (p *person) seenIndex(s string) int {
	return slices.IndexFunc(p.seen, func(l string) bool { return strings.Contains(l, s) })
}

// quit types Ctrl-D and waits for herdbot to stop; it returns the exit
// code.
func (p *person) quit() int {
	p.t.Helper()
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(90 * time.Second):
		p.t.Fatal("herdbot did not stop after Ctrl-D")
	}
	return p.cmd.ProcessState.ExitCode()
}

// checkout lays out what a person has after `make build` and `make
// tools`: bin/herdbot, and the pinned CLI in .tools/ beside bin/.
func checkout(t *testing.T) (bin string) {
	t.Helper()
	claude, err := filepath.EvalSymlinks(testenv.RequireClaude(t))
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "herdbot")
	bin = installBinary(t, filepath.Join(root, "bin"))
	tools := filepath.Join(root, ".tools", "node_modules", ".bin")
	if err := os.MkdirAll(tools, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(claude, filepath.Join(tools, "claude")); err != nil {
		t.Fatal(err)
	}
	return bin
}

// installBinary copies the built herdbot into dir.
func installBinary(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(herdbotBin(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "herdbot")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// copyExample copies deploy/example (its files, never a .herdbot state
// dir or .env) to dir.
func copyExample(t *testing.T, dir string) {
	t.Helper()
	src := filepath.Join(testenv.ModuleRoot(), "deploy", "example")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == ".herdbot" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if d.Name() == ".env" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// demoRoundTrip says hello to the current agent, approves the card it
// gets with /approve and waits for the reply quoting the sandbox.
func demoRoundTrip(t *testing.T, p *person, agent, hello string, readOnly bool) {
	t.Helper()
	p.say(hello)
	m := p.expect(`^\s*→ type: /approve ([A-Z2-7]{26}) once\|session\|deny$`)
	said := p.seenIndex("[demo model] Hi!")
	card := p.seenIndex("🔐 **" + agent + "** wants to use **Bash**")
	if said < 0 || card < 0 || said > card {
		t.Fatalf("the model's words (line %d) should come before its card (line %d):\n%s", said, card, strings.Join(p.seen, "\n"))
	}
	p.expect(`or run: .*herdbot approve ` + m[1] + ` once\|session\|deny -c `)
	p.say("/approve " + m[1] + " once")
	p.expect(`Allowed once by ` + regexp.QuoteMeta(operatorName()) + ` at`)
	p.expect(`^\s+hello from the sandbox$`)
	if readOnly {
		p.expect(`my workspace is read-only`)
	} else {
		p.expect(`The file hello.txt is now in my workspace`)
	}
}

// TestFirstRunExampleFleet: `herdbot start --demo` on the example fleet,
// as alice, from a directory of her own, with the CLI where `make tools`
// puts it: both demo agents complete their round trip in their containers.
func TestFirstRunExampleFleet(t *testing.T) {
	testenv.RequireDocker(t)
	bin := checkout(t)
	fleet := filepath.Join(t.TempDir(), "example")
	copyExample(t, fleet)
	home := t.TempDir()
	p := startPerson(t, home, userEnv(t, ""), bin, "start", "--demo", "-c", filepath.Join(fleet, "herdbot.yaml"))
	p.expect(`^herdbot console chat — fleet example, agents: garden, homelab\. Lines go to garden`)
	p.expect(`^You are \S+, the console's operator \("local" in approvers\.console\): you approve for garden, homelab\.$`)
	if strings.Contains(p.stderr.String(), "WITHOUT") || strings.Contains(p.stderr.String(), "native") {
		t.Fatalf("the demo ran without isolation:\n%s", p.stderr.String())
	}
	demoRoundTrip(t, p, "garden", "hello", false)
	p.say("@homelab")
	p.expect(`Talking to homelab now`)
	demoRoundTrip(t, p, "homelab", "hello", true)
	if _, err := os.Stat(filepath.Join(fleet, ".herdbot", "demo", "garden", "hello.txt")); err != nil {
		t.Errorf("garden's hello.txt: %v", err)
	}
	if code := p.quit(); code != 0 {
		t.Fatalf("exit %d after Ctrl-D", code)
	}
}

// TestFirstRunInitFleet: a fleet made by `herdbot init` in an empty
// directory, with no .tools anywhere near: init prints the commands, they
// work as printed, and the demo finds the CLI on PATH (an npm global
// install) and runs the agent in its container; without any CLI it uses
// the agent image already built.
func TestFirstRunInitFleet(t *testing.T) {
	testenv.RequireDocker(t)
	claude, err := filepath.EvalSymlinks(testenv.RequireClaude(t))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	bin := installBinary(t, filepath.Join(root, "opt", "herdbot"))
	npm := filepath.Join(root, "npm-global", "bin")
	if err := os.MkdirAll(npm, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(claude, filepath.Join(npm, "claude")); err != nil {
		t.Fatal(err)
	}
	env := userEnv(t, npm)
	work := filepath.Join(root, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	initCmd := exec.Command(bin, "init", "myfleet")
	initCmd.Dir, initCmd.Env = work, env
	out, err := initCmd.CombinedOutput()
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	validate := regexp.MustCompile(`(?m)^  (\S+ validate -c myfleet/herdbot\.yaml)$`).FindStringSubmatch(string(out))
	start := regexp.MustCompile(`(?m)^  (\S+ start --demo -c myfleet/herdbot\.yaml)$`).FindStringSubmatch(string(out))
	if validate == nil || start == nil {
		t.Fatalf("init does not print the commands to validate and run:\n%s", out)
	}
	vc := exec.Command("sh", "-c", validate[1])
	vc.Dir, vc.Env = work, env
	if vout, err := vc.CombinedOutput(); err != nil || !strings.Contains(string(vout), "agent assistant") {
		t.Fatalf("%s: %v\n%s", validate[1], err, vout)
	}
	f := strings.Fields(start[1])
	p := startPerson(t, work, env, f[0], f[1:]...)
	p.expect(`^You are \S+, the console's operator \("local" in approvers\.console\): you approve for assistant\.$`)
	demoRoundTrip(t, p, "assistant", "hello", false)
	if want := "claude=" + filepath.Join(npm, "claude"); !strings.Contains(p.stderr.String(), want) {
		t.Errorf("the image was not built from the CLI on PATH (%s):\n%s", want, p.stderr.String())
	}
	if code := p.quit(); code != 0 {
		t.Fatalf("exit %d after Ctrl-D", code)
	}

	// With no CLI anywhere, the agent image already built is used as it is.
	p = startPerson(t, work, userEnv(t, ""), f[0], f[1:]...)
	p.expect(`^You are \S+, the console's operator`)
	p.say("/reset")
	p.expect(`Session reset`)
	demoRoundTrip(t, p, "assistant", "hello", false)
	if !strings.Contains(p.stderr.String(), "no Claude Code CLI found: using the agent image as it is") {
		t.Errorf("stderr:\n%s", p.stderr.String())
	}
	if code := p.quit(); code != 0 {
		t.Fatalf("exit %d after Ctrl-D", code)
	}
}

// TestDemoNeverRunsUnisolatedByItself: when the demo cannot isolate its
// agents (no usable engine; no image and no CLI to build one) it says so
// and exits, naming the way out; it never falls back to local processes.
func TestDemoNeverRunsUnisolatedByItself(t *testing.T) {
	testenv.RequireDocker(t)
	root := t.TempDir()
	bin := installBinary(t, filepath.Join(root, "bin"))
	dir := filepath.Join(root, "fleet")
	fleet := filepath.Join(dir, "herdbot.yaml")
	write(t, fleet, "version: 1\nfleet:\n  name: noiso\ndocker:\n  image: herdbot-agent:missing-"+filepath.Base(root)+"\nagents:\n  - path: agents/garden\n")
	write(t, filepath.Join(dir, "agents", "garden", "agent.yaml"), "name: garden\napprovers:\n  console: [local]\n")
	for _, c := range []struct {
		name  string
		env   []string
		wants []string
	}{
		{"no engine", append(userEnv(t, ""), "DOCKER_HOST=unix://"+filepath.Join(root, "no-docker.sock")),
			[]string{"the demo runs its agents in Docker containers, but Docker is not usable", "herdbot start --demo --no-isolation"}},
		{"no image and no CLI", userEnv(t, ""),
			[]string{"the demo needs the agent image herdbot-agent:missing-", "no Claude Code CLI found", "make tools", "--no-isolation"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, d := range strings.Split(systemPath, ":") {
				if p, err := exec.LookPath(filepath.Join(d, "claude")); err == nil {
					t.Skipf("this machine has a Claude CLI on the system PATH (%s): the demo would find it", p)
				}
			}
			cmd := exec.Command(bin, "start", "--demo", "-c", fleet)
			cmd.Dir, cmd.Env = root, c.env
			cmd.Stdin = strings.NewReader("hello\n")
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit: %v\n%s", err, out)
			}
			for _, w := range c.wants {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(string(out), "console chat") || strings.Contains(string(out), "herdbot started") {
				t.Errorf("herdbot started anyway:\n%s", out)
			}
		})
	}
	// --no-isolation is the explicit way out, and is for the demo only.
	cmd := exec.Command(bin, "start", "--no-isolation", "-c", fleet)
	cmd.Dir, cmd.Env = root, userEnv(t, "")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "--no-isolation is for the demo") {
		t.Fatalf("start --no-isolation without --demo: %v\n%s", err, out)
	}
}
