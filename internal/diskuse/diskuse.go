// Package diskuse measures how much disk space directory trees take: the
// allocated bytes (st_blocks × 512) of every entry, hard links counted
// once, symbolic links never followed, mount points never entered, with a
// bound on the number of entries walked.
//
// The trees it measures are hostile: an agent can write them while they are
// walked. Every directory is opened relative to its parent's descriptor
// with O_NOFOLLOW, so swapping a directory for a symbolic link mid-walk
// cannot lead the walk out of the tree.
package diskuse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultMaxEntries bounds a walk when Options.MaxEntries is 0.
const DefaultMaxEntries = 1_000_000

// Options bound a walk.
type Options struct {
	// MaxEntries is the most entries (files, directories, links, the
	// roots included) counted before the walk stops with Usage.Truncated
	// set; 0 means DefaultMaxEntries.
	MaxEntries int
}

// Usage is what a walk found.
type Usage struct {
	Bytes   int64 // allocated bytes
	Entries int   // entries counted
	// Truncated is set when the walk stopped at Options.MaxEntries:
	// Bytes and Entries are then lower bounds.
	Truncated bool
}

// ErrUnreadable wraps a directory that could not be opened or listed
// (permissions, I/O): its contents are unknown, so the usage is too.
var ErrUnreadable = errors.New("directory not readable")

// batch is how many names are read from a directory at a time.
const batch = 1024

// Measure walks each root and adds up what it takes. A root that does not
// exist counts as empty; a root that is not a directory counts as itself.
// Roots are resolved (symbolic links in them followed, as the operator
// named them) and a root inside another is walked once. The walk checks ctx
// every few hundred entries.
func Measure(ctx context.Context, roots []string, o Options) (Usage, error) {
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	w := &walker{ctx: ctx, max: o.MaxEntries, links: map[fileID]struct{}{}}
	for _, root := range distinctRoots(roots) {
		if err := w.root(root); err != nil {
			if errors.Is(err, errFull) {
				w.u.Truncated = true
				break
			}
			return w.u, err
		}
	}
	return w.u, nil
}

// distinctRoots resolves roots and drops empty ones, duplicates and those
// inside another root.
func distinctRoots(roots []string) []string {
	var res []string
	for _, r := range roots {
		if r == "" {
			continue
		}
		if p, err := filepath.EvalSymlinks(r); err == nil {
			r = p
		}
		res = append(res, filepath.Clean(r))
	}
	var out []string
	for i, r := range res {
		inside := false
		for j, o := range res {
			if i == j {
				continue
			}
			if (r == o && j < i) || (r != o && within(r, o)) {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, r)
		}
	}
	return out
}

// within reports whether p is below dir.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

type fileID struct{ dev, ino uint64 }

var errFull = errors.New("entry bound reached")

type walker struct {
	ctx   context.Context
	max   int
	u     Usage
	links map[fileID]struct{} // inodes with more than one link, seen
}

// count adds one entry; it fails with errFull past the bound.
func (w *walker) count(st *unix.Stat_t) error {
	if w.u.Entries >= w.max {
		return errFull
	}
	w.u.Entries++
	if st.Nlink > 1 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		id := fileID{uint64(st.Dev), st.Ino}
		if _, seen := w.links[id]; seen {
			return nil
		}
		w.links[id] = struct{}{}
	}
	w.u.Bytes += st.Blocks * 512
	if w.u.Entries%256 == 0 {
		return w.ctx.Err()
	}
	return nil
}

// frame is a directory being walked: its descriptor stays open while its
// subdirectories are (depth-first, so one descriptor per level).
type frame struct {
	fd   int
	path string   // for errors, relative to the root
	subs []string // subdirectories not walked yet
}

func (w *walker) root(root string) error {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		var st unix.Stat_t
		switch {
		case errors.Is(err, unix.ENOENT):
			return nil
		case errors.Is(err, unix.ENOTDIR):
			if err := unix.Lstat(root, &st); err != nil {
				return nil
			}
			return w.count(&st)
		}
		return fmt.Errorf("%w: %s: %v", ErrUnreadable, root, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return fmt.Errorf("%w: %s: %v", ErrUnreadable, root, err)
	}
	dev := st.Dev
	if err := w.count(&st); err != nil {
		unix.Close(fd)
		return err
	}
	stack := []*frame{{fd: fd, path: root}}
	defer func() {
		for _, f := range stack {
			unix.Close(f.fd)
		}
	}()
	if err := w.list(stack[0], dev); err != nil {
		return err
	}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		if len(top.subs) == 0 {
			unix.Close(top.fd)
			stack = stack[:len(stack)-1]
			continue
		}
		name := top.subs[len(top.subs)-1]
		top.subs = top.subs[:len(top.subs)-1]
		cfd, err := unix.Openat(top.fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
				continue // removed or replaced (by a link, say) since it was listed
			}
			return fmt.Errorf("%w: %s: %v", ErrUnreadable, filepath.Join(top.path, name), err)
		}
		// It may have been swapped for another directory since it was
		// counted: never leave the file system.
		var cst unix.Stat_t
		if err := unix.Fstat(cfd, &cst); err != nil || cst.Dev != dev {
			unix.Close(cfd)
			continue
		}
		f := &frame{fd: cfd, path: filepath.Join(top.path, name)}
		stack = append(stack, f)
		if err := w.list(f, dev); err != nil {
			return err
		}
	}
	return nil
}

// list counts a directory's entries and notes its subdirectories on the
// same file system.
func (w *walker) list(f *frame, dev uint64) error {
	// A descriptor of its own for reading names (os.File owns and closes
	// it); f.fd stays for the *at calls and the subdirectories.
	dfd, err := unix.Openat(f.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnreadable, f.path, err)
	}
	d := os.NewFile(uintptr(dfd), f.path)
	defer d.Close()
	for {
		names, err := d.Readdirnames(batch)
		for _, name := range names {
			var st unix.Stat_t
			if err := unix.Fstatat(f.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				if errors.Is(err, unix.ENOENT) {
					continue // removed since it was listed
				}
				return fmt.Errorf("%w: %s: %v", ErrUnreadable, filepath.Join(f.path, name), err)
			}
			if st.Mode&unix.S_IFMT == unix.S_IFDIR && st.Dev != dev {
				continue // a mount point: another file system, not counted
			}
			if err := w.count(&st); err != nil {
				return err
			}
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				f.subs = append(f.subs, name)
			}
		}
		if err == io.EOF || (err == nil && len(names) == 0) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrUnreadable, f.path, err)
		}
	}
}

// Free returns the free bytes of the file systems that hold roots, each
// file system counted once. It costs one statfs per root, so it can be
// called often: a drop in free space bounds how much any writer (the
// agent among them) can have added since, without a walk. A missing root
// (an agent's HOME before its first run) is on the file system of its
// nearest existing parent, where it will be made.
func Free(roots []string) (int64, error) {
	seen := map[unix.Fsid]bool{}
	var free int64
	for _, r := range roots {
		if r == "" {
			continue
		}
		var st unix.Statfs_t
		for p := filepath.Clean(r); ; {
			err := unix.Statfs(p, &st)
			if err == nil {
				break
			}
			parent := filepath.Dir(p)
			if !errors.Is(err, unix.ENOENT) || parent == p {
				return 0, fmt.Errorf("statfs %s: %w", p, err)
			}
			p = parent
		}
		if seen[st.Fsid] {
			continue
		}
		seen[st.Fsid] = true
		free += int64(st.Bfree) * st.Bsize
	}
	return free, nil
}
