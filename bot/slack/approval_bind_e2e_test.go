package slack_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
	"github.com/herdbot/herdbot/store"
)

func actionID(t *testing.T, card slacktest.Message, choice string) string {
	t.Helper()
	for _, b := range card.Buttons() {
		if strings.HasSuffix(b.ActionID, ":"+choice) {
			return b.ActionID
		}
	}
	t.Fatalf("no %s button on %+v", choice, card.Buttons())
	return ""
}

// pendingCard waits for a card with buttons in chanMention other than skip.
func pendingCard(fake *slacktest.Server, skip string) slacktest.Message {
	var card slacktest.Message
	fake.WaitFor("approval card", func() bool {
		for _, m := range fake.Messages(chanMention) {
			if len(m.Buttons()) > 0 && m.TS != skip {
				card = m
				return true
			}
		}
		return false
	})
	return card
}

// waitEphemeral waits for an ephemeral message to user containing want.
func waitEphemeral(fake *slacktest.Server, user, want string) {
	fake.WaitFor("ephemeral "+want, func() bool {
		for _, e := range fake.Ephemerals(chanMention) {
			if e.User == user && strings.Contains(e.Text, want) {
				return true
			}
		}
		return false
	})
}

// TestFleetClickBoundToCard: a click carrying approval C's id on card A's
// message decides nothing and leaves card A as it was (it used to be
// overwritten with C's text, its buttons gone, while A stayed pending); a
// click from another workspace decides nothing. Both are told privately
// and audited; the real click on A then works.
func TestFleetClickBoundToCard(t *testing.T) {
	fake := slacktest.New(t, slacktest.Options{WaitTimeout: 60 * time.Second})
	app := fake.AddApp("garden")
	ws := t.TempDir()
	n := startNode(t, fake, app, agentstest.Options{Workspace: ws, Model: claudetest.Script(
		claudetest.Bash("touch c.txt", "create c"), claudetest.Text("c refused"),
		claudetest.Bash("touch a.txt", "create a"), claudetest.Text("a done"),
	)})
	first := fake.Mention(app, chanMention, alice, "create c.txt", "")
	c := pendingCard(fake, "")
	fake.WaitAck(app, fake.Click(app, slacktest.Click{Channel: chanMention, MessageTS: c.TS, User: alice, ActionID: actionID(t, c, bot.ChoiceDeny)}))
	waitText(fake, first.TS, "c refused")

	second := fake.Mention(app, chanMention, alice, "create a.txt", "")
	a := pendingCard(fake, c.TS)
	before, _ := fake.Message(chanMention, a.TS)

	// C's button id, delivered as a click on A's message.
	fake.WaitAck(app, fake.ClickRaw(app, slacktest.Click{Channel: chanMention, MessageTS: a.TS, User: alice,
		ActionID: actionID(t, c, bot.ChoiceOnce)}))
	waitEphemeral(fake, alice, "does not belong")
	// A's own button, from another workspace.
	fake.WaitAck(app, fake.ClickRaw(app, slacktest.Click{Channel: chanMention, MessageTS: a.TS, User: alice,
		ActionID: actionID(t, a, bot.ChoiceOnce), Team: "T0OTHER"}))
	waitEphemeral(fake, alice, "not the one garden serves")

	if now, _ := fake.Message(chanMention, a.TS); now.Text != before.Text || len(now.Buttons()) != 3 || now.Edits != 0 {
		t.Fatalf("card A changed by refused clicks: %+v", now)
	}
	if _, err := os.Stat(filepath.Join(ws, "a.txt")); err == nil {
		t.Fatal("a refused click let the tool run")
	}
	as, _ := n.Store.Approvals(context.Background(), "garden", false, 10)
	if len(as) != 2 || as[0].Status != agents.Pending || as[1].Status != agents.Denied {
		t.Fatalf("approvals %+v: want A pending, C denied", as)
	}
	for _, action := range []string{"approval.refused_wrong_card", "approval.refused_space"} {
		rows, err := n.Store.AuditLog(context.Background(), store.AuditFilter{Agent: "garden", ActionPrefix: action})
		if err != nil || len(rows) != 1 || rows[0].Actor != "slack:"+alice {
			t.Fatalf("audit %s: %+v %v", action, rows, err)
		}
	}

	fake.WaitAck(app, fake.Click(app, slacktest.Click{Channel: chanMention, MessageTS: a.TS, User: alice, ActionID: actionID(t, a, bot.ChoiceOnce)}))
	waitText(fake, second.TS, "a done")
	if _, err := os.Stat(filepath.Join(ws, "a.txt")); err != nil {
		t.Fatal("the approved tool did not run")
	}
}

// TestFleetLongInputAttached: a Write whose content is longer than a Slack
// message is uploaded as a file in the card's thread, holding the exact
// input; the card names it and shows the hash.
func TestFleetLongInputAttached(t *testing.T) {
	fake := slacktest.New(t, slacktest.Options{WaitTimeout: 60 * time.Second})
	app := fake.AddApp("garden")
	ws := t.TempDir()
	content := strings.Repeat("0123456789 abcdefghij\n", 700) // 15,400 characters: more than a Slack message (12,000)
	n := startNode(t, fake, app, agentstest.Options{Workspace: ws, Model: claudetest.Script(
		claudetest.Tool("Write", map[string]string{"file_path": filepath.Join(ws, "big.txt"), "content": content}),
		claudetest.Text("written"),
	)})
	sent := fake.Mention(app, chanMention, alice, "write big.txt", "")
	card := pendingCard(fake, "")
	as, _ := n.Store.Approvals(context.Background(), "garden", true, 1)
	if len(as) != 1 || !strings.Contains(card.Text, as[0].InputHash[:12]) {
		t.Fatalf("card %q, approvals %+v", card.Text, as)
	}
	name := "input-" + as[0].InputHash[:12] + ".json"
	var file slacktest.File
	fake.WaitFor("input file", func() bool {
		for _, f := range fake.Files(chanMention) {
			if f.Name == name {
				file = f
				return true
			}
		}
		return false
	})
	var in map[string]string
	if err := json.Unmarshal(file.Data, &in); err != nil || in["content"] != content || file.ThreadTS != sent.TS {
		t.Fatalf("file %s in thread %q (%v): want the exact input in the card's thread", file.Data, file.ThreadTS, err)
	}
	fake.WaitAck(app, fake.Click(app, slacktest.Click{Channel: chanMention, MessageTS: card.TS, User: alice, ActionID: actionID(t, card, bot.ChoiceOnce)}))
	waitText(fake, sent.TS, "written")
	if b, err := os.ReadFile(filepath.Join(ws, "big.txt")); err != nil || string(b) != content {
		t.Fatalf("big.txt differs from the approved content (%v)", err)
	}
}
