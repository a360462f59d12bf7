package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations are the embedded steps, in order; version i+1 is migrations[i].
var migrations = mustLoadMigrations(migrationFS)

// mustLoadMigrations reads migrations/NNN_name.sql. The files are part of the
// binary, so a bad set is a programming error caught by every test.
func mustLoadMigrations(fsys fs.FS) []migration {
	ms, err := loadMigrations(fsys)
	if err != nil {
		panic(err)
	}
	return ms
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	ms := make([]migration, 0, len(names))
	for i, name := range names { // Glob returns names sorted
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 3 {
			return nil, fmt.Errorf("migration %s: name must be NNN_name.sql", name)
		}
		if v != i+1 {
			return nil, fmt.Errorf("migration %s: version %d, want %d (numbers must be contiguous from 001)", name, v, i+1)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	return ms, nil
}

// migrate applies the missing steps, each in its own immediate transaction
// that also sets user_version, and returns the versions before and after.
func (db *DB) migrate(ctx context.Context) (from, to int, err error) {
	if err := db.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&from); err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", classify(err))
	}
	to = from
	for _, m := range migrations {
		applied, err := db.applyMigration(ctx, m)
		if err != nil {
			return from, to, err
		}
		if applied {
			to = m.version
		}
	}
	return from, to, nil
}

// applyMigration runs m if the database is older than m. It reads
// user_version inside the write transaction, so two processes opening the
// same new file do not both apply a step.
func (db *DB) applyMigration(ctx context.Context, m migration) (bool, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	if version > len(migrations) {
		return false, fmt.Errorf("%w (schema %d, this binary knows %d)", ErrNewerSchema, version, len(migrations))
	}
	if version >= m.version {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
		return false, fmt.Errorf("migration %s: set user_version: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %s: commit: %w", m.name, err)
	}
	return true, nil
}
