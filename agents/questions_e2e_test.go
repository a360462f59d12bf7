package agents_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents/claude/claudetest"
)

// TestConsoleQuestionAnswered: in the console (herdbot chat), a question
// card shows its choices as an /approve line; typing one answers it, and
// the real CLI hands the answer to the model. A question cannot be
// "allowed" without an answer from outside chat (herdbot approve).
func TestConsoleQuestionAnswered(t *testing.T) {
	q := map[string]any{"questions": []any{map[string]any{"question": "Which soil?", "header": "Soil", "multiSelect": false,
		"options": []any{map[string]any{"label": "Loam", "description": "rich"}, map[string]any{"label": "Sand", "description": "fast"}}}}}
	w := newWorld(t, claudetest.Script(claudetest.Tool("AskUserQuestion", q), claudetest.Text("Loam, then.")), nil)
	w.say("pick a soil")
	line := w.expect(`/approve [A-Z2-7]{26} a0\.0\|a0\.1\|deny`)
	id := regexp.MustCompile(`/approve ([A-Z2-7]{26}) `).FindStringSubmatch(line)[1]
	if _, err := w.fleet.Decide(t.Context(), id, "once", "operator", ""); err == nil || !strings.Contains(err.Error(), "answer it with its buttons") {
		t.Fatalf("herdbot approve once on a question: %v", err)
	}
	w.say("/approve " + id + " a0.0")
	w.expect(`Answered by alice .*Soil: Loam`)
	w.expect(`Loam, then\.`)
	reqs := w.model.MessageRequests()
	if got := reqs[len(reqs)-1].ToolResults(); len(got) != 1 || !strings.Contains(got[0].Content, `"Which soil?"="Loam"`) {
		t.Fatalf("the model got %+v", got)
	}
}
