package store_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestReplayKeysClaimOnceUntilExpiry(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	exp := t0.Add(time.Hour)
	if ok, err := db.ClaimReplayKeys(ctx, t0, exp, "d:1", "s:a"); err != nil || !ok {
		t.Fatalf("first claim = %v, %v", ok, err)
	}
	// Any key of a claimed set refuses a new set, which records nothing.
	if ok, err := db.ClaimReplayKeys(ctx, t0, exp, "d:2", "s:a"); err != nil || ok {
		t.Fatalf("claim sharing s:a = %v, %v; want refused", ok, err)
	}
	if seen, _ := db.SeenReplayKey(ctx, t0, "d:2"); seen {
		t.Fatal("a refused claim recorded its other key")
	}
	if seen, _ := db.SeenReplayKey(ctx, t0, "x", "d:1"); !seen {
		t.Fatal("claimed key not seen")
	}
	// After expiry the key is free again (and the old row is gone).
	later := exp.Add(time.Millisecond)
	if seen, _ := db.SeenReplayKey(ctx, later, "d:1"); seen {
		t.Fatal("expired key still seen")
	}
	if ok, err := db.ClaimReplayKeys(ctx, later, later.Add(time.Hour), "d:1"); err != nil || !ok {
		t.Fatalf("claim after expiry = %v, %v", ok, err)
	}
	// A released claim can be made again.
	if err := db.ReleaseReplayKeys(ctx, "d:1"); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.ClaimReplayKeys(ctx, later, later.Add(time.Hour), "d:1"); err != nil || !ok {
		t.Fatalf("claim after release = %v, %v", ok, err)
	}
}

func TestReplayKeysSurviveReopenAndRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	db := mustOpenPath(t, path)
	ctx := t.Context()
	// Concurrent claims of one key: exactly one wins.
	var wg sync.WaitGroup
	wins := make(chan bool, 8)
	for range 8 {
		wg.Go(func() {
			ok, err := db.ClaimReplayKeys(ctx, t0, t0.Add(time.Hour), "s:same")
			if err != nil {
				t.Error(err)
			}
			wins <- ok
		})
	}
	wg.Wait()
	close(wins)
	n := 0
	for ok := range wins {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d concurrent claims won, want 1", n)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpenPath(t, path)
	if ok, err := db.ClaimReplayKeys(ctx, t0.Add(time.Minute), t0.Add(time.Hour), "s:same"); err != nil || ok {
		t.Fatalf("claim after reopen = %v, %v; want refused", ok, err)
	}
}
