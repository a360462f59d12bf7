package discord_test

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/discord"
	"github.com/herdbot/herdbot/bot/discord/discordtest"
)

// BenchmarkMessageToWarmStdin measures the whole inbound path: from the
// fake Discord writing MESSAGE_CREATE to the bot's gateway connection to the
// prompt line read on the stdin of the agent's warm process (the fake CLI in
// echo mode, re-exec of this test binary, which stamps each line it reads).
// In between: discordgo, the adapter's routing, the fleet (conversation
// queue, job row, session lookup, the warm process) and the CLI driver's
// stdin write. Each iteration waits for the echo to be posted, so the
// process is idle and warm again for the next message.
func BenchmarkMessageToWarmStdin(b *testing.B) {
	w := newWorld()
	log := slog.New(slog.DiscardHandler)
	ad, err := discord.New(w.config(), log)
	if err != nil {
		b.Fatal(err)
	}
	r := agentstest.Start(b, agentstest.Options{FakeCLI: fakecli.ModeEcho, LogOutput: io.Discard,
		Chats: []agentstest.Chat{{Platform: bot.Discord, Adapter: ad}},
		Spec:  func(s *agents.AgentSpec) { s.Warm, s.UserRate = true, agents.Rate{N: -1} }}) // one person sends b.N messages
	if !srv.WaitFor(wait, func() bool { return w.bot.Ready() && len(srv.Commands(w.bot, w.guild)) == 9 }) {
		b.Fatal("not connected")
	}
	r.MeasureWarmStdin(b,
		func(text string) { srv.SendMessage(w.alice.ID, w.auto, text) },
		func(text string) {
			if !srv.WaitFor(wait, func() bool {
				for _, m := range w.botMessages(w.auto) {
					if strings.Contains(m.Content, "echo: "+text) {
						return true
					}
				}
				return false
			}) {
				b.Fatalf("no echo of %q", text)
			}
		})
}

// BenchmarkFlood: one person sends 200 mentions in 10 s in #general while
// ten others each send one message during those 10 s, in another channel
// (other-channel) or in #general too (same-channel). It reports how long the
// others waited, from the fake's MESSAGE_CREATE to their prompt on a warm
// agent's stdin (the fake CLI), with the intake's default limits, and the
// process's goroutines and heap (agentstest.MeasureFlood). The
// *-no-rate-limit cases turn queue.per_user off, so that the flood is held
// back only by the bounds and the fair order. Each round takes 10 s: run it
// with -benchtime=3x or so.
func BenchmarkFlood(b *testing.B) {
	for _, name := range []string{"other-channel", "same-channel", "same-channel-no-rate-limit", "other-channel-discord-buckets"} {
		b.Run(name, func(b *testing.B) {
			where, _, _ := strings.Cut(name, "-no-")
			where, buckets := strings.CutSuffix(where, "-discord-buckets")
			w := newWorld()
			mallory := srv.AddUser("mallory")
			srv.AddMember(w.guild, mallory.ID)
			others := make([]string, 10)
			for k := range others {
				u := srv.AddUser(fmt.Sprint("other", k))
				srv.AddMember(w.guild, u.ID)
				others[k] = u.ID
			}
			ad, err := discord.New(w.config(), slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			r := agentstest.Start(b, agentstest.Options{FakeCLI: fakecli.ModeEcho, LogOutput: io.Discard,
				Chats: []agentstest.Chat{{Platform: bot.Discord, Adapter: ad}},
				Spec: func(s *agents.AgentSpec) {
					s.Warm = true
					if strings.Contains(name, "-no-rate-limit") {
						s.UserRate = agents.Rate{N: -1}
					}
					if buckets {
						s.MaxProcesses = 12 // a warm process for each channel
					}
				}})
			if !srv.WaitFor(wait, func() bool { return w.bot.Ready() && len(srv.Commands(w.bot, w.guild)) == 9 }) {
				b.Fatal("not connected")
			}
			chans := make([]string, len(others)) // where each other person writes
			for k := range chans {
				chans[k] = w.auto
				if where == "same-channel" {
					chans[k] = w.general
				}
			}
			if buckets {
				// Discord's limit on posts per channel, 5 per 5 s, in every
				// channel; each other person in a channel of their own (ten
				// answers in 10 s would fill one channel's bucket alone).
				for k := range chans {
					if k > 0 {
						chans[k] = srv.AddChannel(w.guild, fmt.Sprint("side", k))
					}
				}
				for _, c := range append([]string{w.general}, chans...) {
					defer srv.AddBucket(discordtest.Bucket{Method: "POST", Pattern: "/channels/" + c + "/messages", Limit: 5, Window: 5 * time.Second})()
				}
			}
			ch := chans[0]
			say := func(user, ch, text string) {
				if ch != w.auto { // the other channels are in mention mode
					text = w.mention() + " " + text
				}
				srv.SendMessage(user, ch, text)
			}
			echoed := func(ch, text string) {
				if !srv.WaitFor(wait, func() bool { return botSaid(w, ch, "echo: "+text) > 0 }) {
					b.Fatalf("no echo of %q", text)
				}
			}
			// Warm processes for both conversations.
			say(mallory.ID, w.general, "warm up")
			echoed(w.general, "warm up")
			say(others[0], ch, "warm up too")
			echoed(ch, "warm up too")
			for k, c := range chans {
				if c != ch {
					say(others[k], c, fmt.Sprint("warm up ", k))
					echoed(c, fmt.Sprint("warm up ", k))
				}
			}
			r.MeasureFlood(b, agentstest.Flood{
				Send:      func(text string) { say(mallory.ID, w.general, text) },
				SendOther: func(k int, text string) { say(others[k], chans[k], text) },
			})
		})
	}
}
