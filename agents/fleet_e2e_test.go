package agents_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/herdbot/herdbot/internal/testenv"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/agents/redact"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/console"
	"github.com/herdbot/herdbot/store"
)

// world is one fleet wired to real parts (agentstest) with the console
// chat.
type world struct {
	t     *testing.T
	fleet *agents.Fleet
	store *store.DB
	model *claudetest.ModelServer
	rig   *agentstest.Rig
	hub   *console.Hub
	lines <-chan console.Line
	ws    string
	logs  *testenv.Buffer
}

const agentName = agentstest.Agent

// newWorld runs the real CLI against the fake model.
func newWorld(t *testing.T, model claudetest.Responder, tweak func(*agents.AgentSpec), secrets ...string) *world {
	t.Helper()
	return startWorld(t, agentstest.Options{Model: model, Spec: tweak, Secrets: secrets})
}

// startWorld runs a rig with o, the console chat and alice as approver.
func startWorld(t *testing.T, o agentstest.Options) *world {
	t.Helper()
	w := &world{t: t, logs: &testenv.Buffer{}, hub: console.New("alice", nil)}
	lines, unsub := w.hub.Subscribe()
	w.lines = lines
	t.Cleanup(unsub) // after the rig's cleanup has stopped the adapter
	o.Approvers = map[string][]string{bot.Console: {"alice"}}
	o.Chats = []agentstest.Chat{{Platform: bot.Console, Adapter: w.hub.For(agentName)}}
	o.Stream = agentstest.FastStream
	o.LogOutput = w.logs
	rig := agentstest.Start(t, o)
	w.rig = rig
	w.fleet, w.store, w.model, w.ws = rig.Fleet, rig.Store, rig.Model, rig.Workspace
	// The adapter registers its handler asynchronously.
	w.waitHandler()
	return w
}

func (w *world) waitHandler() { agentstest.WaitConsole(w.t, w.hub, agentName) }

// say sends a console line as alice.
func (w *world) say(text string) { w.hub.Input(context.Background(), agentName, text) }

// expect waits for a console line matching re and returns it.
func (w *world) expect(re string) string {
	w.t.Helper()
	rx := regexp.MustCompile(re)
	timeout := time.After(60 * time.Second)
	var seen []string
	for {
		select {
		case l := <-w.lines:
			seen = append(seen, l.Text)
			if rx.MatchString(l.Text) {
				return l.Text
			}
		case <-timeout:
			w.t.Fatalf("no console line matching %q; saw:\n%s\nlog:\n%s", re, strings.Join(seen, "\n---\n"), w.logs.String())
		}
	}
}

var approveRx = regexp.MustCompile(`/approve ([A-Z2-7]{26}) once\|session\|deny`)

// approvalID waits for an approval card and returns its id.
func (w *world) approvalID() string {
	w.t.Helper()
	line := w.expect(`/approve [A-Z2-7]{26} once`)
	return approveRx.FindStringSubmatch(line)[1]
}

