package discord_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/discord"
)

// botSaid counts the bot's messages in ch containing s.
func botSaid(w *world, ch, s string) int {
	n := 0
	for _, m := range w.botMessages(ch) {
		if strings.Contains(m.Content, s) {
			n++
		}
	}
	return n
}

// TestFleetFloodIsFair: one person sends 200 mentions in a channel whose
// messages Discord is not answering (held); meanwhile another person in
// another channel is served, and one in the same channel gets in. The
// flood gets its bucket's worth of runs and one "slow down" notice.
func TestFleetFloodIsFair(t *testing.T) {
	w := newWorld()
	mallory := srv.AddUser("mallory")
	srv.AddMember(w.guild, mallory.ID)
	ad, err := discord.New(w.config(), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	const bucket = 10
	r := agentstest.Start(t, agentstest.Options{FakeCLI: fakecli.ModeEcho, LogOutput: io.Discard,
		Chats: []agentstest.Chat{{Platform: bot.Discord, Adapter: ad}},
		Spec: func(s *agents.AgentSpec) {
			s.Warm, s.MaxConcurrent = true, 2
			s.UserRate = agents.Rate{N: bucket, Per: 1000 * time.Hour} // no refill during the test
			s.NoticeEvery = time.Hour
		}})
	if !srv.WaitFor(wait, func() bool { return w.bot.Ready() && len(srv.Commands(w.bot, w.guild)) == 9 }) {
		t.Fatal("not connected")
	}

	// Discord stops answering posts in #general (a rate-limited channel).
	release, held := srv.Hold("POST", "/channels/"+w.general+"/messages")
	defer release()
	for i := range 200 {
		srv.SendMessage(mallory.ID, w.general, fmt.Sprintf("%s flood %d", w.mention(), i))
	}
	srv.SendMessage(w.alice.ID, w.general, w.mention()+" alice's question")
	srv.SendMessage(w.bob.ID, w.auto, "bob's question")
	// Bob, elsewhere, is answered while #general's posts hang: nothing on
	// the inbound path waited for them.
	if !srv.WaitFor(e2eWait, func() bool { return botSaid(w, w.auto, "echo: bob's question") == 1 }) {
		t.Fatal("bob was not served while the flooded channel's posts were held")
	}
	if held() == 0 {
		t.Fatal("no post to #general was held: the test did not hold what it meant to")
	}
	release()
	if !srv.WaitFor(e2eWait, func() bool { return botSaid(w, w.general, "echo: alice's question") == 1 }) {
		t.Fatal("alice, in the flooded channel, was not served")
	}
	var js []agents.Job
	if !srv.WaitFor(e2eWait, func() bool {
		js, _ = r.Store.Jobs(context.Background(), agents.JobFilter{Agent: "garden", Limit: 1000})
		done := 0
		for _, j := range js {
			if j.Status.Final() {
				done++
			}
		}
		return done == len(js) && len(js) == bucket+2 && botSaid(w, w.general, "echo: flood") == bucket
	}) {
		t.Fatalf("%d jobs, want %d of the flood's plus alice's and bob's, all finished", len(js), bucket)
	}
	if n := botSaid(w, w.general, "Slow down"); n != 1 {
		t.Fatalf("%d rate-limit notices, want one for the whole flood", n)
	}
	if n := botSaid(w, w.general, "Queued"); n > 2 {
		t.Fatalf("%d queued notices, want at most one per person", n)
	}
	if n := r.Fleet.Waiting("garden"); n != 0 {
		t.Fatalf("%d still waiting", n)
	}
}
