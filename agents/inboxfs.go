package agents

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// errInboxNotDir: inbox (or the message's folder) exists and is not a
// plain directory (a symbolic link the agent planted, a file).
var errInboxNotDir = errors.New("is not a directory herdbot can use (a symbolic link or a file is in its place)")

// saveInbox writes files into <workspace>/inbox/<dir>/ and returns nil, or
// an error with nothing left behind. The workspace is the agent's to write,
// so nothing is followed: each step opens the next directory relative to
// the one before with O_NOFOLLOW (a link planted as inbox, or as the
// message's folder, fails the save instead of sending herdbot's writes
// elsewhere), the message's folder is new (O_EXCL semantics of mkdir), and
// files are created with O_EXCL|O_NOFOLLOW. When herdbot runs as root the
// folder and files are given to the workspace's owner.
func saveInbox(workspace, dir string, files []inboxFile) (err error) {
	ws, err := unix.Open(workspace, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open workspace: %w", err)
	}
	defer unix.Close(ws)
	var st unix.Stat_t
	if err := unix.Fstat(ws, &st); err != nil {
		return fmt.Errorf("stat workspace: %w", err)
	}
	chown := func(fd int) error {
		if os.Geteuid() != 0 {
			return nil
		}
		return unix.Fchown(fd, int(st.Uid), int(st.Gid))
	}
	inbox, created, err := openDirAt(ws, InboxDir)
	if err != nil {
		return fmt.Errorf("%s: %w", InboxDir, err)
	}
	defer unix.Close(inbox)
	if created {
		if err := chown(inbox); err != nil {
			return fmt.Errorf("chown %s: %w", InboxDir, err)
		}
	}
	if err := unix.Mkdirat(inbox, dir, 0o755); err != nil {
		return fmt.Errorf("%s/%s: %w", InboxDir, dir, err)
	}
	d, err := unix.Openat(inbox, dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = unix.Unlinkat(inbox, dir, unix.AT_REMOVEDIR)
		return fmt.Errorf("%s/%s: %w", InboxDir, dir, errInboxNotDir)
	}
	defer unix.Close(d)
	var written []string
	defer func() {
		if err == nil {
			return
		}
		for _, n := range written {
			_ = unix.Unlinkat(d, n, 0)
		}
		_ = unix.Unlinkat(inbox, dir, unix.AT_REMOVEDIR)
	}()
	if err := chown(d); err != nil {
		return fmt.Errorf("chown %s/%s: %w", InboxDir, dir, err)
	}
	for _, f := range files {
		fd, err := unix.Openat(d, f.name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return fmt.Errorf("create %s: %w", f.name, err)
		}
		written = append(written, f.name)
		file := os.NewFile(uintptr(fd), f.name)
		_, werr := file.Write(f.data)
		if werr == nil {
			werr = chown(fd)
		}
		cerr := file.Close()
		if werr != nil {
			return fmt.Errorf("write %s: %w", f.name, werr)
		}
		if cerr != nil {
			return fmt.Errorf("write %s: %w", f.name, cerr)
		}
	}
	return nil
}

// openDirAt opens directory name in dirfd without following a link,
// creating it when absent.
func openDirAt(dirfd int, name string) (fd int, created bool, err error) {
	if err := unix.Mkdirat(dirfd, name, 0o755); err == nil {
		created = true
	} else if !errors.Is(err, unix.EEXIST) {
		return -1, false, err
	}
	fd, err = unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return -1, false, errInboxNotDir
		}
		return -1, false, err
	}
	return fd, created, nil
}
