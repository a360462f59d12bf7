package diskuse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The test binary re-executes itself for what needs another user or a
// mount namespace of its own: HERDBOT_DISKUSE_CHILD names the case and
// HERDBOT_DISKUSE_ROOTS the roots; the child prints its result as JSON.
const (
	envChild = "HERDBOT_DISKUSE_CHILD"
	envRoots = "HERDBOT_DISKUSE_ROOTS"
)

type childResult struct {
	Usage      Usage
	Err        string
	Unreadable bool
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(envChild); mode != "" {
		os.Exit(child(mode))
	}
	code := m.Run()
	if benchDir != "" {
		_ = os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

func child(mode string) int {
	roots := strings.Split(os.Getenv(envRoots), string(os.PathListSeparator))
	if mode == "mount" {
		// In our own mount namespace: a tmpfs over roots[1], inside roots[0].
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			fmt.Fprintln(os.Stderr, "make mounts private:", err)
			return 3
		}
		if err := unix.Mount("tmpfs", roots[1], "tmpfs", 0, "size=64m"); err != nil {
			fmt.Fprintln(os.Stderr, "mount tmpfs:", err)
			return 3
		}
		if err := os.WriteFile(filepath.Join(roots[1], "on-tmpfs"), make([]byte, 4<<20), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		roots = roots[:1]
	}
	u, err := Measure(context.Background(), roots, Options{})
	r := childResult{Usage: u}
	if err != nil {
		r.Err, r.Unreadable = err.Error(), errors.Is(err, ErrUnreadable)
	}
	_ = json.NewEncoder(os.Stdout).Encode(r)
	return 0
}

func runChild(t *testing.T, mode string, attr *syscall.SysProcAttr, roots ...string) childResult {
	t.Helper()
	bin := os.Args[0]
	if attr != nil && attr.Credential != nil {
		// Another user must be able to run the test binary.
		bin = filepath.Join(openDir(t), "diskuse.test")
		b, err := os.ReadFile(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+mode, envRoots+"="+strings.Join(roots, string(os.PathListSeparator)))
	cmd.SysProcAttr = attr
	cmd.Stderr = t.Output()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child %s: %v", mode, err)
	}
	var r childResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("child %s output %q: %v", mode, out, err)
	}
	return r
}

// openDir is a new directory that every user may enter.
func openDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func write(t testing.TB, path string, size int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
}

// allocated is what the file system says path takes (st_blocks × 512).
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

func measure(t *testing.T, o Options, roots ...string) Usage {
	t.Helper()
	u, err := Measure(context.Background(), roots, o)
	if err != nil {
		t.Fatalf("Measure: %v", err)
	}
	return u
}

func TestMeasureAddsAllocatedBytesOfEveryEntry(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a"), 3<<20)
	write(t, filepath.Join(dir, "sub", "b"), 1<<20)
	write(t, filepath.Join(dir, "sub", "deeper", "c"), 100)
	var want int64
	n := 0
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		want += allocated(t, p)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	u := measure(t, Options{}, dir)
	if u.Bytes != want || u.Entries != n || u.Truncated {
		t.Fatalf("got %+v, want %d bytes in %d entries", u, want, n)
	}
	if u.Bytes < 4<<20 {
		t.Fatalf("%d bytes for 4 MiB of data", u.Bytes)
	}
}

func TestMeasureCountsSparseFilesByWhatTheyTake(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if u := measure(t, Options{}, dir); u.Bytes >= 1<<20 {
		t.Fatalf("a 1 GiB sparse file counted as %d bytes", u.Bytes)
	}
}

func TestMeasureCountsHardLinksOnce(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "big"), 2<<20)
	for i := range 5 {
		if err := os.Link(filepath.Join(dir, "big"), filepath.Join(dir, fmt.Sprintf("link%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	u := measure(t, Options{}, dir)
	if u.Bytes < 2<<20 || u.Bytes >= 3<<20 {
		t.Fatalf("a 2 MiB file with 5 more links counted as %d bytes", u.Bytes)
	}
	if u.Entries != 7 {
		t.Fatalf("entries %d, want 7 (the dir, the file and its 5 links)", u.Entries)
	}
}

func TestMeasureNeverFollowsSymbolicLinks(t *testing.T) {
	outside := t.TempDir()
	write(t, filepath.Join(outside, "big"), 8<<20)
	dir := t.TempDir()
	for name, target := range map[string]string{"to-dir": outside, "to-file": filepath.Join(outside, "big"), "to-root": "/"} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	u := measure(t, Options{}, dir)
	if u.Bytes >= 1<<20 || u.Entries != 4 {
		t.Fatalf("links followed: %+v", u)
	}
}

func TestMeasureRootsOnceAndMissingOnesAsEmpty(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "inner", "f"), 1<<20)
	one := measure(t, Options{}, dir)
	// dir twice, a root inside it, a link to it and a missing root.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	all := measure(t, Options{}, dir, filepath.Join(dir, "inner"), dir, link, filepath.Join(dir, "missing"), "")
	if all != one {
		t.Fatalf("overlapping roots: %+v, want %+v", all, one)
	}
	if u := measure(t, Options{}, filepath.Join(t.TempDir(), "nope")); u != (Usage{}) {
		t.Fatalf("missing root: %+v", u)
	}
	// A root that is a file counts as itself.
	if u := measure(t, Options{}, filepath.Join(dir, "inner", "f")); u.Entries != 1 || u.Bytes < 1<<20 {
		t.Fatalf("file root: %+v", u)
	}
}

func TestMeasureStopsAtTheEntryBound(t *testing.T) {
	dir := t.TempDir()
	for i := range 50 {
		write(t, filepath.Join(dir, fmt.Sprintf("d%d", i%5), fmt.Sprintf("f%d", i)), 10)
	}
	full := measure(t, Options{}, dir)
	if full.Entries != 56 || full.Truncated {
		t.Fatalf("full walk: %+v", full)
	}
	u := measure(t, Options{MaxEntries: 20}, dir)
	if !u.Truncated || u.Entries != 20 || u.Bytes > full.Bytes {
		t.Fatalf("bounded walk: %+v (full %+v)", u, full)
	}
	if u := measure(t, Options{MaxEntries: 56}, dir); u.Truncated || u != full {
		t.Fatalf("a bound equal to the count: %+v", u)
	}
}

func TestMeasureStopsWhenCancelled(t *testing.T) {
	dir := t.TempDir()
	for i := range 600 {
		write(t, filepath.Join(dir, fmt.Sprintf("f%d", i)), 1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Measure(ctx, []string{dir}, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// A directory the walker may not read makes the usage unknown: an error,
// never a smaller number (an agent could hide its files behind chmod 000).
func TestMeasureFailsOnUnreadableDirectory(t *testing.T) {
	dir := openDir(t)
	write(t, filepath.Join(dir, "hidden", "big"), 1<<20)
	if err := os.Chmod(filepath.Join(dir, "hidden"), 0o700); err != nil {
		t.Fatal(err)
	}
	var r childResult
	if os.Geteuid() == 0 {
		// Root reads everything: walk as nobody.
		r = runChild(t, "plain", &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}, dir)
	} else {
		if err := os.Chmod(filepath.Join(dir, "hidden"), 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(filepath.Join(dir, "hidden"), 0o700) })
		u, err := Measure(context.Background(), []string{dir}, Options{})
		r = childResult{Usage: u, Unreadable: errors.Is(err, ErrUnreadable)}
		if err != nil {
			r.Err = err.Error()
		}
	}
	if !r.Unreadable || !strings.Contains(r.Err, "hidden") {
		t.Fatalf("want ErrUnreadable naming the directory, got %+v", r)
	}
}

// A file system mounted inside a root is not counted: it is not the
// agent's disk.
func TestMeasureDoesNotEnterMountPoints(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs in a mount namespace of its own")
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "own"), 1<<20)
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	before := measure(t, Options{}, dir)
	r := runChild(t, "mount", &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}, dir, mnt)
	if r.Err != "" {
		t.Fatal(r.Err)
	}
	// The mount point itself (the tmpfs root) is not counted either.
	if r.Usage.Bytes >= before.Bytes+1<<20 || r.Usage.Entries != before.Entries-1 {
		t.Fatalf("with a 4 MiB tmpfs mounted inside: %+v; without: %+v", r.Usage, before)
	}
}

