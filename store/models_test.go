package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
)

// TestConversationModel: a conversation's chosen model is stored per
// agent and conversation, replaced by the next choice, and forgotten by an
// empty one; deleting the conversation's session keeps it.
func TestConversationModel(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	at := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	if _, err := db.ConversationModel(ctx, "garden", "k"); !errors.Is(err, agents.ErrNotFound) {
		t.Fatalf("no choice yet: err %v, want ErrNotFound", err)
	}
	if err := db.SetConversationModel(ctx, "garden", "k", agents.ModelChoice{Model: "haiku", SetBy: "alice", SetAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetConversationModel(ctx, "homelab", "k", agents.ModelChoice{Model: "opus", SetBy: "bob", SetAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteConversation(ctx, "garden", "k"); err != nil {
		t.Fatal(err)
	}
	m, err := db.ConversationModel(ctx, "garden", "k")
	if err != nil || m.Model != "haiku" || m.SetBy != "alice" || !m.SetAt.Equal(at) {
		t.Fatalf("choice %+v, %v", m, err)
	}
	if err := db.SetConversationModel(ctx, "garden", "k", agents.ModelChoice{Model: "sonnet", SetBy: "carol", SetAt: at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if m, _ := db.ConversationModel(ctx, "garden", "k"); m.Model != "sonnet" || m.SetBy != "carol" {
		t.Fatalf("replaced choice %+v", m)
	}
	if err := db.SetConversationModel(ctx, "garden", "k", agents.ModelChoice{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ConversationModel(ctx, "garden", "k"); !errors.Is(err, agents.ErrNotFound) {
		t.Fatalf("forgotten choice: err %v", err)
	}
	if m, _ := db.ConversationModel(ctx, "homelab", "k"); m.Model != "opus" {
		t.Fatalf("another agent's choice %+v", m)
	}
	if err := db.SetConversationModel(ctx, "", "k", agents.ModelChoice{Model: "x"}); err == nil {
		t.Fatal("no agent: want an error")
	}
}
