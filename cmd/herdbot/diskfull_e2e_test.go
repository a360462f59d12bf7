package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/herdbot/herdbot/agents"
)

// requireRoot skips a test that needs root (mount), or fails it when the
// environment requires the real-engine tests (CI runs them as root).
func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("HERDBOT_REQUIRE_DOCKER") == "1" {
		t.Fatalf("%s needs root (required because HERDBOT_REQUIRE_DOCKER=1)", why)
	}
	t.Skipf("%s needs root; set HERDBOT_REQUIRE_DOCKER=1 to make this a failure", why)
}

// smallTmpfs mounts a tmpfs of size (e.g. "16m") on a new directory and
// unmounts it when the test ends.
func smallTmpfs(t *testing.T, size string) string {
	t.Helper()
	requireRoot(t, "a tmpfs state dir")
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file in dir until the file system is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	for n := 1 << 19; n > 0; n /= 2 { // the last partial pages too
		_, _ = f.Write(buf[:n])
	}
	return p
}

func healthz(t *testing.T, addr string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitHealthz(t *testing.T, addr string, code int) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, body := healthz(t, addr)
		if got == code {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz %d %s, want %d", got, body, code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestFullDiskLosesNothingAcknowledged: the state dir is a small tmpfs that
// fills up while a run is going. What was acknowledged is kept; what could
// not be stored is refused out loud (trigger fails, a chat message gets an
// error reply); /healthz says so; the running job's end is stored once
// there is room again, without a restart; the database is intact.
func TestFullDiskLosesNothingAcknowledged(t *testing.T) {
	state := smallTmpfs(t, "24m")
	model, release := heldModel(t)
	defer release()
	dir := t.TempDir()
	fleet := filepath.Join(dir, "herdbot.yaml")
	write(t, filepath.Join(dir, ".env"), "ANTHROPIC_API_KEY=sk-ant-api03-diskfulltest\n")
	write(t, fleet, "version: 1\nfleet:\n  name: e2e\nstate_dir: "+state+"\nhttp:\n  listen: 127.0.0.1:0\nmodel_api:\n  base_url: "+model.URL+"\n"+
		"agents:\n  - path: agents/garden\n    overrides:\n      docker:\n        enabled: false\n  - path: agents/notes\n    overrides:\n      docker:\n        enabled: false\n")
	write(t, filepath.Join(dir, "agents", "garden", "agent.yaml"), "name: garden\napprovers:\n  console: [local]\n")
	write(t, filepath.Join(dir, "agents", "notes", "agent.yaml"), "name: notes\napprovers:\n  console: [local]\n")
	s := startService(t, fleet)
	addr := s.opsAddr(t)
	waitSocket(t, fleet)
	waitHealthz(t, addr, http.StatusOK)

	s.say("@garden first question")
	waitPrompts(t, model, "first question")
	filler := fill(t, state)

	// /healthz turns unhealthy, naming the store.
	body := waitHealthz(t, addr, http.StatusServiceUnavailable)
	var h struct {
		Checks []struct {
			Name  string
			OK    bool
			Error string
		}
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatal(err)
	}
	storeOK := true
	for _, c := range h.Checks {
		if c.Name == "store" {
			storeOK = c.OK
		}
	}
	if storeOK {
		t.Fatalf("/healthz with a full disk: %s; want the store check failing", body)
	}

	// trigger does not say "started" for a job it could not store.
	out, err := cli(t, fleet, "trigger", "garden", "-p", "second question")
	if err == nil || strings.Contains(out, "started job") {
		t.Fatalf("trigger on a full disk: %q %v; want an error, not a job id", out, err)
	}
	// A chat message that cannot be recorded gets a visible reply.
	s.say("@notes third question")
	s.expect(`could not record this request`)

	// The run going on finishes while the disk is full; its end is kept
	// and stored once there is room, with no restart.
	release()
	jobID := ""
	jobs := func() []agents.Job {
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
	for _, j := range jobs() {
		if j.Prompt == "first question" {
			jobID = j.ID
		}
		if strings.Contains(j.Prompt, "second question") || strings.Contains(j.Prompt, "third question") {
			t.Errorf("a refused request has a job: %+v", j)
		}
	}
	if jobID == "" {
		t.Fatalf("the acknowledged run has no job: %+v", jobs())
	}
	s.expectLog(t, "record job end; retrying until the store takes it")
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var j agents.Job
		for _, x := range jobs() {
			if x.ID == jobID {
				j = x
			}
		}
		if j.Status.Final() {
			t.Logf("the first job ended %s %q", j.Status, j.Error)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %+v still not final after the disk has room again", j)
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitHealthz(t, addr, http.StatusOK)
	// And herdbot works on: the refused message, sent again, runs.
	s.say("@notes third question again")
	s.expect(`finished: third question again`)

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-s.done
	db, err := sql.Open("sqlite", "file:"+filepath.Join(state, "herdbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(context.Background(), "PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check: %q %v", res, err)
	}
	var running int
	if err := db.QueryRow("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')").Scan(&running); err != nil || running != 0 {
		t.Fatalf("%d jobs left queued or running after a clean stop (%v)", running, err)
	}
}
