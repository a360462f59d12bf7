package main

import (
	"slices"
	"testing"
	"time"

	"github.com/herdbot/herdbot/config"
)

func TestDMAllowedRemovesBlocklisted(t *testing.T) {
	got := dmAllowed(config.DM{Enabled: true, Allowlist: []string{"1", "2", "3"}, Blocklist: []string{"2", "9"}})
	if !slices.Equal(got, []string{"1", "3"}) {
		t.Fatalf("got %v", got)
	}
}

func TestSessionTimeoutFromChatExpiry(t *testing.T) {
	a := &config.Agent{Session: config.Session{Timeout: 24 * time.Hour}}
	if got := sessionTimeout(a); got != 24*time.Hour {
		t.Fatalf("default: %v", got)
	}
	a.Chat.Discord = &config.Discord{SessionExpiryHours: config.DefaultSessionExpiry}
	a.Chat.Slack = &config.Slack{SessionExpiryHours: 6}
	if got := sessionTimeout(a); got != 6*time.Hour {
		t.Fatalf("slack 6h: %v", got)
	}
}
