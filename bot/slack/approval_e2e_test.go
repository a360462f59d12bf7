package slack_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

// startNode starts one herdbot process's worth of the fleet rig on fake:
// its own store handle, Slack adapter for app and fleet (agentstest), with
// alice as approver. A test restarts herdbot by stopping one node and
// starting another on the same fake, o.DB, o.Workspace and o.ModelServer.
// It waits until the adapter has opened a new connection.
func startNode(t *testing.T, fake *slacktest.Server, app slacktest.App, o agentstest.Options) *agentstest.Rig {
	t.Helper()
	ad, err := slack.New(slack.Config{
		Agent: "garden", BotToken: app.BotToken, AppToken: app.AppToken, APIURL: fake.APIURL(),
		SlashCommand: "/garden", Channels: []slack.Channel{{ID: chanMention}},
	}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	o.Chats = []agentstest.Chat{{Platform: bot.Slack, Adapter: ad}}
	o.Approvers = map[string][]string{bot.Slack: {alice}}
	o.Stream = agentstest.FastStream
	opened, _ := fake.Connections(app)
	n := agentstest.Start(t, o)
	fake.WaitConnected(app, opened+1)
	return n
}

// anyParam reports whether some parameter of a Web API call contains s.
func anyParam(s string) func(url.Values) bool {
	return func(p url.Values) bool {
		for _, vs := range p {
			for _, v := range vs {
				if strings.Contains(v, s) {
					return true
				}
			}
		}
		return false
	}
}

func waitCard(fake *slacktest.Server) slacktest.Message {
	var card slacktest.Message
	fake.WaitFor("approval card", func() bool {
		for _, m := range fake.Messages(chanMention) {
			if len(m.Buttons()) > 0 {
				card = m
				return true
			}
		}
		return false
	})
	return card
}

// waitText waits for a bot message in thread whose text contains want.
func waitText(fake *slacktest.Server, thread, want string) slacktest.Message {
	var found slacktest.Message
	fake.WaitFor("bot message "+want, func() bool {
		for _, m := range fake.Messages(chanMention) {
			if m.ThreadTS == thread && strings.Contains(m.Text, want) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// updatesOf counts the chat.update calls for the message ts, failed or not.
func updatesOf(fake *slacktest.Server, ts string) int {
	n := 0
	for _, c := range fake.Calls("chat.update") {
		if c.Params.Get("ts") == ts {
			n++
		}
	}
	return n
}

// clickStale has alice click "Allow once" on a card that still shows its
// buttons although its approval is over, and checks the click is answered
// cleanly: the envelope acked, the card updated to say want (buttons
// gone), alice told privately.
func clickStale(t *testing.T, fake *slacktest.Server, app slacktest.App, card slacktest.Message, want string) {
	t.Helper()
	var once string
	for _, b := range card.Buttons() {
		if strings.HasSuffix(b.ActionID, ":"+bot.ChoiceOnce) {
			once = b.ActionID
		}
	}
	if once == "" {
		t.Fatalf("no allow-once button on %+v", card.Buttons())
	}
	env := fake.Click(app, slacktest.Click{Channel: chanMention, MessageTS: card.TS, User: alice, ActionID: once})
	fake.WaitAck(app, env)
	fake.WaitFor("card updated: "+want, func() bool {
		m, _ := fake.Message(chanMention, card.TS)
		return strings.Contains(m.Text, want) && len(m.Buttons()) == 0
	})
	fake.WaitFor("notice to alice", func() bool {
		for _, e := range fake.Ephemerals(chanMention) {
			if e.User == alice && strings.Contains(e.Text, "already") {
				return true
			}
		}
		return false
	})
}

func TestFleetClickAfterExpiry(t *testing.T) {
	fake := slacktest.New(t, slacktest.Options{WaitTimeout: 60 * time.Second})
	app := fake.AddApp("garden")
	model := claudetest.NewModelServer(t, claudetest.Script(claudetest.Bash("touch late.txt", "create a file"), claudetest.Text("gave up")))
	ws := t.TempDir()
	// Slack fails herdbot's own update of the card at expiry, so the card
	// still shows its buttons afterwards.
	fake.FailWhen("chat.update", "internal_error", anyParam("Expired: nobody decided"))
	n := startNode(t, fake, app, agentstest.Options{ModelServer: model, Workspace: ws,
		Spec: func(s *agents.AgentSpec) { s.ApprovalTimeout = time.Second }})

	sent := fake.Mention(app, chanMention, alice, "please create late.txt", "")
	card := waitCard(fake)
	// The approval expires (fail closed): the agent is told no and answers.
	waitText(fake, sent.TS, "gave up")
	if got := updatesOf(fake, card.TS); got != 1 {
		t.Fatalf("%d updates of the card, want herdbot's (failed) expiry update", got)
	}
	if m, _ := fake.Message(chanMention, card.TS); len(m.Buttons()) != 3 || m.Edits != 0 {
		t.Fatalf("card %+v: want it unchanged, buttons shown", m)
	}

	clickStale(t, fake, app, card, "Expired: nobody decided in time — denied")
	if _, err := os.Stat(filepath.Join(ws, "late.txt")); err == nil {
		t.Fatal("the tool ran after the approval expired")
	}
	as, err := n.Store.Approvals(context.Background(), "garden", false, 10)
	if err != nil || len(as) != 1 || as[0].Status != agents.Expired || as[0].DecidedBy != "herdbot" {
		t.Fatalf("approvals %+v (%v): want one, expired by herdbot, not decided by the late click", as, err)
	}
}

func TestFleetClickAfterRestart(t *testing.T) {
	fake := slacktest.New(t, slacktest.Options{WaitTimeout: 60 * time.Second})
	app := fake.AddApp("garden")
	model := claudetest.NewModelServer(t, claudetest.Script(claudetest.Bash("touch restarted.txt", "create a file"), claudetest.Text("never")))
	ws, db := t.TempDir(), filepath.Join(t.TempDir(), "herdbot.db")
	first := startNode(t, fake, app, agentstest.Options{ModelServer: model, DB: db, Workspace: ws})
	sent := fake.Mention(app, chanMention, alice, "please create restarted.txt", "")
	card := waitCard(fake)
	first.WaitCardRecorded(t) // the crash comes after herdbot noted where its card is

	// herdbot dies with the approval pending: nothing more reaches its
	// database (a clean shutdown would settle the approval itself).
	first.Store.Close()
	first.Stop()
	if m, _ := fake.Message(chanMention, card.TS); len(m.Buttons()) != 3 {
		t.Fatalf("card %+v: want its buttons still shown after the crash", m)
	}

	// The new herdbot expires the approval at start; Slack fails its
	// update of the old card, so the card keeps its buttons.
	second := startNode(t, fake, app, agentstest.Options{ModelServer: model, DB: db, Workspace: ws,
		BeforeRecover: func() { fake.FailWhen("chat.update", "internal_error", anyParam("herdbot restarted")) }})
	if got := updatesOf(fake, card.TS); got != 1 {
		t.Fatalf("%d updates of the card, want Recover's (failed) update", got)
	}
	waitText(fake, sent.TS, "herdbot restarted while job")

	clickStale(t, fake, app, card, "Expired (herdbot restarted) — denied")
	if _, err := os.Stat(filepath.Join(ws, "restarted.txt")); err == nil {
		t.Fatal("the tool ran after the restart")
	}
	as, err := second.Store.Approvals(context.Background(), "garden", false, 10)
	if err != nil || len(as) != 1 || as[0].Status != agents.Expired || as[0].Reason != "expired (herdbot restarted)" {
		t.Fatalf("approvals %+v (%v): want one, expired by the restart", as, err)
	}
	js, err := second.Store.Jobs(context.Background(), agents.JobFilter{Agent: "garden"})
	if err != nil || len(js) != 1 || js[0].Status != agents.JobInterrupted {
		t.Fatalf("jobs %+v (%v): want the one job interrupted", js, err)
	}
}
