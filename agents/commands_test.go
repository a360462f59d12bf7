package agents_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/store"
)

// TestCommandModel: /model shows the conversation's model; an approver
// switches it to one on the agent's list, and the conversation's next run
// starts a process with that --model resuming the same session (the warm
// process with the old model is not reused); someone else may not; a
// model off the list is refused; "default" goes back to the agent's.
func TestCommandModel(t *testing.T) {
	rt := &agentstest.Runtime{}
	w := newFakeWorld(t, rt, func(s *agents.AgentSpec) {
		s.Options.Model = "sonnet"
		s.Models = []string{"sonnet", "haiku"}
		s.Warm = true
	})
	w.say("one")
	w.expect(`^echo: one$`)
	w.waitJobs(1)
	first := w.conn(rt, 0)
	if first.Opts.Model != "sonnet" {
		t.Fatalf("first process --model %q, want the agent's sonnet", first.Opts.Model)
	}
	w.say("/model")
	w.expect(`^Model here: \*\*sonnet\*\* \(the agent's\)\nApprovers can switch this conversation with ` + "`model NAME`" + `: sonnet, haiku, or ` + "`model default`")
	w.say("/model opus")
	w.expect(`^opus is not on garden's list of models \(sonnet, haiku\)`)
	w.hub.InputAs(context.Background(), agentName, "/model haiku", bot.User{ID: "mallory", Name: "mallory"})
	w.expect(`^Only garden's approvers may switch its model\.$`)
	w.say("/model haiku")
	w.expect(`^🔀 alice switched this conversation to \*\*haiku\*\*, from the next message on\.$`)
	waitFor(t, "the warm process with the old model to be closed", first.Closed)

	w.say("two")
	w.expect(`^echo: two$`)
	js := w.waitJobs(2)
	second := w.conn(rt, 1)
	if second.Opts.Model != "haiku" || second.Opts.Resume != first.Session || js[0].SessionID != js[1].SessionID {
		t.Fatalf("after /model haiku: --model %q resume %q (jobs' sessions %q, %q); want haiku resuming %q",
			second.Opts.Model, second.Opts.Resume, js[0].SessionID, js[1].SessionID, first.Session)
	}
	w.say("/status")
	w.expect(`(?m)^Model: haiku \(chosen with /model\)$`)
	rows, err := w.store.AuditLog(context.Background(), store.AuditFilter{Agent: agentName, ActionPrefix: "model.switched"})
	if err != nil || len(rows) != 1 || rows[0].Actor != "console:alice" {
		t.Fatalf("audit %+v, %v; want one model.switched by console:alice", rows, err)
	}
	var detail map[string]string
	if json.Unmarshal([]byte(rows[0].Detail), &detail) != nil || detail["model"] != "haiku" || detail["previous"] != "" {
		t.Fatalf("audit detail %q", rows[0].Detail)
	}

	// Taken off the fleet's list (a reload), the choice no longer applies.
	spec := w.fleet.Agents()[0]
	spec.Models = []string{"sonnet"}
	if err := w.fleet.SetAgents([]agents.AgentSpec{spec}); err != nil {
		t.Fatal(err)
	}
	w.say("three")
	w.expect(`^echo: three$`)
	w.waitJobs(3)
	if m := w.conn(rt, 2).Opts.Model; m != "sonnet" {
		t.Fatalf("a choice the fleet no longer lists: --model %q, want the agent's sonnet", m)
	}
	spec.Models = []string{"sonnet", "haiku"}
	if err := w.fleet.SetAgents([]agents.AgentSpec{spec}); err != nil {
		t.Fatal(err)
	}
	w.say("/model default")
	w.expect(`switched this conversation to \*\*sonnet \(the agent's\)\*\*`)
	w.say("/model")
	w.expect(`^Model here: \*\*sonnet\*\* \(the agent's\)`)
}

// TestCommandModelWithoutList: with no models listed nothing can be
// switched to, and /model says so.
func TestCommandModelWithoutList(t *testing.T) {
	w := newFakeWorld(t, &agentstest.Runtime{}, nil)
	w.say("/model")
	w.expect("(?s)^Model here: \\*\\*the CLI's default\\*\\* \\(the agent's\\)\nNo models to switch to: the fleet file lists none for this agent")
	w.say("/model haiku")
	w.expect(`^haiku is not on garden's list of models \(none\)`)
}

