package store_test

import (
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/store"
)

func TestScheduleState(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	if _, err := db.ScheduleState(ctx, "garden", "morning"); !errors.Is(err, agents.ErrNotFound) {
		t.Fatalf("ScheduleState(missing) = %v, want ErrNotFound", err)
	}
	if got, err := db.ScheduleStates(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ScheduleStates() = %v, %v; want empty", got, err)
	}
	s := agents.ScheduleState{Agent: "garden", Name: "morning", NextRun: t0} // never ran: zero LastRun
	if err := db.PutScheduleState(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := db.ScheduleState(ctx, "garden", "morning")
	if err != nil {
		t.Fatal(err)
	}
	if want := (agents.ScheduleState{Agent: "garden", Name: "morning", NextRun: t0.Truncate(time.Millisecond)}); got != want {
		t.Errorf("ScheduleState = %+v, want %+v", got, want)
	}

	s = agents.ScheduleState{Agent: "garden", Name: "morning", LastRun: t0, NextRun: t0.Add(24 * time.Hour), LastStatus: "succeeded", LastJob: "j1"}
	if err := db.PutScheduleState(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := db.PutScheduleState(ctx, agents.ScheduleState{Agent: "homelab", Name: "backup"}); err != nil {
		t.Fatal(err)
	}
	all, err := db.ScheduleStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := s
	want.LastRun, want.NextRun = s.LastRun.Truncate(time.Millisecond), s.NextRun.Truncate(time.Millisecond)
	if len(all) != 2 || all[0] != want || all[1].Agent != "homelab" || !all[1].LastRun.IsZero() {
		t.Errorf("ScheduleStates() = %+v", all)
	}
	for _, bad := range []agents.ScheduleState{{Agent: "garden"}, {Name: "x"}} {
		if err := db.PutScheduleState(ctx, bad); err == nil {
			t.Errorf("PutScheduleState(%+v) succeeded", bad)
		}
	}
}

func TestClaimSlotOnceAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	ctx := t.Context()
	slot := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)

	db, err := store.Open(ctx, path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	claim := func(db *store.DB, agent, name string, slot time.Time) bool {
		t.Helper()
		ok, err := db.ClaimSlot(ctx, agent, name, slot)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim(db, "garden", "morning", slot) {
		t.Fatal("first ClaimSlot = false, want true")
	}
	if claim(db, "garden", "morning", slot) {
		t.Error("second ClaimSlot = true, want false")
	}
	// The same instant in another zone is the same slot.
	if claim(db, "garden", "morning", slot.In(time.FixedZone("CET", 3600))) {
		t.Error("ClaimSlot in another zone = true, want false")
	}
	if !claim(db, "garden", "morning", slot.Add(time.Hour)) {
		t.Error("next slot = false, want true")
	}
	if !claim(db, "garden", "evening", slot) || !claim(db, "homelab", "morning", slot) {
		t.Error("other schedule's slot = false, want true")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpenPath(t, path)
	if claim(db, "garden", "morning", slot) {
		t.Error("ClaimSlot after reopen = true: a slot that already ran would run again")
	}
	if _, err := db.ClaimSlot(ctx, "garden", "morning", time.Time{}); err == nil {
		t.Error("ClaimSlot(zero time) succeeded")
	}
	if _, err := db.ClaimSlot(ctx, "", "morning", slot); err == nil {
		t.Error("ClaimSlot without agent succeeded")
	}
}

func TestClaimSlotConcurrent(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	slot := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	const n = 32
	var wg sync.WaitGroup
	wins := make([]bool, n)
	for i := range n {
		wg.Go(func() {
			ok, err := db.ClaimSlot(ctx, "garden", "morning", slot)
			if err != nil {
				t.Error(err)
			}
			wins[i] = ok
		})
	}
	wg.Wait()
	count := 0
	for _, w := range wins {
		if w {
			count++
		}
	}
	if count != 1 {
		t.Errorf("%d claims won, want exactly 1", count)
	}
}

// TestClaimSlotTwoHandles checks "exactly once" between two DB handles on one
// file, as two herdbot processes would have.
func TestClaimSlotTwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	a, b := mustOpenPath(t, path), mustOpenPath(t, path)
	ctx := t.Context()
	slot := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	var wonA, wonB atomic.Int32
	for i := range 20 {
		s := slot.Add(time.Duration(i) * time.Minute)
		wg.Go(func() {
			if ok, err := a.ClaimSlot(ctx, "garden", "m", s); err != nil {
				t.Error(err)
			} else if ok {
				wonA.Add(1)
			}
		})
		wg.Go(func() {
			if ok, err := b.ClaimSlot(ctx, "garden", "m", s); err != nil {
				t.Error(err)
			} else if ok {
				wonB.Add(1)
			}
		})
	}
	wg.Wait()
	if a, b := wonA.Load(), wonB.Load(); a+b != 20 {
		t.Errorf("claims won: %d + %d, want 20 in total", a, b)
	}
}

func TestPruneSlots(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	slot := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	for i := range 5 {
		if ok, err := db.ClaimSlot(ctx, "garden", "m", slot.Add(time.Duration(i)*time.Hour)); err != nil || !ok {
			t.Fatalf("ClaimSlot %d = %v, %v", i, ok, err)
		}
	}
	n, err := db.PruneSlots(ctx, slot.Add(2*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PruneSlots = %d, %v; want 2", n, err)
	}
	if ok, _ := db.ClaimSlot(ctx, "garden", "m", slot.Add(2*time.Hour)); ok {
		t.Error("slot at the cut-off was forgotten")
	}
	if ok, _ := db.ClaimSlot(ctx, "garden", "m", slot); !ok {
		t.Error("pruned slot could not be claimed again")
	}
}
