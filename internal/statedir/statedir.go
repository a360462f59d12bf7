// Package statedir owns herdbot's state directory as a whole: the exclusive
// lock that makes one `herdbot start` its only owner, and the installation
// id that tells this installation's Docker resources from those of every
// other herdbot on the same engine.
package statedir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// File names in the state directory.
const (
	LockFile         = "herdbot.lock"
	InstallationFile = "installation-id"
)

// Lock is the exclusive lock on a state directory (flock(2) on its
// herdbot.lock file). The kernel drops it when the process ends, however it
// ends, so a crash never leaves a stale lock.
type Lock struct {
	f    *os.File
	path string
}

// HeldError says another process holds the lock.
type HeldError struct {
	Dir string
	PID int // 0 when the holder has not written its pid yet
}

func (e *HeldError) Error() string {
	who := "another herdbot process"
	if e.PID > 0 {
		who = "herdbot process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("state dir %s is in use by %s (lock %s); one herdbot owns a state dir: stop that one first, or give this fleet another state_dir",
		e.Dir, who, filepath.Join(e.Dir, LockFile))
}

// Acquire creates dir (mode 0700) if needed and takes its lock without
// waiting. When another process holds it, it returns a *HeldError naming
// that process and changes nothing. The lock file then holds this
// process's pid, for the next one's message.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state dir lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &HeldError{Dir: dir, PID: holder(path)}
		}
		return nil, fmt.Errorf("state dir lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f, path: path}, nil
}

// holder reads the pid the lock's holder wrote (0 when none yet).
func holder(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// Release drops the lock. The lock file stays (removing it would let a
// third process lock a new file while a second still waits on the old one).
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// idRE is what an installation id looks like: 32 lowercase hex digits.
var idRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// InstallationID returns the installation id stored in dir, creating it
// (128 random bits, hex) the first time. Call it holding dir's Lock.
func InstallationID(dir string) (string, error) {
	id, err := ReadInstallationID(dir)
	if err != nil || id != "" {
		return id, err
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("installation id: %w", err)
	}
	id = hex.EncodeToString(b[:])
	tmp, err := os.CreateTemp(dir, InstallationFile+".*")
	if err != nil {
		return "", fmt.Errorf("installation id: %w", err)
	}
	_, werr := tmp.WriteString(id + "\n")
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("installation id: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("installation id: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, InstallationFile)); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("installation id: %w", err)
	}
	return id, nil
}

// ReadInstallationID returns the installation id stored in dir, or "" when
// there is none yet. A file that does not hold an id is an error (it is
// never replaced: the resources labelled with the old id would be lost).
func ReadInstallationID(dir string) (string, error) {
	path := filepath.Join(dir, InstallationFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("installation id: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if !idRE.MatchString(id) {
		return "", fmt.Errorf("installation id: %s does not hold an id (32 hex digits); restore it, or remove it to start a new installation (then remove the old one's containers and networks yourself)", path)
	}
	return id, nil
}
