package store_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/store"
)

// mustOpen opens a fresh database in t.TempDir() and closes it at cleanup.
func mustOpen(t testing.TB) *store.DB {
	t.Helper()
	return mustOpenPath(t, filepath.Join(t.TempDir(), "state", "herdbot.db"))
}

func mustOpenPath(t testing.TB, path string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), path, testLogger(t))
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func testLogger(t testing.TB) *slog.Logger {
	if _, ok := t.(*testing.B); ok {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

func TestOpenCreatesPrivateFileAndDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "herdbot.db")
	db := mustOpenPath(t, path)
	if got := db.Path(); got != path {
		t.Errorf("Path() = %q, want %q", got, path)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s mode = %v, want at most %v", p, got, want)
		}
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	// SQLite gives the WAL file the database file's mode.
	if err := db.Audit(t.Context(), agents.AuditEntry{Action: "test"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got&^0o600 != 0 {
		t.Errorf("WAL mode = %v, want at most 0600", got)
	}
}

func TestOpenPragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	mustOpenPath(t, path)
	// The WAL flag is persistent in the header: bytes 18 and 19 are 2.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 20 || b[18] != 2 || b[19] != 2 {
		t.Errorf("database header is not in WAL mode: % x", b[16:20])
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := store.Open(t.Context(), "", testLogger(t)); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}

func TestOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := store.Open(t.Context(), dir, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "is a directory") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Open(dir) = %v, want an error naming %s as a directory", err, dir)
	}
}

func TestOpenParentIsFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(t.Context(), filepath.Join(f, "h.db"), testLogger(t)); err == nil {
		t.Fatal("Open under a regular file succeeded")
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	ctx := t.Context()
	db, err := store.Open(ctx, path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateJob(ctx, job("j1", "garden", "succeeded", 1)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	db = mustOpenPath(t, path)
	if _, err := db.Job(ctx, "j1"); err != nil {
		t.Fatalf("Job after reopen: %v", err)
	}
}

// setUserVersion writes user_version into the header (bytes 60..63, big
// endian) of a closed database file, as a newer herdbot would.
func setUserVersion(t *testing.T, path string, v uint32) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[60], b[61], b[62], b[63] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOpenNewerSchemaRefusedUntouched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	db, err := store.Open(t.Context(), path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	setUserVersion(t, path, 999)
	before := readFile(t, path)

	_, err = store.Open(t.Context(), path, testLogger(t))
	if !errors.Is(err, store.ErrNewerSchema) {
		t.Fatalf("Open = %v, want ErrNewerSchema", err)
	}
	for _, want := range []string{"written by a newer herdbot", "schema 999", "this binary knows ", path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if !bytes.Equal(before, readFile(t, path)) {
		t.Error("refused file was modified")
	}
}

func TestOpenCorruptRefusedUntouched(t *testing.T) {
	tests := []struct {
		name string
		make func(t *testing.T, path string)
	}{
		{"text file", func(t *testing.T, path string) {
			writeFile(t, path, []byte("fleet: garden\nthis is not a database\n"))
		}},
		{"short file", func(t *testing.T, path string) {
			writeFile(t, path, []byte("SQLite"))
		}},
		{"header then garbage", func(t *testing.T, path string) {
			b := append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{0xA5}, 8192)...)
			writeFile(t, path, b)
		}},
		{"damaged pages", func(t *testing.T, path string) {
			db, err := store.Open(t.Context(), path, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			b := readFile(t, path)
			for i := 100; i < len(b); i++ { // keep the 100-byte header, wreck the schema page and the rest
				b[i] ^= 0x5A
			}
			writeFile(t, path, b)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "h.db")
			tc.make(t, path)
			before := readFile(t, path)
			_, err := store.Open(t.Context(), path, testLogger(t))
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
			t.Logf("Open: %v", err)
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if !bytes.Equal(before, readFile(t, path)) {
				t.Error("refused file was modified")
			}
			for _, suffix := range []string{"-wal", "-shm"} {
				if _, err := os.Stat(path + suffix); err == nil {
					t.Errorf("%s%s was created", path, suffix)
				}
			}
		})
	}
}

func TestOpenConcurrentSameFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	errs := make(chan error, 4)
	dbs := make(chan *store.DB, 4)
	for range 4 {
		go func() {
			db, err := store.Open(t.Context(), path, testLogger(t))
			errs <- err
			dbs <- db
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("Open: %v", err)
		}
		if db := <-dbs; db != nil {
			t.Cleanup(func() { db.Close() })
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
