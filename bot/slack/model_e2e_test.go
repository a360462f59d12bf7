package slack_test

import (
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

// slashText runs "/garden TEXT" as user in the mention channel and returns
// the reply, from the ack or the response_url.
func slashText(t *testing.T, fake *slacktest.Server, app slacktest.App, user, text string) string {
	t.Helper()
	before := len(fake.Responses())
	env := fake.Slash(app, slacktest.Slash{Command: "/garden", Text: text, Channel: chanMention, User: user})
	k := fake.WaitAck(app, env)
	if k.Payload != nil {
		return decodeAck(t, k).Text
	}
	fake.WaitFor(text+" reply", func() bool { return len(fake.Responses()) > before })
	return fake.Responses()[before].Text
}

// TestFleetModelSwitch: through slack-go and the real CLI, an approver's
// "/garden model NAME" switches the channel's conversations to a model on
// the fleet's list, and the CLI then asks the model API for that model;
// someone else may not switch it, and a model off the list is refused.
func TestFleetModelSwitch(t *testing.T) {
	const sonnet, haiku = "claude-sonnet-4-5", "claude-haiku-4-5"
	fake := slacktest.New(t, slacktest.Options{})
	app := fake.AddApp("garden")
	n := startNode(t, fake, app, agentstest.Options{Model: claudetest.Script(claudetest.Text("first answer"), claudetest.Text("second answer")),
		Spec: func(s *agents.AgentSpec) {
			s.Options.Model = sonnet
			s.Models = []string{sonnet, haiku}
		}})
	// The model a request for the turn with prompt asked for.
	modelFor := func(prompt string) string {
		t.Helper()
		for _, r := range n.Model.MessageRequests() {
			if strings.Contains(r.Transcript(), prompt) {
				return r.Model
			}
		}
		t.Fatalf("no model request carried %q", prompt)
		return ""
	}

	first := fake.Mention(app, chanMention, alice, "first question", "")
	waitText(fake, first.TS, "first answer")
	if m := modelFor("first question"); m != sonnet {
		t.Fatalf("before /model the CLI asked for %q, want %s", m, sonnet)
	}
	if s := slashText(t, fake, app, alice, "model"); !strings.Contains(s, sonnet) || !strings.Contains(s, haiku) {
		t.Fatalf("/garden model: %q", s)
	}
	if s := slashText(t, fake, app, bob, "model "+haiku); !strings.Contains(s, "Only garden's approvers may switch its model") {
		t.Fatalf("bob's /garden model: %q", s)
	}
	if s := slashText(t, fake, app, alice, "model claude-opus-4-1"); !strings.Contains(s, "is not on garden's list of models") {
		t.Fatalf("a model off the list: %q", s)
	}
	if s := slashText(t, fake, app, alice, "model "+haiku); !strings.Contains(s, "switched this channel and its threads to *"+haiku+"*") {
		t.Fatalf("alice's /garden model: %q", s)
	}
	second := fake.Mention(app, chanMention, alice, "second question", "")
	waitText(fake, second.TS, "second answer")
	if m := modelFor("second question"); m != haiku {
		t.Fatalf("after /model the CLI asked for %q, want %s", m, haiku)
	}
}
