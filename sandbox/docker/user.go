package docker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// fallbackUID is the user a container runs as when the workspace belongs to
// root (or there is no workspace) and the fleet names no user: the agent
// images' "agent" user.
const fallbackUID = 1000

type uidGid struct{ uid, gid int }

func (u uidGid) String() string { return strconv.Itoa(u.uid) + ":" + strconv.Itoa(u.gid) }

// resolveUser picks the container user: the fleet's "uid:gid", else the
// workspace owner, else (root-owned or no workspace) 1000:1000. Root is
// refused unless dangerous.
func resolveUser(spec, workspace string, dangerous bool) (uidGid, error) {
	var u uidGid
	switch {
	case spec != "":
		uidS, gidS, ok := strings.Cut(spec, ":")
		uid, err1 := strconv.Atoi(uidS)
		gid, err2 := strconv.Atoi(gidS)
		if !ok || err1 != nil || err2 != nil || uid < 0 || gid < 0 {
			return u, fmt.Errorf("user %q: want numeric uid:gid", spec)
		}
		u = uidGid{uid, gid}
	case workspace != "":
		fi, err := os.Stat(workspace)
		if err != nil {
			return u, fmt.Errorf("workspace owner: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return u, errors.New("workspace owner: no owner information")
		}
		u = uidGid{int(st.Uid), int(st.Gid)}
		if u.uid == 0 {
			u = uidGid{fallbackUID, fallbackUID}
		}
	default:
		u = uidGid{fallbackUID, fallbackUID}
	}
	if u.uid == 0 && !dangerous {
		return u, errors.New("user: uid 0 (root) needs the dangerous opt-in")
	}
	return u, nil
}

// prepareHome makes stateDir/home, owned by u and private to it, for the
// container's HOME. It fails when the directory cannot be given to u.
func prepareHome(stateDir string, u uidGid) (string, error) {
	if !filepath.IsAbs(stateDir) {
		return "", fmt.Errorf("state dir %q is not an absolute path", stateDir)
	}
	home := filepath.Join(stateDir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", fmt.Errorf("home dir: %w", err)
	}
	fi, err := os.Lstat(home)
	if err != nil {
		return "", fmt.Errorf("home dir: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("home dir %s is not a directory", home)
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	if st == nil || int(st.Uid) != u.uid || int(st.Gid) != u.gid {
		if err := os.Chown(home, u.uid, u.gid); err != nil {
			return "", fmt.Errorf("home dir %s: give it to %s: %w", home, u, err)
		}
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(home, 0o700); err != nil {
			return "", fmt.Errorf("home dir: %w", err)
		}
	}
	return home, nil
}

// checkAccess fails early, with a clear message, when the container user
// could not enter (or, for a writable workspace, write) the workspace.
func checkAccess(dir string, u uidGid, readOnly bool) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || u.uid == 0 {
		return nil
	}
	perm := fi.Mode().Perm()
	var bits os.FileMode
	switch {
	case int(st.Uid) == u.uid:
		bits = perm >> 6
	case int(st.Gid) == u.gid:
		bits = perm >> 3
	default:
		bits = perm
	}
	need := os.FileMode(0o5) // r-x
	if !readOnly {
		need = 0o7
	}
	if bits&need != need {
		return fmt.Errorf("workspace %s (owner %d:%d, mode %v) is not usable by the container user %s; chown it to that user or set the fleet's user", dir, st.Uid, st.Gid, perm, u)
	}
	return nil
}
