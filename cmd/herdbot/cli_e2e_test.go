package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cliCase is one command and what a person must see.
type cliCase struct {
	args   []string
	code   int
	stdout []string // substrings of stdout
	stderr []string // substrings of stderr
	not    []string // in neither
}

func (c cliCase) check(t *testing.T, fleet string) {
	t.Helper()
	stdout, stderr, code := cli2(t, fleet, c.args...)
	if code != c.code {
		t.Errorf("herdbot %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(c.args, " "), code, c.code, stdout, stderr)
		return
	}
	for _, w := range c.stdout {
		if !strings.Contains(stdout, w) {
			t.Errorf("herdbot %s: stdout lacks %q:\n%s", strings.Join(c.args, " "), w, stdout)
		}
	}
	for _, w := range c.stderr {
		if !strings.Contains(stderr, w) {
			t.Errorf("herdbot %s: stderr lacks %q:\n%s", strings.Join(c.args, " "), w, stderr)
		}
	}
	for _, w := range c.not {
		if strings.Contains(stdout+stderr, w) {
			t.Errorf("herdbot %s: %q printed:\n%s%s", strings.Join(c.args, " "), w, stdout, stderr)
		}
	}
}

// waitOut runs `herdbot ARGS` until its stdout matches re.
func waitOut(t *testing.T, fleet, re string, args ...string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, _, _ := cli2(t, fleet, args...)
		if m := rx.FindStringSubmatch(out); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("herdbot %s never printed %q; last:\n%s", strings.Join(args, " "), re, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCLIAnswers: every CLI answer of a person's first day, on real
// processes: a running herdbot (demo model, native agent), then the same
// fleet with herdbot stopped.
func TestCLIAnswers(t *testing.T) {
	fleet, _ := fleetDir(t, "", "schedules:\n  tick:\n    type: cron\n    cron: \"0 9 * * *\"\n    timezone: Europe/Berlin\n    prompt: hi\n"+
		"    post_to:\n      platform: discord\n      channel: \"222222222222222222\"\n"+
		"chat:\n  discord:\n    bot_token_env: GARDEN_DISCORD_BOT_TOKEN\n    guilds:\n      - id: \"333333333333333333\"\n        channels:\n          - id: \"222222222222222222\"\n"+
		"budget:\n  monthly_usd: 100\n")
	s := startService(t, fleet, "--demo")
	waitSocket(t, fleet)
	s.say("hello")
	id := s.expect(`/approve ([A-Z2-7]{26}) once`)[1]
	if out, err := cli(t, fleet, "approve", id, "once"); err != nil || !strings.Contains(out, "allowed") {
		t.Fatalf("approve: %v %s", err, out)
	}
	s.expect(`hello from the sandbox`)
	job := waitOut(t, fleet, `(j-[0-9a-f]+)\s+garden\s+chat\s+succeeded`, "jobs")[1]

	running := []cliCase{
		{args: []string{"jobs", "gardn"}, code: 1, stderr: []string{`no agent "gardn"`, "agents: garden", "(did you mean garden?)"}},
		{args: []string{"sessions", "nobody"}, code: 1, stderr: []string{`no agent "nobody"`, "agents: garden"}},
		{args: []string{"schedules", "nobody"}, code: 1, stderr: []string{`no agent "nobody"`}},
		{args: []string{"approvals", "--agent", "nobody"}, code: 1, stderr: []string{`no agent "nobody"`}},
		{args: []string{"audit", "nobody"}, code: 1, stderr: []string{`no agent "nobody"`}},
		{args: []string{"trigger", "nobody"}, code: 1, stderr: []string{`no agent "nobody"`}},
		{args: []string{"trigger", "garden", "--schedule", "tock"}, code: 1, stderr: []string{`agent garden has no schedule "tock"; its schedules: tick (did you mean tick?)`}},
		{args: []string{"cancel", "j-nope"}, code: 1, stderr: []string{`no job "j-nope"; the latest: ` + job}},
		{args: []string{"cancel", job}, code: 1, stderr: []string{"job " + job + " is not running: it ended succeeded at"}},
		{args: []string{"job", "j-nope"}, code: 1, stderr: []string{`no job "j-nope"`}},
		{args: []string{"logs", "--job", "j-nope"}, code: 1, stderr: []string{`no job "j-nope"`}},
		{args: []string{"approve", "NOPE", "once"}, code: 1, stderr: []string{`herdbot: no approval "NOPE", and none is pending`}, not: []string{"approval NOPE: approval NOPE"}},
		{args: []string{"approve", "NOPE", "always"}, code: 1, stderr: []string{`"always" is not a choice: once`, "session", "deny"}},
		{args: []string{"chat", "nobody"}, code: 1, stderr: []string{`no agent "nobody"`}, not: []string{"Talking to"}},
		{args: []string{"--version"}, code: 0, stdout: []string{"herdbot "}},
		{args: []string{"-v"}, code: 0, stdout: []string{"herdbot "}},
		{args: []string{"strat"}, code: 1, stderr: []string{"unknown command \"strat\": did you mean `herdbot start`?"}},
		{args: []string{"jobs"}, code: 0, stdout: []string{job, "garden", "succeeded", " UTC", "$0."}, not: []string{"is not running", "0.0000"}},
		{args: []string{"job", job}, code: 0, stdout: []string{"prompt: hello", "🔧 Bash: echo \"hello from the sandbox\" > hello.txt", "approval " + id + " allowed by cli:uid=", "→ hello from the sandbox"}, not: []string{`\u003e`}},
		{args: []string{"approvals"}, code: 0, stdout: []string{id, `echo "hello from the sandbox" > hello.txt`}, not: []string{`\u003e`}},
		{args: []string{"audit", "--action", "approval."}, code: 0, stdout: []string{"approval.decided", id}},
		{args: []string{"agents"}, code: 0, stdout: []string{"AGENT", "garden", "none", "$100.00 (0%)"}, stderr: []string{"days and months begin at midnight UTC"}},
		{args: []string{"agents", "nobody"}, code: 1, stderr: []string{`no agent "nobody"`}},
	}
	for _, c := range running {
		c.check(t, fleet)
	}
	// Schedule times carry their zone (the schedule's own).
	if out, _, _ := cli2(t, fleet, "schedules"); !regexp.MustCompile(`tick\s+cron\s+\d\d-\d\d 09:00 CES?T, `).MatchString(out) {
		t.Errorf("schedules without the zone:\n%s", out)
	}

	// trigger --wait follows the job, shows the pending approval with the
	// line that decides it (the console shows its card too), and prints
	// the answer.
	wait := exec.Command(herdbotBin(t), "trigger", "garden", "-p", "hello", "--wait", "-c", fleet)
	stderr, err := wait.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	wait.Stdout = &stdout
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	errLines := lines(stderr)
	pending := expectLine(t, errLines, `🔐 approval ([A-Z2-7]{26}) for Bash pending: \S*herdbot approve ([A-Z2-7]{26}) once\|session\|deny -c `)[1]
	s.expect(`/approve ` + pending + ` once\|session\|deny`)
	if out, err := cli(t, fleet, "approve", pending, "once"); err != nil {
		t.Fatalf("approve: %v %s", err, out)
	}
	if err := wait.Wait(); err != nil {
		t.Fatalf("trigger --wait: %v\n%s", err, stdout.String())
	}
	if !regexp.MustCompile(`job j-[0-9a-f]+ succeeded · \$0\.\d+ · 2 turns`).MatchString(stdout.String()) || !strings.Contains(stdout.String(), "hello from the sandbox") {
		t.Fatalf("trigger --wait output:\n%s", stdout.String())
	}

	// Ctrl-C on --wait detaches: the job goes on and can be decided.
	wait = exec.Command(herdbotBin(t), "trigger", "garden", "-p", "hello", "--wait", "-c", fleet)
	if stderr, err = wait.StderrPipe(); err != nil {
		t.Fatal(err)
	}
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	errLines = lines(stderr)
	m := expectLine(t, errLines, `(j-[0-9a-f]+) .*🔐 approval ([A-Z2-7]{26}) for Bash pending`)
	detached, pending := m[1], m[2]
	_ = wait.Process.Signal(syscall.SIGINT)
	expectLine(t, errLines, `detached: job `+detached+` goes on\. Follow it: herdbot logs -f --job `+detached+` · stop it: herdbot cancel `+detached)
	if err := wait.Wait(); err != nil {
		t.Fatalf("trigger --wait after Ctrl-C: %v", err)
	}
	if out, err := cli(t, fleet, "approve", pending, "once"); err != nil {
		t.Fatalf("the detached job's approval: %v %s", err, out)
	}
	waitOut(t, fleet, detached+`\s+garden\s+cli\s+succeeded`, "jobs")

	// A schedule posting to a platform garden is not connected to: its
	// card and its report come to the console; nothing is logged as an
	// error.
	sched := exec.Command(herdbotBin(t), "trigger", "garden", "--schedule", "tick", "-c", fleet)
	if stderr, err = sched.StderrPipe(); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	sched.Stdout = &stdout
	if err := sched.Start(); err != nil {
		t.Fatal(err)
	}
	errLines = lines(stderr)
	pending = expectLine(t, errLines, `🔐 approval ([A-Z2-7]{26}) for Bash pending`)[1]
	s.expect(`/approve ` + pending + ` once\|session\|deny`)
	if out, err := cli(t, fleet, "approve", pending, "once"); err != nil {
		t.Fatalf("approve: %v %s", err, out)
	}
	if err := sched.Wait(); err != nil {
		t.Fatalf("trigger --schedule: %v\n%s", err, stdout.String())
	}
	s.expect(`\(for discord channel 222222222222222222, where garden is not connected\)`)
	if strings.Contains(s.stderr.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", s.stderr.String())
	}

	// herdbot stopped: the reading commands read the database read-only
	// and say so; the writing ones need the service.
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		t.Fatal("herdbot did not stop")
	}
	state := filepath.Join(filepath.Dir(fleet), ".herdbot")
	before := dirNames(t, state)
	note := "herdbot is not running: read from " + filepath.Join(state, "herdbot.db") + " (read-only)"
	stopped := []cliCase{
		{args: []string{"jobs"}, stdout: []string{job, detached, "succeeded"}, stderr: []string{note}},
		{args: []string{"job", job}, stdout: []string{"prompt: hello", "→ hello from the sandbox"}, stderr: []string{note}},
		{args: []string{"logs", "--job", job}, stdout: []string{"approval " + id + " allowed"}, stderr: []string{note}},
		{args: []string{"sessions"}, stdout: []string{"console::local"}, stderr: []string{note}},
		{args: []string{"approvals"}, stdout: []string{id, pending}, stderr: []string{note}},
		{args: []string{"schedules"}, stdout: []string{"tick", "cron"}, stderr: []string{note, "schedules fire only while herdbot runs"}},
		{args: []string{"audit"}, stdout: []string{"approval.decided", "control.trigger"}, stderr: []string{note}},
		{args: []string{"agents", "--json"}, stdout: []string{`"name": "garden"`, `"monthly_budget_usd": 100`, `"month_usd": 0.`}, stderr: []string{note}},
		{args: []string{"jobs", "gardn"}, code: 1, stderr: []string{`no agent "gardn"`}},
		{args: []string{"logs", "-f"}, code: 1, stderr: []string{"logs -f needs the running herdbot, and it is not running"}},
		{args: []string{"approve", pending, "once"}, code: 1, stderr: []string{"herdbot is not running"}},
		{args: []string{"cancel", job}, code: 1, stderr: []string{"herdbot is not running"}},
		{args: []string{"trigger", "garden", "-p", "hi"}, code: 1, stderr: []string{"herdbot is not running"}},
		{args: []string{"chat", "garden"}, code: 1, stderr: []string{"herdbot is not running"}},
	}
	for _, c := range stopped {
		c.check(t, fleet)
	}
	if after := dirNames(t, state); !slices.Equal(before, after) {
		t.Errorf("reading a stopped herdbot changed its state dir: %v, then %v", before, after)
	}
	// It starts again as usual: the readers took no lock.
	startService(t, fleet, "--demo")
	waitSocket(t, fleet)
}

// TestCLIWithoutAFleetFile: a command run where there is no fleet file
// says how to name one.
func TestCLIWithoutAFleetFile(t *testing.T) {
	cmd := exec.Command(herdbotBin(t), "jobs")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "name the fleet file with -c PATH") {
		t.Fatalf("jobs without a fleet file: %v\n%s", err, out)
	}
}

// TestValidateSaysTokenSetNotConnected: validate cannot know a token
// works; it says it is set.
func TestValidateSaysTokenSetNotConnected(t *testing.T) {
	dir := t.TempDir()
	copyExample(t, dir)
	write(t, filepath.Join(dir, "agents", "garden", ".env"), "GARDEN_DISCORD_BOT_TOKEN=not-a-real-token-1234\n")
	out, _, code := cli2(t, filepath.Join(dir, "herdbot.yaml"), "validate")
	if code != 0 || !strings.Contains(out, "token set (GARDEN_DISCORD_BOT_TOKEN); connects when herdbot starts") || strings.Contains(out, "discord: connected") {
		t.Fatalf("validate (exit %d):\n%s", code, out)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// lines delivers r's lines.
func lines(r io.Reader) <-chan string {
	ch := make(chan string, 1000)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

func expectLine(t *testing.T, ch <-chan string, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	timeout := time.After(90 * time.Second)
	var seen []string
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("output ended without a line matching %q:\n%s", re, strings.Join(seen, "\n"))
			}
			seen = append(seen, l)
			if m := rx.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-timeout:
			t.Fatalf("no line matching %q:\n%s", re, strings.Join(seen, "\n"))
		}
	}
}

// TestValidateWarnsOfConsoleNamesThatNeverMatch: a fleet written for the
// old $USER console user is told what to write instead.
func TestValidateWarnsOfConsoleNamesThatNeverMatch(t *testing.T) {
	fleet, _ := fleetDir(t, "", "")
	write(t, filepath.Join(filepath.Dir(fleet), "agents", "garden", "agent.yaml"), "name: garden\napprovers:\n  console: [alice, local]\n")
	out, _, code := cli2(t, fleet, "validate")
	if code != 0 || !strings.Contains(out, `agent garden: approvers.console lists "alice", which never matches`) || strings.Contains(out, `lists "local"`) {
		t.Fatalf("validate (exit %d):\n%s", code, out)
	}
}
