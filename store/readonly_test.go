package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/store"
)

// The CLI's reading commands open the file read-only while herdbot is
// stopped: nothing is created where there is no database.
func TestOpenReadOnlyCreatesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	_, err := store.OpenReadOnly(t.Context(), filepath.Join(dir, "herdbot.db"), nil)
	if !errors.Is(err, store.ErrNoDatabase) {
		t.Fatalf("err %v, want ErrNoDatabase", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the state dir was created: %v", err)
	}
}

// What a stopped herdbot wrote is read back; writes fail and change
// nothing, and no file appears beside the database; a writer that opens
// the file meanwhile writes as usual, and a reader opened beside it sees
// its commits.
func TestOpenReadOnlyReadsAndNeverWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "herdbot.db")
	w, err := store.Open(t.Context(), path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	j := agents.Job{ID: "j-1", Agent: "garden", Trigger: agents.TriggerCLI, Prompt: "hi", Status: agents.JobSucceeded, Started: now, Finished: now}
	if err := w.CreateJob(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	if err := w.Audit(t.Context(), agents.AuditEntry{Agent: "garden", Actor: "cli:uid=0(root),pid=1", Action: "control.trigger", Subject: "garden"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	r, err := store.OpenReadOnly(t.Context(), path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.ReadOnly() {
		t.Fatal("not read-only")
	}
	got, err := r.Job(t.Context(), "j-1")
	if err != nil || got.Prompt != "hi" || got.Status != agents.JobSucceeded {
		t.Fatalf("job %+v, %v", got, err)
	}
	if log, err := r.AuditLog(t.Context(), store.AuditFilter{}); err != nil || len(log) != 1 {
		t.Fatalf("audit %+v, %v", log, err)
	}
	if err := r.CreateJob(t.Context(), agents.Job{ID: "j-2", Agent: "garden", Status: agents.JobRunning, Started: now}); err == nil {
		t.Fatal("a write through the read-only store succeeded")
	}
	if err := r.Audit(t.Context(), agents.AuditEntry{Action: "x"}); err == nil {
		t.Fatal("an audit write through the read-only store succeeded")
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Fatal("the database file changed under a read-only reader")
	}
	ents, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "herdbot.db" {
			t.Fatalf("the read-only reader made %s beside the database", e.Name())
		}
	}

	// A herdbot starting while the reader is open writes as usual.
	w2, err := store.Open(t.Context(), path, testLogger(t))
	if err != nil {
		t.Fatalf("open for writing beside a reader: %v", err)
	}
	defer w2.Close()
	if err := w2.CreateJob(t.Context(), agents.Job{ID: "j-3", Agent: "garden", Status: agents.JobRunning, Started: now}); err != nil {
		t.Fatalf("write beside a reader: %v", err)
	}
	// A reader opened now (the -wal exists: herdbot is writing) sees the
	// commit and leaves the writer alone.
	r2, err := store.OpenReadOnly(t.Context(), path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if got, err := r2.Job(t.Context(), "j-3"); err != nil || got.ID != "j-3" {
		t.Fatalf("a reader beside the writer does not see its commit: %+v, %v", got, err)
	}
	if err := w2.CreateJob(t.Context(), agents.Job{ID: "j-4", Agent: "garden", Status: agents.JobRunning, Started: now}); err != nil {
		t.Fatalf("write beside two readers: %v", err)
	}
}
