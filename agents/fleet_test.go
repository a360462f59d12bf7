package agents_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/redact"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/console"
	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/sandbox/sandboxtest"
	"github.com/herdbot/herdbot/store"
)

// The fleet's logic with a scripted agent (agentstest.Runtime): no CLI,
// no model, no process. fleet_e2e_test.go runs the same paths with the
// real CLI.

// newFakeWorld runs the fleet with rt playing the agent.
func newFakeWorld(t *testing.T, rt *agentstest.Runtime, tweak func(*agents.AgentSpec), secrets ...string) *world {
	t.Helper()
	return startWorld(t, agentstest.Options{Runtime: rt, Spec: tweak, Secrets: secrets})
}

// asker is a turn that asks to run Bash with each input in turn (one per
// turn, the last one again once they are used up) and says what it was
// told.
func asker(inputs ...string) func(t *agentstest.Turn) (agents.Result, error) {
	var mu sync.Mutex
	n := 0
	return func(t *agentstest.Turn) (agents.Result, error) {
		mu.Lock()
		in := inputs[min(n, len(inputs)-1)]
		n++
		mu.Unlock()
		d, err := t.Ask("Bash", in)
		if err != nil {
			return agents.Result{}, nil // interrupted: the Conn ends the turn
		}
		text := "ran it"
		if d.Verdict != agents.Allowed {
			text = "did not run: " + d.Message
		}
		t.Text(text)
		return agents.Result{Subtype: "success", Text: text, Turns: 1}, nil
	}
}

// expectAll waits until a console line has matched each of res, in any
// order (a card's edit and the run's answer race).
func (w *world) expectAll(res ...string) {
	w.t.Helper()
	left := map[string]*regexp.Regexp{}
	for _, re := range res {
		left[re] = regexp.MustCompile(re)
	}
	timeout := time.After(60 * time.Second)
	var seen []string
	for len(left) > 0 {
		select {
		case l := <-w.lines:
			seen = append(seen, l.Text)
			for re, rx := range left {
				if rx.MatchString(l.Text) {
					delete(left, re)
					break
				}
			}
		case <-timeout:
			w.t.Fatalf("no console lines matching %q; saw:\n%s", slices.Collect(maps.Keys(left)), strings.Join(seen, "\n---\n"))
		}
	}
}

// conn waits for the i-th process the fleet started.
func (w *world) conn(rt *agentstest.Runtime, i int) *agentstest.Conn {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cs := rt.Conns(); len(cs) > i {
			return cs[i]
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.t.Fatalf("no process %d started", i)
	return nil
}

// waitFor polls cond until it holds, failing after 10 s naming what.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFleetLogicResumeAndReset(t *testing.T) {
	rt := &agentstest.Runtime{}
	w := newFakeWorld(t, rt, nil)
	w.say("hello")
	w.expect(`^echo: hello$`)
	w.waitJobs(1)
	w.say("again")
	w.expect(`^echo: again$`)
	js := w.waitJobs(2)
	if js[0].SessionID == "" || js[0].SessionID != js[1].SessionID {
		t.Fatalf("the second message must resume the session: %q vs %q", js[0].SessionID, js[1].SessionID)
	}
	if first, second := w.conn(rt, 0), w.conn(rt, 1); first.Opts.Resume != "" || second.Opts.Resume != first.Session {
		t.Fatalf("resume options: first %q, second %q (want %q)", first.Opts.Resume, second.Opts.Resume, first.Session)
	}
	if !w.conn(rt, 0).Closed() {
		t.Fatal("a process of a non-warm agent must be closed after its turn")
	}
	w.say("/status")
	w.expect("Session: `" + js[0].SessionID + "`")
	w.say("/sessions")
	w.expect("`" + js[0].SessionID + "` " + console.Target.Key())
	w.say("/reset")
	w.expect(`Session reset`)
	w.say("new topic")
	w.expect(`^echo: new topic$`)
	w.waitJobs(3)
	if c := w.conn(rt, 2); c.Opts.Resume != "" {
		t.Fatalf("after /reset the run must start a fresh session, resumed %q", c.Opts.Resume)
	}
	jobs := w.jobs()
	for _, j := range jobs {
		if j.Status != agents.JobSucceeded || j.Turns != 1 || j.Trigger != agents.TriggerChat {
			t.Fatalf("job %+v: want a succeeded chat job with its turns", j)
		}
	}
	specs := w.rig.Backend.(*sandboxtest.Fake).Specs()
	if len(specs) != 3 || specs[0].Agent != agentName || specs[0].Job != jobs[2].ID || specs[2].Job != jobs[0].ID {
		t.Fatalf("sandbox specs %+v: want one per run, labelled with the agent and its job", specs)
	}
}