// cardRef is the chat message of approval id's card, as a click carries
// it, once herdbot has stored it (the console shows the card first).
func (w *world) cardRef(id string) bot.MessageRef {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, err := w.store.Approval(context.Background(), id)
		if err != nil {
			w.t.Fatal(err)
		}
		var refs []bot.MessageRef
		if json.Unmarshal([]byte(a.Refs), &refs) == nil && len(refs) == 1 {
			return refs[0]
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("approval %s: no card ref stored (%q)", id, a.Refs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (w *world) jobs() []agents.Job {
	w.t.Helper()
	js, err := w.store.Jobs(context.Background(), agents.JobFilter{Agent: agentName})
	if err != nil {
		w.t.Fatal(err)
	}
	return js
}

// waitJobs waits until n jobs are final.
func (w *world) waitJobs(n int) []agents.Job {
	w.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		js := w.jobs()
		final := 0
		for _, j := range js {
			if j.Status.Final() {
				final++
			}
		}
		if final >= n {
			return js
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.t.Fatalf("fewer than %d final jobs: %+v", n, w.jobs())
	return nil
}

func TestFleetConsoleConversationResumeReset(t *testing.T) {
	w := newWorld(t, claudetest.Script(claudetest.Text("first answer"), claudetest.Text("second answer"), claudetest.Text("fresh answer")), nil)
	w.say("hello there")
	w.expect(`^first answer$`)
	w.waitJobs(1)
	w.say("and again")
	w.expect(`^second answer$`)
	js := w.waitJobs(2)
	if js[0].SessionID == "" || js[0].SessionID != js[1].SessionID {
		t.Fatalf("second message must resume the same session: %q vs %q", js[0].SessionID, js[1].SessionID)
	}
	reqs := w.model.MessageRequests()
	if got := reqs[len(reqs)-1].Transcript(); !strings.Contains(got, "hello there") || !strings.Contains(got, "first answer") {
		t.Fatalf("resumed request lacks the earlier turn:\n%s", got)
	}
	for _, j := range js {
		if j.Status != agents.JobSucceeded || j.Turns == 0 {
			t.Fatalf("job %+v: want succeeded with turns recorded", j)
		}
	}
	w.say("/reset")
	w.expect(`Session reset`)
	w.say("new topic")
	w.expect(`^fresh answer$`)
	js = w.waitJobs(3)
	if js[0].SessionID == js[1].SessionID {
		t.Fatalf("after /reset the session must be new, got %q again", js[0].SessionID)
	}
	evs, err := w.store.Events(context.Background(), js[0].ID, 0)
	if err != nil || len(evs) < 3 {
		t.Fatalf("transcript of %s: %d events, %v", js[0].ID, len(evs), err)
	}
	if evs[0].Kind != "prompt" || !strings.Contains(string(evs[0].Data), "new topic") {
		t.Fatalf("first event should be the prompt: %+v", evs[0])
	}
}

func TestFleetApprovalAllowOnce(t *testing.T) {
	w := newWorld(t, claudetest.Script(claudetest.Bash("touch allowed.txt", "create a file"), claudetest.Text("made the file")), nil)
	w.say("please create the file")
	id := w.approvalID()
	if _, err := os.Stat(filepath.Join(w.ws, "allowed.txt")); err == nil {
		t.Fatal("tool ran before approval")
	}
	w.say("/approve " + id + " once")
	w.expect(`Allowed once by alice`)
	w.expect(`^made the file$`)
	if _, err := os.Stat(filepath.Join(w.ws, "allowed.txt")); err != nil {
		t.Fatalf("approved tool did not run: %v", err)
	}
	a, err := w.store.Approval(context.Background(), id)
	if err != nil || a.Status != agents.Allowed || a.DecidedBy != "alice" || a.InputHash == "" {
		t.Fatalf("approval row %+v, %v", a, err)
	}
	audit, err := w.store.AuditLog(context.Background(), store.AuditFilter{Agent: agentName, ActionPrefix: "approval."})
	if err != nil || len(audit) < 2 {
		t.Fatalf("audit rows for the approval: %+v %v", audit, err)
	}
}

func TestFleetApprovalDenyAndNonApprover(t *testing.T) {
	w := newWorld(t, claudetest.Script(claudetest.Bash("touch denied.txt", "create a file"), claudetest.Text("ok, I won't")), nil)
	w.say("create denied.txt")
	id := w.approvalID()
	ref := w.cardRef(id)
	// A non-approver's click decides nothing.
	res := w.fleet.HandleAction(context.Background(), bot.Action{Agent: agentName, ApprovalID: id, Choice: "once",
		User: bot.User{ID: "mallory"}, Ref: ref})
	if !strings.Contains(res.Notice, "not an approver") || res.Card != nil {
		t.Fatalf("non-approver result: %+v", res)
	}
	// A forged id is refused cleanly.
	res = w.fleet.HandleAction(context.Background(), bot.Action{Agent: agentName, ApprovalID: "FORGEDFORGEDFORGEDFORGED22", Choice: "once",
		User: bot.User{ID: "alice"}, Ref: ref})
	if !strings.Contains(res.Notice, "unknown") || res.Card != nil {
		t.Fatalf("forged id result: %+v", res)
	}
	// An approver's click on something that is not the card decides nothing.
	res = w.fleet.HandleAction(context.Background(), bot.Action{Agent: agentName, ApprovalID: id, Choice: "once",
		User: bot.User{ID: "alice"}, Ref: bot.MessageRef{Target: console.Target}})
	if !strings.Contains(res.Notice, "does not belong") || res.Card != nil {
		t.Fatalf("click off the card: %+v", res)
	}
	if a, _ := w.store.Approval(context.Background(), id); a.Status != agents.Pending {
		t.Fatalf("approval decided by a non-approver: %+v", a)
	}
	// Every attempt is audited.
	for _, action := range []string{"approval.refused_not_approver", "approval.refused_unknown", "approval.refused_wrong_card"} {
		rows, err := w.store.AuditLog(context.Background(), store.AuditFilter{Agent: agentName, ActionPrefix: action})
		if err != nil || len(rows) != 1 {
			t.Fatalf("audit %s: %+v %v", action, rows, err)
		}
	}
	w.say("/approve " + id + " deny")
	w.expect(`Denied by alice`)
	w.expect(`^ok, I won't$`)
	if _, err := os.Stat(filepath.Join(w.ws, "denied.txt")); err == nil {
		t.Fatal("denied tool ran")
	}
	// A second click on the decided card answers cleanly.
	res = w.fleet.HandleAction(context.Background(), bot.Action{Agent: agentName, ApprovalID: id, Choice: "once",
		User: bot.User{ID: "alice"}, Ref: ref})
	if !strings.Contains(res.Notice, "already denied") || res.Card == nil || len(res.Card.Buttons) != 0 {
		t.Fatalf("stale click: %+v", res)
	}
	if js := w.waitJobs(1); js[0].Status != agents.JobSucceeded {
		t.Fatalf("the agent should finish its turn after a deny: %+v", js[0])
	}
}

func TestFleetApprovalExpiresClosed(t *testing.T) {
	w := newWorld(t, claudetest.Script(claudetest.Bash("touch late.txt", "create a file"), claudetest.Text("gave up")),
		func(s *agents.AgentSpec) { s.ApprovalTimeout = 300 * time.Millisecond })
	w.say("create late.txt")
	id := w.approvalID()
	w.expect(`Expired: nobody decided in time — denied`)
	w.expect(`^gave up$`)
	if _, err := os.Stat(filepath.Join(w.ws, "late.txt")); err == nil {
		t.Fatal("expired approval let the tool run")
	}
	if a, _ := w.store.Approval(context.Background(), id); a.Status != agents.Expired {
		t.Fatalf("approval %+v, want expired", a)
	}
}

// TestFleetAllowForSessionNotAskedAgain: the identical input (command and
// description) in the same session, from the same person, runs without a
// card, also in a new process.
func TestFleetAllowForSessionNotAskedAgain(t *testing.T) {
	w := newWorld(t, claudetest.Script(
		claudetest.Bash("touch s.txt", "create"), claudetest.Text("first done"),
		claudetest.Bash("touch s.txt", "create"), claudetest.Text("second done"),
	), nil)
	w.say("make s.txt")
	id := w.approvalID()
	w.say("/approve " + id + " session")
	w.expect(`Allowed for this session \(this exact input only\) by alice`)
	w.expect(`^first done$`)
	w.waitJobs(1)
	// A new process (ephemeral) for the same session: not asked again.
	w.say("make it again")
	w.expect(`^second done$`)
	as, err := w.store.Approvals(context.Background(), agentName, false, 10)
	if err != nil || len(as) != 1 {
		t.Fatalf("want exactly one approval request, got %d (%v)", len(as), err)
	}
}

func TestFleetTwoMessagesRunOneAfterTheOther(t *testing.T) {
	w := newWorld(t, claudetest.Script(claudetest.Text("answer A"), claudetest.Text("answer B")), nil)
	w.say("message A")
	w.say("message B")
	w.expect(`Queued — position 1`)
	w.expect(`^answer A$`)
	w.expect(`^answer B$`)
	js := w.waitJobs(2)
	a, b := js[1], js[0] // newest first
	if a.Prompt != "message A" || b.Prompt != "message B" {
		t.Fatalf("order: %q then %q", a.Prompt, b.Prompt)
	}
	if b.Started.Before(a.Finished) {
		t.Fatalf("runs overlapped: A finished %v, B started %v", a.Finished, b.Started)
	}
	if a.SessionID == "" || a.SessionID != b.SessionID {
		t.Fatalf("one conversation, one session: %q vs %q", a.SessionID, b.SessionID)
	}
}

func TestFleetRedactsSecrets(t *testing.T) {
	secret := "garden-github-token-0123456789"
	w := newWorld(t, claudetest.Script(
		claudetest.Bash("echo "+secret, "print it"),
		claudetest.Text("the token is "+secret+" and sk-ant-api03-abcdefghijklmnopqrstuv"),
	), func(s *agents.AgentSpec) { s.Options.AllowedTools = []string{"Bash(echo *)"} }, secret)
	w.say("show me the token")
	line := w.expect(`the token is`)
	if strings.Contains(line, secret) || strings.Contains(line, "sk-ant-api03-abc") || !strings.Contains(line, redact.Mask) {
		t.Fatalf("chat line not redacted: %q", line)
	}
	js := w.waitJobs(1)
	evs, _ := w.store.Events(context.Background(), js[0].ID, 0)
	sawResult := false
	for _, e := range evs {
		if strings.Contains(string(e.Data), secret) {
			t.Fatalf("secret in job event %d (%s): %s", e.Seq, e.Kind, e.Data)
		}
		if e.Kind == string(agents.EventToolResult) {
			sawResult = true
		}
	}
	if !sawResult {
		t.Fatal("expected the tool result in the transcript")
	}
	if strings.Contains(w.logs.String(), secret) {
		t.Fatal("secret in logs")
	}
}

func TestFleetCancelStopsRun(t *testing.T) {
	w := newWorld(t, claudetest.Script(claudetest.Bash("until [ -e /nonexistent ]; do sleep 1; done", "wait"), claudetest.Text("never")),
		func(s *agents.AgentSpec) { s.Options.AllowedTools = []string{"Bash"} })
	w.say("sleep for a minute")
	w.expect(`🔧 Bash: until \[ -e /nonexistent \]`)
	// The tool is running: no result yet.
	var id string
	for _, j := range w.jobs() {
		id = j.ID
	}
	start := time.Now()
	if err := w.fleet.Cancel(id); err != nil {
		t.Fatal(err)
	}
	js := w.waitJobs(1)
	if js[0].Status != agents.JobCancelled {
		t.Fatalf("job %+v, want cancelled", js[0])
	}
	t.Logf("cancel took %v", time.Since(start))
	if err := w.fleet.Cancel(id); err == nil {
		t.Fatal("cancelling a finished job must fail")
	}
}

func TestFleetRunTimeout(t *testing.T) {
	w := newWorld(t, claudetest.Script(claudetest.Bash("until [ -e /nonexistent ]; do sleep 1; done", "wait"), claudetest.Text("never")),
		func(s *agents.AgentSpec) {
			s.Options.AllowedTools = []string{"Bash"}
			s.RunTimeout = 2 * time.Second
		})
	w.say("sleep")
	w.expect(`timed out after 2s`)
	if js := w.waitJobs(1); js[0].Status != agents.JobTimedOut {
		t.Fatalf("job %+v, want timed_out", js[0])
	}
}

func TestFleetScheduledRunWithoutApproverDenies(t *testing.T) {
	// Approvers on Discord only: a scheduled run with no chat of its own
	// has nobody to ask (with console approvers it would ask the console:
	// TestFleetScheduledRunAsksTheConsole).
	w := newWorld(t, claudetest.Script(claudetest.Bash("touch x.txt", "x"), claudetest.Text("could not")),
		func(s *agents.AgentSpec) { s.Approvers = map[string][]string{bot.Discord: {"111"}} })
	res, err := w.fleet.Run(context.Background(), agents.RunRequest{Agent: agentName, Prompt: "report",
		Trigger: agents.TriggerSchedule, Schedule: "weather", Silent: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Denied) != 1 || res.Denied[0] != "Bash" || res.Text != "could not" {
		t.Fatalf("result %+v", res)
	}
	if res.Job.Trigger != agents.TriggerSchedule || res.Job.Schedule != "weather" {
		t.Fatalf("job %+v", res.Job)
	}
}

// TestFleetScheduledRunAsksTheConsole: a scheduled run whose report goes
// to a platform the agent is not connected to, and a CLI-triggered run,
// post their cards to the console when the agent has console approvers;
// the console's approver decides there.
func TestFleetScheduledRunAsksTheConsole(t *testing.T) {
	w := newWorld(t, claudetest.Script(claudetest.Bash("touch x.txt", "x"), claudetest.Text("scheduled done"),
		claudetest.Bash("touch y.txt", "y"), claudetest.Text("triggered done")), nil)
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
		if o.err != nil || len(o.res.Denied) != 0 || o.res.Job.Status != agents.JobSucceeded {
			t.Fatalf("%s run: %+v, %v", req.Trigger, o.res, o.err)
		}
	}
}

func TestFleetSetAgentsReload(t *testing.T) {
	w := newWorld(t, claudetest.Script(claudetest.Text("from garden"), claudetest.Text("from homelab")), nil)
	w.say("hi")
	w.expect(`^from garden$`)
	w.waitJobs(1)
	specs := w.fleet.Agents()
	garden := specs[0]
	if !w.fleet.IsApprover(agentName, bot.Console, bot.User{ID: "alice"}) {
		t.Fatal("alice should approve before the reload")
	}
	// Change garden's approvers and add homelab.
	garden.Approvers = map[string][]string{bot.Console: {"bob"}}
	homelab := garden
	homelab.Name = "homelab"
	homelab.Sandbox.Workspace = t.TempDir()
	if err := w.fleet.SetAgents([]agents.AgentSpec{garden, homelab}); err != nil {
		t.Fatal(err)
	}
	if w.fleet.IsApprover(agentName, bot.Console, bot.User{ID: "alice"}) || !w.fleet.IsApprover(agentName, bot.Console, bot.User{ID: "bob"}) {
		t.Fatal("changed approvers not applied")
	}
	res, err := w.fleet.Run(context.Background(), agents.RunRequest{Agent: "homelab", Prompt: "status?", Trigger: agents.TriggerCLI})
	if err != nil || res.Text != "from homelab" {
		t.Fatalf("added agent: %+v %v", res, err)
	}
	// Remove garden: it takes no more work.
	if err := w.fleet.SetAgents([]agents.AgentSpec{homelab}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.fleet.Run(context.Background(), agents.RunRequest{Agent: agentName, Prompt: "x"}); !errors.Is(err, agents.ErrUnknownAgent) {
		t.Fatalf("removed agent ran: %v", err)
	}
	if err := w.fleet.SetAgents([]agents.AgentSpec{homelab, homelab}); err == nil {
		t.Fatal("duplicate agents accepted")
	}
}

// TestFleetResumedScheduleWaitsForTheConversation: a scheduled run that
// resumes a conversation's session queues behind its chat run instead of
// running beside it in the same session.
func TestFleetResumedScheduleWaitsForTheConversation(t *testing.T) {
	w := newWorld(t, claudetest.Script(
		claudetest.Bash("until [ -e stop ]; do sleep 0.2; done", "wait for stop"), claudetest.Text("chat done"),
		claudetest.Text("report done"),
	), func(s *agents.AgentSpec) { s.Options.AllowedTools = []string{"Bash"} })
	w.say("wait for the stop file")
	w.expect(`🔧 Bash: until`)
	type out struct {
		res agents.RunResult
		err error
	}
	got := make(chan out, 1)
	go func() {
		res, err := w.fleet.Run(context.Background(), agents.RunRequest{Agent: agentName, Prompt: "report",
			Trigger: agents.TriggerSchedule, Schedule: "daily", Target: console.Target, Resume: true, Silent: true})
		got <- out{res, err}
	}()
	// While the chat run holds the session, the schedule's job waits.
	time.Sleep(500 * time.Millisecond)
	if n := len(w.jobs()); n != 1 {
		t.Fatalf("%d jobs while the chat run is going; the resumed schedule must wait", n)
	}
	if err := os.WriteFile(filepath.Join(w.ws, "stop"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o := <-got
	if o.err != nil || o.res.Text != "report done" {
		t.Fatalf("scheduled run: %+v %v", o.res, o.err)
	}
	js := w.waitJobs(2)
	chat, report := js[1], js[0]
	if report.Started.Before(chat.Finished) || report.SessionID != chat.SessionID {
		t.Fatalf("report must follow the chat run in the same session: chat %+v report %+v", chat, report)
	}
}

// TestFleetLongToolOutputIsAttached: a long tool result reaches chat as a
// file on the answer, not as message text.
func TestFleetLongToolOutputIsAttached(t *testing.T) {
	w := newWorld(t, claudetest.Script(
		claudetest.Bash("seq 1 3000", "count"), claudetest.Text("counted"),
	), func(s *agents.AgentSpec) { s.Options.AllowedTools = []string{"Bash"} })
	w.say("count to 3000")
	line := w.expect(`📎 bash-output-1\.txt \(\d+ bytes\)`)
	if !strings.HasPrefix(line, "counted") {
		t.Fatalf("the file should ride on the answer: %q", line)
	}
	if strings.Contains(line, "2999") {
		t.Fatalf("tool output pasted as text: %q", line)
	}
}
