package discord_test

import (
	"context"
	"strings"
	"testing"

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
	if s := commandReply(t, w, "cost", nil); !strings.HasPrefix(s, "This conversation: $") || !strings.Contains(s, "garden: $") {
		t.Fatalf("/cost %q", s)
	}
}
