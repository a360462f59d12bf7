package sched_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/sched"
)

func TestApplyHotReload(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	keep := every("garden", "keep", time.Hour)
	change := every("garden", "change", time.Hour)
	gone := every("garden", "gone", time.Hour)
	reword := every("garden", "reword", time.Hour)
	h := newHarness(t, clk, newMemState(), []sched.Schedule{keep, change, gone, reword}, opts{})
	h.timers(4)

	h.advanceTo(t0.Add(30 * time.Minute))
	change.Interval = 2 * time.Hour
	reword.Prompt = "new words"
	added := every("garden", "added", 45*time.Minute)
	if err := h.s.Apply(t.Context(), []sched.Schedule{keep, change, reword, added}); err != nil {
		t.Fatal(err)
	}

	for key, want := range map[string]time.Time{
		"garden/keep":   t0.Add(time.Hour),                    // unchanged: keeps its timing
		"garden/reword": t0.Add(time.Hour),                    // prompt only: keeps its timing
		"garden/change": t0.Add(30*time.Minute + 2*time.Hour), // new interval from the change
		"garden/added":  t0.Add(30*time.Minute + 45*time.Minute),
		"garden/gone":   {},
	} {
		if got := h.s.JobNextRun(key); !got.Equal(want) {
			t.Errorf("%s next run %s, want %s", key, got, want)
		}
	}
	var names []string
	for _, in := range h.s.List(clk.Now()) {
		names = append(names, in.Schedule.Name)
	}
	if want := []string{"added", "change", "keep", "reword"}; !slices.Equal(names, want) {
		t.Fatalf("List = %v, want %v", names, want)
	}

	h.timers(4)
	h.advanceTo(t0.Add(75 * time.Minute)) // keep and reword at 1h, added at 1h15m
	got := map[string]string{}
	for range 3 {
		c := h.nextCall()
		got[c.req.Schedule] = c.req.Prompt
	}
	for range 3 {
		h.ran()
	}
	if got["reword"] != "new words" || got["keep"] != "report keep" || got["added"] == "" {
		t.Fatalf("runs %v", got)
	}
	h.timers(4)
	h.advanceTo(t0.Add(150 * time.Minute)) // keep, reword, added at 2h; change at 2h30m
	seen := map[string]bool{}
	for range 4 {
		seen[h.nextCall().req.Schedule] = true
	}
	if !seen["change"] || seen["gone"] {
		t.Fatalf("runs %v: want change, never gone", seen)
	}
	for range 4 {
		h.ran()
	}
	if n := h.stopAndCount(); n != 0 {
		t.Fatalf("%d more runs", n)
	}
}

func TestApplyRejectsInvalidAndKeepsTheOld(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	h := newHarness(t, clk, newMemState(), []sched.Schedule{every("garden", "weather", time.Hour)}, opts{})
	h.timers(1)
	bad := every("garden", "weather", time.Hour)
	bad.Cron, bad.Type = "61 * * * *", sched.TypeCron
	err := h.s.Apply(t.Context(), []sched.Schedule{bad, every("garden", "x", 0)})
	if !errors.Is(err, sched.ErrInvalid) {
		t.Fatalf("err %v, want ErrInvalid", err)
	}
	if err := h.s.Apply(t.Context(), []sched.Schedule{every("a", "b", time.Hour), every("a", "b", time.Hour)}); !errors.Is(err, sched.ErrInvalid) {
		t.Fatalf("duplicate: err %v, want ErrInvalid", err)
	}
	if got := h.s.JobNextRun("garden/weather"); !got.Equal(t0.Add(time.Hour)) {
		t.Fatalf("old schedule next run %s, want unchanged", got)
	}
}

func TestApplyAfterStop(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	h := newHarness(t, clk, newMemState(), nil, opts{})
	h.stop()
	if err := h.s.Apply(t.Context(), nil); !errors.Is(err, sched.ErrStopped) {
		t.Fatalf("err %v, want ErrStopped", err)
	}
}
