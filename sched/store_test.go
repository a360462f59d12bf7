package sched_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/sched"
	"github.com/herdbot/herdbot/store"
)

// TestWithRealStore runs the restart and downtime cases against SQLite.
func TestWithRealStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herdbot.db")
	db, err := store.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var _ sched.State = db

	clk := clockwork.NewFakeClockAt(t0)
	s := cronSchedule("garden", "weather", "0 * * * *", time.UTC)
	h := newStoreHarness(t, clk, db, s)
	h.timers(1)
	h.advanceTo(t0.Add(time.Hour))
	h.nextCall()
	h.fire()
	h.stop()
	st, err := db.ScheduleState(t.Context(), "garden", "weather")
	if err != nil {
		t.Fatal(err)
	}
	if st.LastStatus != "succeeded" || !st.LastRun.Equal(t0.Add(time.Hour)) || !st.NextRun.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("stored state %+v", st)
	}

	// Crash before the next run was saved: the slot still does not run twice.
	st.NextRun = t0.Add(time.Hour)
	if err := db.PutScheduleState(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	s.CatchUp = sched.CatchUpOnce
	h2 := newStoreHarness(t, clk, db, s)
	if f := h2.fire(); f.outcome != "done-before" {
		t.Fatalf("fire %+v, want done-before", f)
	}
	if n := h2.stopAndCount(); n != 0 {
		t.Fatalf("%d runs after restart, want none", n)
	}

	// Down from 11:30 to 14:30: 12:00, 13:00 and 14:00 are skipped and audited.
	s.CatchUp = ""
	clk.Advance(3 * time.Hour)
	h3 := newStoreHarness(t, clk, db, s)
	h3.timers(1)
	if n := h3.stopAndCount(); n != 0 {
		t.Fatalf("%d runs, want none", n)
	}
	rows, err := db.AuditLog(t.Context(), store.AuditFilter{Agent: "garden", ActionPrefix: "schedule.skipped"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d skipped rows, want 3: %+v", len(rows), rows)
	}
}

func newStoreHarness(t *testing.T, clk *clockwork.FakeClock, db *store.DB, s sched.Schedule) *harness {
	t.Helper()
	return newHarness(t, clk, newMemState(), []sched.Schedule{s}, opts{state: db})
}
