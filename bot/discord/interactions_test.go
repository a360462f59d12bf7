package discord_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/discord"
	"github.com/herdbot/herdbot/bot/discord/discordtest"
)

func TestSlashCommandsRegistered(t *testing.T) {
	want := []string{"ask", "reset", "status", "stop", "sessions", "model", "cost", "approvals", "help"}
	names := func(cs []discordtest.Command) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	t.Run("guild", func(t *testing.T) {
		w := newWorld()
		run(t, w, w.config(), newRecorder())
		cs := srv.Commands(w.bot, w.guild)
		if got := names(cs); !slices.Equal(got, want) {
			t.Fatalf("guild commands %v, want %v", got, want)
		}
		if len(srv.Commands(w.bot, "")) != 0 {
			t.Error("guild scope also registered global commands")
		}
		if o := cs[0].Options; len(o) != 1 || o[0].Name != "prompt" || !o[0].Required || o[0].Type != 3 {
			t.Errorf("/ask options %+v, want one required string 'prompt'", o)
		}
		if o := cs[5].Options; len(o) != 1 || o[0].Name != "name" || o[0].Required || o[0].Type != 3 {
			t.Errorf("/model options %+v, want one optional string 'name'", o)
		}
	})
	t.Run("global", func(t *testing.T) {
		w := newWorld()
		cfg := w.config()
		cfg.CommandScope = discord.ScopeGlobal
		run(t, w, cfg, newRecorder())
		if got := names(srv.Commands(w.bot, "")); !slices.Equal(got, want) {
			t.Fatalf("global commands %v, want %v", got, want)
		}
	})
}

// waitAnswered waits until the interaction is acknowledged and its
// @original is no longer the "thinking…" placeholder (or is gone).
func waitAnswered(t *testing.T, i *discordtest.Interaction, ch string, followups int) discordtest.InteractionState {
	t.Helper()
	ok := srv.WaitFor(wait, func() bool {
		st := i.State()
		if !st.Acked || len(st.FollowupIDs) < followups {
			return false
		}
		m, found := srv.Message(ch, st.OriginalID)
		return !found || !m.Loading
	})
	if !ok {
		t.Fatalf("interaction not answered: %+v", i.State())
	}
	return i.State()
}

func TestSlashCommandAnswered(t *testing.T) {
	w := newWorld()
	h := newRecorder()
	run(t, w, w.config(), h)

	i, err := srv.SlashCommand(w.bot, w.alice.ID, w.general, "status", nil)
	if err != nil {
		t.Fatal(err)
	}
	st := waitAnswered(t, i, w.general, 0)
	if st.AckType != int(discordgo.InteractionResponseDeferredChannelMessageWithSource) || st.Failed {
		t.Fatalf("ack %+v, want a deferred response (5) in time", st)
	}
	m, _ := srv.Message(w.general, st.OriginalID)
	if m.Content != "ok status" || !m.Ephemeral || m.VisibleTo != w.alice.ID {
		t.Errorf("status reply %+v, want ephemeral 'ok status' for alice", m)
	}

	i, err = srv.SlashCommand(w.bot, w.alice.ID, w.general, "ask", map[string]string{"prompt": "why are my leaves yellow?"})
	if err != nil {
		t.Fatal(err)
	}
	st = waitAnswered(t, i, w.general, 0)
	m, _ = srv.Message(w.general, st.OriginalID)
	if m.Content != "ok ask" || m.Ephemeral {
		t.Errorf("ask reply %+v, want public 'ok ask'", m)
	}
	cmds := h.Commands()
	wantTarget := bot.Target{Platform: bot.Discord, Space: w.guild, Channel: w.general}
	if len(cmds) != 2 || cmds[1].Name != "ask" || cmds[1].Args != "why are my leaves yellow?" ||
		cmds[1].Target != wantTarget || cmds[1].User.ID != w.alice.ID || cmds[1].Agent != "garden" {
		t.Errorf("commands %+v", cmds)
	}
}

