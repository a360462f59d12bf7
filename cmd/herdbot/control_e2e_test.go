package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/herdbot/herdbot/agents"
)

// `herdbot approve` from another process is recorded as that process (its
// uid and pid from the control socket's peer credentials), not as the
// $USER it claims.
func TestApproveFromTheCLIRecordsItsCaller(t *testing.T) {
	fleet, _ := fleetDir(t, "", "")
	s := startService(t, fleet, "--demo")
	s.say("hello")
	id := s.expect(`/approve ([A-Z2-7]{26}) once`)[1]
	waitSocket(t, fleet)
	if out, err := cli(t, fleet, "approve", id, "once"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	s.expect(`Done! The sandbox ran the command`)
	out, err := cli(t, fleet, "approvals", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var as []agents.Approval
	if err := json.Unmarshal([]byte(out), &as); err != nil {
		t.Fatal(err)
	}
	var got *agents.Approval
	for i := range as {
		if as[i].ID == id {
			got = &as[i]
		}
	}
	if got == nil {
		t.Fatalf("approval %s not listed: %s", id, out)
	}
	m := regexp.MustCompile(`^cli:uid=` + strconv.Itoa(os.Getuid()) + `(\([^)]+\))?,pid=(\d+)$`).FindStringSubmatch(got.DecidedBy)
	if got.Status != agents.Allowed || m == nil {
		t.Fatalf("approval %s by %q, want allowed by cli:uid=%d(…),pid=N", got.Status, got.DecidedBy, os.Getuid())
	}
	if pid, _ := strconv.Atoi(m[2]); pid == s.cmd.Process.Pid || pid == os.Getpid() {
		t.Errorf("recorded pid %d is not the approving process's", pid)
	}
}