func TestFreeCountsEachFileSystemOnce(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "file"), 1)
	twice, err := Free([]string{dir, dir, filepath.Join(dir, "missing")})
	if err != nil || twice <= 0 {
		t.Fatalf("free %d, %v", twice, err)
	}
	once, err := Free([]string{dir})
	if err != nil || once <= 0 {
		t.Fatalf("free %d, %v", once, err)
	}
	// Counted twice it would be about double (the figures otherwise
	// differ only by what others wrote in between).
	if twice > once+once/2 {
		t.Fatalf("one file system counted twice: %d vs %d", twice, once)
	}
	if _, err := Free([]string{filepath.Join(dir, "file", "x")}); err == nil {
		t.Fatal("statfs below a file: no error")
	}
}

// An agent's HOME does not exist before its first run: its free space is
// that of the file system it will be made on, not 0 (homelab's first demo
// run was refused with "HOME has 0B free").
func TestFreeOfARootNotMadeYetIsItsParentsFileSystem(t *testing.T) {
	dir := t.TempDir()
	parent, err := Free([]string{dir})
	if err != nil || parent <= 0 {
		t.Fatalf("free %d, %v", parent, err)
	}
	missing, err := Free([]string{filepath.Join(dir, "agents", "homelab", "home")})
	if err != nil || missing <= 0 {
		t.Fatalf("free of a root not made yet: %d, %v", missing, err)
	}
	if missing > parent+parent/2 || missing < parent/2 {
		t.Fatalf("free of a root not made yet %d, of its parent %d: not the same file system's figure", missing, parent)
	}
}
