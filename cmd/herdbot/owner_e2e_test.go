package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/internal/statedir"
	"github.com/herdbot/herdbot/internal/testenv"
)

// containersOfInstallation lists the containers (all roles) of the
// installation whose state dir is beside fleet.
func containersOfInstallation(t *testing.T, fleet string) []string {
	t.Helper()
	id, err := statedir.ReadInstallationID(filepath.Join(filepath.Dir(fleet), ".herdbot"))
	if err != nil || id == "" {
		t.Fatalf("installation id of %s: %q %v", fleet, id, err)
	}
	out, err := exec.Command("docker", "ps", "-q", "--no-trunc", "--filter", "label=herdbot.installation="+id).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	ids := strings.Fields(string(out))
	slices.Sort(ids)
	return ids
}

// pendingApprovals returns the ids of the pending approvals.
func pendingApprovals(t *testing.T, fleet string) []string {
	t.Helper()
	out, err := cli(t, fleet, "approvals", "--pending", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var as []agents.Approval
	if err := json.Unmarshal([]byte(out), &as); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var ids []string
	for _, a := range as {
		ids = append(ids, a.ID)
	}
	return ids
}

func jobsOf(t *testing.T, fleet string) []agents.Job {
	t.Helper()
	out, err := cli(t, fleet, "jobs", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var js []agents.Job
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return js
}

// TestSecondStartOnOneStateDirTouchesNothing: a second `herdbot start` on a
// running fleet's state dir exits non-zero naming the first one's pid, and
// the first keeps its container, its running job and its pending approval,
// and goes on to finish the job.
func TestSecondStartOnOneStateDirTouchesNothing(t *testing.T) {
	testenv.RequireDocker(t)
	fleet, _ := fleetDirIn(t, "", "", true)
	first := startService(t, fleet, "--demo")
	first.say("hello")
	id := first.expect(`/approve ([A-Z2-7]{26}) once`)[1]
	waitSocket(t, fleet)
	containers := containersOfInstallation(t, fleet)
	if len(containers) != 2 {
		t.Fatalf("want the agent's container and its sidecar running, got %v", containers)
	}
	jobs := jobsOf(t, fleet)
	if len(jobs) != 1 || jobs[0].Status != agents.JobRunning {
		t.Fatalf("jobs before: %+v", jobs)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, herdbotBin(t), "start", "-c", fleet, "--demo", "--claude", testenv.RequireClaude(t))
	cmd.Env = append(os.Environ(), "USER=tester")
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	t.Logf("second start: %s", out)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("second start: %v, want a non-zero exit", err)
	}
	if want := "in use by herdbot process " + strconv.Itoa(first.cmd.Process.Pid); !strings.Contains(string(out), want) {
		t.Fatalf("second start said %q, want %q", out, want)
	}
	if strings.Contains(string(out), "herdbot started") || strings.Contains(string(out), "removed leftovers") {
		t.Fatalf("the second start went on: %s", out)
	}

	if got := containersOfInstallation(t, fleet); !slices.Equal(got, containers) {
		t.Fatalf("containers after the second start: %v, want %v untouched", got, containers)
	}
	if got := pendingApprovals(t, fleet); !slices.Equal(got, []string{id}) {
		t.Fatalf("pending approvals after the second start: %v, want [%s]", got, id)
	}
	if js := jobsOf(t, fleet); len(js) != 1 || js[0].Status != agents.JobRunning {
		t.Fatalf("jobs after the second start: %+v", js)
	}
	// The first one goes on: the approval is decided and the tool runs in
	// the same container.
	if _, err := cli(t, fleet, "approve", id, "once"); err != nil {
		t.Fatal(err)
	}
	first.expect(`The sandbox ran the command`) // the answer, after the tool ran (its command shows "hello from the sandbox" before)
}

// TestSameFleetNameInTwoDirectories: two copies of a fleet with the same
// fleet.name (as deploy/example copied twice) run side by side on one
// engine; restarting one leaves the other's containers, job and approval
// alone.
func TestSameFleetNameInTwoDirectories(t *testing.T) {
	testenv.RequireDocker(t)
	name := "e2e-same-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	fleetA := sameNamedFleet(t, name)
	fleetB := sameNamedFleet(t, name)
	a := startService(t, fleetA, "--demo")
	b := startService(t, fleetB, "--demo")
	a.say("hello")
	idA := a.expect(`/approve ([A-Z2-7]{26}) once`)[1]
	b.say("hello")
	b.expect(`/approve ([A-Z2-7]{26}) once`)
	waitSocket(t, fleetA)
	waitSocket(t, fleetB)
	ca, cb := containersOfInstallation(t, fleetA), containersOfInstallation(t, fleetB)
	if len(ca) != 2 || len(cb) != 2 {
		t.Fatalf("containers: A %v, B %v; want an agent and a sidecar each", ca, cb)
	}

	// B stops and starts again (its start-up cleanup runs).
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-b.done
	b2 := startService(t, fleetB, "--demo")
	b2.expectLog(t, "herdbot started")
	if got := containersOfInstallation(t, fleetA); !slices.Equal(got, ca) {
		t.Fatalf("A's containers after B restarted: %v, want %v", got, ca)
	}
	if got := pendingApprovals(t, fleetA); !slices.Equal(got, []string{idA}) {
		t.Fatalf("A's pending approvals after B restarted: %v, want [%s]", got, idA)
	}
	if js := jobsOf(t, fleetA); len(js) != 1 || js[0].Status != agents.JobRunning {
		t.Fatalf("A's jobs after B restarted: %+v", js)
	}
	if _, err := cli(t, fleetA, "approve", idA, "once"); err != nil {
		t.Fatal(err)
	}
	a.expect(`The sandbox ran the command`) // the answer, after the tool ran (its command shows "hello from the sandbox" before)
	// And B works after its restart.
	b2.say("hello again")
	b2.expect(`/approve ([A-Z2-7]{26}) once`)
}

// sameNamedFleet writes a one-agent Docker fleet called name in a new
// directory.
func sameNamedFleet(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	fleet := filepath.Join(dir, "herdbot.yaml")
	write(t, fleet, "version: 1\nfleet:\n  name: "+name+"\nhttp:\n  listen: 127.0.0.1:0\nagents:\n  - path: agents/garden\n")
	write(t, filepath.Join(dir, "agents", "garden", "agent.yaml"), "name: garden\napprovers:\n  console: [local]\n")
	return fleet
}
