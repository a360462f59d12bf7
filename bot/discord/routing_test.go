package discord_test

import (
	"context"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/bottest"
	"github.com/herdbot/herdbot/bot/discord"
)

// sentinel is sent last; once the handler has it, every earlier message has
// been routed (the adapter delivers messages in gateway order).
const sentinel = "sentinel"

func waitSentinel(t *testing.T, h *bottest.Recorder) []bot.Inbound {
	t.Helper()
	h.WaitFor(t, "the sentinel message", func() bool {
		msgs := h.Messages()
		return len(msgs) > 0 && msgs[len(msgs)-1].Text == sentinel
	})
	msgs := h.Messages()
	return msgs[:len(msgs)-1]
}

func TestRoutingInGuild(t *testing.T) {
	w := newWorld()
	h := newRecorder()
	a := run(t, w, w.config(), h)
	ctx := context.Background()

	thread := srv.AddThread(w.general, "tomatoes")
	other := srv.AddBot("otherbot")
	srv.AddMember(w.guild, other.User.ID)
	elsewhere := srv.AddGuild("not configured")
	srv.AddMember(elsewhere, w.bot.User.ID)
	srv.AddMember(elsewhere, w.alice.ID)
	elsewhereCh := srv.AddChannel(elsewhere, "random")

	srv.SendMessage(w.alice.ID, w.general, "hello there")                     // mention mode, no mention
	srv.SendMessage(w.alice.ID, w.general, w.mention()+" what's up?")         // served
	srv.SendMessage(w.alice.ID, w.auto, "water the plants")                   // auto channel: served
	srv.SendMessage(w.alice.ID, w.general, "<@&"+w.botRole+"> ping the role") // role the bot holds
	srv.SendMessage(w.alice.ID, w.general, "<@&"+w.staff+"> not the bot")     // a role the bot does not hold
	srv.SendMessage(w.alice.ID, thread, "<@!"+w.bot.User.ID+"> in a thread")  // thread: own conversation
	srv.PostAsBot(other, w.auto, "beep from another bot")                     // bots are ignored
	if _, err := a.Send(ctx, bot.Target{Platform: bot.Discord, Space: w.guild, Channel: w.auto}, bot.Message{Text: "my own words"}); err != nil {
		t.Fatal(err)
	}
	srv.SendMessage(w.alice.ID, elsewhereCh, w.mention()+" hi") // guild not configured
	srv.SendMessage(w.alice.ID, w.auto, sentinel)

	got := waitSentinel(t, h)
	general := bot.Target{Platform: bot.Discord, Space: w.guild, Channel: w.general}
	auto := bot.Target{Platform: bot.Discord, Space: w.guild, Channel: w.auto}
	want := []struct {
		text   string
		target bot.Target
	}{
		{"what's up?", general},
		{"water the plants", auto},
		{"ping the role", general},
		{"in a thread", bot.Target{Platform: bot.Discord, Space: w.guild, Channel: w.general, Thread: thread}},
	}
	if len(got) != len(want) {
		t.Fatalf("handler got %d messages, want %d: %+v", len(got), len(want), got)
	}
	for i, in := range got {
		if in.Text != want[i].text || in.Target != want[i].target {
			t.Errorf("message %d: got %q to %+v, want %q to %+v", i, in.Text, in.Target, want[i].text, want[i].target)
		}
		if in.Agent != "garden" || in.User.ID != w.alice.ID || in.User.Name != "alice" || in.MessageID == "" {
			t.Errorf("message %d: agent %q user %+v id %q", i, in.Agent, in.User, in.MessageID)
		}
		if len(in.User.Roles) != 1 || in.User.Roles[0] != w.staff {
			t.Errorf("message %d: roles %v, want [%s]", i, in.User.Roles, w.staff)
		}
	}
	if got[3].Target.Key() == got[0].Target.Key() {
		t.Error("a thread must be its own conversation")
	}
	if n := len(w.botMessages(elsewhereCh)); n != 0 {
		t.Errorf("bot answered %d times in an unconfigured guild", n)
	}
}

