package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/store"
)

func approval(id, agent string, i int) agents.Approval {
	return agents.Approval{
		ID: id, JobID: "j1", Agent: agent, Conversation: "discord:g:c", RequestID: "req-" + id,
		Tool: "Bash", Input: json.RawMessage(`{"command":"ls"}`), InputHash: "abc",
		Requested: t0.Add(time.Duration(i) * time.Minute), Expires: t0.Add(time.Duration(i+10) * time.Minute),
		RequestedBy: "bob",
	}
}

func TestApprovalRoundTrip(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	a := approval("a1", "garden", 0)
	if err := db.CreateApproval(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := db.Approval(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != agents.Pending || got.Tool != "Bash" || string(got.Input) != `{"command":"ls"}` ||
		got.RequestID != "req-a1" || got.InputHash != "abc" || got.JobID != "j1" || got.Conversation != "discord:g:c" ||
		!got.Requested.Equal(a.Requested.Truncate(time.Millisecond)) || !got.Expires.Equal(a.Expires.Truncate(time.Millisecond)) ||
		!got.DecidedAt.IsZero() || got.DecidedBy != "" || got.RequestedBy != "bob" {
		t.Errorf("Approval = %+v", got)
	}
	if err := db.CreateApproval(ctx, a); !errors.Is(err, store.ErrExists) {
		t.Errorf("duplicate CreateApproval = %v, want ErrExists", err)
	}
	if _, err := db.Approval(ctx, "nope"); !errors.Is(err, agents.ErrNotFound) {
		t.Errorf("Approval(nope) = %v, want ErrNotFound", err)
	}
	for _, bad := range []agents.Approval{
		{Agent: "garden"},
		{ID: "x"},
		{ID: "x", Agent: "garden", Status: "maybe"},
	} {
		if err := db.CreateApproval(ctx, bad); err == nil {
			t.Errorf("CreateApproval(%+v) succeeded", bad)
		}
	}
}

func TestDecideApprovalOnce(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	if err := db.CreateApproval(ctx, approval("a1", "garden", 0)); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Minute)
	got, err := db.DecideApproval(ctx, "a1", agents.Allowed, "u1", "", at)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != agents.Allowed || got.DecidedBy != "u1" || !got.DecidedAt.Equal(at.Truncate(time.Millisecond)) {
		t.Errorf("decided = %+v", got)
	}

	cur, err := db.DecideApproval(ctx, "a1", agents.Denied, "u2", "no", at.Add(time.Second))
	if !errors.Is(err, agents.ErrNotPending) {
		t.Fatalf("second DecideApproval = %v, want ErrNotPending", err)
	}
	if cur.Status != agents.Allowed || cur.DecidedBy != "u1" || cur.ID != "a1" {
		t.Errorf("second DecideApproval returned %+v, want the current (allowed by u1) row", cur)
	}
	if stored, _ := db.Approval(ctx, "a1"); stored.Status != agents.Allowed || stored.DecidedBy != "u1" {
		t.Errorf("stored after second decide = %+v", stored)
	}

	if _, err := db.DecideApproval(ctx, "nope", agents.Denied, "u", "", at); !errors.Is(err, agents.ErrNotFound) {
		t.Errorf("DecideApproval(nope) = %v, want ErrNotFound", err)
	}
	for _, s := range []agents.Verdict{agents.Pending, "", "sure"} {
		if _, err := db.DecideApproval(ctx, "a1", s, "u", "", at); err == nil || errors.Is(err, agents.ErrNotPending) {
			t.Errorf("DecideApproval(status %q) = %v, want an invalid-decision error", s, err)
		}
	}
}

func TestDecideApprovalRace(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	if err := db.CreateApproval(ctx, approval("a1", "garden", 0)); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Go(func() {
			status := agents.Allowed
			if i%2 == 1 {
				status = agents.Expired
			}
			_, results[i] = db.DecideApproval(ctx, "a1", status, fmt.Sprint("u", i), "", t0)
		})
	}
	wg.Wait()
	wins := 0
	for i, err := range results {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, agents.ErrNotPending):
			t.Errorf("decider %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d deciders won, want exactly 1", wins)
	}
}

func TestSetApprovalRefs(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	if err := db.CreateApproval(ctx, approval("a1", "garden", 0)); err != nil {
		t.Fatal(err)
	}
	refs := `[{"platform":"discord","channel":"c","id":"m1"}]`
	if err := db.SetApprovalRefs(ctx, "a1", refs); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Approval(ctx, "a1"); got.Refs != refs {
		t.Errorf("Refs = %q, want %q", got.Refs, refs)
	}
	if err := db.SetApprovalRefs(ctx, "nope", refs); !errors.Is(err, agents.ErrNotFound) {
		t.Errorf("SetApprovalRefs(nope) = %v, want ErrNotFound", err)
	}
}

func TestApprovalsList(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	for i, a := range []agents.Approval{
		approval("g1", "garden", 1), approval("g2", "garden", 2), approval("g3", "garden", 3), approval("h1", "homelab", 4),
	} {
		if err := db.CreateApproval(ctx, a); err != nil {
			t.Fatal(i, err)
		}
	}
	if _, err := db.DecideApproval(ctx, "g2", agents.Denied, "u", "", t0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		agent   string
		pending bool
		limit   int
		want    []string
	}{
		{"", false, 0, []string{"h1", "g3", "g2", "g1"}},
		{"garden", false, 0, []string{"g3", "g2", "g1"}},
		{"garden", true, 0, []string{"g3", "g1"}},
		{"", true, 2, []string{"h1", "g3"}},
		{"nobody", false, 0, nil},
	}
	for _, tc := range tests {
		as, err := db.Approvals(ctx, tc.agent, tc.pending, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range as {
			got = append(got, a.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("Approvals(%q, %v, %d) = %v, want %v", tc.agent, tc.pending, tc.limit, got, tc.want)
		}
	}
}
