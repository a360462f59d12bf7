package agents

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/bot"
)

var testQuestions = json.RawMessage(`{"questions":[
 {"question":"Which soil?","header":"Soil","multiSelect":false,"options":[{"label":"Loam","description":"rich"},{"label":"Sand","description":"fast"}]},
 {"question":"Which plants?","header":"Plants","multiSelect":true,"options":[{"label":"Garlic","description":""},{"label":"Kale","description":""}]}]}`)

// TestQuestionChoicesAreValidated: a button choice names an existing
// question and option in canonical form; anything else is refused.
func TestQuestionChoicesAreValidated(t *testing.T) {
	qs, err := parseQuestions(testQuestions)
	if err != nil {
		t.Fatal(err)
	}
	if q, o, ok := parseAnswerChoice("a1.1", qs); !ok || q != 1 || o != 1 {
		t.Fatalf("a1.1: %d %d %v", q, o, ok)
	}
	for _, c := range []string{"", "a", "a1", "a1.", "a.1", "a2.0", "a0.2", "a-1.0", "a01.0", "a0.+1", "b0.0", "a0.0.0", "once", "send ", "a1.1\x00"} {
		if _, _, ok := parseAnswerChoice(c, qs); ok {
			t.Errorf("choice %q accepted", c)
		}
	}
	for _, bad := range []string{`{}`, `{"questions":[]}`, `{"questions":[{"question":"","options":[{"label":"x"}]}]}`, `[1]`, `{"questions":[{"question":"q","options":[]}]}`} {
		if _, err := parseQuestions(json.RawMessage(bad)); err == nil {
			t.Errorf("questions %s accepted", bad)
		}
	}
}

func TestQuestionSelectionAndAnswers(t *testing.T) {
	qs, _ := parseQuestions(testQuestions)
	sel := selection{}
	sel.toggle(0, 0, false)
	sel.toggle(0, 1, false) // single-select: replaced
	if sel.complete(qs) {
		t.Fatal("complete with a question unanswered")
	}
	sel.toggle(1, 1, true)
	sel.toggle(1, 0, true)
	sel.toggle(1, 1, true) // multi-select: toggled off
	sel.toggle(1, 1, true)
	if !sel.complete(qs) {
		t.Fatal("not complete")
	}
	in, err := answeredInput(testQuestions, sel.answers(qs))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Questions []json.RawMessage `json:"questions"`
		Answers   map[string]string `json:"answers"`
	}
	if err := json.Unmarshal(in, &got); err != nil || len(got.Questions) != 2 || got.Answers["Which soil?"] != "Sand" || got.Answers["Which plants?"] != "Garlic, Kale" {
		t.Fatalf("answered input %s", in)
	}
	if s := sel.summary(qs); s != "Soil: Sand; Plants: Garlic, Kale" {
		t.Fatalf("summary %q", s)
	}
}

func TestQuestionCard(t *testing.T) {
	a := Approval{ID: "ID", Agent: "garden", Tool: ToolAskUserQuestion, Input: testQuestions, Status: Pending,
		Expires: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), RequestedBy: "bob"}
	m := questionCard(a, cardOpts{buttons: true}, selection{0: {1}})
	if !strings.Contains(m.Text, "☑ Sand") || !strings.Contains(m.Text, "• Loam — rich") || !strings.Contains(m.Text, "(pick one or more)") {
		t.Fatalf("card text %q", m.Text)
	}
	var ids []string
	for _, b := range m.Buttons {
		ids = append(ids, b.Choice+"="+b.Label)
		if _, _, err := bot.ParseButtonID(bot.ButtonID(b.ApprovalID, b.Choice)); err != nil {
			t.Errorf("button %+v: %v", b, err)
		}
	}
	if !strings.HasPrefix(strings.Join(ids, " "), "a0.0=1: Loam a0.1=1: Sand a1.0=2: Garlic a1.1=2: Kale") {
		t.Fatalf("buttons %v", ids)
	}
	if last := m.Buttons[len(m.Buttons)-1]; last.Choice != bot.ChoiceDeny || m.Buttons[len(m.Buttons)-2].Choice != choiceSend {
		t.Fatalf("buttons %v: want Send then Skip last", ids)
	}
	a.Status, a.DecidedBy, a.Reason = Allowed, "bob", "Soil: Sand"
	if m := questionCard(a, cardOpts{buttons: true}, nil); len(m.Buttons) != 0 || !strings.Contains(m.Text, "Answered by bob") {
		t.Fatalf("answered card %q %v", m.Text, m.Buttons)
	}
	// Agent text cannot format the card: markup in labels is neutralised.
	a = Approval{ID: "ID", Agent: "garden", Tool: ToolAskUserQuestion, Status: Pending,
		Input: json.RawMessage(`{"questions":[{"question":"**@everyone** q","options":[{"label":"` + "`x`\\n" + `y","description":""}]}]}`)}
	m = questionCard(a, cardOpts{buttons: true}, nil)
	if strings.Contains(m.Text, "**@everyone**") || strings.Contains(m.Text, "`x`") {
		t.Fatalf("markup from the agent kept: %q", m.Text)
	}
}

func TestPlanCard(t *testing.T) {
	a := Approval{ID: "ID", Agent: "garden", Tool: ToolExitPlanMode, Input: json.RawMessage(`{"plan":"1. dig\n2. plant"}`),
		InputHash: "abcdef0123456789", Status: Pending, Expires: time.Now()}
	m := planCard(a, cardOpts{buttons: true, limit: 2000})
	if !strings.Contains(m.Text, "1. dig\n2. plant") || len(m.Buttons) != 2 || m.Buttons[0].Choice != bot.ChoiceOnce || m.Buttons[1].Choice != bot.ChoiceDeny {
		t.Fatalf("plan card %q %+v", m.Text, m.Buttons)
	}
	if parts := planParts(a, 2000); parts != nil {
		t.Fatalf("short plan in parts: %q", parts)
	}
	long := strings.Repeat("step and more steps. ", 300)
	a.Input, _ = json.Marshal(map[string]string{"plan": long})
	m = planCard(a, cardOpts{buttons: true, limit: 2000})
	parts := planParts(a, 2000)
	if strings.Contains(m.Text, long) || len(parts) < 3 || strings.Join(parts, "") == "" {
		t.Fatalf("long plan: card %d chars, %d parts", len(m.Text), len(parts))
	}
	for _, p := range parts {
		if len([]rune(p)) > 2000 {
			t.Fatalf("part of %d characters", len([]rune(p)))
		}
	}
	a.Status, a.DecidedBy = Denied, "alice"
	if m := planCard(a, cardOpts{}); !strings.Contains(m.Text, "alice asked to keep planning") || len(m.Buttons) != 0 {
		t.Fatalf("decided plan card %q", m.Text)
	}
	if msg, _ := interactiveDeny(ToolExitPlanMode, Denied, "alice"); !strings.Contains(msg, "keep planning") {
		t.Fatalf("deny message %q", msg)
	}
}