// TestCommandCostApprovalsStatus: /cost sums this conversation and its
// session and shows the agent's spend; /approvals lists what is pending
// here; /status shows the tool the running job waits to run.
func TestCommandCostApprovalsStatus(t *testing.T) {
	ask := asker(`{"command":"rm -rf /tmp/x"}`)
	n := 0
	rt := &agentstest.Runtime{TurnFunc: func(t *agentstest.Turn) (agents.Result, error) {
		n++
		if n <= 2 {
			return costly(0.25)(t)
		}
		res, err := ask(t)
		res.CostUSD = 1
		return res, err
	}}
	w := newFakeWorld(t, rt, func(s *agents.AgentSpec) { s.Budget = agents.Budget{MonthlyUSD: 100} })
	w.say("one")
	w.expect(`^echo: one$`)
	w.waitJobs(1)
	w.say("two")
	w.expect(`^echo: two$`)
	w.waitJobs(2)
	w.say("/cost")
	w.expect(`^This conversation: \$0\.50 · its current session: \$0\.50\ngarden: \$0\.50 today \(no cap\) · \$0\.50 this month of \$100\.00$`)
	w.say("/approvals")
	w.expect(`^No approvals are pending in this channel\.$`)

	w.say("/reset")
	w.expect(`Session reset`)
	w.say("delete it")
	id := w.approvalID()
	w.say("/approvals")
	line := w.expect(`^1 approval\(s\) pending here:`)
	if !regexp.MustCompile("\n• \\*\\*Bash\\*\\* `rm -rf /tmp/x` · `" + id + "` · expires in ").MatchString(line) {
		t.Fatalf("approvals line %q lacks the pending Bash request %s", line, id)
	}
	w.say("/status")
	w.expect("(?m)^Running: job `j-[0-9a-f]+` · tool Bash · waiting for 1 approval\\(s\\)$")
	w.say("/approve " + id + " once")
	w.expect(`^ran it$`)
	w.waitJobs(3)
	w.say("/cost")
	w.expect(`^This conversation: \$1\.50 · its current session: \$1\.00\n`)
	w.say("/status")
	w.expect("(?m)^Running: nothing here$")
}

// TestCommandModelChannelCoversItsThreads: a channel's choice applies to
// its threads (Slack sends a slash command typed in a thread as the
// channel's), unless a thread has a choice of its own; /cost in a channel
// counts its threads.
func TestCommandModelChannelCoversItsThreads(t *testing.T) {
	rt := &agentstest.Runtime{TurnFunc: costly(0.5)}
	w := newFakeWorld(t, rt, func(s *agents.AgentSpec) {
		s.Models = []string{"sonnet", "haiku", "opus"}
		s.Approvers[bot.Slack] = []string{"U1"}
	})
	ctx := context.Background()
	channel := bot.Target{Platform: bot.Slack, Space: "T1", Channel: "C1"}
	thread := channel
	thread.Thread = "1700000000.000100"
	approver := bot.User{ID: "U1", Name: "una"}
	if r := w.fleet.HandleCommand(ctx, bot.Command{Agent: agentName, Name: "model", Args: "haiku", Target: channel, User: approver}); !strings.Contains(r.Message.Text, "una switched this channel and its threads to **haiku**") {
		t.Fatalf("/model haiku in the channel: %q", r.Message.Text)
	}
	run := func(i int) agents.RunOptions {
		t.Helper()
		w.fleet.HandleMessage(ctx, bot.Inbound{Agent: agentName, Target: thread, User: approver, Text: "hi"})
		w.waitJobs(i + 1)
		return w.conn(rt, i).Opts
	}
	if o := run(0); o.Model != "haiku" {
		t.Fatalf("a thread of the channel: --model %q, want the channel's haiku", o.Model)
	}
	if r := w.fleet.HandleCommand(ctx, bot.Command{Agent: agentName, Name: "model", Args: "opus", Target: thread, User: approver}); !strings.Contains(r.Message.Text, "switched this thread to **opus**") {
		t.Fatalf("/model opus in the thread: %q", r.Message.Text)
	}
	if o := run(1); o.Model != "opus" {
		t.Fatalf("the thread's own choice: --model %q, want opus", o.Model)
	}
	if r := w.fleet.HandleCommand(ctx, bot.Command{Agent: agentName, Name: "cost", Target: channel, User: approver}); !strings.HasPrefix(r.Message.Text, "This channel (its threads included): $1.00\n") {
		t.Fatalf("/cost in the channel: %q", r.Message.Text)
	}
	if r := w.fleet.HandleCommand(ctx, bot.Command{Agent: agentName, Name: "cost", Target: thread, User: approver}); !strings.HasPrefix(r.Message.Text, "This conversation: $1.00 · its current session: $1.00\n") {
		t.Fatalf("/cost in the thread: %q", r.Message.Text)
	}
}
