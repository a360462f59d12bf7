package discord_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/store"
)

// commandReply runs slash command name as alice in the general channel
// and returns the text of the (ephemeral) reply.
func commandReply(t *testing.T, w *world, name string, options map[string]string) string {
	t.Helper()
	i, err := srv.SlashCommand(w.bot, w.alice.ID, w.general, name, options)
	if err != nil {
		t.Fatal(err)
	}
	st := waitAnswered(t, i, w.general, 0)
	if st.Failed {
		t.Fatalf("/%s interaction failed: %+v", name, st)
	}
	m, _ := srv.Message(w.general, st.OriginalID)
	return m.Content
}

// TestFleetBudgetRefusal: with the real CLI behind the real discordgo
// client, a run that crosses the daily cap finishes and is answered; the
// next message is refused with a reply in the channel and never reaches
// the model; /status and /cost show the spend.
func TestFleetBudgetRefusal(t *testing.T) {
	w := newWorld()
	n := startNode(t, w, agentstest.Options{Model: claudetest.Script(claudetest.Text("first answer"), claudetest.Text("never sent")),
		Stream: agentstest.FastStream, Spec: func(s *agents.AgentSpec) { s.Budget = agents.Budget{DailyUSD: 0.000001} }})
	r := &fleetRig{world: w, store: n.Store, ws: n.Workspace}

	srv.SendMessage(r.alice.ID, r.general, r.mention()+" hello")
	r.waitBot(t, r.general, "first answer")
	first := r.jobs(t, 1)[0]
	if first.Status != agents.JobSucceeded || first.CostUSD <= 0.000001 {
		t.Fatalf("first job %+v: want it to finish, costing more than the cap", first)
	}
	asked := len(n.Model.MessageRequests())

	srv.SendMessage(r.alice.ID, r.general, r.mention()+" and again")
	r.waitBot(t, r.general, "🛑 Not run: garden has spent $")
	refused := r.jobs(t, 2)[0]
	if refused.Status != agents.JobFailed || !strings.Contains(refused.Error, "its daily budget is $0.0000010") {
		t.Fatalf("refused job %+v", refused)
	}
	if got := len(n.Model.MessageRequests()); got != asked {
		t.Fatalf("the refused run reached the model: %d requests, had %d", got, asked)
	}
	rows, err := n.Store.AuditLog(context.Background(), store.AuditFilter{Agent: "garden", ActionPrefix: "budget.refused"})
	if err != nil || len(rows) != 1 || rows[0].Subject != refused.ID {
		t.Fatalf("audit %+v, %v", rows, err)
	}

	if s := commandReply(t, w, "status", nil); !strings.Contains(s, "Spend: $") || !strings.Contains(s, "today of $0.0000010") {
		t.Fatalf("/status %q lacks the spend against the cap", s)
	}
	if s := commandReply(t, w, "cost", nil); !strings.HasPrefix(s, "This channel (its threads included): $") || !strings.Contains(s, "garden: $") {
		t.Fatalf("/cost %q", s)
	}
}

// TestFleetApprovalsCommand: /approvals lists the approval pending in the
// channel with a jump link to its card, and nothing once it is decided;
// /status names the tool the run waits to run.
func TestFleetApprovalsCommand(t *testing.T) {
	r := startFleet(t, claudetest.Script(claudetest.Bash("touch allowed.txt", "create a file"), claudetest.Text("made the file")), nil)
	if s := commandReply(t, r.world, "approvals", nil); s != "No approvals are pending in this channel." {
		t.Fatalf("/approvals before any: %q", s)
	}
	srv.SendMessage(r.alice.ID, r.general, r.mention()+" please create the file")
	card := waitCard(t, r.world, r.general)
	// The card is posted before its ref is stored: wait for the ref, which
	// the link is made from.
	var pending []agents.Approval
	deadline := time.Now().Add(e2eWait)
	for {
		var err error
		pending, err = r.store.Approvals(context.Background(), "garden", true, 0)
		if err == nil && len(pending) == 1 && pending[0].Refs != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending approvals %+v, %v: want one with its card recorded", pending, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	link := "https://discord.com/channels/" + r.guild + "/" + r.general + "/" + card.ID
	s := commandReply(t, r.world, "approvals", nil)
	if !strings.HasPrefix(s, "1 approval(s) pending here:") || !strings.Contains(s, "**Bash** `touch allowed.txt`") ||
		!strings.Contains(s, pending[0].ID) || !strings.Contains(s, link) {
		t.Fatalf("/approvals %q: want the Bash request %s with its card's link %s", s, pending[0].ID, link)
	}
	if s := commandReply(t, r.world, "status", nil); !strings.Contains(s, "· tool Bash · waiting for 1 approval(s)") {
		t.Fatalf("/status while waiting: %q", s)
	}
	var once string
	for _, b := range card.Buttons() {
		if strings.HasSuffix(b.CustomID, ":once") {
			once = b.CustomID
		}
	}
	if _, err := srv.Click(r.alice.ID, r.general, card.ID, once); err != nil {
		t.Fatal(err)
	}
	r.waitBot(t, r.general, "made the file")
	r.jobs(t, 1)
	if s := commandReply(t, r.world, "approvals", nil); s != "No approvals are pending in this channel." {
		t.Fatalf("/approvals after the decision: %q", s)
	}
}
