package main

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/console"
)

// nopHandler is the handler the console adapters are run with here.
type nopHandler struct{}

func (nopHandler) HandleMessage(context.Context, bot.Inbound) {}
func (nopHandler) HandleCommand(context.Context, bot.Command) bot.Reply {
	return bot.Reply{}
}
func (nopHandler) HandleAction(context.Context, bot.Action) bot.ActionResult {
	return bot.ActionResult{}
}

func TestChatSupRestartsOnlyChangedConnections(t *testing.T) {
	hub := console.New("tester", nil)
	mux := bot.NewMux()
	sup := newChatSup(slog.New(slog.DiscardHandler), nopHandler{}, mux)
	var mu sync.Mutex
	made := map[string]int{}
	entry := func(agent, fp string) chatEntry {
		return chatEntry{agent: agent, platform: "test", fingerprint: fp, make: func() (bot.Adapter, error) {
			mu.Lock()
			made[agent]++
			mu.Unlock()
			return hub.For(agent), nil
		}}
	}
	count := func(agent string) int {
		mu.Lock()
		defer mu.Unlock()
		return made[agent]
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- sup.Run(ctx) }()

	sup.Set([]chatEntry{entry("garden", "1"), entry("homelab", "1")})
	waitFor("both started", func() bool { return count("garden") == 1 && count("homelab") == 1 })
	sup.Set([]chatEntry{entry("garden", "1"), entry("homelab", "2")})
	waitFor("homelab restarted", func() bool { return count("homelab") == 2 })
	sup.Set([]chatEntry{entry("homelab", "2")})
	waitFor("garden removed", func() bool { _, ok := mux.Adapter("garden", "test"); return !ok })
	if count("garden") != 1 {
		t.Fatalf("garden was restarted although its config did not change: %d starts", count("garden"))
	}
	if _, ok := mux.Adapter("homelab", "test"); !ok {
		t.Fatal("homelab not registered")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
