package statedir

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestLockIsExclusiveAndNamesTheHolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state dir %v %v, want mode 0700", fi, err)
	}
	// A second open file description of the lock file is refused, as a
	// second process would be.
	_, err = Acquire(dir)
	var held *HeldError
	if !errors.As(err, &held) || held.PID != os.Getpid() {
		t.Fatalf("second Acquire: %v, want a HeldError naming pid %d", err, os.Getpid())
	}
	if !strings.Contains(err.Error(), "herdbot process "+itoa(os.Getpid())) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("message %q does not name the holder and the dir", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	_ = l2.Release()
	_ = l2.Release() // twice is fine
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestInstallationIDIsCreatedOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	if id, err := ReadInstallationID(dir); err != nil || id != "" {
		t.Fatalf("before: %q %v, want none", id, err)
	}
	id, err := InstallationID(dir)
	if err != nil || !idRE.MatchString(id) {
		t.Fatalf("InstallationID: %q %v", id, err)
	}
	again, err := InstallationID(dir)
	if err != nil || again != id {
		t.Fatalf("second call: %q %v, want the stored %q", again, err, id)
	}
	if fi, err := os.Stat(filepath.Join(dir, InstallationFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("id file %v %v, want mode 0600", fi, err)
	}
	other, err := InstallationID(t.TempDir())
	if err != nil || other == id {
		t.Fatalf("another state dir got %q (%v), want a different id", other, err)
	}
}

func TestInstallationIDRefusesAGarbledFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, InstallationFile)
	if err := os.WriteFile(path, []byte("not an id\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := InstallationID(dir); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("garbled id file: %v, want an error naming it", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "not an id\n" {
		t.Fatalf("the garbled file was replaced: %q", b)
	}
}
