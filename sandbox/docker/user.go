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
