package sched_test

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/sched"
)

func TestRestartAfterASlotRanDoesNotRunItAgain(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	st := newMemState()
	s := cronSchedule("garden", "weather", "0 * * * *", time.UTC)
	s.CatchUp = sched.CatchUpOnce
	h := newHarness(t, clk, st, []sched.Schedule{s}, opts{})
	h.timers(1)
	slot := t0.Add(time.Hour)
	h.advanceTo(slot)
	h.nextCall()
	h.ran()
	h.stop()

	// Restart at the same instant: the persisted next run is the next slot.
	h2 := newHarness(t, clk, st, []sched.Schedule{s}, opts{})
	h2.timers(1)
	if n := h2.stopAndCount(); n != 0 {
		t.Fatalf("%d runs after a restart, want none", n)
	}

	// Even if the process died before saving its next run (state still
	// says the 11:00 slot is next), the claimed slot does not run again.
	stale := st.state(s.Key())
	stale.NextRun = slot
	st.put(stale)
	clk.Advance(30 * time.Minute)
	h3 := newHarness(t, clk, st, []sched.Schedule{s}, opts{})
	if f := h3.fire(); !f.slot.Equal(slot) || f.outcome != "done-before" {
		t.Fatalf("catch-up fire %+v, want slot %s done before", f, slot)
	}
	h3.timers(1)
	if n := h3.stopAndCount(); n != 0 {
		t.Fatalf("%d runs of a slot that already ran, want none", n)
	}
	if rows := st.auditRows("schedule.skipped"); len(rows) != 0 {
		t.Fatalf("skipped rows %v, want none (the slot ran)", rows)
	}
}

func downtime(t *testing.T, catchUp string) (*harness, *memState, sched.Schedule) {
	t.Helper()
	// Hourly; last planned run 10:00; herdbot comes back at 12:30, having
	// missed 10:00, 11:00 and 12:00.
	clk := clockwork.NewFakeClockAt(t0.Add(150 * time.Minute))
	st := newMemState()
	s := cronSchedule("garden", "weather", "0 * * * *", time.UTC)
	s.CatchUp = catchUp
	st.put(agents.ScheduleState{Agent: "garden", Name: "weather", LastRun: t0.Add(-time.Hour), NextRun: t0, LastStatus: "succeeded", LastJob: "j-0"})
	h := newHarness(t, clk, st, []sched.Schedule{s}, opts{})
	return h, st, s
}

func TestDowntimeSkip(t *testing.T) {
	h, st, _ := downtime(t, "")
	h.timers(1) // armed for 13:00: catch-up handling is done
	rows := st.auditRows("schedule.skipped")
	if len(rows) != 3 {
		t.Fatalf("%d skipped rows, want 3: %+v", len(rows), rows)
	}
	for i, want := range []string{"2026-11-22T10:00:00Z", "2026-11-22T11:00:00Z", "2026-11-22T12:00:00Z"} {
		if rows[i].Subject != want || rows[i].Agent != "garden" || rows[i].Actor != "schedule:weather" {
			t.Errorf("row %d = %+v, want subject %s", i, rows[i], want)
		}
	}
	// The next regular slot runs.
	h.advanceTo(t0.Add(3 * time.Hour))
	if c := h.nextCall(); !c.at.Equal(t0.Add(3 * time.Hour)) {
		t.Fatalf("ran at %s, want the 13:00 slot only", c.at)
	}
	h.ran()
	if n := h.stopAndCount(); n != 0 {
		t.Fatalf("%d more runs", n)
	}
}

func TestDowntimeOnce(t *testing.T) {
	h, st, _ := downtime(t, sched.CatchUpOnce)
	c := h.nextCall() // the catch-up run, right away
	if !c.at.Equal(t0.Add(150 * time.Minute)) {
		t.Fatalf("catch-up ran at %s, want at start", c.at)
	}
	h.ran()
	h.timers(1)
	if n := h.stopAndCount(); n != 0 {
		t.Fatalf("%d more runs, want one catch-up only", n)
	}
	if rows := st.auditRows("schedule.skipped"); len(rows) != 2 {
		t.Fatalf("%d skipped rows, want 2 (10:00 and 11:00; 12:00 ran)", len(rows))
	}
	if lags := h.lags.get("garden/weather"); len(lags) != 1 || lags[0] != 0 {
		t.Fatalf("lags %v: a catch-up run is late on purpose, not lagging", lags)
	}
	st.mu.Lock()
	claimed := append([]time.Time(nil), st.claims...)
	st.mu.Unlock()
	if last := claimed[len(claimed)-1]; !last.Equal(t0.Add(2 * time.Hour)) {
		t.Fatalf("catch-up claimed %s, want the 12:00 slot", last)
	}
}

func TestDowntimeIntervalOnce(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0.Add(150 * time.Minute))
	st := newMemState()
	s := every("garden", "weather", time.Hour)
	s.CatchUp = sched.CatchUpOnce
	st.put(agents.ScheduleState{Agent: "garden", Name: "weather", NextRun: t0})
	h := newHarness(t, clk, st, []sched.Schedule{s}, opts{})
	h.nextCall()
	h.ran()
	// The next run is an hour after the catch-up ended.
	h.timers(1)
	if got := h.s.JobNextRun("garden/weather"); !got.Equal(t0.Add(210 * time.Minute)) {
		t.Fatalf("next run %s, want an hour after the catch-up", got)
	}
	h.advanceTo(t0.Add(210 * time.Minute))
	h.nextCall()
	h.ran()
	if rows := st.auditRows("schedule.skipped"); len(rows) != 2 {
		t.Fatalf("%d skipped rows, want 2", len(rows))
	}
}

func TestTriggerRunsNow(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	st := newMemState()
	h := newHarness(t, clk, st, []sched.Schedule{every("garden", "weather", time.Hour)}, opts{noRun: true})
	res, err := h.s.Trigger(t.Context(), "garden", "weather")
	if err != nil {
		t.Fatal(err)
	}
	c := h.nextCall()
	if c.req.Trigger != agents.TriggerCLI || c.req.Schedule != "weather" || !c.req.Silent {
		t.Fatalf("request %+v", c.req)
	}
	if p := h.nextPost(); p.to != channel {
		t.Fatalf("report to %+v", p.to)
	}
	if got := st.state("garden/weather"); got.LastJob != res.Job.ID || got.LastStatus != "succeeded" {
		t.Fatalf("state %+v after trigger", got)
	}
	if _, err := h.s.Trigger(t.Context(), "garden", "nope"); err == nil {
		t.Fatal("Trigger of an unknown schedule succeeded")
	}
}
