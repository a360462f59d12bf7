// Package store keeps herdbot's state in one SQLite file (modernc.org/sqlite,
// no cgo): conversations, jobs and their transcripts, schedules, approvals and
// the audit trail.
//
// A DB has one writer connection (every write transaction is IMMEDIATE, so
// concurrent writers queue instead of failing with SQLITE_BUSY) and a small
// pool of read-only connections; the file is in WAL mode, so readers never
// block the writer. Times are stored as UTC unix milliseconds: they come back
// in UTC, truncated to the millisecond, and the zero time comes back as zero.
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
	"runtime"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/herdbot/herdbot/agents"
)

// Errors returned by Open. They are wrapped with the file name and details.
var (
	// ErrCorrupt means the file is not a SQLite database or is damaged. The
	// file is left exactly as it was.
	ErrCorrupt = errors.New("not a valid SQLite database (corrupt or another kind of file)")
	// ErrNewerSchema means the database was migrated by a newer herdbot.
	ErrNewerSchema = errors.New("written by a newer herdbot")
)

const (
	busyTimeout = 10 * time.Second
	// maxReaders bounds the read pool: every connection has its own page
	// cache, so the pool is never unbounded.
	maxReaders = 4
	// defaultLimit is the row limit of list methods called with limit <= 0.
	defaultLimit = 100
)

// driverName is the database/sql driver of the writer and the readers; tests
// swap in a wrapper that counts prepared statements.
var driverName = "sqlite"

// DB is herdbot's state store. It is safe for concurrent use. It implements
// agents.Store and the scheduler's slot and state methods.
type DB struct {
	path string
	w    *sql.DB // the single writer connection
	r    *sql.DB // read-only pool
	st   *stmts  // hot-path statements, prepared at Open
	log  *slog.Logger

	closed   atomic.Bool
	readOnly bool // OpenReadOnly: w is the read-only pool
}

var _ agents.Store = (*DB)(nil)

// Open opens (creating if needed) the database at path and migrates it to the
// current schema. The parent directory is created with mode 0700 and a new
// file with mode 0600.
//
// Open refuses, without modifying the file, a file that is not a SQLite
// database or is damaged (ErrCorrupt) and a database written by a newer
// herdbot (ErrNewerSchema).
func Open(ctx context.Context, path string, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if path == "" {
		return nil, errors.New("open store: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := prepareFile(abs); err != nil {
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	if err := probe(ctx, abs); err != nil {
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}

	w, err := sql.Open(driverName, dsn(abs, false))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	readers := min(max(runtime.GOMAXPROCS(0), 2), maxReaders)
	r, err := sql.Open(driverName, dsn(abs, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)

	db := &DB{path: abs, w: w, r: r, log: log.With("component", "store")}
	from, to, err := db.migrate(ctx)
	if err != nil {
		db.closeConns()
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	if db.st, err = prepareStmts(ctx, w, r); err != nil {
		db.closeConns()
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	if from != to {
		db.log.Info("store migrated", "path", abs, "from", from, "to", to)
	}
	return db, nil
}

// prepareFile creates the parent directory (0700) and an empty file (0600)
// when missing, and refuses a path that is a directory.
func prepareFile(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil:
		if fi.IsDir() {
			return errors.New("path is a directory, want a database file")
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("path is not a regular file (%s)", fi.Mode().Type())
		}
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil // created concurrently by another opener
	}
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	return f.Close()
}

// dsn is the modernc DSN for path. Pragmas run on every new connection.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
	}
	return fileURI(path, q)
}

// fileURI renders path as an SQLite file: URI, escaping '?', '#' and '%'.
func fileURI(path string, q url.Values) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// Closed reports whether Close was called: no write will succeed again.
func (db *DB) Closed() bool { return db.closed.Load() }

// Path returns the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// Ping checks that both the reader pool and the writer can reach the file.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping store reader: %w", err)
	}
	if err := db.w.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping store writer: %w", err)
	}
	return nil
}

// Close runs PRAGMA optimize and closes every connection. Calls after the
// first return nil.
func (db *DB) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	if db.closed.Swap(true) {
		return nil
	}
	if !db.readOnly {
		if _, err := db.w.ExecContext(ctx, "PRAGMA optimize"); err != nil {
			errs = append(errs, fmt.Errorf("optimize: %w", err))
		}
	}
	errs = append(errs, db.closeConns())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store %s: %w", db.path, err)
	}
	return nil
}

func (db *DB) closeConns() error {
	var err error
	if db.st != nil {
		err = db.st.close()
	}
	if db.readOnly {
		return errors.Join(err, db.r.Close())
	}
	return errors.Join(err, db.r.Close(), db.w.Close())
}
