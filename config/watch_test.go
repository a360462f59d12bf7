package config

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestWatch: writing an agent's new .env, then replacing the agent file by
// remove-then-create, each lead to a reload; Watch ends with ctx.
func TestWatch(t *testing.T) {
	dir := writeFiles(t, baseFleet)
	f, err := load(dir, mapLookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	changed := make(chan struct{}, 16)
	ready := make(chan struct{})
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() {
		werr = watch(ctx, f, func() { changed <- struct{}{} }, func() { close(ready) })
	})
	<-ready
	wait := func(what string) {
		t.Helper()
		select {
		case <-changed:
		case <-time.After(10 * time.Second):
			t.Fatalf("no change seen after %s", what)
		}
	}
	envPath := filepath.Join(dir, "agents", "a", ".env")
	if err := os.WriteFile(envPath, []byte("X=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wait("creating the agent .env")

	agentFile := filepath.Join(dir, "agents", "a", "agent.yaml")
	os.Remove(agentFile)
	if err := os.WriteFile(agentFile, []byte("name: a\nmodel: opus\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wait("replacing the agent file")

	f2, err := load(dir, mapLookup(nil))
	if err != nil || f2.Agents[0].Model != "opus" {
		t.Fatalf("reload: %v", err)
	}
	cancel()
	wg.Wait()
	if werr != nil {
		t.Errorf("watch returned %v", werr)
	}
}

func TestWatchedFiles(t *testing.T) {
	f := mustLoad(t, baseFleet, nil)
	got := f.WatchedFiles()
	if len(got) != 4 || filepath.Base(got[1]) != ".env" || filepath.Base(got[2]) != "agent.yaml" {
		t.Errorf("WatchedFiles = %v", got)
	}
}

// TestWatchSeesChangesMadeBeforeItStarted: a file written, or a .env
// created, after the load read it and before the watch was in place is a
// change the watch reports once it is in place (a reload restarts the
// watch after loading; a change in that gap was lost).
func TestWatchSeesChangesMadeBeforeItStarted(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(t *testing.T, dir string)
	}{
		{"agent file written", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "agents", "a", "agent.yaml"), "name: a\nmodel: opus\n")
		}},
		{"agent .env created", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "agents", "a", ".env"), "X=1\n")
		}},
		{"fleet .env created", func(t *testing.T, dir string) { write(t, filepath.Join(dir, ".env"), "Y=2\n") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := writeFiles(t, baseFleet)
			f, err := load(dir, mapLookup(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got := f.ChangedSinceLoad(); len(got) != 0 {
				t.Fatalf("ChangedSinceLoad right after the load = %v", got)
			}
			c.change(t, dir)
			if got := f.ChangedSinceLoad(); len(got) != 1 {
				t.Fatalf("ChangedSinceLoad = %v, want the one changed file", got)
			}
			ctx, cancel := context.WithCancel(t.Context())
			changed := make(chan struct{}, 1)
			var wg sync.WaitGroup
			wg.Go(func() { _ = watch(ctx, f, func() { changed <- struct{}{} }, nil) })
			defer func() { cancel(); wg.Wait() }()
			select {
			case <-changed:
			case <-time.After(10 * time.Second):
				t.Fatal("the watch did not report a change made before it started")
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
