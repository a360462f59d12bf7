package discord_test

import (
	"context"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/bot"
)

// TestAgentTextNeverPings sends text that mentions @everyone, @here, a
// role and a user down every path the adapter posts or edits by: Send (one
// message and a split one), Edit, a command's reply (the deferred response
// edited, follow-ups, the placeholder deleted when the visibility changes),
// an approval card updated after a click and the clicker's notice. Discord
// would ping for every one of these unless allowed_mentions says not to;
// the fake records any request that could have pinged (and TestMain fails
// the package on any, from any test).
func TestAgentTextNeverPings(t *testing.T) {
	w := newWorld()
	hostile := "@everyone @here <@&" + w.staff + "> <@" + w.alice.ID + "> look at this"
	h := newRecorder().OnCommand(func(c bot.Command) bot.Reply {
		text := hostile
		if c.Name == "sessions" {
			text = strings.Repeat(hostile+"\n", 80) // over 2,000 characters: follow-ups
		}
		return bot.Reply{Message: bot.Message{Text: text}, Ephemeral: c.Name == "status"}
	}).OnAction(func(bot.Action) bot.ActionResult {
		return bot.ActionResult{Card: &bot.Message{Text: hostile}, Notice: hostile}
	})
	a := run(t, w, w.config(), h)
	ctx := context.Background()
	to := bot.Target{Platform: bot.Discord, Space: w.guild, Channel: w.general}

	ref, err := a.Send(ctx, to, bot.Message{Text: hostile})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Edit(ctx, ref, bot.Message{Text: hostile + " (edited)"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(ctx, to, bot.Message{Text: strings.Repeat(hostile+"\n", 80)}); err != nil {
		t.Fatal(err)
	}
	card := approvalCard()
	card.Text = hostile
	cardRef, err := a.Send(ctx, to, card)
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"ask", "status", "sessions"} {
		opts := map[string]string(nil)
		if cmd == "ask" {
			opts = map[string]string{"prompt": "hi"}
		}
		i, err := srv.SlashCommand(w.bot, w.alice.ID, w.general, cmd, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !srv.WaitFor(wait, func() bool {
			st := i.State()
			m, ok := srv.Message(w.general, st.OriginalID)
			if cmd == "sessions" { // follow-ups, then the placeholder deleted
				return len(st.FollowupIDs) >= 2 && !ok
			}
			return ok && !m.Loading
		}) {
			t.Fatalf("/%s not answered", cmd)
		}
	}
	i, err := srv.Click(w.alice.ID, w.general, cardRef.ID, bot.ButtonID(card.Buttons[0].ApprovalID, card.Buttons[0].Choice))
	if err != nil {
		t.Fatal(err)
	}
	if !srv.WaitFor(wait, func() bool { return len(i.State().FollowupIDs) == 1 }) {
		t.Fatal("no notice after the click")
	}
	if m, _ := srv.Message(w.general, cardRef.ID); !strings.Contains(m.Content, "@everyone") {
		t.Fatalf("card not updated: %q", m.Content)
	}

	var n int
	for _, m := range srv.Messages(w.general) {
		if m.Author.ID != w.bot.User.ID {
			continue
		}
		n++
		if len(m.Pings) > 0 {
			t.Errorf("message %s pinged %v: %.60q", m.ID, m.Pings, m.Content)
		}
	}
	if n < 8 {
		t.Errorf("only %d bot messages: not every path was exercised", n)
	}
	for _, r := range srv.MentionRisks() {
		t.Errorf("%s %s: %s", r.Method, r.Path, r.Reason)
	}
}
