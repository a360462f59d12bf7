package slack_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

// TestFleetFloodIsBounded: on Slack every mention is a conversation of its
// own, so a per-conversation cap never applies. 200 mentions from one
// person get that person's bucket of runs, one "slow down" notice, no
// goroutine per waiting message, and another person is still served.
func TestFleetFloodIsBounded(t *testing.T) {
	const mallory = "U0MALLORY"
	fake := slacktest.New(t, slacktest.Options{WaitTimeout: 60 * time.Second})
	app := fake.AddApp("garden")
	ad, err := slack.New(slack.Config{Agent: "garden", BotToken: app.BotToken, AppToken: app.AppToken,
		APIURL: fake.APIURL(), SlashCommand: "/garden", Channels: []slack.Channel{{ID: chanMention}}}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	const bucket = 10
	r := agentstest.Start(t, agentstest.Options{FakeCLI: fakecli.ModeEcho, LogOutput: io.Discard,
		Chats: []agentstest.Chat{{Platform: bot.Slack, Adapter: ad}},
		Spec: func(s *agents.AgentSpec) {
			s.UserRate = agents.Rate{N: bucket, Per: 1000 * time.Hour} // no refill during the test
			s.NoticeEvery = time.Hour
		}})
	fake.WaitConnected(app, 1)
	before := runtime.NumGoroutine()

	for i := range 200 {
		fake.Mention(app, chanMention, mallory, fmt.Sprintf("flood %d", i), "")
	}
	fake.WaitFor("every envelope acked", func() bool { return len(fake.Stats(app).Unacked) == 0 })
	peak := runtime.NumGoroutine() - before
	waiting := r.Fleet.Waiting("garden")
	sent := fake.Mention(app, chanMention, alice, "alice's question", "")
	waitText(fake, sent.TS, "echo: alice's question")
	t.Logf("after the flood: %+d goroutines, %d messages waiting", peak, waiting)
	if waiting > bucket || peak > 40 {
		t.Fatalf("after the flood: %+d goroutines and %d waiting; want at most the bucket (%d) waiting and no goroutine per message",
			peak, waiting, bucket)
	}

	var js []agents.Job
	fake.WaitFor("all runs done", func() bool {
		js, _ = r.Store.Jobs(context.Background(), agents.JobFilter{Agent: "garden", Limit: 1000})
		for _, j := range js {
			if !j.Status.Final() {
				return false
			}
		}
		return len(js) == bucket+1
	})
	slow := 0
	for _, m := range fake.Messages(chanMention) {
		if strings.Contains(m.Text, "Slow down") {
			slow++
		}
	}
	if slow != 1 {
		t.Fatalf("%d rate-limit notices, want one for the whole flood", slow)
	}
}
