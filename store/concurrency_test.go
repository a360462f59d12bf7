package store_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/store"
)

// TestConcurrentWritersAndReaders runs many goroutines writing and reading
// at once: every write must succeed (no SQLITE_BUSY) and be visible after.
func TestConcurrentWritersAndReaders(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	const workers, perWorker = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			agent := fmt.Sprint("agent", w%4)
			for i := range perWorker {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := db.CreateJob(ctx, job(id, agent, agents.JobRunning, i)); err != nil {
					t.Errorf("CreateJob %s: %v", id, err)
					return
				}
				if err := db.AppendEvents(ctx, []agents.JobEvent{ev(id, 0, "a", `1`), ev(id, 0, "b", `2`)}); err != nil {
					t.Errorf("AppendEvents %s: %v", id, err)
				}
				j := job(id, agent, agents.JobSucceeded, i)
				if err := db.UpdateJob(ctx, j); err != nil {
					t.Errorf("UpdateJob %s: %v", id, err)
				}
				if err := db.Audit(ctx, agents.AuditEntry{Agent: agent, Action: "job.done", Subject: id}); err != nil {
					t.Errorf("Audit %s: %v", id, err)
				}
				if _, err := db.Jobs(ctx, agents.JobFilter{Agent: agent, Limit: 5}); err != nil {
					t.Errorf("Jobs: %v", err)
				}
				if _, err := db.Job(ctx, id); err != nil {
					t.Errorf("Job %s: %v", id, err)
				}
			}
		})
	}
	wg.Wait()

	jobs, err := db.Jobs(ctx, agents.JobFilter{Status: agents.JobSucceeded, Limit: workers * perWorker * 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != workers*perWorker {
		t.Errorf("%d succeeded jobs, want %d", len(jobs), workers*perWorker)
	}
	evs, err := db.Events(ctx, "w3-7", 0)
	if err != nil || len(evs) != 2 || evs[1].Seq != 2 {
		t.Errorf("Events(w3-7) = %+v, %v", evs, err)
	}
	audit, err := db.AuditLog(ctx, store.AuditFilter{ActionPrefix: "job.", Limit: 10000})
	if err != nil || len(audit) != workers*perWorker {
		t.Errorf("audit entries = %d, %v; want %d", len(audit), err, workers*perWorker)
	}
}
