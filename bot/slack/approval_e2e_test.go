package slack_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/sandbox/native"
	"github.com/herdbot/herdbot/store"
)

// node is one herdbot process's worth of the fleet rig: its own store
// handle, Slack adapter and fleet, on a fake Slack, store file and
// workspace that outlive it (so a test can restart herdbot).
type node struct {
	store *store.DB
	stop  func() // ends Serve and Run and waits for them; idempotent
}

type nodeConfig struct {
	fake     *slacktest.Server
	app      slacktest.App
	db       string
	modelURL string
	ws       string
	spec     func(*agents.AgentSpec)
	// beforeRecover runs after the fleet is built, before Recover.
	beforeRecover func()
}

func startNode(t *testing.T, c nodeConfig) *node {
	t.Helper()
	bin := testenvClaude(t)
	log := testLogger(t)
	st, err := store.Open(context.Background(), c.db, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ad, err := slack.New(slack.Config{
		Agent: "garden", BotToken: c.app.BotToken, AppToken: c.app.AppToken, APIURL: c.fake.APIURL(),
		SlashCommand: "/garden", Channels: []slack.Channel{{ID: chanMention}},
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	mux := bot.NewMux()
	mux.Register("garden", bot.Slack, ad)
	spec := agents.AgentSpec{
		Name:    "garden",
		Options: agents.RunOptions{PermissionMode: "default"},
		Sandbox: sandbox.Spec{Workspace: c.ws, StateDir: t.TempDir(),
			Env: append(claudetest.Env(c.modelURL), "PATH=/usr/local/bin:/usr/bin:/bin")},
		Approvers:       map[string][]string{bot.Slack: {alice}},
		ApprovalTimeout: time.Minute,
	}
	if c.spec != nil {
		c.spec(&spec)
	}
	f, err := agents.New(agents.Config{
		Fleet: "test", Agents: []agents.AgentSpec{spec}, Store: st, Backend: native.New(log),
		Runtime: claude.New(claude.Config{Binary: bin, Log: log}), Chat: mux, Log: log,
		Stream: bot.StreamOptions{EditInterval: 50 * time.Millisecond}, Grace: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.beforeRecover != nil {
		c.beforeRecover()
	}
	if err := f.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	opened, _ := c.fake.Connections(c.app)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = f.Serve(ctx) })
	wg.Go(func() {
		if err := ad.Run(ctx, f); err != nil {
			t.Errorf("adapter Run: %v", err)
		}
	})
	var once sync.Once
	n := &node{store: st, stop: func() { once.Do(func() { cancel(); wg.Wait() }) }}
	t.Cleanup(n.stop)
	c.fake.WaitConnected(c.app, opened+1)
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

func waitText(fake *slacktest.Server, thread, want string) {
	fake.WaitFor("bot message "+want, func() bool {
		for _, m := range fake.Messages(chanMention) {
			if m.ThreadTS == thread && strings.Contains(m.Text, want) {
				return true
			}
		}
		return false
	})
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
		if strings.HasSuffix(b.ActionID, ":"+agents.ChoiceOnce) {
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
	n := startNode(t, nodeConfig{fake: fake, app: app, db: filepath.Join(t.TempDir(), "herdbot.db"), modelURL: model.URL, ws: ws,
		spec: func(s *agents.AgentSpec) { s.ApprovalTimeout = time.Second }})

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
	as, err := n.store.Approvals(context.Background(), "garden", false, 10)
	if err != nil || len(as) != 1 || as[0].Status != agents.ApprovalExpired || as[0].DecidedBy != "herdbot" {
		t.Fatalf("approvals %+v (%v): want one, expired by herdbot, not decided by the late click", as, err)
	}
}

func TestFleetClickAfterRestart(t *testing.T) {
	fake := slacktest.New(t, slacktest.Options{WaitTimeout: 60 * time.Second})
	app := fake.AddApp("garden")
	model := claudetest.NewModelServer(t, claudetest.Script(claudetest.Bash("touch restarted.txt", "create a file"), claudetest.Text("never")))
	ws, db := t.TempDir(), filepath.Join(t.TempDir(), "herdbot.db")
	first := startNode(t, nodeConfig{fake: fake, app: app, db: db, modelURL: model.URL, ws: ws})
	sent := fake.Mention(app, chanMention, alice, "please create restarted.txt", "")
	card := waitCard(fake)

	// herdbot dies with the approval pending: nothing more reaches its
	// database (a clean shutdown would settle the approval itself).
	first.store.Close()
	first.stop()
	if m, _ := fake.Message(chanMention, card.TS); len(m.Buttons()) != 3 {
		t.Fatalf("card %+v: want its buttons still shown after the crash", m)
	}

	// The new herdbot expires the approval at start; Slack fails its
	// update of the old card, so the card keeps its buttons.
	second := startNode(t, nodeConfig{fake: fake, app: app, db: db, modelURL: model.URL, ws: ws,
		beforeRecover: func() { fake.FailWhen("chat.update", "internal_error", anyParam("herdbot restarted")) }})
	if got := updatesOf(fake, card.TS); got != 1 {
		t.Fatalf("%d updates of the card, want Recover's (failed) update", got)
	}
	waitText(fake, sent.TS, "herdbot restarted while job")

	clickStale(t, fake, app, card, "Expired (herdbot restarted) — denied")
	if _, err := os.Stat(filepath.Join(ws, "restarted.txt")); err == nil {
		t.Fatal("the tool ran after the restart")
	}
	as, err := second.store.Approvals(context.Background(), "garden", false, 10)
	if err != nil || len(as) != 1 || as[0].Status != agents.ApprovalExpired || as[0].Reason != "expired (herdbot restarted)" {
		t.Fatalf("approvals %+v (%v): want one, expired by the restart", as, err)
	}
	js, err := second.store.Jobs(context.Background(), agents.JobFilter{Agent: "garden"})
	if err != nil || len(js) != 1 || js[0].Status != agents.JobInterrupted {
		t.Fatalf("jobs %+v (%v): want the one job interrupted", js, err)
	}
}
