package slack_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

// recorder is a recording bot.Handler.
type recorder struct {
	mu      sync.Mutex
	changed chan struct{}
	msgs    []bot.Inbound
	cmds    []bot.Command
	acts    []bot.Action
	// reply and result answer commands and actions when set.
	reply  func(bot.Command) bot.Reply
	result func(bot.Action) bot.ActionResult
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) HandleMessage(_ context.Context, in bot.Inbound) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, in)
	r.notifyLocked()
}

func (r *recorder) HandleCommand(_ context.Context, c bot.Command) bot.Reply {
	r.mu.Lock()
	r.cmds = append(r.cmds, c)
	r.notifyLocked()
	reply := r.reply
	r.mu.Unlock()
	if reply != nil {
		return reply(c)
	}
	return bot.Reply{Message: bot.Message{Text: "ok: " + c.Name}, Ephemeral: true}
}

func (r *recorder) HandleAction(_ context.Context, a bot.Action) bot.ActionResult {
	r.mu.Lock()
	r.acts = append(r.acts, a)
	r.notifyLocked()
	result := r.result
	r.mu.Unlock()
	if result != nil {
		return result(a)
	}
	return bot.ActionResult{}
}

func (r *recorder) messages() []bot.Inbound {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Inbound(nil), r.msgs...)
}

func (r *recorder) commands() []bot.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Command(nil), r.cmds...)
}

func (r *recorder) actions() []bot.Action {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Action(nil), r.acts...)
}

// wait waits until cond holds.
func (r *recorder) wait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (r *recorder) waitMessages(t testing.TB, n int) []bot.Inbound {
	t.Helper()
	r.wait(t, "handled messages", func() bool { return len(r.messages()) >= n })
	return r.messages()
}

// rig is a fake Slack with one agent's adapter running against it.
type rig struct {
	fake *slacktest.Server
	app  slacktest.App
	ad   *slack.Adapter
	rec  *recorder
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