func TestDirectMessages(t *testing.T) {
	t.Run("off by default", func(t *testing.T) {
		w := newWorld()
		h := newRecorder()
		run(t, w, w.config(), h)
		dm := srv.OpenDM(w.bot, w.alice.ID)
		srv.SendMessage(w.alice.ID, dm, "hello?")
		if !srv.WaitFor(wait, func() bool { return len(w.botMessages(dm)) == 1 }) {
			t.Fatal("no refusal in the DM")
		}
		if got := w.botMessages(dm)[0].Content; !strings.Contains(got, "direct messages") {
			t.Errorf("refusal %q", got)
		}
		if n := len(h.Messages()); n != 0 {
			t.Errorf("handler got %d DMs", n)
		}
	})
	t.Run("allowlist", func(t *testing.T) {
		w := newWorld()
		h := newRecorder()
		cfg := w.config()
		cfg.DM = discord.DM{Enabled: true, Allowlist: []string{w.alice.ID}}
		run(t, w, cfg, h)
		bobDM := srv.OpenDM(w.bot, w.bob.ID)
		srv.SendMessage(w.bob.ID, bobDM, "let me in")
		aliceDM := srv.OpenDM(w.bot, w.alice.ID)
		srv.SendMessage(w.alice.ID, aliceDM, "how are the roses?")
		srv.SendMessage(w.alice.ID, aliceDM, sentinel)
		got := waitSentinel(t, h)
		want := bot.Target{Platform: bot.Discord, Channel: aliceDM, User: w.alice.ID}
		if len(got) != 1 || got[0].Text != "how are the roses?" || got[0].Target != want {
			t.Fatalf("got %+v, want one DM to %+v", got, want)
		}
		if got[0].Target.Space != "" {
			t.Error("a DM target has no space")
		}
		// Refusals are sent off the inbound queue: wait for it.
		if !srv.WaitFor(wait, func() bool { return len(w.botMessages(bobDM)) == 1 }) {
			t.Errorf("bob got %d refusals, want 1", len(w.botMessages(bobDM)))
		}
	})
}

func TestAllowedRoles(t *testing.T) {
	w := newWorld()
	h := newRecorder()
	cfg := w.config()
	cfg.AllowedRoles = []string{w.staff}
	run(t, w, cfg, h)

	srv.SendMessage(w.bob.ID, w.general, w.mention()+" can I?")       // no staff role: refused with a reply
	srv.SendMessage(w.bob.ID, w.general, w.mention()+" please?")      // refused again: quiet this time
	srv.SendMessage(w.bob.ID, w.auto, "chatting in the auto channel") // not addressed: silent
	srv.SendMessage(w.alice.ID, w.general, w.mention()+" staff here")
	srv.SendMessage(w.alice.ID, w.auto, sentinel)

	got := waitSentinel(t, h)
	if len(got) != 1 || got[0].Text != "staff here" {
		t.Fatalf("handler got %+v, want only alice's message", got)
	}
	srv.WaitFor(wait, func() bool { return len(w.botMessages(w.general)) > 0 }) // refusals are sent off the inbound queue
	refusals := w.botMessages(w.general)
	if len(refusals) != 1 || !strings.Contains(refusals[0].Content, "not allowed") {
		t.Fatalf("refusals in general: %+v, want exactly one", refusals)
	}
	if n := len(w.botMessages(w.auto)); n != 0 {
		t.Errorf("%d bot messages in the auto channel, want none", n)
	}
}

func TestAllowedUsers(t *testing.T) {
	w := newWorld()
	h := newRecorder()
	cfg := w.config()
	cfg.AllowedUsers = []string{w.bob.ID}
	run(t, w, cfg, h)
	srv.SendMessage(w.alice.ID, w.auto, "not on the list")
	srv.SendMessage(w.bob.ID, w.auto, "on the list")
	srv.SendMessage(w.bob.ID, w.auto, sentinel)
	got := waitSentinel(t, h)
	if len(got) != 1 || got[0].User.ID != w.bob.ID {
		t.Fatalf("got %+v, want only bob's message", got)
	}
}
