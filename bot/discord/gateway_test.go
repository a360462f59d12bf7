package discord_test

import (
	"context"
	"testing"

	"github.com/herdbot/herdbot/bot/discord"
)

func TestIdentify(t *testing.T) {
	w := newWorld()
	run(t, w, w.config(), newRecorder())
	if got := w.bot.Intents(); got != 1<<0|1<<9|1<<12|1<<15 {
		t.Errorf("intents %d, want guilds|guild messages|direct messages|message content", got)
	}
}

func TestGatewayDropResumes(t *testing.T) {
	w := newWorld()
	h := newRecorder()
	run(t, w, w.config(), h)

	w.bot.Drop()
	// Sent while the bot is away: the fake keeps it and replays it on RESUME.
	srv.SendMessage(w.alice.ID, w.auto, "while you were out")
	h.WaitFor(t, "the message sent during the drop", func() bool { return len(h.Messages()) == 1 })
	if !srv.WaitFor(wait, w.bot.Ready) {
		t.Fatal("not reconnected")
	}
	srv.SendMessage(w.alice.ID, w.auto, "after the drop")
	h.WaitFor(t, "the message after the drop", func() bool { return len(h.Messages()) == 2 })

	w.bot.Reconnect() // op 7
	if !srv.WaitFor(wait, func() bool { return w.bot.Resumes() == 2 && w.bot.Ready() }) {
		t.Fatalf("no resume after op 7 (resumes %d)", w.bot.Resumes())
	}
	srv.SendMessage(w.alice.ID, w.auto, "after op 7")
	h.WaitFor(t, "the message after op 7", func() bool { return len(h.Messages()) == 3 })

	msgs := h.Messages()
	for i, want := range []string{"while you were out", "after the drop", "after op 7"} {
		if msgs[i].Text != want {
			t.Errorf("message %d %q, want %q", i, msgs[i].Text, want)
		}
	}
	if n := w.bot.Identifies(); n != 1 {
		t.Errorf("%d IDENTIFYs, want 1 (reconnects must RESUME)", n)
	}
}

func TestRunClosesSession(t *testing.T) {
	w := newWorld()
	a, err := discord.New(w.config(), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, newRecorder()) }()
	if !srv.WaitFor(wait, w.bot.Ready) {
		t.Fatal("not connected")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !srv.WaitFor(wait, func() bool { return !w.bot.Ready() }) {
		t.Error("gateway connection still open after Run returned")
	}
	if err := a.Run(context.Background(), newRecorder()); err == nil {
		t.Error("second Run did not fail")
	}
}

func TestRunBadToken(t *testing.T) {
	w := newWorld()
	cfg := w.config()
	cfg.Token = "bm90LWEtYm90.x.y"
	a, err := discord.New(cfg, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := a.Run(ctx, newRecorder()); err == nil {
		t.Fatal("Run with an unknown token succeeded")
	}
}