func TestSlashCommandVisibilityChange(t *testing.T) {
	w := newWorld()
	h := newRecorder()
	h.OnCommand(func(c bot.Command) bot.Reply {
		// /ask is deferred publicly; this reply is only for the caller, and
		// long enough to need two messages.
		return bot.Reply{Message: bot.Message{Text: strings.Repeat("busy. ", 500)}, Ephemeral: true}
	})
	run(t, w, w.config(), h)
	i, err := srv.SlashCommand(w.bot, w.alice.ID, w.general, "ask", map[string]string{"prompt": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	st := waitAnswered(t, i, w.general, 2)
	if _, found := srv.Message(w.general, st.OriginalID); found {
		t.Error("the public placeholder was not deleted")
	}
	for _, id := range st.FollowupIDs {
		m, _ := srv.Message(w.general, id)
		if !m.Ephemeral || m.VisibleTo != w.alice.ID || len([]rune(m.Content)) > discord.MaxText {
			t.Errorf("follow-up %+v, want ephemeral for alice within 2,000", m)
		}
	}
}

func TestSlashCommandRefused(t *testing.T) {
	w := newWorld()
	h := newRecorder()
	cfg := w.config()
	cfg.AllowedUsers = []string{w.alice.ID}
	run(t, w, cfg, h)
	i, err := srv.SlashCommand(w.bot, w.bob.ID, w.general, "ask", map[string]string{"prompt": "let me"})
	if err != nil {
		t.Fatal(err)
	}
	st := waitAnswered(t, i, w.general, 1)
	m, _ := srv.Message(w.general, st.FollowupIDs[0])
	if !m.Ephemeral || !strings.Contains(m.Content, "not allowed") {
		t.Errorf("refusal %+v, want an ephemeral 'not allowed'", m)
	}
	if cmds := h.Commands(); len(cmds) != 0 {
		t.Errorf("handler got %+v", cmds)
	}
}

func approvalCard() bot.Message {
	return bot.Message{Text: "garden wants to run Bash: `ls /garden`", Buttons: []bot.Button{
		{ApprovalID: "ap-7f3a9c", Choice: "once", Label: "Allow once", Style: bot.StyleSuccess},
		{ApprovalID: "ap-7f3a9c", Choice: "session", Label: "Allow for session", Style: bot.StylePrimary},
		{ApprovalID: "ap-7f3a9c", Choice: "deny", Label: "Deny", Style: bot.StyleDanger},
	}}
}

func TestButtonClick(t *testing.T) {
	w := newWorld()
	h := newRecorder()
	h.OnAction(func(a bot.Action) bot.ActionResult {
		return bot.ActionResult{Card: &bot.Message{Text: "Bash `ls /garden`: allowed once by " + a.User.Name}, Notice: "Allowed."}
	})
	a := run(t, w, w.config(), h)
	target := bot.Target{Platform: bot.Discord, Space: w.guild, Channel: w.general}
	ref, err := a.Send(context.Background(), target, approvalCard())
	if err != nil {
		t.Fatal(err)
	}
	card, _ := srv.Message(w.general, ref.ID)
	if len(card.Rows) != 1 || len(card.Buttons()) != 3 || card.Buttons()[0].CustomID != bot.ButtonID("ap-7f3a9c", "once") ||
		card.Buttons()[0].Style != int(discordgo.SuccessButton) || card.Buttons()[2].Style != int(discordgo.DangerButton) {
		t.Fatalf("card %+v, want one row of three approval buttons", card)
	}

	i, err := srv.Click(w.alice.ID, w.general, ref.ID, bot.ButtonID("ap-7f3a9c", "once"))
	if err != nil {
		t.Fatal(err)
	}
	st := waitAnswered(t, i, w.general, 1)
	if st.AckType != int(discordgo.InteractionResponseDeferredMessageUpdate) || st.Failed {
		t.Errorf("ack %+v, want a deferred update (6) in time", st)
	}
	acts := h.Actions()
	want := bot.Action{Agent: "garden", ApprovalID: "ap-7f3a9c", Choice: "once",
		User: bot.User{ID: w.alice.ID, Name: "alice", Roles: []string{w.staff}}, Ref: bot.MessageRef{Target: target, ID: ref.ID}}
	if len(acts) != 1 || acts[0].ApprovalID != want.ApprovalID || acts[0].Choice != want.Choice || acts[0].Ref != want.Ref ||
		acts[0].User.ID != want.User.ID || !slices.Equal(acts[0].User.Roles, want.User.Roles) || acts[0].Agent != want.Agent {
		t.Fatalf("actions %+v, want %+v", acts, want)
	}
	card, _ = srv.Message(w.general, ref.ID)
	if card.Content != "Bash `ls /garden`: allowed once by alice" || len(card.Rows) != 0 {
		t.Errorf("card after click %+v, want the outcome and no buttons", card)
	}
	notice, _ := srv.Message(w.general, st.FollowupIDs[0])
	if notice.Content != "Allowed." || !notice.Ephemeral || notice.VisibleTo != w.alice.ID {
		t.Errorf("notice %+v, want ephemeral 'Allowed.' for alice", notice)
	}
}

func TestSlowHandlerAcksFirst(t *testing.T) {
	w := newWorld()
	h := newRecorder()
	release := make(chan struct{})
	h.OnAction(func(bot.Action) bot.ActionResult {
		// The handler does not return until the fake has seen the ACK: the
		// adapter must acknowledge before (not after) handling.
		<-release
		return bot.ActionResult{Notice: "slow but fine"}
	})
	a := run(t, w, w.config(), h)
	ref, err := a.Send(context.Background(), bot.Target{Platform: bot.Discord, Space: w.guild, Channel: w.general}, approvalCard())
	if err != nil {
		t.Fatal(err)
	}
	i, err := srv.Click(w.bob.ID, w.general, ref.ID, bot.ButtonID("ap-7f3a9c", "deny"))
	if err != nil {
		t.Fatal(err)
	}
	acked := srv.WaitFor(wait, func() bool { return i.State().Acked })
	close(release)
	if !acked {
		t.Fatal("click not acknowledged while the handler was busy")
	}
	st := waitAnswered(t, i, w.general, 1)
	if st.Failed || st.AckLatency > discordtest.InteractionDeadline {
		t.Errorf("interaction failed: %+v", st)
	}
}

func TestGarbageButton(t *testing.T) {
	w := newWorld()
	h := newRecorder()
	run(t, w, w.config(), h)
	for _, id := range []string{"legacy:approve:42", "hb:", "hb:x:y:z", strings.Repeat("é", 100)} {
		m := srv.PostAsBot(w.bot, w.general, "an old card", discordtest.Row{Buttons: []discordtest.Button{{Label: "Go", Style: 1, CustomID: id}}})
		i, err := srv.Click(w.alice.ID, w.general, m.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		st := waitAnswered(t, i, w.general, 1)
		notice, _ := srv.Message(w.general, st.FollowupIDs[0])
		if st.Failed || !notice.Ephemeral || !strings.Contains(notice.Content, "not recognised") {
			t.Errorf("custom_id %q: state %+v notice %+v", id, st, notice)
		}
	}
	if acts := h.Actions(); len(acts) != 0 {
		t.Errorf("handler got %+v for garbage buttons", acts)
	}
}
