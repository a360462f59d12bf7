package store_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/herdbot/herdbot/agents"
)

func TestPruneKeepsNewestFinalJobsPerAgent(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	// garden: g0..g5 final, plus an old running job that must survive.
	// homelab: h0, h1 final (fewer than N, all kept).
	var all []agents.Job
	for i := range 6 {
		all = append(all, job(fmt.Sprint("g", i), "garden", agents.JobSucceeded, i))
	}
	all = append(all,
		job("g-running", "garden", agents.JobRunning, -10),
		job("g-queued", "garden", agents.JobQueued, -9),
		job("h0", "homelab", agents.JobFailed, 0),
		job("h1", "homelab", agents.JobCancelled, 1),
	)
	for _, j := range all {
		if err := db.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		if err := db.AppendEvents(ctx, []agents.JobEvent{ev(j.ID, 1, "prompt", `{}`), ev(j.ID, 2, "result", `{}`)}); err != nil {
			t.Fatal(err)
		}
	}

	n, err := db.Prune(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("Prune(3) deleted %d jobs, want 3", n)
	}
	left, err := db.Jobs(ctx, agents.JobFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	got := ids(left)
	slices.Sort(got)
	want := []string{"g-queued", "g-running", "g3", "g4", "g5", "h0", "h1"}
	if !slices.Equal(got, want) {
		t.Errorf("jobs after Prune(3) = %v, want %v", got, want)
	}
	for _, id := range []string{"g0", "g1", "g2"} {
		if evs, err := db.Events(ctx, id, 0); err != nil || len(evs) != 0 {
			t.Errorf("events of pruned job %s: %d, %v; want none", id, len(evs), err)
		}
	}
	if evs, _ := db.Events(ctx, "g3", 0); len(evs) != 2 {
		t.Errorf("events of kept job g3: %d, want 2", len(evs))
	}

	if n, err := db.Prune(ctx, 3); err != nil || n != 0 {
		t.Errorf("second Prune(3) = %d, %v; want 0", n, err)
	}
	// Default (1000) keeps everything here.
	if n, err := db.Prune(ctx, 0); err != nil || n != 0 {
		t.Errorf("Prune(0) = %d, %v; want 0", n, err)
	}
	if n, err := db.Prune(ctx, 1); err != nil || n != 3 {
		t.Errorf("Prune(1) = %d, %v; want 3 (g3, g4, h0)", n, err)
	}
}
