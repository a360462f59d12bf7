package slack_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/bottest"
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

// newRecorder returns a recording handler whose default command reply is
// an ephemeral "ok: <name>".
func newRecorder() *bottest.Recorder {
	return bottest.NewRecorder().OnCommand(func(c bot.Command) bot.Reply {
		return bot.Reply{Message: bot.Message{Text: "ok: " + c.Name}, Ephemeral: true}
	})
}

// rig is a fake Slack with one agent's adapter running against it.
type rig struct {
	fake *slacktest.Server
	app  slacktest.App
	ad   *slack.Adapter
	rec  *bottest.Recorder
}

const (
	chanMention = "C0MENTION"
	chanAuto    = "C0AUTO"
	alice       = "U0ALICE"
	bob         = "U0BOB"
)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startRig starts a fake and a garden adapter; edit adjusts the config.
func startRig(t testing.TB, opts slacktest.Options, edit func(*slack.Config)) *rig {
	t.Helper()
	fake := slacktest.New(t, opts)
	r := &rig{fake: fake, app: fake.AddApp("garden"), rec: newRecorder()}
	r.ad = startAdapter(t, fake, r.app, r.rec, edit)
	return r
}

func startAdapter(t testing.TB, fake *slacktest.Server, app slacktest.App, h bot.Handler, edit func(*slack.Config)) *slack.Adapter {
	t.Helper()
	cfg := slack.Config{
		Agent:        app.Name,
		BotToken:     app.BotToken,
		AppToken:     app.AppToken,
		APIURL:       fake.APIURL(),
		SlashCommand: "/" + app.Name,
		Channels:     []slack.Channel{{ID: chanMention, Mode: slack.ModeMention}, {ID: chanAuto, Mode: slack.ModeAuto}},
		DM:           slack.DM{Enabled: true, Allowlist: []string{alice}},
	}
	if edit != nil {
		edit(&cfg)
	}
	ad, err := slack.New(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("slack.New: %v", err)
	}
	opened, _ := fake.Connections(app)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ad.Run(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v", err)
		}
	})
	fake.WaitConnected(app, opened+1)
	return ad
}

// waitAllAcked waits until every envelope delivered to app was acked.
func (r *rig) waitAllAcked(t testing.TB) {
	t.Helper()
	r.fake.WaitFor("all envelopes acked", func() bool { return len(r.fake.Stats(r.app).Unacked) == 0 })
}
