package discord_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/discord/discordtest"
	"github.com/herdbot/herdbot/store"
)

// cards follows the approval cards the bot posts in one channel.
type cards struct {
	t    *testing.T
	w    *world
	ch   string
	seen map[string]bool
}

func newCards(t *testing.T, w *world, ch string) *cards {
	return &cards{t: t, w: w, ch: ch, seen: map[string]bool{}}
}

// next waits for a card not seen before.
func (c *cards) next() discordtest.Message {
	c.t.Helper()
	var card discordtest.Message
	if !srv.WaitFor(e2eWait, func() bool {
		for _, m := range c.w.botMessages(c.ch) {
			if len(m.Buttons()) > 0 && !c.seen[m.ID] {
				card = m
				return true
			}
		}
		return false
	}) {
		c.t.Fatal("no new approval card")
	}
	c.seen[card.ID] = true
	return card
}

// none checks that no card was posted that has not been seen.
func (c *cards) none() {
	c.t.Helper()
	for _, m := range c.w.botMessages(c.ch) {
		if !c.seen[m.ID] && (len(m.Buttons()) > 0 || strings.Contains(m.Content, "wants to use")) {
			c.t.Fatalf("unexpected approval card: %q", m.Content)
		}
	}
}

// click has user click choice on card and waits until it is answered.
func click(t *testing.T, w *world, user, ch string, card discordtest.Message, choice string) discordtest.InteractionState {
	t.Helper()
	i, err := srv.Click(user, ch, card.ID, buttonID(t, card, choice))
	if err != nil {
		t.Fatal(err)
	}
	return waitAnswered(t, i, ch, 0)
}

// TestFleetSessionGrantIsExact: "allow for this session" allows the same
// input again for the person whose run asked, and nothing else: not a
// command the approved one is a prefix or glob of, not the same command
// with `;`, `&&`, `$(...)` variations, not the same command in a run
// started by someone else.
func TestFleetSessionGrantIsExact(t *testing.T) {
	const (
		subst = "touch note-$(date +%s).txt"
		glob  = "chmod 644 *.txt"
	)
	script := claudetest.Script(
		claudetest.Bash(subst, "note"), claudetest.Text("t1"),
		claudetest.Bash("touch pwned1.txt", "note"), claudetest.Text("t2"),
		claudetest.Bash(glob, "perm"), claudetest.Text("t3"),
		claudetest.Bash("chmod 644 x.txt; touch pwned2.txt", "perm"), claudetest.Text("t4"),
		claudetest.Bash(glob+" && touch pwned3.txt", "perm"), claudetest.Text("t5"),
		claudetest.Bash(glob, "perm"), claudetest.Text("t6"),
		claudetest.Bash(subst, "note"), claudetest.Text("t7"),
		claudetest.Bash(glob, "perm"), claudetest.Text("t8"),
	)
	r := startFleet(t, script, nil)
	cs := newCards(t, r.world, r.general)
	say := func(user, text string) { srv.SendMessage(user, r.general, r.mention()+" "+text) }

	say(r.alice.ID, "one")
	c1 := cs.next()
	for _, want := range []string{"**command**: `" + subst + "`", "Allow this exact input for the session",
		"in runs started by alice", "Any other input, or a request in a run started by anyone else, gets a new card"} {
		if !strings.Contains(c1.Content, want) {
			t.Fatalf("card %q does not say %q", c1.Content, want)
		}
	}
	if b := c1.Buttons(); len(b) != 3 || b[1].Label != "Allow this exact input for the session" {
		t.Fatalf("buttons %+v", b)
	}
	click(t, r.world, r.alice.ID, r.general, c1, bot.ChoiceSession)
	r.waitBot(t, r.general, "t1")

	// Not covered: another command.
	say(r.alice.ID, "two")
	click(t, r.world, r.alice.ID, r.general, cs.next(), bot.ChoiceDeny)
	r.waitBot(t, r.general, "t2")
	// A glob approved for the session is that string, not a pattern.
	say(r.alice.ID, "three")
	c3 := cs.next()
	if !strings.Contains(c3.Content, "**command**: `"+glob+"`") {
		t.Fatalf("card 3 %q", c3.Content)
	}
	click(t, r.world, r.alice.ID, r.general, c3, bot.ChoiceSession)
	r.waitBot(t, r.general, "t3")
	// Not covered: what the glob would match, with `;` or `&&` after it.
	say(r.alice.ID, "four")
	click(t, r.world, r.alice.ID, r.general, cs.next(), bot.ChoiceDeny)
	r.waitBot(t, r.general, "t4")
	say(r.alice.ID, "five")
	click(t, r.world, r.alice.ID, r.general, cs.next(), bot.ChoiceDeny)
	r.waitBot(t, r.general, "t5")
	// Covered: exactly the approved inputs, from alice, in this session.
	say(r.alice.ID, "six")
	r.waitBot(t, r.general, "t6")
	say(r.alice.ID, "seven")
	r.waitBot(t, r.general, "t7")
	cs.none()
	// Bob's run asking for the identical command gets a card of its own.
	say(r.bob.ID, "eight")
	c8 := cs.next()
	if !strings.Contains(c8.Content, "in runs started by bob") {
		t.Fatalf("card 8 %q", c8.Content)
	}
	click(t, r.world, r.alice.ID, r.general, c8, bot.ChoiceDeny)
	r.waitBot(t, r.general, "t8")

	for _, f := range []string{"pwned1.txt", "pwned2.txt", "pwned3.txt"} {
		if _, err := os.Stat(filepath.Join(r.ws, f)); err == nil {
			t.Errorf("%s exists: a command nobody approved ran", f)
		}
	}
	as, err := r.store.Approvals(context.Background(), "garden", false, 20)
	if err != nil || len(as) != 6 {
		t.Fatalf("%d approvals (%v), want 6 cards: 1, 2, 3, 4, 5 and bob's", len(as), err)
	}
	used, err := r.store.AuditLog(context.Background(), store.AuditFilter{Agent: "garden", ActionPrefix: "approval.session_grant_used"})
	if err != nil || len(used) != 2 {
		t.Fatalf("session grant uses %+v (%v), want 2", used, err)
	}
	js := r.jobs(t, 8)
	for _, j := range js[1:] {
		if j.SessionID != js[0].SessionID {
			t.Fatalf("one conversation, one session: %+v", js)
		}
	}
}

