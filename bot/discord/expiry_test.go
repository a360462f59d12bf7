package discord_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/discord"
)

// TestExpiredInteractionTokenFallsBack: a command whose reply comes after
// the interaction token's 15 minutes can no longer edit its response (401,
// 50027). The adapter then posts a public reply as a normal channel message
// and a private one as a DM to the person who ran the command, never in the
// channel.
func TestExpiredInteractionTokenFallsBack(t *testing.T) {
	w := newWorld()
	release := make(chan struct{})
	h := newRecorder().OnCommand(func(c bot.Command) bot.Reply {
		<-release // the handler takes longer than the token lives
		return bot.Reply{Message: bot.Message{Text: "late answer to /" + c.Name}, Ephemeral: c.Name == "status"}
	})
	run(t, w, w.config(), h)

	for _, cmd := range []string{"ask", "status"} {
		opts := map[string]string(nil)
		if cmd == "ask" {
			opts = map[string]string{"prompt": "how is the garden"}
		}
		i, err := srv.SlashCommand(w.bot, w.alice.ID, w.general, cmd, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !srv.WaitFor(wait, func() bool { return i.State().Acked }) {
			t.Fatalf("/%s not deferred", cmd)
		}
		fakeNow.advance(discord.InteractionTokenLifetime + time.Minute)
		release <- struct{}{}
		want := "late answer to /" + cmd
		where := w.general
		if cmd == "status" {
			where = srv.OpenDM(w.bot, w.alice.ID)
		}
		if !srv.WaitFor(wait, func() bool {
			for _, m := range w.botMessages(where) {
				if m.Content == want && !m.Ephemeral {
					return true
				}
			}
			return false
		}) {
			t.Fatalf("/%s: no fallback message %q in %s", cmd, want, where)
		}
	}
	var expired int
	for _, c := range srv.CallsTo("PATCH", "/webhooks/*/*/messages/@original") {
		if c.Status == http.StatusUnauthorized {
			expired++
		}
	}
	if expired != 2 {
		t.Errorf("%d webhook edits refused as expired, want 2 (the fake must expire tokens)", expired)
	}
	for _, m := range w.botMessages(w.general) {
		if m.Content == "late answer to /status" {
			t.Error("a private reply was posted in the channel")
		}
	}
}
