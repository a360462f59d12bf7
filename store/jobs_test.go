package store_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/store"
)

// t0 is a fixed base time with sub-millisecond digits (which are dropped).
var t0 = time.Date(2026, 11, 22, 10, 0, 0, 123456789, time.UTC)

// job returns a job of agent started i minutes after t0.
func job(id, agent string, status agents.JobStatus, i int) agents.Job {
	j := agents.Job{
		ID: id, Agent: agent, Trigger: "chat", Conversation: "discord:g:c", Prompt: "water the plants",
		Status: status, Started: t0.Add(time.Duration(i) * time.Minute),
	}
	if status.Final() {
		j.Finished = j.Started.Add(time.Second)
	}
	return j
}

func TestJobRoundTrip(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	j := agents.Job{
		ID: "j1", Agent: "garden", Trigger: "schedule", Schedule: "morning", Conversation: "discord:g:c",
		Prompt: "check the soil ✓", Status: agents.JobSucceeded, SessionID: "sess",
		Started: t0.In(time.FixedZone("X", 3600)), Finished: t0.Add(90 * time.Second),
		CostUSD: 0.0123, Turns: 4, Error: "",
	}
	if err := db.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	got, err := db.Job(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	want := j
	want.Started = t0.Truncate(time.Millisecond)
	want.Finished = t0.Add(90 * time.Second).Truncate(time.Millisecond)
	if got != want {
		t.Errorf("Job =\n %+v\nwant\n %+v", got, want)
	}
	if got.Started.Location() != time.UTC {
		t.Errorf("Started location = %v, want UTC", got.Started.Location())
	}

	if err := db.CreateJob(ctx, j); !errors.Is(err, store.ErrExists) {
		t.Errorf("duplicate CreateJob = %v, want ErrExists", err)
	}
	if _, err := db.Job(ctx, "nope"); !errors.Is(err, agents.ErrNotFound) {
		t.Errorf("Job(nope) = %v, want ErrNotFound", err)
	}
}

func TestCreateJobDefaultsAndValidation(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	if err := db.CreateJob(ctx, agents.Job{ID: "q", Agent: "garden"}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Job(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != agents.JobQueued || !got.Started.IsZero() || !got.Finished.IsZero() {
		t.Errorf("Job = %+v, want queued with zero times", got)
	}
	for _, bad := range []agents.Job{
		{Agent: "garden"},
		{ID: "x"},
		{ID: "x", Agent: "garden", Status: "exploded"},
	} {
		if err := db.CreateJob(ctx, bad); err == nil {
			t.Errorf("CreateJob(%+v) succeeded", bad)
		}
	}
}

func TestUpdateJob(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	j := job("j1", "garden", agents.JobRunning, 0)
	if err := db.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	j.Status, j.Finished, j.CostUSD, j.Turns, j.Error, j.SessionID = agents.JobFailed, t0.Add(time.Hour), 1.5, 7, "boom", "s9"
	if err := db.UpdateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	got, err := db.Job(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != agents.JobFailed || got.CostUSD != 1.5 || got.Turns != 7 || got.Error != "boom" ||
		got.SessionID != "s9" || !got.Finished.Equal(t0.Add(time.Hour).Truncate(time.Millisecond)) {
		t.Errorf("after update: %+v", got)
	}
	if err := db.UpdateJob(ctx, job("nope", "garden", agents.JobFailed, 0)); !errors.Is(err, agents.ErrNotFound) {
		t.Errorf("UpdateJob(missing) = %v, want ErrNotFound", err)
	}
	j.Status = "weird"
	if err := db.UpdateJob(ctx, j); err == nil {
		t.Error("UpdateJob with unknown status succeeded")
	}
}

func TestJobsFilterNewestFirst(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	for _, j := range []agents.Job{
		job("g1", "garden", agents.JobSucceeded, 1),
		job("g3", "garden", agents.JobRunning, 3),
		job("g2", "garden", agents.JobFailed, 2),
		job("h1", "homelab", agents.JobSucceeded, 4),
	} {
		if err := db.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		f    agents.JobFilter
		want []string
	}{
		{agents.JobFilter{}, []string{"h1", "g3", "g2", "g1"}},
		{agents.JobFilter{Agent: "garden"}, []string{"g3", "g2", "g1"}},
		{agents.JobFilter{Agent: "garden", Limit: 2}, []string{"g3", "g2"}},
		{agents.JobFilter{Status: agents.JobSucceeded}, []string{"h1", "g1"}},
		{agents.JobFilter{Agent: "garden", Status: agents.JobSucceeded}, []string{"g1"}},
		{agents.JobFilter{Agent: "nobody"}, nil},
	}
	for _, tc := range tests {
		jobs, err := db.Jobs(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(jobs); !slices.Equal(got, tc.want) {
			t.Errorf("Jobs(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
}

func TestJobsDefaultLimit(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	for i := range 105 {
		if err := db.CreateJob(ctx, job(fmt.Sprint("j", i), "garden", agents.JobSucceeded, i)); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := db.Jobs(ctx, agents.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 100 || jobs[0].ID != "j104" {
		t.Errorf("Jobs() = %d jobs starting %s, want 100 starting j104", len(jobs), jobs[0].ID)
	}
}

func TestInterruptRunning(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	for _, j := range []agents.Job{
		job("q", "garden", agents.JobQueued, 1),
		job("r", "homelab", agents.JobRunning, 2),
		job("done", "garden", agents.JobSucceeded, 3),
	} {
		if err := db.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	at := t0.Add(time.Hour)
	got, err := db.InterruptRunning(ctx, "herdbot restarted", at)
	if err != nil {
		t.Fatal(err)
	}
	gotIDs := ids(got)
	slices.Sort(gotIDs)
	if !slices.Equal(gotIDs, []string{"q", "r"}) {
		t.Fatalf("InterruptRunning returned %v, want [q r]", gotIDs)
	}
	for _, j := range got {
		if j.Status != agents.JobInterrupted || j.Error != "herdbot restarted" || !j.Finished.Equal(at.Truncate(time.Millisecond)) {
			t.Errorf("returned job %+v not interrupted", j)
		}
	}
	for id, want := range map[string]agents.JobStatus{"q": agents.JobInterrupted, "r": agents.JobInterrupted, "done": agents.JobSucceeded} {
		j, err := db.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != want {
			t.Errorf("job %s status = %s, want %s", id, j.Status, want)
		}
	}
	again, err := db.InterruptRunning(ctx, "again", at)
	if err != nil || len(again) != 0 {
		t.Errorf("second InterruptRunning = %v, %v; want none", ids(again), err)
	}
}

func ids(jobs []agents.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}
