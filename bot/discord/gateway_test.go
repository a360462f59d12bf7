package discord_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestIdentifySendsBareToken: the spec's IDENTIFY carries the token without
// the "Bot " prefix that REST's Authorization header wants.
func TestIdentifySendsBareToken(t *testing.T) {
	w := newWorld()
	run(t, w, w.config(), newRecorder())
	if got := w.bot.IdentifyToken(); got != w.bot.Token {
		t.Errorf("IDENTIFY token %q, want the bare bot token", strings.Replace(got, w.bot.Token, "<token>", 1))
	}
	for _, c := range srv.CallsTo("PUT", "/applications/*") {
		if c.Status != 200 {
			t.Errorf("REST call %s %s: %d (REST wants Authorization: Bot <token>)", c.Method, c.Path, c.Status)
		}
	}
}

// TestMissedHeartbeatResumes: when a heartbeat does not reach Discord in
// time the connection is closed, and the adapter resumes the session (no new
// IDENTIFY) and gets the events it missed.
func TestMissedHeartbeatResumes(t *testing.T) {
	t.Cleanup(srv.SetHeartbeatInterval(200 * time.Millisecond))
	w := newWorld()
	h := newRecorder()
	run(t, w, w.config(), h)

	w.bot.LoseHeartbeats(3)
	if !srv.WaitFor(wait, func() bool { return w.bot.HeartbeatClosures() >= 1 }) {
		t.Fatal("the fake did not close the connection after lost heartbeats")
	}
	srv.SendMessage(w.alice.ID, w.auto, "sent while the heartbeat was lost")
	h.WaitFor(t, "the message sent while disconnected", func() bool { return len(h.Messages()) == 1 })
	if !srv.WaitFor(wait, func() bool { return w.bot.Ready() && w.bot.Resumes() >= 1 }) {
		t.Fatalf("not resumed (resumes %d)", w.bot.Resumes())
	}
	if n := w.bot.Identifies(); n != 1 {
		t.Errorf("%d IDENTIFYs, want 1: a closed connection is resumed", n)
	}
	if got := h.Messages()[0].Text; got != "sent while the heartbeat was lost" {
		t.Errorf("message %q", got)
	}
}

// TestMessageContentIntentNotGranted: with Message Content switched off in
// the Developer Portal, Discord closes IDENTIFY with 4014. The adapter says
// so clearly, connects without the intent and still answers DMs and
// mentions; guild messages Discord emptied are skipped, not sent to the
// agent as empty prompts.
func TestMessageContentIntentNotGranted(t *testing.T) {
	w := newWorld()
	w.bot.DenyMessageContent()
	var logs syncBuffer
	cfg := w.config()
	cfg.DM = discord.DM{Enabled: true, Allowlist: []string{w.alice.ID}}
	a, err := discord.New(cfg, slog.New(slog.NewTextHandler(io.MultiWriter(&logs, t.Output()), nil)))
	if err != nil {
		t.Fatal(err)
	}
	h := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	if !srv.WaitFor(wait, w.bot.Ready) {
		t.Fatal("adapter did not connect without the Message Content intent")
	}
	if w.bot.Intents()&(1<<15) != 0 {
		t.Fatalf("connected with intents %d: the Message Content intent was refused", w.bot.Intents())
	}
	if !strings.Contains(logs.String(), "Message Content intent is not enabled") {
		t.Errorf("no clear log line about the missing intent:\n%s", logs.String())
	}

	srv.SendMessage(w.alice.ID, w.auto, "auto channel, no mention: emptied by Discord")
	srv.SendMessage(w.alice.ID, w.general, w.mention()+" a mention keeps its text")
	srv.SendMessage(w.alice.ID, srv.OpenDM(w.bot, w.alice.ID), "a DM keeps its text")
	h.WaitFor(t, "the mention and the DM", func() bool { return len(h.Messages()) == 2 })
	msgs := h.Messages()
	if msgs[0].Text != "a mention keeps its text" || msgs[1].Text != "a DM keeps its text" {
		t.Errorf("messages %q, %q", msgs[0].Text, msgs[1].Text)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
