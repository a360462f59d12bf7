package sched_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/discord"
	"github.com/herdbot/herdbot/bot/discord/discordtest"
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
	"github.com/herdbot/herdbot/sched"
)

// TestReportsLandInChat wires the scheduler as herdbot does: the fleet
// (real Claude Code CLI, fake model) runs the prompts, a bot.Mux with the
// real Discord adapter (on the fake Discord) and the real Slack adapter (on
// the fake Slack) posts the reports, and the real store keeps the schedule
// state. A fake clock fires three schedules: a report to a Discord channel,
// one to a Slack channel, and one whose run fails, reported to Discord.
func TestReportsLandInChat(t *testing.T) {
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))

	// Fake Discord: the garden bot in a guild with a #reports channel.
	dc := discordtest.NewServer(discordtest.Options{})
	restore := dc.Install()
	t.Cleanup(func() { restore(); dc.Close() })
	dbot := dc.AddBot("garden")
	guild := dc.AddGuild("home")
	dc.AddMember(guild, dbot.User.ID)
	reports := dc.AddChannel(guild, "reports")
	dad, err := discord.New(discord.Config{Agent: "garden", Token: dbot.Token,
		Guilds: []discord.Guild{{ID: guild, DefaultMode: discord.ModeMention}}}, log)
	if err != nil {
		t.Fatal(err)
	}

	// Fake Slack: the garden app, reporting to C0REPORTS.
	sl := slacktest.New(t, slacktest.Options{WaitTimeout: time.Minute})
	app := sl.AddApp("garden")
	const slackReports = "C0REPORTS"
	sad, err := slack.New(slack.Config{Agent: "garden", BotToken: app.BotToken, AppToken: app.AppToken,
		APIURL: sl.APIURL(), SlashCommand: "/garden", Channels: []slack.Channel{{ID: slackReports}}}, log)
	if err != nil {
		t.Fatal(err)
	}

	// The model answers by prompt; the frost check's model is unreachable
	// (401), so that run fails.
	model := claudetest.NewModelServer(t, func(r *claudetest.Request) claudetest.Reply {
		switch p := r.Prompt(); {
		case strings.Contains(p, "weather"):
			return claudetest.Text("Sunny, 21 °C: water the beds tonight.")
		case strings.Contains(p, "compost"):
			return claudetest.Text("Turn the compost heap.")
		}
		return claudetest.Fail(401)
	})
	// The fleet rig runs the fleet and both adapters until stopped.
	rig := agentstest.Start(t, agentstest.Options{ModelServer: model, LogLevel: slog.LevelInfo,
		Chats: []agentstest.Chat{{Platform: bot.Discord, Adapter: dad}, {Platform: bot.Slack, Adapter: sad}}})
	st := rig.Store

	clk := clockwork.NewFakeClockAt(t0)
	s, err := sched.New(sched.Config{Clock: clk, Location: time.UTC}, rig.Fleet, rig.Mux, st, log)
	if err != nil {
		t.Fatal(err)
	}
	toDiscord := bot.Target{Platform: bot.Discord, Space: guild, Channel: reports}
	toSlack := bot.Target{Platform: bot.Slack, Space: slacktest.Team, Channel: slackReports}
	list := []sched.Schedule{
		{Agent: "garden", Name: "weather", Type: sched.TypeInterval, Interval: time.Hour, Enabled: true,
			Prompt: "weather report for the garden", PostTo: toDiscord},
		{Agent: "garden", Name: "compost", Type: sched.TypeInterval, Interval: time.Hour, Enabled: true,
			Prompt: "compost reminder", PostTo: toSlack},
		{Agent: "garden", Name: "frost", Type: sched.TypeInterval, Interval: time.Hour, Enabled: true,
			Prompt: "frost check", PostTo: toDiscord},
	}
	if err := s.Apply(context.Background(), list); err != nil {
		t.Fatal(err)
	}

	rig.Go("scheduler", s.Run)
	if !dc.WaitFor(wait, dbot.Ready) {
		t.Fatal("discord adapter did not connect")
	}
	sl.WaitConnected(app, 1)

	// Nothing is due yet; an hour later all three are.
	tctx, tcancel := context.WithTimeout(context.Background(), wait)
	defer tcancel()
	if err := clk.BlockUntilContext(tctx, len(list)); err != nil {
		t.Fatalf("waiting for the schedules' timers: %v", err)
	}
	if n := len(dc.Messages(reports)) + len(sl.Messages(slackReports)); n != 0 {
		t.Fatalf("%d messages before any schedule was due", n)
	}
	clk.Advance(time.Hour)

	var weather, frost discordtest.Message
	if !dc.WaitFor(time.Minute, func() bool {
		for _, m := range dc.Messages(reports) {
			switch {
			case strings.Contains(m.Content, "**weather**"):
				weather = m
			case strings.Contains(m.Content, "**frost**"):
				frost = m
			}
		}
		return weather.ID != "" && frost.ID != ""
	}) {
		t.Fatalf("reports in the Discord channel: %+v", dc.Messages(reports))
	}
	var compost slacktest.Message
	sl.WaitFor("compost report in the Slack channel", func() bool {
		for _, m := range sl.Messages(slackReports) {
			if strings.Contains(m.Text, "*compost*") {
				compost = m
				return true
			}
		}
		return false
	})

	// Each report names its schedule and the job that ran it.
	jobs, err := st.Jobs(context.Background(), agents.JobFilter{Agent: "garden"})
	if err != nil {
		t.Fatal(err)
	}
	bySchedule := map[string]agents.Job{}
	for _, j := range jobs {
		if j.Trigger != agents.TriggerSchedule {
			t.Errorf("job %s has trigger %q", j.ID, j.Trigger)
		}
		bySchedule[j.Schedule] = j
	}
	if len(jobs) != 3 || len(bySchedule) != 3 {
		t.Fatalf("jobs %+v: want one per schedule", jobs)
	}
	check := func(where, text, schedule string, status agents.JobStatus, want ...string) {
		t.Helper()
		j := bySchedule[schedule]
		if j.Status != status {
			t.Errorf("%s job %+v: want %s", schedule, j, status)
		}
		for _, w := range append(want, "`"+j.ID+"`") {
			if !strings.Contains(text, w) {
				t.Errorf("%s report in %s: %q lacks %q", schedule, where, text, w)
			}
		}
	}
	check("Discord", weather.Content, "weather", agents.JobSucceeded, "Sunny, 21 °C: water the beds tonight.")
	check("Slack", compost.Text, "compost", agents.JobSucceeded, "Turn the compost heap.")
	check("Discord", frost.Content, "frost", agents.JobFailed, "**frost** failed")
	if strings.Contains(frost.Content, "Sunny") || strings.Contains(frost.Content, "compost") {
		t.Errorf("failure report carries another run's answer: %q", frost.Content)
	}
	for _, m := range sl.Messages(slackReports) {
		if strings.Contains(m.Text, "weather") || strings.Contains(m.Text, "frost") {
			t.Errorf("a Discord report landed in Slack: %q", m.Text)
		}
	}

	// The outcome is persisted with the schedule (written after the
	// report; stopping waits for fires in flight).
	rig.Stop()
	states, err := st.ScheduleStates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != len(list) {
		t.Fatalf("schedule states %+v: want one per schedule", states)
	}
	for _, ss := range states {
		want := string(bySchedule[ss.Name].Status)
		if ss.LastStatus != want || ss.LastJob != bySchedule[ss.Name].ID {
			t.Errorf("schedule state %+v: want last status %s, job %s", ss, want, bySchedule[ss.Name].ID)
		}
	}
}
