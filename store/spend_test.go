package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
)

// TestSpend sums the cost of an agent's jobs from a time on, of one
// conversation or session when asked, and never another agent's.
func TestSpend(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	for _, j := range []agents.Job{
		{ID: "y", Agent: "garden", Conversation: "c1", SessionID: "s1", Started: day.Add(-time.Minute), CostUSD: 5},
		{ID: "a", Agent: "garden", Conversation: "c1", SessionID: "s1", Started: day, CostUSD: 0.25},
		{ID: "b", Agent: "garden", Conversation: "c1", SessionID: "s2", Started: day.Add(time.Hour), CostUSD: 0.5},
		{ID: "c", Agent: "garden", Conversation: "c2", Started: day.Add(2 * time.Hour), CostUSD: 1},
		{ID: "r", Agent: "garden", Conversation: "c2", Started: day.Add(3 * time.Hour), Status: agents.JobRunning},
		{ID: "t", Agent: "garden", Conversation: "c1:1234.5678", Started: day.Add(4 * time.Hour), CostUSD: 2},
		{ID: "t2", Agent: "garden", Conversation: "c10", Started: day.Add(4 * time.Hour), CostUSD: 4},
		{ID: "h", Agent: "homelab", Conversation: "c1", Started: day.Add(time.Hour), CostUSD: 7},
	} {
		if j.Status == "" {
			j.Status, j.Finished = agents.JobSucceeded, j.Started.Add(time.Second)
		}
		if err := db.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		q    agents.SpendQuery
		want float64
	}{
		{agents.SpendQuery{Agent: "garden", Since: day}, 7.75},
		{agents.SpendQuery{Agent: "garden", Since: day.Add(-time.Hour)}, 12.75},
		{agents.SpendQuery{Agent: "garden", Since: day, Conversation: "c1", WithThreads: true}, 2.75},
		{agents.SpendQuery{Agent: "garden", Since: day, Conversation: "c1"}, 0.75},
		{agents.SpendQuery{Agent: "garden", Since: time.Time{}, Conversation: "c1", SessionID: "s1"}, 5.25},
		{agents.SpendQuery{Agent: "homelab", Since: day}, 7},
		{agents.SpendQuery{Agent: "nobody", Since: day}, 0},
	} {
		got, err := db.Spend(ctx, tc.q)
		if err != nil || got != tc.want {
			t.Errorf("Spend(%+v) = %v, %v; want %v", tc.q, got, err, tc.want)
		}
	}
	if _, err := db.Spend(ctx, agents.SpendQuery{}); err == nil {
		t.Error("Spend without an agent: want an error")
	}
}

// TestSpendSurvivesPrune: deleting old job rows does not lower what the
// agent spent this month (a budget would otherwise be exceeded by an
// agent with many jobs).
func TestSpendSurvivesPrune(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	now := time.Now().UTC()
	since := now.Add(-24 * time.Hour)
	for i := range 5 {
		j := agents.Job{ID: fmt.Sprint("j", i), Agent: "garden", Status: agents.JobSucceeded,
			Started: now.Add(time.Duration(i-5) * time.Minute), CostUSD: 0.5}
		j.Finished = j.Started.Add(time.Second)
		if err := db.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	old := agents.Job{ID: "old", Agent: "garden", Status: agents.JobSucceeded, Started: now.Add(-60 * 24 * time.Hour), CostUSD: 9}
	old.Finished = old.Started.Add(time.Second)
	if err := db.CreateJob(ctx, old); err != nil {
		t.Fatal(err)
	}
	before, err := db.Spend(ctx, agents.SpendQuery{Agent: "garden", Since: since})
	if err != nil || before != 2.5 {
		t.Fatalf("spend before prune: %v, %v", before, err)
	}
	if n, err := db.Prune(ctx, 2); err != nil || n != 4 {
		t.Fatalf("Prune(2) = %d, %v; want 4 deleted", n, err)
	}
	after, err := db.Spend(ctx, agents.SpendQuery{Agent: "garden", Since: since})
	if err != nil || after != before {
		t.Fatalf("spend after prune: %v, %v; want %v", after, err, before)
	}
	if all, _ := db.Spend(ctx, agents.SpendQuery{Agent: "garden"}); all != before {
		t.Fatalf("spend of all time after prune %v: a job older than the kept window must not be kept (%v)", all, before)
	}
	// A second prune deletes nothing more and counts nothing twice.
	if _, err := db.Prune(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if again, _ := db.Spend(ctx, agents.SpendQuery{Agent: "garden", Since: since}); again != before {
		t.Fatalf("spend after a second prune %v, want %v", again, before)
	}
}
