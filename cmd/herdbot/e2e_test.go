package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/internal/testenv"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// herdbotBin builds the herdbot binary once per test run.
func herdbotBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "herdbot-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "herdbot")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// fleetDir writes a one-agent fleet that runs natively (the fleet file
// opts out of Docker) and returns the fleet file's path.
func fleetDir(t *testing.T, modelURL string, agentExtra string) (fleet, workspace string) {
	return fleetDirIn(t, modelURL, agentExtra, false)
}

// fleetDirIn is fleetDir; with docker the agent runs in its container
// (fleet name e2e-<random> so the test can find its containers).
func fleetDirIn(t *testing.T, modelURL string, agentExtra string, docker bool) (fleet, workspace string) {
	t.Helper()
	dir := t.TempDir()
	model := ""
	if modelURL != "" {
		model = "model_api:\n  base_url: " + modelURL + "\n"
		if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("ANTHROPIC_API_KEY="+claudetest.DummyAPIKey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fleet = filepath.Join(dir, "herdbot.yaml")
	overrides := "    overrides:\n      docker:\n        enabled: false\n"
	name := "e2e"
	if docker {
		overrides, name = "", "e2e-"+filepath.Base(dir)
	}
	write(t, fleet, "version: 1\nfleet:\n  name: "+name+"\nhttp:\n  listen: 127.0.0.1:0\n"+model+"agents:\n  - path: agents/garden\n"+overrides)
	write(t, filepath.Join(dir, "agents", "garden", "agent.yaml"), "name: garden\napprovers:\n  console: [local]\n"+agentExtra)
	return fleet, filepath.Join(dir, "agents", "garden")
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// child is a running `herdbot start` child.
type child struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	done   chan struct{}
	stderr *testWriter
}

func startService(t *testing.T, fleet string, args ...string) *child {
	t.Helper()
	claude := testenv.RequireClaude(t)
	cmd := exec.Command(herdbotBin(t), append([]string{"start", "-c", fleet, "--claude", claude, "--console"}, args...)...)
	cmd.Env = append(os.Environ(), "USER=tester")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &testWriter{t: t}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &child{t: t, cmd: cmd, stdin: stdin, lines: make(chan string, 1000), done: make(chan struct{}), stderr: stderr}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

type testWriter struct {
	t   *testing.T
	mu  sync.Mutex
	log strings.Builder
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log.Write(p)
	w.t.Logf("herdbot: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (w *testWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.String()
}

// expectLog waits for text in the service's log (stderr).
func (s *child) expectLog(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(s.stderr.String(), text) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %q in the log", text)
}

func (s *child) say(line string) {
	if _, err := io.WriteString(s.stdin, line+"\n"); err != nil {
		s.t.Fatal(err)
	}
}

func (s *child) expect(re string) []string {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	timeout := time.After(90 * time.Second)
	var seen []string
	for {
		select {
		case l := <-s.lines:
			seen = append(seen, l)
			if m := rx.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-timeout:
			s.t.Fatalf("no output line matching %q; saw:\n%s", re, strings.Join(seen, "\n"))
		}
	}
}

// cli runs a herdbot client command and returns its stdout.
func cli(t *testing.T, fleet string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(herdbotBin(t), append(args, "-c", fleet)...)
	cmd.Env = append(os.Environ(), "USER=tester")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("herdbot %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), err
}

// cli2 runs a herdbot client command and returns its stdout, stderr and
// exit code.
func cli2(t *testing.T, fleet string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(herdbotBin(t), append(args, "-c", fleet)...)
	cmd.Env = append(os.Environ(), "USER=tester")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// waitSocket waits until the running service answers (a reading command
// that reads the database itself says so: that is not an answer).
func waitSocket(t *testing.T, fleet string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, stderr, code := cli2(t, fleet, "jobs", "--json"); code == 0 && !strings.Contains(stderr, "is not running") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("control socket never answered")
}

// processesIn lists pids whose cwd is dir.
func processesIn(dir string) []string {
	var pids []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err == nil && cwd == dir {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

func TestKill9ThenRestartInterruptsJobAndExpiresApproval(t *testing.T) {
	fleet, ws := fleetDir(t, "", "")
	s := startService(t, fleet, "--demo")
	s.say("hello")
	id := s.expect(`/approve ([A-Z2-7]{26}) once`)[1]

	// kill -9 with a run and a pending approval.
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.done
	deadline := time.Now().Add(10 * time.Second)
	for len(processesIn(ws)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if left := processesIn(ws); len(left) > 0 {
		t.Fatalf("agent processes left running after kill -9: %v", left)
	}

	s2 := startService(t, fleet, "--demo")
	s2.expect(`herdbot restarted while job (j-[0-9a-f]+) was running`)
	waitSocket(t, fleet)
	out, err := cli(t, fleet, "jobs", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var jobs []agents.Job
	if err := json.Unmarshal([]byte(out), &jobs); err != nil || len(jobs) != 1 {
		t.Fatalf("jobs: %v %s", err, out)
	}
	if jobs[0].Status != agents.JobInterrupted || !jobs[0].Finished.After(jobs[0].Started) {
		t.Fatalf("job after restart: %+v", jobs[0])
	}
	out, err = cli(t, fleet, "approvals", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var as []agents.Approval
	if err := json.Unmarshal([]byte(out), &as); err != nil || len(as) != 1 {
		t.Fatalf("approvals: %v %s", err, out)
	}
	if as[0].ID != id || as[0].Status != agents.Expired || !strings.Contains(as[0].Reason, "restarted") {
		t.Fatalf("approval after restart: %+v", as[0])
	}
	// The tables say the same.
	if out, err := cli(t, fleet, "jobs"); err != nil || !strings.Contains(out, jobs[0].ID) || !strings.Contains(out, "interrupted") {
		t.Fatalf("jobs table: %v\n%s", err, out)
	}
	if out, err := cli(t, fleet, "approvals", "--pending"); err != nil || strings.Contains(out, id) {
		t.Fatalf("pending approvals after restart: %v\n%s", err, out)
	}
	// A click on the old card answers cleanly.
	out, err = cli(t, fleet, "approve", id, "once")
	if err == nil || !strings.Contains(err.Error(), "already expired") {
		t.Fatalf("approving an expired request: %v %s", err, out)
	}
}

func TestCancelFromASecondProcess(t *testing.T) {
	testenv.RequireClaude(t)
	model := claudetest.NewModelServer(t, claudetest.Script(claudetest.Bash("until [ -e /nonexistent ]; do sleep 1; done", "wait"), claudetest.Text("never")))
	fleet, _ := fleetDir(t, model.URL, "allowed_tools: [Bash]\n")
	startService(t, fleet)
	waitSocket(t, fleet)
	out, err := cli(t, fleet, "trigger", "garden", "-p", "sleep for two minutes")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`started job (j-[0-9a-f]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("trigger output: %q", out)
	}
	job := m[1]
	// Wait until the agent is inside the tool call.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		out, err := cli(t, fleet, "job", job, "--json")
		if err == nil && strings.Contains(out, "until [ -e /nonexistent ]") && strings.Contains(out, `"tool_use"`) && strings.Contains(out, `"Status": "running"`) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("job never reached the tool call: %s %v", out, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	start := time.Now()
	out, err = cli(t, fleet, "cancel", job)
	if err != nil {
		detail, _ := cli(t, fleet, "job", job)
		t.Fatalf("%v\n%s", err, detail)
	}
	if !strings.Contains(out, "cancelled") {
		t.Fatalf("cancel output %q", out)
	}
	t.Logf("cancel from a second process took %v", time.Since(start))
	out, _ = cli(t, fleet, "job", job, "--json")
	if !strings.Contains(out, `"Status": "cancelled"`) {
		t.Fatalf("job after cancel: %s", out)
	}
}

func TestReloadAppliesSchedulesAndKeepsOldConfigOnError(t *testing.T) {
	fleet, ws := fleetDir(t, "", "schedules:\n  tick:\n    type: interval\n    interval: 1h\n    prompt: hi\n")
	agentFile := filepath.Join(ws, "agent.yaml")
	s := startService(t, fleet)
	waitSocket(t, fleet)
	names := func() string {
		out, err := cli(t, fleet, "schedules", "--json")
		if err != nil {
			t.Fatal(err)
		}
		var infos []struct{ Schedule struct{ Name string } }
		if err := json.Unmarshal([]byte(out), &infos); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		var n []string
		for _, i := range infos {
			n = append(n, i.Schedule.Name)
		}
		return strings.Join(n, ",")
	}
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if names() == want {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("schedules %q, want %q", names(), want)
	}
	waitFor("tick")

	// A broken file is refused; the running schedules stay.
	write(t, agentFile, "name: garden\nschedules: [this is: not valid\n")
	_ = s.cmd.Process.Signal(syscall.SIGHUP)
	s.expectLog(t, "config reload refused")
	if got := names(); got != "tick" {
		t.Fatalf("after a broken reload: %q", got)
	}
	// A good change applies without a restart.
	write(t, agentFile, "name: garden\napprovers:\n  console: [local]\nschedules:\n  tick:\n    type: interval\n    interval: 2h\n    prompt: hi\n  tock:\n    type: cron\n    cron: \"0 9 * * *\"\n    prompt: morning\n")
	_ = s.cmd.Process.Signal(syscall.SIGHUP)
	waitFor("tick,tock")

	// Adding an agent applies live: the running service knows it.
	dir := filepath.Dir(fleet)
	write(t, filepath.Join(dir, "agents", "homelab", "agent.yaml"), "name: homelab\nschedules:\n  nightly:\n    type: cron\n    cron: \"0 3 * * *\"\n    prompt: check\n")
	write(t, fleet, "version: 1\nfleet:\n  name: e2e\nhttp:\n  listen: 127.0.0.1:0\nagents:\n  - path: agents/garden\n    overrides:\n      docker:\n        enabled: false\n  - path: agents/homelab\n    overrides:\n      docker:\n        enabled: false\n")
	_ = s.cmd.Process.Signal(syscall.SIGHUP)
	waitFor("tick,tock,nightly")
	s.expectLog(t, `msg="config reloaded" agents=2`)

	// The file watch was restarted with the new config: a change to the
	// new agent's file applies without SIGHUP.
	write(t, filepath.Join(dir, "agents", "homelab", "agent.yaml"), "name: homelab\nschedules:\n  nightly:\n    type: cron\n    cron: \"0 3 * * *\"\n    prompt: check\n  weekly:\n    type: cron\n    cron: \"0 4 * * 1\"\n    prompt: review\n")
	waitFor("tick,tock,nightly,weekly")
}

func TestChatThroughTheRunningService(t *testing.T) {
	fleet, ws := fleetDir(t, "", "")
	startService(t, fleet, "--demo")
	waitSocket(t, fleet)
	cmd := exec.Command(herdbotBin(t), "chat", "garden", "-c", fleet)
	cmd.Env = append(os.Environ(), "USER=tester")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &testWriter{t: t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect := func(re string) []string {
		t.Helper()
		rx := regexp.MustCompile(re)
		timeout := time.After(90 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("chat ended before %q", re)
				}
				if m := rx.FindStringSubmatch(l); m != nil {
					return m
				}
			case <-timeout:
				t.Fatalf("no chat line matching %q", re)
			}
		}
	}
	expect(`Talking to garden`)
	_, _ = io.WriteString(stdin, "hello\n")
	id := expect(`/approve ([A-Z2-7]{26}) once`)[1]
	_, _ = io.WriteString(stdin, "/approve "+id+" once\n")
	// herdbot chat types as the local operator, named by the socket
	// peer's login name (not $USER).
	expect(`Allowed once by ` + regexp.QuoteMeta(operatorName()) + ` via herdbot chat at`)
	// The model's answer to the tool result, not the tool_use line (which
	// also quotes the command and may be rendered before the tool runs).
	expect(`The sandbox ran the command`)
	if b, err := os.ReadFile(filepath.Join(filepath.Dir(fleet), ".herdbot", "demo", "garden", "hello.txt")); err != nil || !strings.Contains(string(b), "hello from the sandbox") {
		t.Fatalf("the approved tool did not run in the demo workspace: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(ws, "hello.txt")); err == nil {
		t.Fatal("the demo wrote into the agent's real directory")
	}
	// The transcript is there for `herdbot logs`.
	jobsOut, err := cli(t, fleet, "jobs", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var js []agents.Job
	if err := json.Unmarshal([]byte(jobsOut), &js); err != nil || len(js) == 0 {
		t.Fatalf("jobs: %v %s", err, jobsOut)
	}
	logs, err := cli(t, fleet, "logs", "--job", js[0].ID)
	if err != nil || !strings.Contains(logs, "approval_decided") || !strings.Contains(logs, "tool_result") {
		t.Fatalf("logs --job: %v\n%s", err, logs)
	}
}

// containersOf lists the running containers of a fleet.
func containersOf(t *testing.T, fleetName string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "-q", "--filter", "label=herdbot.fleet="+fleetName, "--filter", "label=herdbot.role=agent").Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return strings.Fields(string(out))
}

func TestKill9InDockerLeavesNoContainer(t *testing.T) {
	testenv.RequireDocker(t)
	fleet, _ := fleetDirIn(t, "", "", true)
	name := "e2e-" + filepath.Base(filepath.Dir(fleet))
	s := startService(t, fleet, "--demo")
	s.say("hello")
	id := s.expect(`/approve ([A-Z2-7]{26}) once`)[1]
	if n := len(containersOf(t, name)); n != 1 {
		t.Fatalf("want the agent's container running, got %d", n)
	}
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.done
	s2 := startService(t, fleet, "--demo")
	s2.expect(`herdbot restarted while job (j-[0-9a-f]+) was running`)
	deadline := time.Now().Add(30 * time.Second)
	for len(containersOf(t, name)) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if left := containersOf(t, name); len(left) > 0 {
		t.Fatalf("containers left behind after kill -9 and restart: %v", left)
	}
	waitSocket(t, fleet)
	out, err := cli(t, fleet, "approvals", "--json")
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, `"expired"`) {
		t.Fatalf("approval after restart: %v %s", err, out)
	}
}

// TestValidateShowsTheSchedulersFireTimes: validate prints the next fire
// times the scheduler itself computes (cron in the schedule's zone).
func TestValidateShowsTheSchedulersFireTimes(t *testing.T) {
	out, err := cli(t, filepath.Join(testenv.ModuleRoot(), "deploy", "example", "herdbot.yaml"), "validate")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"agent garden", "agent homelab", "weather: every 3d", `morning-check: cron "30 7 * * *" (Europe/Berlin)`} {
		if !strings.Contains(out, want) {
			t.Errorf("validate lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`next: \d{4}-\d\d-\d\d 07:30 CES?T, \d{4}-\d\d-\d\d 07:30 CES?T, \d{4}-\d\d-\d\d 07:30 CES?T`).MatchString(out) {
		t.Errorf("cron fire times not shown in Europe/Berlin:\n%s", out)
	}
	if strings.Count(out, "next: ") != 2 {
		t.Errorf("want next fire times for both schedules:\n%s", out)
	}
}
