package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/bottest"
	"github.com/herdbot/herdbot/bot/discord"
	"github.com/herdbot/herdbot/bot/discord/discordtest"
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

// TestChatSupReconnectsDiscord: a Discord bot whose first connection fails
// (Discord's gateway lookup answers 503) is connected again by the
// supervisor with a new adapter, and then serves: a mention reaches the
// handler and replies go out through the live adapter.
func TestChatSupReconnectsDiscord(t *testing.T) {
	srv := discordtest.NewServer(discordtest.Options{})
	restore := srv.Install() // discordgo's endpoints are process globals; no other test here uses them
	defer func() { restore(); srv.Close() }()
	b := srv.AddBot("garden")
	guild := srv.AddGuild("home")
	srv.AddMember(guild, b.User.ID)
	general := srv.AddChannel(guild, "general")
	alice := srv.AddUser("alice")
	srv.AddMember(guild, alice.ID)
	srv.FailNext("GET", "/gateway", "", http.StatusServiceUnavailable, 1)

	rec := bottest.NewRecorder()
	mux := bot.NewMux()
	sup := newChatSup(slog.New(slog.NewTextHandler(t.Output(), nil)), rec, mux)
	sup.minBackoff, sup.maxBackoff = 10*time.Millisecond, 50*time.Millisecond
	var mu sync.Mutex
	var made []bot.Adapter
	cfg := discord.Config{Agent: "garden", Token: b.Token,
		Guilds: []discord.Guild{{ID: guild, DefaultMode: discord.ModeMention}}}
	sup.Set([]chatEntry{{agent: "garden", platform: bot.Discord, fingerprint: "1", make: func() (bot.Adapter, error) {
		ad, err := discord.New(cfg, slog.New(slog.NewTextHandler(t.Output(), nil)))
		mu.Lock()
		made = append(made, ad)
		mu.Unlock()
		return ad, err
	}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	if !srv.WaitFor(30*time.Second, func() bool { return b.Ready() }) {
		t.Fatal("the bot never connected")
	}
	mu.Lock()
	n, live := len(made), made[len(made)-1]
	mu.Unlock()
	if n != 2 {
		t.Fatalf("%d adapters made, want 2 (the first failed to connect, the second is new)", n)
	}
	if failed := srv.CallsTo("GET", "/gateway"); len(failed) == 0 || failed[0].Status != http.StatusServiceUnavailable {
		t.Fatalf("gateway lookups %+v: want the first one to have failed", failed)
	}
	if got, _ := mux.Adapter("garden", bot.Discord); got != live {
		t.Fatal("the mux does not hold the connected adapter")
	}
	srv.SendMessage(alice.ID, general, "<@"+b.User.ID+"> are you there?")
	in := rec.WaitMessages(t, 1)
	if !strings.Contains(in[0].Text, "are you there?") {
		t.Fatalf("inbound %+v", in[0])
	}
	if err := mux.Post(context.Background(), "garden", in[0].Target, bot.Message{Text: "yes"}); err != nil {
		t.Fatal(err)
	}
	if !srv.WaitFor(10*time.Second, func() bool {
		for _, m := range srv.Messages(general) {
			if m.Author.ID == b.User.ID && m.Content == "yes" {
				return true
			}
		}
		return false
	}) {
		t.Fatal("the reply did not arrive")
	}
}

// TestChatSupReconnectsSlack: the same for a Slack app whose first
// auth.test fails.
func TestChatSupReconnectsSlack(t *testing.T) {
	fake := slacktest.New(t, slacktest.Options{})
	app := fake.AddApp("garden")
	var failed atomic.Bool
	fake.FailWhen("auth.test", "internal_error", func(url.Values) bool { return failed.CompareAndSwap(false, true) })
	rec := bottest.NewRecorder()
	mux := bot.NewMux()
	sup := newChatSup(slog.New(slog.NewTextHandler(t.Output(), nil)), rec, mux)
	sup.minBackoff, sup.maxBackoff = 10*time.Millisecond, 50*time.Millisecond
	made := 0
	var mu sync.Mutex
	sup.Set([]chatEntry{{agent: "garden", platform: bot.Slack, fingerprint: "1", make: func() (bot.Adapter, error) {
		mu.Lock()
		made++
		mu.Unlock()
		return slack.New(slack.Config{Agent: "garden", BotToken: app.BotToken, AppToken: app.AppToken, APIURL: fake.APIURL(),
			Channels: []slack.Channel{{ID: "C0GENERAL"}}}, slog.New(slog.NewTextHandler(t.Output(), nil)))
	}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	fake.WaitConnected(app, 1)
	mu.Lock()
	n := made
	mu.Unlock()
	if n != 2 || !failed.Load() {
		t.Fatalf("%d adapters made (first auth.test failed: %t), want 2", n, failed.Load())
	}
	fake.Mention(app, "C0GENERAL", "U0ALICE", "are you there?", "")
	if in := rec.WaitMessages(t, 1); !strings.Contains(in[0].Text, "are you there?") {
		t.Fatalf("inbound %+v", in[0])
	}
}
