package slack_test

import (
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

// TestFleetQuestionAnsweredOnSlack: the agent's AskUserQuestion (the real
// CLI) is a Slack message with a button per option; bob, who asked (not an
// approver), picks one and the model gets it as the tool's answer.
func TestFleetQuestionAnsweredOnSlack(t *testing.T) {
	fake := slacktest.New(t, slacktest.Options{WaitTimeout: 60 * time.Second})
	app := fake.AddApp("garden")
	q := map[string]any{"questions": []any{map[string]any{"question": "Which soil?", "header": "Soil", "multiSelect": false,
		"options": []any{map[string]any{"label": "Loam", "description": "rich"}, map[string]any{"label": "Sand", "description": "fast"}}}}}
	model := claudetest.NewModelServer(t, claudetest.Script(claudetest.Tool("AskUserQuestion", q), claudetest.Text("Sand it is.")))
	startNode(t, fake, app, agentstest.Options{ModelServer: model})
	sent := fake.Mention(app, chanMention, bob, "pick a soil", "")
	card := waitCard(fake)
	if !strings.Contains(card.Text, "Which soil?") {
		t.Fatalf("question card %q", card.Text)
	}
	var sand string
	for _, b := range card.Buttons() {
		if b.Text.Text == "Sand" {
			sand = b.ActionID
		}
	}
	if sand == "" {
		t.Fatalf("no Sand button: %+v", card.Buttons())
	}
	fake.WaitAck(app, fake.Click(app, slacktest.Click{Channel: chanMention, MessageTS: card.TS, User: bob, ActionID: sand}))
	waitText(fake, sent.TS, "Sand it is.")
	fake.WaitFor("card answered", func() bool {
		m, _ := fake.Message(chanMention, card.TS)
		return strings.Contains(m.Text, "Soil: Sand") && len(m.Buttons()) == 0
	})
	reqs := model.MessageRequests()
	if got := reqs[len(reqs)-1].ToolResults(); len(got) != 1 || !strings.Contains(got[0].Content, `"Which soil?"="Sand"`) {
		t.Fatalf("the model got %+v", got)
	}
}