// TestFleetLogicWarmProcessIsReusedThenIdlesOut: the idle timer runs on
// the fleet's clock: the warm process waits however long the second
// message takes on the wall, and is closed when the clock passes its idle
// limit.
func TestFleetLogicWarmProcessIsReusedThenIdlesOut(t *testing.T) {
	rt := &agentstest.Runtime{}
	clk := clockwork.NewFakeClock()
	w := startWorld(t, agentstest.Options{Runtime: rt, Clock: clk, Spec: func(s *agents.AgentSpec) {
		s.Warm = true
		s.IdleTimeout = time.Minute
	}})
	w.say("one")
	w.expect(`^echo: one$`)
	w.waitJobs(1)
	w.say("two")
	w.expect(`^echo: two$`)
	w.waitJobs(2)
	if n := len(rt.Conns()); n != 1 {
		t.Fatalf("%d processes for two turns of one conversation; want the warm one reused", n)
	}
	if p := w.conn(rt, 0).Prompts(); len(p) != 2 || p[1] != "two" {
		t.Fatalf("prompts of the warm process: %q", p)
	}
	clk.Advance(time.Minute)
	waitFor(t, "the idle process to be closed", func() bool { return w.conn(rt, 0).Closed() })
	waitFor(t, "no live process", func() bool { return w.fleet.LiveProcesses(agentName) == 0 })
	if n := w.rig.Backend.(*sandboxtest.Fake).Live(); n != 0 {
		t.Fatalf("%d sandboxed processes still running", n)
	}
}

func TestFleetLogicUnknownSessionStartsFresh(t *testing.T) {
	rt := &agentstest.Runtime{TurnFunc: func(t *agentstest.Turn) (agents.Result, error) {
		if t.Conn.Opts.Resume == "session-1" {
			return agents.Result{}, &agents.RunError{Kind: agents.ErrSessionNotFound, Message: "No conversation found"}
		}
		return agentstest.Echo(t)
	}}
	w := newFakeWorld(t, rt, nil)
	w.say("first")
	w.expect(`^echo: first$`)
	w.waitJobs(1)
	w.say("second")
	w.expect(`previous session could not be found`)
	w.expect(`^echo: second$`)
	js := w.waitJobs(2)
	if js[0].Status != agents.JobSucceeded || js[0].SessionID != "session-2" {
		t.Fatalf("job after the reset: %+v, want succeeded in the new session-2", js[0])
	}
	c, err := w.store.Conversation(context.Background(), agentName, console.Target.Key())
	if err != nil || c.SessionID != "session-2" {
		t.Fatalf("conversation %+v %v, want session-2", c, err)
	}
}

