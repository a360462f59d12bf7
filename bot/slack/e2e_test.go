package slack_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
	"github.com/herdbot/herdbot/store"
)

// fleetRig is the fleet rig (agentstest: the real Claude Code CLI, the
// fake model, a real SQLite store) with the Slack adapter on a fake Slack
// of its own.
type fleetRig struct {
	fake  *slacktest.Server
	app   slacktest.App
	store *store.DB
	ws    string
}

func startFleet(t *testing.T, script claudetest.Responder) *fleetRig {
	t.Helper()
	r := &fleetRig{fake: slacktest.New(t, slacktest.Options{})}
	r.app = r.fake.AddApp("garden")
	n := startNode(t, r.fake, r.app, agentstest.Options{Model: script})
	r.store, r.ws = n.Store, n.Workspace
	return r
}

// waitThread waits for a bot message in thread whose text contains want.
func (r *fleetRig) waitThread(t *testing.T, thread, want string) slacktest.Message {
	t.Helper()
	return waitText(r.fake, thread, want)
}

func TestFleetMentionGetsThreadedReply(t *testing.T) {
	r := startFleet(t, claudetest.Script(claudetest.Text("Plant **garlic** in October.")))
	sent := r.fake.Mention(r.app, chanMention, alice, "what now?", "")
	// The socket drops mid-run: the reply goes over the Web API anyway,
	// and the socket comes back.
	r.fake.WaitAck(r.app, sent.Envelope)
	r.fake.DropSockets(r.app)
	r.waitThread(t, sent.TS, "Plant *garlic* in October.")
	r.fake.WaitConnected(r.app, 2)
	for _, m := range r.fake.Messages(chanMention) {
		if m.ThreadTS != sent.TS {
			t.Fatalf("message outside the thread: %+v", m)
		}
	}
}

func TestFleetButtonApprovalBySlackUsers(t *testing.T) {
	r := startFleet(t, claudetest.Script(claudetest.Bash("touch allowed.txt", "create a file"), claudetest.Text("made the file")))
	sent := r.fake.Mention(r.app, chanMention, alice, "please create the file", "")

	card := waitCard(r.fake)
	if card.ThreadTS != sent.TS {
		t.Fatalf("card not in the thread: %+v", card)
	}
	var once string
	for _, b := range card.Buttons() {
		if strings.HasSuffix(b.ActionID, ":once") {
			once = b.ActionID
		}
	}
	if once == "" {
		t.Fatalf("no allow-once button in %+v", card.Buttons())
	}

	// Bob is not an approver: told so, nothing decided.
	r.fake.Click(r.app, slacktest.Click{Channel: chanMention, MessageTS: card.TS, User: bob, ActionID: once})
	r.fake.WaitFor("notice to bob", func() bool {
		for _, e := range r.fake.Ephemerals(chanMention) {
			if e.User == bob {
				return true
			}
		}
		return false
	})
	if _, err := os.Stat(filepath.Join(r.ws, "allowed.txt")); err == nil {
		t.Fatal("tool ran after a non-approver's click")
	}
	if m, _ := r.fake.Message(chanMention, card.TS); len(m.Buttons()) == 0 {
		t.Fatal("card lost its buttons after a non-approver's click")
	}

	// Alice approves: the card is updated without buttons, the run goes on.
	r.fake.Click(r.app, slacktest.Click{Channel: chanMention, MessageTS: card.TS, User: alice, ActionID: once})
	r.fake.WaitFor("card decided", func() bool {
		m, _ := r.fake.Message(chanMention, card.TS)
		return m.Edits > 0 && len(m.Buttons()) == 0
	})
	r.waitThread(t, sent.TS, "made the file")
	if _, err := os.Stat(filepath.Join(r.ws, "allowed.txt")); err != nil {
		t.Fatalf("approved tool did not run: %v", err)
	}
	as, err := r.store.Approvals(context.Background(), "garden", false, 10)
	if err != nil || len(as) != 1 || as[0].Status != agents.Allowed || !strings.EqualFold(as[0].DecidedBy, alice) {
		t.Fatalf("approvals = %+v, %v", as, err)
	}
}

func TestFleetSlashCommands(t *testing.T) {
	r := startFleet(t, claudetest.Script(claudetest.Text("Compost weekly.")))
	for _, name := range []string{"status", "help", "reset", "stop"} {
		before := len(r.fake.Responses())
		env := r.fake.Slash(r.app, slacktest.Slash{Command: "/garden", Text: name, Channel: chanMention, User: alice})
		k := r.fake.WaitAck(r.app, env)
		text := ""
		if k.Payload != nil {
			text = decodeAck(t, k).Text
		} else {
			r.fake.WaitFor(name+" reply", func() bool { return len(r.fake.Responses()) > before })
			text = r.fake.Responses()[before].Text
		}
		if strings.TrimSpace(text) == "" {
			t.Fatalf("/garden %s: empty reply", name)
		}
	}
	env := r.fake.Slash(r.app, slacktest.Slash{Command: "/garden", Text: "how often to compost?", Channel: chanMention, User: alice})
	r.fake.WaitAck(r.app, env)
	var root string
	r.fake.WaitFor("prompt posted", func() bool {
		for _, m := range r.fake.Messages(chanMention) {
			if strings.Contains(m.Text, "asked: how often to compost?") {
				root = m.TS
				return true
			}
		}
		return false
	})
	r.waitThread(t, root, "Compost weekly.")
}
