package discord_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/discord"
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
	if !srv.WaitFor(wait, func() bool { return w.bot.Ready() && len(srv.Commands(w.bot, w.guild)) == 6 }) {
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