func TestFleetLogicApprovalAllowOnceRunsTheShownInput(t *testing.T) {
	input := `{"command":"touch x","description":"create x"}`
	rt := &agentstest.Runtime{TurnFunc: asker(input)}
	w := newFakeWorld(t, rt, nil)
	w.say("make x")
	id := w.approvalID()
	if ds := w.conn(rt, 0).Decisions(); len(ds) != 0 {
		t.Fatalf("decided before anyone clicked: %+v", ds)
	}
	w.say("/approve " + id + " once")
	w.expectAll(`Allowed once by alice`, `^ran it$`)
	ds := w.conn(rt, 0).Decisions()
	if len(ds) != 1 || ds[0].Verdict != agents.Allowed || string(ds[0].Input) != input {
		t.Fatalf("decisions %+v, want one allow with exactly the shown input", ds)
	}
	a, err := w.store.Approval(context.Background(), id)
	if err != nil || a.Status != agents.Allowed || a.DecidedBy != "alice" || a.InputHash != agents.InputHash(json.RawMessage(input)) {
		t.Fatalf("approval row %+v, %v", a, err)
	}
	for _, action := range []string{"approval.requested", "approval.decided"} {
		if rows, err := w.store.AuditLog(context.Background(), store.AuditFilter{Agent: agentName, ActionPrefix: action}); err != nil || len(rows) != 1 {
			t.Fatalf("audit %s: %+v %v", action, rows, err)
		}
	}
}

// TestFleetLogicApprovalOfAMaskedInputRunsTheRealInput: a tool input that
// holds a secret is shown masked on the card and stored masked; allowing
// it runs the real input (the card showed it as herdbot shows it).
func TestFleetLogicApprovalOfAMaskedInputRunsTheRealInput(t *testing.T) {
	secret := "garden-github-token-0123456789"
	input := `{"command":"gh auth login --with-token ` + secret + `"}`
	rt := &agentstest.Runtime{TurnFunc: asker(input)}
	w := newFakeWorld(t, rt, nil, secret)
	w.say("log in")
	id := w.approvalID()
	a, err := w.store.Approval(context.Background(), id)
	if err != nil || strings.Contains(string(a.Input), secret) || !strings.Contains(string(a.Input), redact.Mask) {
		t.Fatalf("stored input %s, %v; want it masked", a.Input, err)
	}
	w.say("/approve " + id + " once")
	w.expectAll(`Allowed once by alice`, `^ran it$`)
	if ds := w.conn(rt, 0).Decisions(); len(ds) != 1 || ds[0].Verdict != agents.Allowed || string(ds[0].Input) != input {
		t.Fatalf("decisions %+v, want one allow with the real input", ds)
	}
}

func TestFleetLogicClicksThatDecideNothing(t *testing.T) {
	rt := &agentstest.Runtime{TurnFunc: asker(`{"command":"rm -rf /"}`)}
	w := newFakeWorld(t, rt, nil)
	w.say("clean up")
	id := w.approvalID()
	ref := w.cardRef(id)
	click := func(user, approval, choice string, ref bot.MessageRef) bot.ActionResult {
		return w.fleet.HandleAction(context.Background(), bot.Action{Agent: agentName, ApprovalID: approval, Choice: choice,
			User: bot.User{ID: user}, Ref: ref})
	}
	for _, tc := range []struct {
		name, user, id, choice string
		ref                    bot.MessageRef
		notice, audit          string
	}{
		{"not an approver", "mallory", id, "once", ref, "not an approver", "approval.refused_not_approver"},
		{"forged id", "alice", "FORGEDFORGEDFORGEDFORGED22", "once", ref, "unknown", "approval.refused_unknown"},
		{"off the card", "alice", id, "once", bot.MessageRef{Target: console.Target, ID: "other"}, "does not belong", "approval.refused_wrong_card"},
		{"bad choice", "alice", id, "always", ref, "Unknown choice", "approval.refused_bad_choice"},
	} {
		res := click(tc.user, tc.id, tc.choice, tc.ref)
		if !strings.Contains(res.Notice, tc.notice) || res.Card != nil {
			t.Errorf("%s: %+v, want a notice saying %q and no card", tc.name, res, tc.notice)
		}
		if rows, err := w.store.AuditLog(context.Background(), store.AuditFilter{Agent: agentName, ActionPrefix: tc.audit}); err != nil || len(rows) != 1 {
			t.Errorf("%s: audit %s: %+v %v", tc.name, tc.audit, rows, err)
		}
	}
	if a, _ := w.store.Approval(context.Background(), id); a.Status != agents.Pending {
		t.Fatalf("approval decided by a refused click: %+v", a)
	}
	res := click("alice", id, "deny", ref)
	if res.Card == nil || res.Notice != "" {
		t.Fatalf("approver's deny: %+v", res)
	}
	w.expect(`^did not run: Denied by alice in chat\.$`)
	ds := w.conn(rt, 0).Decisions()
	if len(ds) != 1 || ds[0].Verdict != agents.Denied {
		t.Fatalf("decisions %+v, want one deny", ds)
	}
	// A second click on the decided card answers cleanly.
	res = click("alice", id, "once", ref)
	if !strings.Contains(res.Notice, "already denied") || res.Card == nil || len(res.Card.Buttons) != 0 {
		t.Fatalf("stale click: %+v", res)
	}
	if rows, _ := w.store.AuditLog(context.Background(), store.AuditFilter{Agent: agentName, ActionPrefix: "approval.lost"}); len(rows) != 1 {
		t.Fatalf("the losing click is audited as approval.lost: %+v", rows)
	}
}

