package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// probeBytes is how much new space WriteProbe asks of the file system the
// database is on: enough for a few transactions' worth of WAL.
const probeBytes = 64 << 10

// Health is the store's /healthz check: both connections answer (Ping) and
// a write commits (WriteProbe).
func (db *DB) Health(ctx context.Context) error {
	if err := db.Ping(ctx); err != nil {
		return err
	}
	return db.WriteProbe(ctx)
}

// WriteProbe checks that the store can take new writes: it commits one row
// (the health_probe table) and has the file system beside the database
// take probeBytes of new data, written and synced, then removed. SQLite
// often commits into WAL pages it already has, so a full disk shows first
// as a write that needs new space: the second half catches it before a job
// row or a run's end is refused.
func (db *DB) WriteProbe(ctx context.Context) error {
	if db.closed.Load() {
		return errors.New("store write probe: the store is closed")
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO health_probe (id, at) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET at = excluded.at`, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("store write probe: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(db.path), ".herdbot-probe-*")
	if err != nil {
		return fmt.Errorf("store write probe: %w", err)
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(make([]byte, probeBytes))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("store write probe: the state directory cannot take new data (%s): %w", filepath.Dir(db.path), err)
	}
	return nil
}
