package config

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchDebounce coalesces the bursts of events one save produces.
const watchDebounce = 100 * time.Millisecond

// WatchReady calls onChange after the fleet file, an agent file or any of
// their .env files is written, created, removed or renamed, until ctx is
// done; it returns nil then. Bursts of events are coalesced into one call.
// onChange runs on the watch's goroutine, so a slow onChange delays the
// next. ready (if not nil) is called on that goroutine once every directory
// is watched: a change after that is seen.
//
// It watches the parent directories (fsnotify) rather than the files, so an
// editor that saves by removing and re-creating a file, and a .env file
// created after start, are both seen. Agents added to the fleet file later
// are not watched until WatchReady is called again with the reloaded Fleet;
// callers reload with Load, keep the old Fleet if that fails, and restart
// the watch with the new one.
func WatchReady(ctx context.Context, f *Fleet, onChange, ready func()) error {
	return watch(ctx, f, onChange, ready)
}

// WatchedFiles lists the files WatchReady reacts to.
func (f *Fleet) WatchedFiles() []string {
	files := append([]string{f.Path, f.EnvFile}, f.SubFleetFiles...)
	for _, a := range f.Agents {
		files = append(files, a.File, a.EnvFile)
	}
	return files
}

func watch(ctx context.Context, f *Fleet, onChange func(), ready func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch config: %w", err)
	}
	defer w.Close()
	files := map[string]bool{}
	dirs := map[string]bool{}
	for _, p := range f.WatchedFiles() {
		if p == "" {
			continue
		}
		p = filepath.Clean(p)
		files[p] = true
		d := filepath.Dir(p)
		if !dirs[d] {
			if err := w.Add(d); err != nil {
				return fmt.Errorf("watch config dir %s: %w", d, err)
			}
			dirs[d] = true
		}
	}
	if ready != nil {
		ready()
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	// What changed after f was loaded and before the directories were
	// watched is a change too.
	if len(f.ChangedSinceLoad()) > 0 {
		timer.Reset(watchDebounce)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if files[filepath.Clean(ev.Name)] && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Remove|fsnotify.Rename) != 0 {
				timer.Reset(watchDebounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			// An overflow means events were lost: reload to be safe.
			if err == fsnotify.ErrEventOverflow {
				timer.Reset(watchDebounce)
			}
		case <-timer.C:
			onChange()
		}
	}
}