// TestFleetLogicApprovalExpiresClosed: the expiry runs on the fleet's
// clock (the default ten minutes, passed without waiting).
func TestFleetLogicApprovalExpiresClosed(t *testing.T) {
	rt := &agentstest.Runtime{TurnFunc: asker(`{"command":"touch late"}`)}
	clk := clockwork.NewFakeClock()
	w := startWorld(t, agentstest.Options{Runtime: rt, Clock: clk})
	w.say("make late")
	id := w.approvalID()
	clk.Advance(10 * time.Minute)
	w.expectAll(`Expired: nobody decided in time — denied`, `^did not run: Denied: the approval request nobody decided in time\.$`)
	if a, _ := w.store.Approval(context.Background(), id); a.Status != agents.Expired {
		t.Fatalf("approval %+v, want expired", a)
	}
	w.say("/approve " + id + " once")
	w.expect(`already .*nobody decided in time`)
}

func TestFleetLogicSessionGrantIsExact(t *testing.T) {
	same := `{"command":"make test","description":"run the tests"}`
	other := `{"command":"make test; curl evil","description":"run the tests"}`
	rt := &agentstest.Runtime{TurnFunc: asker(same, same, other)}
	w := newFakeWorld(t, rt, nil)
	w.say("test it")
	id := w.approvalID()
	w.say("/approve " + id + " session")
	w.expectAll(`Allowed for this session \(this exact input only\) by alice`, `^ran it$`)
	w.waitJobs(1)

	// The identical input in the same session (a new process) runs
	// without a card.
	w.say("test it again")
	w.expect(`^ran it$`)
	w.waitJobs(2)
	if c := w.conn(rt, 1); c.Opts.Resume != w.conn(rt, 0).Session || len(c.Decisions()) != 1 || c.Decisions()[0].Verdict != agents.Allowed {
		t.Fatalf("second process: resume %q, decisions %+v", c.Opts.Resume, c.Decisions())
	}
	if rows, _ := w.store.AuditLog(context.Background(), store.AuditFilter{Agent: agentName, ActionPrefix: "approval.session_grant_used"}); len(rows) != 1 {
		t.Fatalf("grant use audited: %+v", rows)
	}
	// Any other input asks again.
	w.say("and the other thing")
	id2 := w.approvalID()
	if id2 == id {
		t.Fatal("a changed input reused the grant's approval")
	}
	as, err := w.store.Approvals(context.Background(), agentName, false, 10)
	if err != nil || len(as) != 2 {
		t.Fatalf("want two approval requests, got %d (%v)", len(as), err)
	}
}

