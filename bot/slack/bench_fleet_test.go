package slack_test

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

// BenchmarkEnvelopeToWarmStdin measures the whole inbound path: from the
// fake Slack writing a DM's events_api envelope to the app's socket to the
// prompt line read on the stdin of the agent's warm process (the fake CLI
// in echo mode, re-exec of this test binary, which stamps each line it
// reads). In between: slack-go's Socket Mode client, the adapter's ack and
// routing, the fleet (conversation queue, job row, session lookup, the warm
// process) and the CLI driver's stdin write. Each iteration waits for the
// echo to be posted, so the process is idle and warm again for the next.
func BenchmarkEnvelopeToWarmStdin(b *testing.B) {
	fake := slacktest.New(b, slacktest.Options{NoEcho: true})
	app := fake.AddApp("garden")
	ad, err := slack.New(slack.Config{Agent: "garden", BotToken: app.BotToken, AppToken: app.AppToken,
		APIURL: fake.APIURL(), SlashCommand: "/garden", DM: slack.DM{Enabled: true, Allowlist: []string{alice}}},
		slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	r := agentstest.Start(b, agentstest.Options{FakeCLI: fakecli.ModeEcho, LogOutput: io.Discard,
		Chats: []agentstest.Chat{{Platform: bot.Slack, Adapter: ad}},
		Spec:  func(s *agents.AgentSpec) { s.Warm, s.UserRate = true, agents.Rate{N: -1} }}) // one person sends b.N messages
	fake.WaitConnected(app, 1)
	dm := slacktest.DMChannel(app, alice)
	r.MeasureWarmStdin(b,
		func(text string) { fake.DM(app, alice, text) },
		func(text string) {
			fake.WaitFor("echo of "+text, func() bool {
				for _, m := range fake.Messages(dm) {
					if strings.Contains(m.Text, "echo: "+text) {
						return true
					}
				}
				return false
			})
		})
}

// BenchmarkFlood: one person sends 200 mentions in 10 s (on Slack each is a
// thread, a conversation of its own) while ten others each send one message
// in a thread they already talk in, during those 10 s. It reports how long
// the others waited, from the fake's envelope to their prompt on an agent's
// stdin (the fake CLI), with the intake's default limits, and the process's
// goroutines and heap (agentstest.MeasureFlood). The no-rate-limit case
// turns queue.per_user off, so that the flood is held back only by
// queue.agent_max and the fair order. Each round takes 10 s: run it with
// -benchtime=3x or so.
func BenchmarkFlood(b *testing.B) {
	for _, name := range []string{"default", "no-rate-limit"} {
		b.Run(name, func(b *testing.B) { benchFlood(b, name == "no-rate-limit") })
	}
}

func benchFlood(b *testing.B, noRateLimit bool) {
	const mallory = "U0MALLORY"
	fake := slacktest.New(b, slacktest.Options{})
	app := fake.AddApp("garden")
	ad, err := slack.New(slack.Config{Agent: "garden", BotToken: app.BotToken, AppToken: app.AppToken,
		APIURL: fake.APIURL(), SlashCommand: "/garden", Channels: []slack.Channel{{ID: chanMention}}},
		slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	r := agentstest.Start(b, agentstest.Options{FakeCLI: fakecli.ModeEcho, LogOutput: io.Discard,
		Chats: []agentstest.Chat{{Platform: bot.Slack, Adapter: ad}},
		Spec: func(s *agents.AgentSpec) {
			s.Warm = true
			if noRateLimit {
				s.UserRate = agents.Rate{N: -1}
			}
		}})
	fake.WaitConnected(app, 1)
	echoed := func(thread, text string) {
		fake.WaitFor("echo of "+text, func() bool {
			for _, m := range fake.Messages(chanMention) {
				if m.ThreadTS == thread && strings.Contains(m.Text, "echo: "+text) {
					return true
				}
			}
			return false
		})
	}
	thread := fake.Mention(app, chanMention, alice, "warm up", "").TS
	echoed(thread, "warm up")
	r.MeasureFlood(b, agentstest.Flood{
		Send: func(text string) { fake.Mention(app, chanMention, mallory, text, "") },
		SendOther: func(k int, text string) {
			fake.Mention(app, chanMention, fmt.Sprintf("U0OTHER%d", k), text, thread)
		},
	})
}