// TestFleetCardShowsWholeInput: a 500-character command is on the card in
// full; a Write whose content does not fit in a Discord message comes as a
// file holding the exact input. The card shows the input's hash, the
// decision is stored with it, and the tool runs with exactly that input.
func TestFleetCardShowsWholeInput(t *testing.T) {
	ws := t.TempDir()
	long := "printf %s " + strings.Repeat("A", 456) + " > long.txt; touch hidden-tail.txt"
	content := strings.Repeat("line of the file that is going to be written\n", 70) + "the end: rm -rf nothing\n"
	script := claudetest.Script(
		claudetest.Bash(long, "long one"), claudetest.Text("bash done"),
		claudetest.Tool("Write", map[string]string{"file_path": filepath.Join(ws, "written.txt"), "content": content}),
		claudetest.Text("write done"),
	)
	w := newWorld()
	n := startNode(t, w, agentstest.Options{Model: script, Workspace: ws, Stream: agentstest.FastStream})
	cs := newCards(t, w, w.general)

	srv.SendMessage(w.alice.ID, w.general, w.mention()+" run the long one")
	c1 := cs.next()
	as, err := n.Store.Approvals(context.Background(), "garden", true, 1)
	if err != nil || len(as) != 1 {
		t.Fatalf("pending approvals %+v %v", as, err)
	}
	a1 := as[0]
	if len(long) != 500 || !strings.Contains(c1.Content, "```\n"+long+"\n```") {
		t.Fatalf("card does not show the whole %d-character command: %q", len(long), c1.Content)
	}
	if a1.InputHash != agents.InputHash(a1.Input) || !strings.Contains(c1.Content, "sha256 `"+a1.InputHash[:12]+"`") {
		t.Fatalf("card %q, want the hash %s of the stored input", c1.Content, a1.InputHash)
	}
	click(t, w, w.alice.ID, w.general, c1, bot.ChoiceOnce)
	waitBotIn(t, w, w.general, "bash done")
	if b, err := os.ReadFile(filepath.Join(ws, "long.txt")); err != nil || string(b) != strings.Repeat("A", 456) {
		t.Fatalf("long.txt %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(ws, "hidden-tail.txt")); err != nil {
		t.Fatal("the command's tail did not run as shown")
	}

	srv.SendMessage(w.alice.ID, w.general, w.mention()+" write the file")
	c2 := cs.next()
	if len(c2.Attachments) != 1 || !strings.Contains(c2.Content, "read it whole in the attached file") {
		t.Fatalf("card %q with %d attachments, want the input as a file", c2.Content, len(c2.Attachments))
	}
	var att map[string]string
	if err := json.Unmarshal(c2.Attachments[0].Data, &att); err != nil || att["content"] != content ||
		att["file_path"] != filepath.Join(ws, "written.txt") {
		t.Fatalf("attachment %s (%v), want the exact input", c2.Attachments[0].Data, err)
	}
	as, _ = n.Store.Approvals(context.Background(), "garden", true, 1)
	a2 := as[0]
	if a2.Tool != "Write" || c2.Attachments[0].Filename != "input-"+a2.InputHash[:12]+".json" ||
		!strings.Contains(c2.Content, "sha256 `"+a2.InputHash[:12]+"`") {
		t.Fatalf("card %q / file %q for approval %+v", c2.Content, c2.Attachments[0].Filename, a2)
	}
	click(t, w, w.alice.ID, w.general, c2, bot.ChoiceOnce)
	waitBotIn(t, w, w.general, "write done")
	if b, err := os.ReadFile(filepath.Join(ws, "written.txt")); err != nil || string(b) != content {
		t.Fatalf("written.txt differs from the approved content (%v)", err)
	}
	// The decisions are stored and audited with the hashes shown.
	for _, a := range []agents.Approval{a1, a2} {
		got, _ := n.Store.Approval(context.Background(), a.ID)
		rows, _ := n.Store.AuditLog(context.Background(), store.AuditFilter{Subject: a.ID, ActionPrefix: "approval.decided"})
		if got.Status != agents.Allowed || got.InputHash != a.InputHash || len(rows) != 1 ||
			!strings.Contains(rows[0].Detail, a.InputHash) {
			t.Fatalf("approval %+v audit %+v", got, rows)
		}
	}
}

// TestFleetClickBoundToCard: a click decides only the approval whose card
// was clicked, in a guild the agent serves; everything else is answered
// privately, changes no card, and is audited.
func TestFleetClickBoundToCard(t *testing.T) {
	w := newWorld()
	// A second guild the bot is in but does not serve, where alice also
	// holds the approvers' role id.
	other := srv.AddGuild("elsewhere")
	otherCh := srv.AddChannel(other, "lobby")
	srv.AddMember(other, w.bot.User.ID)
	srv.AddMember(other, w.alice.ID, w.staff)
	ws := t.TempDir()
	n := startNode(t, w, agentstest.Options{Workspace: ws, Stream: agentstest.FastStream,
		Model: claudetest.Script(claudetest.Bash("touch bound.txt", "create"), claudetest.Text("done"))})
	srv.SendMessage(w.alice.ID, w.general, w.mention()+" create bound.txt")
	card := waitCard(t, w, w.general)
	once := buttonID(t, card, bot.ChoiceOnce)

	refused := func(ch string, m discordtest.Message, want string) {
		t.Helper()
		i, err := srv.Click(w.alice.ID, ch, m.ID, once)
		if err != nil {
			t.Fatal(err)
		}
		st := waitAnswered(t, i, ch, 1)
		notice, _ := srv.Message(ch, st.FollowupIDs[0])
		if !notice.Ephemeral || notice.VisibleTo != w.alice.ID || !strings.Contains(notice.Content, want) {
			t.Fatalf("notice %+v, want an ephemeral %q", notice, want)
		}
		if got, _ := srv.Message(ch, m.ID); got.Edits != 0 || got.Content != m.Content {
			t.Fatalf("the clicked message was changed: %+v", got)
		}
	}
	// The approval's id on a message that is not its card.
	decoy := srv.PostAsBot(w.bot, w.general, "a message that is not the card",
		discordtest.Row{Buttons: []discordtest.Button{{Label: "Allow once", Style: 3, CustomID: once}}})
	refused(w.general, decoy, "does not belong")
	// The same from a guild the agent does not serve.
	far := srv.PostAsBot(w.bot, otherCh, "elsewhere",
		discordtest.Row{Buttons: []discordtest.Button{{Label: "Allow once", Style: 3, CustomID: once}}})
	refused(otherCh, far, "not one garden serves")

	if m, _ := srv.Message(w.general, card.ID); len(m.Buttons()) != 3 || m.Edits != 0 {
		t.Fatalf("card changed by refused clicks: %+v", m)
	}
	if _, err := os.Stat(filepath.Join(ws, "bound.txt")); err == nil {
		t.Fatal("a refused click let the tool run")
	}
	for _, action := range []string{"approval.refused_wrong_card", "approval.refused_space"} {
		rows, err := n.Store.AuditLog(context.Background(), store.AuditFilter{Agent: "garden", ActionPrefix: action})
		if err != nil || len(rows) != 1 || rows[0].Actor != "discord:"+w.alice.ID {
			t.Fatalf("audit %s: %+v %v", action, rows, err)
		}
	}
	// The card itself still works.
	click(t, w, w.alice.ID, w.general, card, bot.ChoiceOnce)
	waitBotIn(t, w, w.general, "done")
	if _, err := os.Stat(filepath.Join(ws, "bound.txt")); err != nil {
		t.Fatal("the approved tool did not run")
	}
}

// TestFleetCLIAndButtonRace: `herdbot approve` (Fleet.Decide) and an
// approver's click on the same request at once: one decides, the other is
// told so, and both attempts are audit rows.
func TestFleetCLIAndButtonRace(t *testing.T) {
	w := newWorld()
	ws := t.TempDir()
	n := startNode(t, w, agentstest.Options{Workspace: ws, Stream: agentstest.FastStream,
		Model: claudetest.Script(claudetest.Bash("touch raced.txt", "create"), claudetest.Text("finished"))})
	srv.SendMessage(w.alice.ID, w.general, w.mention()+" create raced.txt")
	card := waitCard(t, w, w.general)
	as, err := n.Store.Approvals(context.Background(), "garden", true, 1)
	if err != nil || len(as) != 1 {
		t.Fatalf("pending %+v %v", as, err)
	}
	id := as[0].ID

	var wg sync.WaitGroup
	var cliErr error
	var i *discordtest.Interaction
	start := make(chan struct{})
	wg.Go(func() {
		<-start
		_, cliErr = n.Fleet.Decide(context.Background(), id, bot.ChoiceDeny, "cli:operator", "no")
	})
	wg.Go(func() {
		<-start
		var err error
		if i, err = srv.Click(w.alice.ID, w.general, card.ID, buttonID(t, card, bot.ChoiceOnce)); err != nil {
			t.Error(err)
		}
	})
	close(start)
	wg.Wait()
	if i == nil {
		t.FailNow()
	}
	waitBotIn(t, w, w.general, "finished")
	if cliErr != nil && !errors.Is(cliErr, agents.ErrNotPending) {
		t.Fatalf("Decide: %v", cliErr)
	}
	var decided, lost []agents.AuditEntry
	if !srv.WaitFor(e2eWait, func() bool {
		decided, _ = n.Store.AuditLog(context.Background(), store.AuditFilter{Subject: id, ActionPrefix: "approval.decided"})
		lost, _ = n.Store.AuditLog(context.Background(), store.AuditFilter{Subject: id, ActionPrefix: "approval.lost"})
		return len(decided)+len(lost) == 2
	}) {
		t.Fatalf("audit rows decided %+v lost %+v, want one each", decided, lost)
	}
	if len(decided) != 1 || len(lost) != 1 {
		t.Fatalf("audit rows decided %+v lost %+v, want one each", decided, lost)
	}
	actors := []string{decided[0].Actor, lost[0].Actor}
	slices.Sort(actors)
	if actors[0] != "cli:operator" || actors[1] != "discord:"+w.alice.ID {
		t.Fatalf("actors %v", actors)
	}
	row, _ := n.Store.Approval(context.Background(), id)
	_, ranErr := os.Stat(filepath.Join(ws, "raced.txt"))
	switch decided[0].Actor {
	case "cli:operator": // the CLI won: denied, the click was told so
		if row.Status != agents.Denied || ranErr == nil || cliErr != nil {
			t.Fatalf("CLI won but row %+v, ran %v, cli err %v", row, ranErr == nil, cliErr)
		}
		st := waitAnswered(t, i, w.general, 1)
		notice, _ := srv.Message(w.general, st.FollowupIDs[0])
		if !strings.Contains(notice.Content, "already denied by cli:operator") {
			t.Fatalf("loser's notice %q", notice.Content)
		}
	default: // the click won: allowed once, the CLI got ErrNotPending
		if row.Status != agents.Allowed || ranErr != nil || !errors.Is(cliErr, agents.ErrNotPending) {
			t.Fatalf("click won but row %+v, ran %v, cli err %v", row, ranErr == nil, cliErr)
		}
	}
}