func TestFleetLogicPolicyDecidesWithoutACard(t *testing.T) {
	rt := &agentstest.Runtime{TurnFunc: asker(`{"command":"git status"}`, `{"command":"rm -rf /"}`)}
	w := newFakeWorld(t, rt, func(s *agents.AgentSpec) {
		s.Options.AllowedTools = []string{"Bash(git *)"}
		s.Options.DisallowedTools = []string{"Bash(rm *)"}
	})
	w.say("status")
	w.expect(`^ran it$`)
	w.waitJobs(1)
	w.say("wipe")
	w.expect(`^did not run: Denied by policy \(Bash\(rm \*\)\)\.$`)
	w.waitJobs(2)
	if as, _ := w.store.Approvals(context.Background(), agentName, false, 10); len(as) != 0 {
		t.Fatalf("policy decisions must not ask anyone: %+v", as)
	}
}

func TestFleetLogicCancelWhileAskingWithdrawsTheCard(t *testing.T) {
	rt := &agentstest.Runtime{TurnFunc: asker(`{"command":"sleep 1000"}`)}
	w := newFakeWorld(t, rt, nil)
	w.say("wait")
	id := w.approvalID()
	js := w.jobs()
	if err := w.fleet.Cancel(js[0].ID); err != nil {
		t.Fatal(err)
	}
	js = w.waitJobs(1)
	if js[0].Status != agents.JobCancelled {
		t.Fatalf("job %+v, want cancelled", js[0])
	}
	a, _ := w.store.Approval(context.Background(), id)
	if a.Status != agents.Expired {
		t.Fatalf("approval %+v, want expired with the run", a)
	}
	if w.conn(rt, 0).Interrupts() == 0 {
		t.Fatal("cancel must interrupt the turn")
	}
	if err := w.fleet.Cancel(js[0].ID); !errors.Is(err, agents.ErrNotRunning) {
		t.Fatalf("cancel of a finished job: %v, want ErrNotRunning", err)
	}
}

func TestFleetLogicRedactsChatStoreAndLogs(t *testing.T) {
	secret := "garden-github-token-0123456789"
	rt := &agentstest.Runtime{TurnFunc: func(t *agentstest.Turn) (agents.Result, error) {
		t.ToolUse("Bash", `{"command":"echo `+secret+`"}`, secret)
		text := "the token is " + secret + " and sk-ant-api03-abcdefghijklmnopqrstuv"
		t.Text(text)
		return agents.Result{Subtype: "success", Text: text}, nil
	}}
	w := newFakeWorld(t, rt, nil, secret)
	w.say("show me " + secret)
	line := w.expect(`the token is`)
	if strings.Contains(line, secret) || strings.Contains(line, "sk-ant-api03-abc") || !strings.Contains(line, redact.Mask) {
		t.Fatalf("chat line not redacted: %q", line)
	}
	js := w.waitJobs(1)
	if strings.Contains(js[0].Prompt, secret) {
		t.Fatalf("secret in the job's prompt: %q", js[0].Prompt)
	}
	evs, err := w.store.Events(context.Background(), js[0].ID, 0)
	if err != nil || len(evs) < 4 {
		t.Fatalf("transcript: %d events, %v", len(evs), err)
	}
	for _, e := range evs {
		if strings.Contains(string(e.Data), secret) {
			t.Fatalf("secret in job event %d (%s): %s", e.Seq, e.Kind, e.Data)
		}
	}
	if strings.Contains(w.logs.String(), secret) {
		t.Fatal("secret in logs")
	}
}

// hang is a turn that waits until it is interrupted.
func hang(t *agentstest.Turn) (agents.Result, error) {
	t.Text("working")
	<-t.Ctx.Done()
	return agents.Result{}, nil
}

func TestFleetLogicRunTimeout(t *testing.T) {
	rt := &agentstest.Runtime{TurnFunc: hang}
	w := newFakeWorld(t, rt, func(s *agents.AgentSpec) { s.RunTimeout = 200 * time.Millisecond })
	w.say("take forever")
	w.expect(`timed out after 200ms`)
	if js := w.waitJobs(1); js[0].Status != agents.JobTimedOut {
		t.Fatalf("job %+v, want timed_out", js[0])
	}
	if w.conn(rt, 0).Interrupts() == 0 {
		t.Fatal("the timeout must interrupt the turn")
	}
}

