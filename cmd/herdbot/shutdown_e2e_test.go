package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/sched"
	"github.com/herdbot/herdbot/store"
)

// heldModel answers every Messages call with "finished: <prompt>", but
// holds each answer after its first words until release is closed: runs
// stay in flight for as long as the test wants.
func heldModel(t *testing.T) (m *claudetest.ModelServer, release func()) {
	hold := make(chan struct{})
	m = claudetest.NewModelServer(t, func(req *claudetest.Request) claudetest.Reply {
		return claudetest.Reply{Text: "finished: " + firstLine(req.Prompt()), Hold: hold}
	})
	return m, sync1(func() { close(hold) })
}

func sync1(f func()) func() {
	done := false
	return func() {
		if !done {
			done = true
			f()
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// waitRequests waits until the model has n Messages calls whose prompts
// contain each of the given words.
func waitPrompts(t *testing.T, m *claudetest.ModelServer, words ...string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		seen := map[string]bool{}
		for _, r := range m.MessageRequests() {
			for _, w := range words {
				if strings.Contains(r.Prompt(), w) {
					seen[w] = true
				}
			}
		}
		if len(seen) == len(words) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the model saw prompts %v of %v", seen, words)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// opsAddr is the address herdbot serves /healthz and /hooks on.
func (s *child) opsAddr(t *testing.T) string {
	t.Helper()
	s.expectLog(t, "serving /healthz, /metrics and /hooks")
	m := regexp.MustCompile(`serving /healthz, /metrics and /hooks" addr=(\S+)`).FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no ops address in the log")
	}
	return m[1]
}

// TestSIGTERMGivesEveryRunTheGrace: with a chat run, a scheduled run and a
// webhook run in flight, SIGTERM lets all three finish (the grace period),
// and they are recorded as succeeded: none is cancelled at once.
func TestSIGTERMGivesEveryRunTheGrace(t *testing.T) {
	model, release := heldModel(t)
	defer release()
	secret := "hook-secret-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	fleet, ws := fleetDir(t, model.URL, "instances:\n  max_concurrent: 3\nschedules:\n  tick:\n    type: interval\n    interval: 2s\n    prompt: scheduled report please\n"+
		"  push:\n    type: webhook\n    secret_env: HOOK_SECRET\n    prompt: \"webhook delivery {{ref}}\"\n    fields: [ref]\n")
	write(t, filepath.Join(ws, ".env"), "HOOK_SECRET="+secret+"\n")
	s := startService(t, fleet)
	addr := s.opsAddr(t)

	s.say("chat question please")
	body := []byte(`{"ref":"main"}`)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/hooks/garden/push", bytes.NewReader(body))
	req.Header.Set(sched.HeaderSignature, "sha256="+hex.EncodeToString(sched.Sign([]byte(secret), "", body)))
	req.Header.Set(sched.HeaderDelivery, "sigterm-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
	// All three are in flight: their model calls are held.
	waitPrompts(t, model, "chat question please", "scheduled report please", "webhook delivery main")

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s.expectLog(t, "fleet stopping: waiting for running jobs")
	release() // the runs finish within the grace
	select {
	case <-s.done:
	case <-time.After(90 * time.Second):
		t.Fatal("herdbot did not stop after its runs finished")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}

	db, err := store.Open(context.Background(), filepath.Join(filepath.Dir(fleet), ".herdbot", "herdbot.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	jobs, err := db.Jobs(context.Background(), agents.JobFilter{Agent: "garden"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]agents.Job{}
	for _, j := range jobs {
		got[j.Trigger] = j
	}
	for _, trig := range []string{agents.TriggerChat, agents.TriggerSchedule, agents.TriggerWebhook} {
		j, ok := got[trig]
		if !ok {
			t.Errorf("no %s job in %+v", trig, jobs)
			continue
		}
		if j.Status != agents.JobSucceeded {
			t.Errorf("%s job %s: %s %q, want succeeded (given the grace, not cancelled at SIGTERM)", trig, j.ID, j.Status, j.Error)
		}
	}
	if len(jobs) != 3 {
		t.Errorf("%d jobs, want 3: %+v", len(jobs), jobs)
	}
}
