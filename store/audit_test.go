package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/store"
)

func TestAuditLog(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	entries := []agents.AuditEntry{
		{Time: t0, Agent: "garden", Actor: "herdbot", Action: "approval.requested", Subject: "a1", Detail: `{"tool":"Bash"}`},
		{Time: t0.Add(time.Second), Agent: "garden", Actor: "u1", Action: "approval.decided", Subject: "a1", Detail: "allowed"},
		{Time: t0.Add(2 * time.Second), Agent: "homelab", Actor: "u2", Action: "job.cancelled", Subject: "j9"},
		{Time: t0.Add(3 * time.Second), Agent: "garden", Actor: "herdbot", Action: "egress.denied", Subject: "evil.example:443"},
		{Time: t0.Add(4 * time.Second), Agent: "garden", Actor: "herdbot", Action: "approval%x", Subject: "a2"},
	}
	for _, e := range entries {
		if err := db.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.AuditLog(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(entries) {
		t.Fatalf("AuditLog() = %d entries, want %d", len(got), len(entries))
	}
	want := entries[0]
	want.Time = want.Time.Truncate(time.Millisecond)
	if got[len(got)-1] != want {
		t.Errorf("oldest entry = %+v, want %+v", got[len(got)-1], want)
	}

	tests := []struct {
		f    store.AuditFilter
		want []string // subjects, newest first
	}{
		{store.AuditFilter{Agent: "garden"}, []string{"a2", "evil.example:443", "a1", "a1"}},
		{store.AuditFilter{ActionPrefix: "approval."}, []string{"a1", "a1"}},
		{store.AuditFilter{ActionPrefix: "approval%"}, []string{"a2"}}, // % is literal
		{store.AuditFilter{ActionPrefix: "approval"}, []string{"a2", "a1", "a1"}},
		{store.AuditFilter{Agent: "homelab", ActionPrefix: "job."}, []string{"j9"}},
		{store.AuditFilter{Subject: "a1"}, []string{"a1", "a1"}},
		{store.AuditFilter{Limit: 2}, []string{"a2", "evil.example:443"}},
		{store.AuditFilter{Agent: "nobody"}, nil},
	}
	for _, tc := range tests {
		es, err := db.AuditLog(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var subjects []string
		for _, e := range es {
			subjects = append(subjects, e.Subject)
		}
		if fmt.Sprint(subjects) != fmt.Sprint(tc.want) {
			t.Errorf("AuditLog(%+v) = %v, want %v", tc.f, subjects, tc.want)
		}
	}
}

func TestAuditDefaultsAndValidation(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	if err := db.Audit(ctx, agents.AuditEntry{Agent: "garden"}); err == nil {
		t.Error("Audit without action succeeded")
	}
	if err := db.Audit(ctx, agents.AuditEntry{Action: "job.started"}); err != nil {
		t.Fatal(err)
	}
	got, err := db.AuditLog(ctx, store.AuditFilter{})
	if err != nil || len(got) != 1 || got[0].Time.IsZero() {
		t.Errorf("AuditLog = %+v, %v; want one entry with a time", got, err)
	}
	if errors.Is(err, agents.ErrNotFound) {
		t.Error("unexpected ErrNotFound")
	}
}