func TestFleetLogicQueueAndSteer(t *testing.T) {
	release := make(chan struct{})
	rt := &agentstest.Runtime{TurnFunc: func(t *agentstest.Turn) (agents.Result, error) {
		if t.Prompt == "A" {
			select {
			case <-release:
			case <-t.Ctx.Done():
				return agents.Result{}, nil
			}
		}
		return agentstest.Echo(t)
	}}
	w := newFakeWorld(t, rt, nil)
	w.say("A")
	waitFor(t, "turn A", func() bool { return len(w.conn(rt, 0).Prompts()) == 1 })
	w.say("B")
	w.expect(`Queued — position 1`)
	close(release)
	w.expectAll(`^echo: A$`, `^echo: B$`)
	js := w.waitJobs(2)
	a, b := js[1], js[0]
	if a.Prompt != "A" || b.Prompt != "B" || b.Started.Before(a.Finished) {
		t.Fatalf("one run at a time, in order: %+v then %+v", a, b)
	}
}

func TestFleetLogicSteerInterruptsTheRunningTurn(t *testing.T) {
	rt := &agentstest.Runtime{TurnFunc: func(t *agentstest.Turn) (agents.Result, error) {
		if t.Prompt == "A" {
			return hang(t)
		}
		return agentstest.Echo(t)
	}}
	w := newFakeWorld(t, rt, func(s *agents.AgentSpec) { s.Steer = true })
	w.say("A")
	waitFor(t, "turn A", func() bool { return len(w.conn(rt, 0).Prompts()) == 1 })
	w.say("B")
	w.expectAll(`Interrupting the current turn`, `^echo: B$`)
	js := w.waitJobs(2)
	if js[1].Prompt != "A" || js[1].Status == agents.JobSucceeded {
		t.Fatalf("the steered turn: %+v, want it ended early", js[1])
	}
	if w.conn(rt, 0).Interrupts() != 1 {
		t.Fatalf("%d interrupts, want 1", w.conn(rt, 0).Interrupts())
	}
}

func TestFleetLogicProcessThatEndsWithoutAResult(t *testing.T) {
	rt := &agentstest.Runtime{TurnFunc: func(t *agentstest.Turn) (agents.Result, error) {
		t.Text("about to crash")
		return agents.Result{}, agentstest.ErrCrash
	}}
	w := newFakeWorld(t, rt, nil)
	w.say("crash")
	w.expect(`ended without a result`)
	if js := w.waitJobs(1); js[0].Status != agents.JobFailed || !strings.Contains(js[0].Error, "without a result") {
		t.Fatalf("job %+v, want failed without a result", js[0])
	}
}

func TestFleetLogicStartFailureIsReported(t *testing.T) {
	rt := &agentstest.Runtime{}
	backend := &sandboxtest.Fake{StartFunc: func(context.Context, sandbox.Spec) error {
		return fmt.Errorf("pull image: %w", sandbox.ErrImageMissing)
	}}
	w := startWorld(t, agentstest.Options{Runtime: rt, Backend: backend})
	w.say("hi")
	w.expect(`failed: start agent garden: pull image: agent image missing`)
	if js := w.waitJobs(1); js[0].Status != agents.JobFailed {
		t.Fatalf("job %+v, want failed", js[0])
	}
	if len(rt.Conns()) != 0 || w.fleet.LiveProcesses(agentName) != 0 {
		t.Fatal("a process that did not start is counted")
	}
}

