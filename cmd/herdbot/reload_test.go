package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/herdbot/herdbot/config"
)

// fakeWatch stands in for config.WatchReady (whose real behaviour config's
// tests cover): it records each start and the Fleet it watches, and ends
// at once with an error while fail is set.
type fakeWatch struct {
	mu      sync.Mutex
	fail    bool
	fleets  []*config.Fleet
	failed  int // starts that ended at once
	lasting int // starts that run until cancelled
	onChg   func()
	changed chan struct{} // closed and replaced at every start
}

func newFakeWatch(fail bool) *fakeWatch { return &fakeWatch{fail: fail, changed: make(chan struct{})} }

func (w *fakeWatch) watch(ctx context.Context, f *config.Fleet, onChange, ready func()) error {
	w.mu.Lock()
	w.fleets = append(w.fleets, f)
	w.onChg = onChange
	fail := w.fail
	if fail {
		w.failed++
	} else {
		w.lasting++
	}
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
	if fail {
		return errors.New("inotify: too many open files")
	}
	ready()
	<-ctx.Done()
	return nil
}

// waitFor waits until cond holds (checked under w.mu at every start).
func (w *fakeWatch) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		w.mu.Lock()
		ok, ch := cond(), w.changed
		w.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestReloaderRestartsTheWatch(t *testing.T) {
	fw := newFakeWatch(false)
	one, two := &config.Fleet{Name: "one"}, &config.Fleet{Name: "two"}
	var mu sync.Mutex
	current := one
	reloads := make(chan struct{}, 10)
	hup := make(chan os.Signal, 1)
	r := &reloader{log: slog.New(slog.NewTextHandler(t.Output(), nil)), watch: fw.watch,
		fleet: func() *config.Fleet { mu.Lock(); defer mu.Unlock(); return current },
		reload: func(context.Context) bool {
			mu.Lock()
			current = two
			mu.Unlock()
			reloads <- struct{}{}
			return true
		},
		hup: hup, minBackoff: time.Millisecond, maxBackoff: 4 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.run(ctx); close(done) }()

	fw.waitFor(t, "the first watch", func() bool { return fw.lasting == 1 })
	// A change the watch sees reloads, and the watch starts again on the
	// new config (so the files of agents added by the reload are watched).
	fw.mu.Lock()
	poke := fw.onChg
	fw.mu.Unlock()
	poke()
	<-reloads
	fw.waitFor(t, "the watch restarted after the reload", func() bool { return fw.lasting == 2 })
	fw.mu.Lock()
	if len(fw.fleets) != 2 || fw.fleets[0] != one || fw.fleets[1] != two {
		t.Errorf("watched %v, want the old config, then the reloaded one", fw.fleets)
	}
	// From now on the watch stops by itself (an inotify limit): SIGHUP
	// still reloads, and the watch is retried with backoff.
	fw.fail = true
	fw.mu.Unlock()
	hup <- syscall.SIGHUP
	<-reloads
	fw.waitFor(t, "retries of a watch that fails", func() bool { return fw.failed >= 3 })
	fw.mu.Lock()
	fw.fail = false
	fw.mu.Unlock()
	fw.waitFor(t, "a retry that lasts", func() bool { return fw.lasting >= 3 })
	// Once it lasts, a reload catches what changed while nothing watched.
	select {
	case <-reloads:
	case <-time.After(10 * time.Second):
		t.Fatal("no reload after the watch came back")
	}

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown waited on the watch")
	}
}

// TestReloaderShutdownAfterTheWatchEnded: the watch ended by itself and
// its retry is far off; shutdown waits for nothing.
func TestReloaderShutdownAfterTheWatchEnded(t *testing.T) {
	fw := newFakeWatch(true)
	r := &reloader{log: slog.New(slog.NewTextHandler(t.Output(), nil)), watch: fw.watch,
		fleet: func() *config.Fleet { return &config.Fleet{} }, reload: func(context.Context) bool { return false },
		hup: make(chan os.Signal), minBackoff: time.Hour, maxBackoff: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.run(ctx); close(done) }()
	fw.waitFor(t, "the watch to fail", func() bool { return fw.failed == 1 })
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown hung after the watch had stopped by itself")
	}
}
