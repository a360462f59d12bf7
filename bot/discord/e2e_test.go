package discord_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/discord/discordtest"
	"github.com/herdbot/herdbot/store"
)

// fleetRig is the fleet rig (agentstest: the real Claude Code CLI, the
// fake model, a real SQLite store) with the Discord adapter on the fake
// Discord, in a world of its own. Approvers are people with the staff role
// (alice).
type fleetRig struct {
	*world
	store *store.DB
	ws    string
}

func startFleet(t *testing.T, script claudetest.Responder, opts func(*agents.AgentSpec)) *fleetRig {
	t.Helper()
	w := newWorld()
	n := startNode(t, w, agentstest.Options{Model: script, Spec: opts, Stream: agentstest.FastStream})
	return &fleetRig{world: w, store: n.Store, ws: n.Workspace}
}

const e2eWait = 60 * time.Second

// waitBot waits for a bot message in ch containing want.
func (r *fleetRig) waitBot(t *testing.T, ch, want string) discordtest.Message {
	t.Helper()
	return waitBotIn(t, r.world, ch, want)
}

func (r *fleetRig) jobs(t *testing.T, n int) []agents.Job {
	t.Helper()
	var js []agents.Job
	ok := srv.WaitFor(e2eWait, func() bool {
		all, err := r.store.Jobs(context.Background(), agents.JobFilter{Agent: "garden"})
		if err != nil {
			return false
		}
		js = js[:0]
		for _, j := range all {
			if !j.Finished.IsZero() {
				js = append(js, j)
			}
		}
		return len(js) >= n
	})
	// The fake only wakes WaitFor on chat traffic; the last reply is posted
	// after the job row is final, so by then the condition holds.
	if !ok {
		t.Fatalf("want %d finished jobs, have %+v", n, js)
	}
	return js
}

func TestFleetMentionReplyAndReset(t *testing.T) {
	r := startFleet(t, claudetest.Script(claudetest.Text("Plant **garlic** in October."), claudetest.Text("fresh answer")), nil)
	srv.SendMessage(r.alice.ID, r.general, r.mention()+" what now?")
	// The gateway drops mid-run: the reply goes over REST anyway and the
	// session resumes.
	r.bot.Drop()
	r.waitBot(t, r.general, "Plant **garlic** in October.")
	if !srv.WaitFor(wait, func() bool { return r.bot.Ready() && r.bot.Resumes() == 1 }) {
		t.Fatal("gateway did not resume")
	}
	first := r.jobs(t, 1)

	i, err := srv.SlashCommand(r.bot, r.alice.ID, r.general, "reset", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.waitBot(t, r.general, "Session reset")
	if st := i.State(); st.Failed {
		t.Fatalf("/reset interaction failed: %+v", st)
	}
	srv.SendMessage(r.alice.ID, r.general, r.mention()+" new topic")
	r.waitBot(t, r.general, "fresh answer")
	js := r.jobs(t, 2)
	if js[0].SessionID == "" || js[0].SessionID == first[0].SessionID {
		t.Fatalf("after /reset the session must be new: %q then %q", first[0].SessionID, js[0].SessionID)
	}
	if js[0].Conversation != (bot.Target{Platform: bot.Discord, Space: r.guild, Channel: r.general}).Key() {
		t.Errorf("conversation %q", js[0].Conversation)
	}
}

func TestFleetApprovalByButton(t *testing.T) {
	r := startFleet(t, claudetest.Script(claudetest.Bash("touch allowed.txt", "create a file"), claudetest.Text("made the file")), nil)
	srv.SendMessage(r.alice.ID, r.general, r.mention()+" please create the file")

	card := waitCard(t, r.world, r.general)
	var once string
	for _, b := range card.Buttons() {
		if strings.HasSuffix(b.CustomID, ":once") {
			once = b.CustomID
		}
	}
	if once == "" || len(card.Buttons()) != 3 {
		t.Fatalf("buttons %+v, want allow once / for session / deny", card.Buttons())
	}

	// Bob has no staff role: told so privately, nothing decided.
	i, err := srv.Click(r.bob.ID, r.general, card.ID, once)
	if err != nil {
		t.Fatal(err)
	}
	st := waitAnswered(t, i, r.general, 1)
	notice, _ := srv.Message(r.general, st.FollowupIDs[0])
	if !notice.Ephemeral || notice.VisibleTo != r.bob.ID {
		t.Fatalf("notice to bob %+v, want ephemeral", notice)
	}
	if _, err := os.Stat(filepath.Join(r.ws, "allowed.txt")); err == nil {
		t.Fatal("tool ran after a non-approver's click")
	}
	if m, _ := srv.Message(r.general, card.ID); len(m.Buttons()) == 0 {
		t.Fatal("card lost its buttons after a non-approver's click")
	}

	// Alice (staff) approves: the card shows the decision without buttons.
	i, err = srv.Click(r.alice.ID, r.general, card.ID, once)
	if err != nil {
		t.Fatal(err)
	}
	if st := waitAnswered(t, i, r.general, 0); st.Failed {
		t.Fatalf("click failed: %+v", st)
	}
	if !srv.WaitFor(e2eWait, func() bool {
		m, _ := srv.Message(r.general, card.ID)
		return m.Edits > 0 && len(m.Buttons()) == 0
	}) {
		t.Fatal("card not updated after the approver's click")
	}
	r.waitBot(t, r.general, "made the file")
	if _, err := os.Stat(filepath.Join(r.ws, "allowed.txt")); err != nil {
		t.Fatalf("approved tool did not run: %v", err)
	}
	as, err := r.store.Approvals(context.Background(), "garden", false, 10)
	if err != nil || len(as) != 1 || as[0].Status != agents.Allowed || !strings.EqualFold(as[0].DecidedBy, "alice") {
		t.Fatalf("approvals = %+v, %v", as, err)
	}
}

func TestFleetStop(t *testing.T) {
	r := startFleet(t, claudetest.Script(claudetest.Bash("sleep 60", "wait"), claudetest.Text("never")),
		func(s *agents.AgentSpec) { s.Options.AllowedTools = []string{"Bash(sleep *)"} })
	srv.SendMessage(r.alice.ID, r.general, r.mention()+" sleep for a minute")
	r.waitBot(t, r.general, "Bash: sleep 60")
	i, err := srv.SlashCommand(r.bot, r.alice.ID, r.general, "stop", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.waitBot(t, r.general, "Stopping job")
	if st := i.State(); st.Failed {
		t.Fatalf("/stop interaction failed: %+v", st)
	}
	js := r.jobs(t, 1)
	if js[0].Status != agents.JobCancelled {
		t.Fatalf("job %+v, want cancelled", js[0])
	}
}
