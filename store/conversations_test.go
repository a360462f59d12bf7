package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
)

func TestConversations(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()

	if _, err := db.Conversation(ctx, "garden", "discord:g:c"); !errors.Is(err, agents.ErrNotFound) {
		t.Fatalf("Conversation(missing) = %v, want ErrNotFound", err)
	}
	a := agents.Conversation{Agent: "garden", Key: "discord:g:c", SessionID: "s1", LastActive: t0}
	b := agents.Conversation{Agent: "garden", Key: "slack:T:C:1.2", SessionID: "s2", LastActive: t0.Add(time.Hour)}
	c := agents.Conversation{Agent: "homelab", Key: "discord:g:c"} // zero LastActive
	for _, conv := range []agents.Conversation{a, b, c} {
		if err := db.PutConversation(ctx, conv); err != nil {
			t.Fatalf("PutConversation: %v", err)
		}
	}
	got, err := db.Conversation(ctx, "garden", "discord:g:c")
	if err != nil {
		t.Fatal(err)
	}
	if want := (agents.Conversation{Agent: "garden", Key: "discord:g:c", SessionID: "s1", LastActive: t0.Truncate(time.Millisecond)}); got != want {
		t.Errorf("Conversation = %+v, want %+v", got, want)
	}
	if got.LastActive.Location() != time.UTC {
		t.Errorf("LastActive location = %v, want UTC", got.LastActive.Location())
	}
	got, err = db.Conversation(ctx, "homelab", "discord:g:c")
	if err != nil || !got.LastActive.IsZero() {
		t.Errorf("zero LastActive: got %+v, %v; want zero time", got, err)
	}

	// Put replaces.
	a.SessionID, a.LastActive = "s1b", t0.Add(2*time.Hour)
	if err := db.PutConversation(ctx, a); err != nil {
		t.Fatal(err)
	}
	list, err := db.Conversations(ctx, "garden")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].SessionID != "s1b" || list[1].SessionID != "s2" {
		t.Errorf("Conversations(garden) = %+v, want s1b then s2 (most recent first)", list)
	}
	if all, err := db.Conversations(ctx, ""); err != nil || len(all) != 3 {
		t.Errorf("Conversations(\"\") = %d rows, %v; want 3", len(all), err)
	}

	if err := db.DeleteConversation(ctx, "garden", "discord:g:c"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Conversation(ctx, "garden", "discord:g:c"); !errors.Is(err, agents.ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
	if err := db.DeleteConversation(ctx, "garden", "discord:g:c"); err != nil {
		t.Errorf("second delete: %v, want nil", err)
	}
	// The other agent's conversation on the same key is untouched.
	if _, err := db.Conversation(ctx, "homelab", "discord:g:c"); err != nil {
		t.Errorf("homelab conversation: %v", err)
	}
}

func TestPutConversationRequiresKey(t *testing.T) {
	db := mustOpen(t)
	for _, c := range []agents.Conversation{{Agent: "garden"}, {Key: "k"}} {
		if err := db.PutConversation(t.Context(), c); err == nil {
			t.Errorf("PutConversation(%+v) succeeded", c)
		}
	}
}