func TestFleetLogicScheduledRunWithoutApproverDenies(t *testing.T) {
	// Approvers on Discord only: a scheduled run with no chat of its own
	// has nobody to ask (with console approvers it asks the console:
	// TestFleetLogicScheduledRunAsksTheConsole).
	rt := &agentstest.Runtime{TurnFunc: asker(`{"command":"touch x"}`)}
	w := newFakeWorld(t, rt, func(s *agents.AgentSpec) { s.Approvers = map[string][]string{bot.Discord: {"111"}} })
	res, err := w.fleet.Run(context.Background(), agents.RunRequest{Agent: agentName, Prompt: "report",
		Trigger: agents.TriggerSchedule, Schedule: "weather", Silent: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Denied) != 1 || res.Denied[0] != "Bash" || !strings.Contains(res.Text, "no approver can be reached") {
		t.Fatalf("result %+v", res)
	}
	if res.Job.Trigger != agents.TriggerSchedule || res.Job.Schedule != "weather" || res.Job.Conversation != "" {
		t.Fatalf("job %+v", res.Job)
	}
}

// TestFleetLogicScheduledRunAsksTheConsole: a scheduled run whose report
// goes to a platform the agent is not connected to, and a CLI-triggered
// run, post their cards to the console when the agent has console
// approvers; the console's approver decides there.
func TestFleetLogicScheduledRunAsksTheConsole(t *testing.T) {
	rt := &agentstest.Runtime{TurnFunc: asker(`{"command":"touch x"}`)}
	w := newFakeWorld(t, rt, nil)
	for _, req := range []agents.RunRequest{
		{Agent: agentName, Prompt: "report", Trigger: agents.TriggerSchedule, Schedule: "weather",
			Target: bot.Target{Platform: bot.Discord, Space: "333", Channel: "222"}},
		{Agent: agentName, Prompt: "report", Trigger: agents.TriggerCLI},
	} {
		type outcome struct {
			res agents.RunResult
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			res, err := w.fleet.Run(context.Background(), req)
			done <- outcome{res, err}
		}()
		id := w.approvalID()
		w.say("/approve " + id + " once")
		w.expect(`Allowed once by alice`)
		o := <-done
		if o.err != nil || len(o.res.Denied) != 0 || o.res.Job.Status != agents.JobSucceeded || o.res.Text != "ran it" {
			t.Fatalf("%s run: %+v, %v", req.Trigger, o.res, o.err)
		}
	}
}

func TestFleetLogicLongToolOutputIsAttached(t *testing.T) {
	long := strings.Repeat("0123456789\n", 300)
	rt := &agentstest.Runtime{TurnFunc: func(t *agentstest.Turn) (agents.Result, error) {
		t.ToolUse("Bash", `{"command":"seq 1 3000"}`, long)
		t.Text("counted")
		return agents.Result{Subtype: "success", Text: "counted"}, nil
	}}
	w := newFakeWorld(t, rt, nil)
	w.say("count")
	line := w.expect(`📎 bash-output-1\.txt \(\d+ bytes\)`)
	if !strings.HasPrefix(line, "counted") || strings.Contains(line, "0123456789") {
		t.Fatalf("the output should ride on the answer as a file: %q", line)
	}
}

func TestFleetLogicRecoverSettlesWhatARestartLeft(t *testing.T) {
	db := t.TempDir() + "/herdbot.db"
	{
		rt := &agentstest.Runtime{TurnFunc: asker(`{"command":"touch x"}`)}
		w := startWorld(t, agentstest.Options{Runtime: rt, DB: db})
		w.say("make x")
		w.approvalID()
		w.rig.WaitCardRecorded(t)
		w.rig.Store.Close() // a crash: nothing is recorded from now on
		w.rig.Stop()
	}
	rt := &agentstest.Runtime{}
	w := startWorld(t, agentstest.Options{Runtime: rt, DB: db})
	w.expect(`herdbot restarted while job j-[0-9a-f]+ was running; it was interrupted`)
	js := w.jobs()
	if len(js) != 1 || js[0].Status != agents.JobInterrupted {
		t.Fatalf("jobs after the restart %+v, want the one interrupted", js)
	}
	as, _ := w.store.Approvals(context.Background(), agentName, false, 10)
	if len(as) != 1 || as[0].Status != agents.Expired || !strings.Contains(as[0].Reason, "restarted") {
		t.Fatalf("approvals after the restart %+v, want the pending one expired", as)
	}
}
