package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
)

// ErrNoDatabase is returned by OpenReadOnly when there is no database file
// (herdbot has never run with that state directory).
var ErrNoDatabase = errors.New("no herdbot database")

// OpenReadOnly opens the database at path for reading only, for the CLI's
// reading commands while herdbot is stopped. It creates nothing (no file,
// no directory, no -wal or -shm beside a cleanly closed database: that one
// is read as immutable), migrates nothing and takes no lock: a herdbot
// that starts meanwhile writes as usual. Writes through the returned DB
// fail. The file must have this binary's schema;
// an older one is migrated by the next `herdbot start`.
func OpenReadOnly(ctx context.Context, path string, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	fi, err := os.Stat(abs)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s (herdbot has not run with this state directory)", ErrNoDatabase, abs)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("open store %s: not a regular file", abs)
	}
	if err := checkHeader(abs); err != nil {
		return nil, fmt.Errorf("open store %s: %w", abs, classify(err))
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "query_only(1)")
	q.Set("mode", "ro")
	if _, err := os.Stat(abs + "-wal"); errors.Is(err, os.ErrNotExist) {
		// Closed cleanly: the file holds everything. Read it as it is,
		// creating no -wal or -shm beside it (one made by another user,
		// root say, could keep herdbot from opening its own database).
		q.Set("immutable", "1")
	}
	r, err := sql.Open(driverName, fileURI(abs, q))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	r.SetMaxOpenConns(2)
	var version int
	if err := r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		r.Close()
		return nil, fmt.Errorf("open store %s read-only: %w", abs, classify(err))
	}
	switch known := len(migrations); {
	case version > known:
		r.Close()
		return nil, fmt.Errorf("open store %s: %w (schema %d, this binary knows %d)", abs, ErrNewerSchema, version, known)
	case version < known:
		r.Close()
		return nil, fmt.Errorf("open store %s: schema %d is older than this herdbot's (%d): start herdbot once to migrate it", abs, version, known)
	}
	// Writes go to the read-only pool too, and fail there.
	db := &DB{path: abs, w: r, r: r, log: log.With("component", "store"), readOnly: true}
	if db.st, err = prepareStmts(ctx, r, r); err != nil {
		r.Close()
		return nil, fmt.Errorf("open store %s read-only: %w", abs, err)
	}
	return db, nil
}

// ReadOnly reports whether db was opened by OpenReadOnly.
func (db *DB) ReadOnly() bool { return db.readOnly }
