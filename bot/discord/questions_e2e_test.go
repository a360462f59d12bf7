package discord_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/bot/discord/discordtest"
	"github.com/herdbot/herdbot/store"
)

// twoQuestions is an AskUserQuestion input: one single-select question,
// one multi-select.
var twoQuestions = map[string]any{"questions": []any{
	map[string]any{"question": "Which soil should I use?", "header": "Soil", "multiSelect": false,
		"options": []any{map[string]any{"label": "Loam", "description": "rich"}, map[string]any{"label": "Sand", "description": "fast draining"}}},
	map[string]any{"question": "Which plants go in?", "header": "Plants", "multiSelect": true,
		"options": []any{map[string]any{"label": "Garlic", "description": "bulbs"}, map[string]any{"label": "Kale", "description": "leaves"},
			map[string]any{"label": "Leek", "description": "stems"}}},
}}

// clickAs clicks customID on card as user and waits until it is answered
// (with a notice when notice is set); it returns the notice.
func clickAs(t *testing.T, w *world, ch string, card discordtest.Message, userID, customID string, notice bool) string {
	t.Helper()
	i, err := srv.Click(userID, ch, card.ID, customID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if notice {
		n = 1
	}
	st := waitAnswered(t, i, ch, n)
	if st.Failed {
		t.Fatalf("click %s: the interaction failed: %+v", customID, st)
	}
	if len(st.FollowupIDs) == 0 {
		return ""
	}
	m, _ := srv.Message(ch, st.FollowupIDs[len(st.FollowupIDs)-1])
	return m.Content
}

func buttonLabeled(t *testing.T, m discordtest.Message, label string) string {
	t.Helper()
	for _, b := range m.Buttons() {
		if b.Label == label {
			return b.CustomID
		}
	}
	t.Fatalf("no %q button on %+v", label, m.Buttons())
	return ""
}

// TestFleetQuestionAnsweredByButtons: the agent (the real CLI) asks two
// questions with AskUserQuestion; herdbot shows them as buttons instead of
// an approval card. The person who asked (bob, not an approver) answers;
// someone else's click is refused and audited; the
// answers go back as the tool's answer, which the model receives, and the
// decision is an audit row. (Malformed choices: agents
// TestQuestionChoicesAreValidated.)
func TestFleetQuestionAnsweredByButtons(t *testing.T) {
	w := newWorld()
	carol := srv.AddUser("carol")
	srv.AddMember(w.guild, carol.ID)
	model := claudetest.NewModelServer(t, claudetest.Script(claudetest.Tool("AskUserQuestion", twoQuestions), claudetest.Text("Thanks, planting now.")))
	n := startNode(t, w, agentstest.Options{ModelServer: model})
	srv.SendMessage(w.bob.ID, w.general, w.mention()+" help me plant")
	card := waitCard(t, w, w.general)
	if !strings.Contains(card.Content, "Which soil should I use?") || !strings.Contains(card.Content, "Leek") || strings.Contains(card.Content, "wants to use") {
		t.Fatalf("question card %q", card.Content)
	}
	// Carol neither asked nor approves: refused, nothing changes.
	if got := clickAs(t, w, w.general, card, carol.ID, buttonLabeled(t, card, "1: Loam"), true); !strings.Contains(got, "Only the person who started this run or an approver") {
		t.Fatalf("carol's click: notice %q", got)
	}
	// Bob answers: Loam, then Garlic and Leek (multi-select), then sends.
	for _, label := range []string{"1: Loam", "2: Garlic", "2: Kale", "2: Leek", "2: Kale"} {
		before, _ := srv.Message(w.general, card.ID)
		if got := clickAs(t, w, w.general, card, w.bob.ID, buttonLabeled(t, card, label), false); got != "" {
			t.Fatalf("click %s: notice %q", label, got)
		}
		// Each pick is shown on the card before the next click.
		if !srv.WaitFor(e2eWait, func() bool { m, _ := srv.Message(w.general, card.ID); return m.Edits > before.Edits }) {
			t.Fatalf("click %s: the card was not edited", label)
		}
	}
	m, _ := srv.Message(w.general, card.ID)
	if !strings.Contains(m.Content, "☑ Loam") || !strings.Contains(m.Content, "☑ Leek") || strings.Contains(m.Content, "☑ Kale") {
		t.Fatalf("card after picking: %q", m.Content)
	}
	clickAs(t, w, w.general, m, w.bob.ID, buttonLabeled(t, m, "Send answers"), false)
	waitBotIn(t, w, w.general, "Thanks, planting now.")
	m, _ = srv.Message(w.general, card.ID)
	if len(m.Buttons()) != 0 || !strings.Contains(m.Content, "Answered by bob") || !strings.Contains(m.Content, "Plants: Garlic, Leek") {
		t.Fatalf("card after the answer: %q %+v", m.Content, m.Buttons())
	}
	reqs := model.MessageRequests()
	got := reqs[len(reqs)-1].ToolResults()
	if len(got) != 1 || got[0].IsError || !strings.Contains(got[0].Content, `"Which soil should I use?"="Loam"`) ||
		!strings.Contains(got[0].Content, `"Which plants go in?"="Garlic, Leek"`) {
		t.Fatalf("the model got %+v, want the answers", got)
	}
	ctx := context.Background()
	decided, err := n.Store.AuditLog(ctx, store.AuditFilter{Agent: "garden", ActionPrefix: "approval.decided"})
	if err != nil || len(decided) != 1 || !strings.Contains(decided[0].Detail, "Soil: Loam; Plants: Garlic, Leek") || !strings.Contains(decided[0].Actor, w.bob.ID) {
		t.Fatalf("approval.decided rows %+v (%v)", decided, err)
	}
	refused, err := n.Store.AuditLog(ctx, store.AuditFilter{Agent: "garden", ActionPrefix: "question.refused"})
	if err != nil || len(refused) != 1 || !strings.Contains(refused[0].Actor, carol.ID) {
		t.Fatalf("question.refused rows %+v (%v): want carol's", refused, err)
	}
}

// TestFleetQuestionExpires: nobody answers; the question expires like an
// approval, the card says so, and the agent is told nobody answered.
func TestFleetQuestionSkipped(t *testing.T) {
	w := newWorld()
	model := claudetest.NewModelServer(t, claudetest.Script(claudetest.Tool("AskUserQuestion", twoQuestions), claudetest.Text("OK, my own choice.")))
	startNode(t, w, agentstest.Options{ModelServer: model})
	srv.SendMessage(w.bob.ID, w.general, w.mention()+" help me plant")
	card := waitCard(t, w, w.general)
	clickAs(t, w, w.general, card, w.bob.ID, buttonLabeled(t, card, "Skip (don't answer)"), false)
	waitBotIn(t, w, w.general, "OK, my own choice.")
	reqs := model.MessageRequests()
	got := reqs[len(reqs)-1].ToolResults()
	if len(got) != 1 || !got[0].IsError || !strings.Contains(got[0].Content, "chose not to answer") {
		t.Fatalf("the model got %+v", got)
	}
}

// TestFleetPlanKeepPlanningThenApprove: in plan mode the agent (the real
// CLI) asks to leave it with ExitPlanMode. The plan is shown with Approve
// and Keep planning; only approvers decide. Keep planning tells the agent
// so (it stays in plan mode); its next plan, too long for one message, is
// posted in parts before its card; Approve lets it go on.
func TestFleetPlanKeepPlanningThenApprove(t *testing.T) {
	w := newWorld()
	long := "1. dig\n" + strings.Repeat("2. turn the soil over, again and again, until it is fine. ", 60) + "\n3. plant the garlic"
	model := claudetest.NewModelServer(t, claudetest.Script(
		claudetest.Tool("ExitPlanMode", map[string]any{"plan": "1. dig\n2. plant"}),
		claudetest.Tool("ExitPlanMode", map[string]any{"plan": long}),
		claudetest.Text("Plan approved, digging."),
	))
	n := startNode(t, w, agentstest.Options{ModelServer: model,
		Spec: func(s *agents.AgentSpec) { s.Options.PermissionMode = "plan" }})
	srv.SendMessage(w.bob.ID, w.general, w.mention()+" plan the bed")
	cs := newCards(t, w, w.general)
	card := cs.next()
	if !strings.Contains(card.Content, "has a plan") || !strings.Contains(card.Content, "1. dig\n2. plant") {
		t.Fatalf("plan card %q", card.Content)
	}
	// Bob asked but is not an approver: plans follow the approvers.
	if got := clickAs(t, w, w.general, card, w.bob.ID, buttonLabeled(t, card, "Approve plan"), true); !strings.Contains(got, "not an approver") {
		t.Fatalf("bob's approve: notice %q", got)
	}
	clickAs(t, w, w.general, card, w.alice.ID, buttonLabeled(t, card, "Keep planning"), false)
	second := cs.next()
	if !strings.Contains(second.Content, "in the messages just above") {
		t.Fatalf("second plan card %q: want the plan in the messages before it", second.Content)
	}
	var parts string
	for _, m := range w.botMessages(w.general) {
		if m.ID != second.ID && strings.Contains(m.Content, "turn the soil over") {
			parts += m.Content
		}
	}
	if !strings.Contains(parts, "3. plant the garlic") || !strings.Contains(parts, "1. dig") {
		t.Fatalf("the long plan was not posted whole before its card: %q", parts)
	}
	reqs := model.MessageRequests()
	if got := reqs[1].ToolResults(); len(got) != 1 || !got[0].IsError || !strings.Contains(got[0].Content, "wants you to keep planning") {
		t.Fatalf("after Keep planning the model got %+v", got)
	}
	clickAs(t, w, w.general, second, w.alice.ID, buttonLabeled(t, second, "Approve plan"), false)
	waitBotIn(t, w, w.general, "Plan approved, digging.")
	reqs = model.MessageRequests()
	if got := reqs[2].ToolResults(); len(got) != 1 || got[0].IsError || !strings.Contains(got[0].Content, "approved") {
		t.Fatalf("after Approve the model got %+v", got)
	}
	m, _ := srv.Message(w.general, second.ID)
	if len(m.Buttons()) != 0 || !strings.Contains(m.Content, "Approved by alice") {
		t.Fatalf("card after approval %q", m.Content)
	}
	as, err := n.Store.Approvals(context.Background(), "garden", false, 10)
	if err != nil || len(as) != 2 || as[0].Tool != "ExitPlanMode" {
		t.Fatalf("approvals %+v (%v)", as, err)
	}
}

// TestFleetQuestionAfterRestart: herdbot dies while a question waits; the
// next start expires it like any approval and edits its card.
func TestFleetQuestionAfterRestart(t *testing.T) {
	w := newWorld()
	model := claudetest.NewModelServer(t, claudetest.Script(claudetest.Tool("AskUserQuestion", twoQuestions), claudetest.Text("never")))
	db := filepath.Join(t.TempDir(), "herdbot.db")
	first := startNode(t, w, agentstest.Options{ModelServer: model, DB: db})
	srv.SendMessage(w.bob.ID, w.general, w.mention()+" help me plant")
	card := waitCard(t, w, w.general)
	first.WaitCardRecorded(t)
	first.Store.Close() // a crash: nothing more reaches the database
	first.Stop()

	second := startNode(t, w, agentstest.Options{ModelServer: model, DB: db})
	if !srv.WaitFor(e2eWait, func() bool {
		m, _ := srv.Message(w.general, card.ID)
		return len(m.Buttons()) == 0 && strings.Contains(m.Content, "herdbot restarted")
	}) {
		m, _ := srv.Message(w.general, card.ID)
		t.Fatalf("question card after the restart: %q %+v", m.Content, m.Buttons())
	}
	as, err := second.Store.Approvals(context.Background(), "garden", false, 10)
	if err != nil || len(as) != 1 || as[0].Status != agents.Expired || as[0].Tool != "AskUserQuestion" {
		t.Fatalf("approvals %+v (%v): want the question expired", as, err)
	}
}
