package store

import (
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadMigrations(t *testing.T) {
	sql := &fstest.MapFile{Data: []byte("CREATE TABLE t (a);")}
	tests := []struct {
		name    string
		files   fstest.MapFS
		wantErr string
		want    int
	}{
		{"ok", fstest.MapFS{"migrations/001_a.sql": sql, "migrations/002_b.sql": sql}, "", 2},
		{"gap", fstest.MapFS{"migrations/001_a.sql": sql, "migrations/003_c.sql": sql}, "want 2", 0},
		{"not from one", fstest.MapFS{"migrations/002_b.sql": sql}, "want 1", 0},
		{"bad name", fstest.MapFS{"migrations/1_a.sql": sql}, "NNN_name.sql", 0},
		{"no underscore", fstest.MapFS{"migrations/001.sql": sql}, "NNN_name.sql", 0},
		{"empty", fstest.MapFS{}, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := loadMigrations(tc.files)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("loadMigrations = %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(ms) != tc.want {
				t.Fatalf("loadMigrations = %d, %v; want %d", len(ms), err, tc.want)
			}
		})
	}
	if len(migrations) == 0 {
		t.Fatal("no embedded migrations")
	}
}

// TestFailedMigrationRollsBack checks that a step that fails half way leaves
// neither its tables nor a bumped user_version behind.
func TestFailedMigrationRollsBack(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "h.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bad := migration{version: len(migrations) + 1, name: "999_bad.sql", sql: "CREATE TABLE half (a); INSERT INTO nope VALUES (1);"}
	if _, err := db.applyMigration(ctx, bad); err == nil || !strings.Contains(err.Error(), "999_bad.sql") {
		t.Fatalf("applyMigration(bad) = %v, want an error naming the step", err)
	}
	var v, n int
	if err := db.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != len(migrations) {
		t.Errorf("user_version = %d after failed step, want %d", v, len(migrations))
	}
	if err := db.w.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE name = 'half'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("table of the failed step exists")
	}
	// Every table of the design exists.
	for _, table := range []string{"conversations", "jobs", "job_events", "schedules", "schedule_slots", "approvals", "audit"} {
		if err := db.r.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: count %d, %v", table, n, err)
		}
	}
}

func TestPragmasPerConnection(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "h.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		name string
		conn *sql.DB
	}{{"writer", db.w}, {"reader", db.r}} {
		name, conn := c.name, c.conn
		var mode string
		var fk, busy int
		if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || fk != 1 || busy != int(busyTimeout.Milliseconds()) {
			t.Errorf("%s: journal_mode=%s foreign_keys=%d busy_timeout=%d", name, mode, fk, busy)
		}
	}
	var sync int
	if err := db.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 1 {
		t.Errorf("writer synchronous = %d, %v; want 1 (NORMAL)", sync, err)
	}
	if _, err := db.r.ExecContext(ctx, "INSERT INTO audit (time, action) VALUES (1, 'x')"); err == nil {
		t.Error("reader pool accepted a write")
	}
}
