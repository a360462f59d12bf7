package discord_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/discord"
	"github.com/herdbot/herdbot/bot/discord/discordtest"
)

// startNode starts one herdbot process's worth of the fleet rig on w: its
// own store handle, Discord adapter and fleet (agentstest), with people
// holding the staff role (alice) as approvers. A test restarts herdbot by
// stopping one node and starting another on the same world, o.DB,
// o.Workspace and o.ModelServer. It waits until the adapter has identified
// and registered its commands.
func startNode(t *testing.T, w *world, o agentstest.Options) *agentstest.Rig {
	t.Helper()
	ad, err := discord.New(w.config(), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	o.Chats = []agentstest.Chat{{Platform: bot.Discord, Adapter: ad}}
	o.Approvers = map[string][]string{bot.Discord: {"role:" + w.staff}}
	identified := w.bot.Identifies()
	n := agentstest.Start(t, o)
	if !srv.WaitFor(wait, func() bool {
		return w.bot.Ready() && w.bot.Identifies() > identified && len(srv.Commands(w.bot, w.guild)) == 9
	}) {
		t.Fatal("adapter did not connect")
	}
	return n
}

// waitCard waits for the bot's first message with buttons in ch.
func waitCard(t *testing.T, w *world, ch string) discordtest.Message {
	t.Helper()
	var card discordtest.Message
	if !srv.WaitFor(e2eWait, func() bool {
		for _, m := range w.botMessages(ch) {
			if len(m.Buttons()) > 0 {
				card = m
				return true
			}
		}
		return false
	}) {
		t.Fatal("no approval card")
	}
	return card
}

func buttonID(t *testing.T, card discordtest.Message, choice string) string {
	t.Helper()
	for _, b := range card.Buttons() {
		if strings.HasSuffix(b.CustomID, ":"+choice) {
			return b.CustomID
		}
	}
	t.Fatalf("no %q button on %+v", choice, card.Buttons())
	return ""
}

// failedCalls counts recorded calls with this method, path pattern and
// status.
func failedCalls(method, pattern string, status int) int {
	n := 0
	for _, c := range srv.CallsTo(method, pattern) {
		if c.Status == status {
			n++
		}
	}
	return n
}

// clickStale has alice click "Allow once" on a card that still shows its
// buttons although its approval is over, and checks the click is answered
// cleanly: acknowledged in time, the card edited to say want (buttons
// gone), alice told privately, and nothing run.
func clickStale(t *testing.T, w *world, card discordtest.Message, want string) {
	t.Helper()
	i, err := srv.Click(w.alice.ID, w.general, card.ID, buttonID(t, card, bot.ChoiceOnce))
	if err != nil {
		t.Fatal(err)
	}
	st := waitAnswered(t, i, w.general, 1)
	if st.Failed || st.AckType != 6 {
		t.Fatalf("click on a stale card: %+v, want a deferred update in time (no \"This interaction failed\")", st)
	}
	m, _ := srv.Message(w.general, card.ID)
	if !strings.Contains(m.Content, want) || len(m.Buttons()) != 0 || m.Edits == 0 {
		t.Fatalf("card after the click: %q with %d buttons, want %q and no buttons", m.Content, len(m.Buttons()), want)
	}
	notice, _ := srv.Message(w.general, st.FollowupIDs[0])
	if !notice.Ephemeral || notice.VisibleTo != w.alice.ID || !strings.Contains(notice.Content, "already") {
		t.Fatalf("notice %+v, want an ephemeral \"already …\" to alice", notice)
	}
}

func TestFleetClickAfterExpiry(t *testing.T) {
	w := newWorld()
	model := claudetest.NewModelServer(t, claudetest.Script(claudetest.Bash("touch late.txt", "create a file"), claudetest.Text("gave up")))
	ws := t.TempDir()
	// Discord is down when the approval expires: herdbot's own edit of the
	// card fails, so the card still shows its buttons afterwards.
	srv.FailNext("PATCH", "/channels/"+w.general+"/messages/*", "Expired: nobody decided", http.StatusServiceUnavailable, 1)
	n := startNode(t, w, agentstest.Options{ModelServer: model, Workspace: ws,
		Spec: func(s *agents.AgentSpec) { s.ApprovalTimeout = time.Second }})

	srv.SendMessage(w.alice.ID, w.general, w.mention()+" please create late.txt")
	card := waitCard(t, w, w.general)
	// The approval expires (fail closed): the agent is told no and answers.
	waitBotIn(t, w, w.general, "gave up")
	if got := failedCalls("PATCH", "/channels/"+w.general+"/messages/"+card.ID, http.StatusServiceUnavailable); got != 1 {
		t.Fatalf("%d failed edits of the card, want herdbot's expiry edit to have failed once", got)
	}
	if m, _ := srv.Message(w.general, card.ID); len(m.Buttons()) != 3 {
		t.Fatalf("card %+v: want its buttons still shown", m)
	}

	clickStale(t, w, card, "Expired: nobody decided in time — denied")
	if _, err := os.Stat(filepath.Join(ws, "late.txt")); err == nil {
		t.Fatal("the tool ran after the approval expired")
	}
	as, err := n.Store.Approvals(context.Background(), "garden", false, 10)
	if err != nil || len(as) != 1 || as[0].Status != agents.Expired || as[0].DecidedBy != "herdbot" {
		t.Fatalf("approvals %+v (%v): want one, expired by herdbot, not decided by the late click", as, err)
	}
}

func TestFleetClickAfterRestart(t *testing.T) {
	w := newWorld()
	model := claudetest.NewModelServer(t, claudetest.Script(claudetest.Bash("touch restarted.txt", "create a file"), claudetest.Text("never")))
	ws, db := t.TempDir(), filepath.Join(t.TempDir(), "herdbot.db")
	first := startNode(t, w, agentstest.Options{ModelServer: model, DB: db, Workspace: ws})
	srv.SendMessage(w.alice.ID, w.general, w.mention()+" please create restarted.txt")
	card := waitCard(t, w, w.general)
	first.WaitCardRecorded(t) // the crash comes after herdbot noted where its card is

	// herdbot dies with the approval pending: nothing more reaches its
	// database (a clean shutdown would settle the approval itself).
	first.Store.Close()
	first.Stop()
	if m, _ := srv.Message(w.general, card.ID); len(m.Buttons()) != 3 {
		t.Fatalf("card %+v: want its buttons still shown after the crash", m)
	}

	// The new herdbot expires the approval at start; its edit of the old
	// card fails (Discord is down), so the card keeps its buttons.
	second := startNode(t, w, agentstest.Options{ModelServer: model, DB: db, Workspace: ws,
		BeforeRecover: func() {
			srv.FailNext("PATCH", "/channels/"+w.general+"/messages/"+card.ID, "herdbot restarted", http.StatusServiceUnavailable, 1)
		}})
	if got := failedCalls("PATCH", "/channels/"+w.general+"/messages/"+card.ID, http.StatusServiceUnavailable); got != 1 {
		t.Fatalf("%d failed edits of the card, want Recover's edit to have failed once", got)
	}
	waitBotIn(t, w, w.general, "herdbot restarted while job")

	clickStale(t, w, card, "Expired (herdbot restarted) — denied")
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

// waitBotIn waits for a bot message in ch containing want.
func waitBotIn(t *testing.T, w *world, ch, want string) discordtest.Message {
	t.Helper()
	var found discordtest.Message
	if !srv.WaitFor(e2eWait, func() bool {
		for _, m := range w.botMessages(ch) {
			if strings.Contains(m.Content, want) {
				found = m
				return true
			}
		}
		return false
	}) {
		var got []string
		for _, m := range w.botMessages(ch) {
			got = append(got, m.Content)
		}
		t.Fatalf("no bot message containing %q; bot said %q", want, got)
	}
	return found
}
