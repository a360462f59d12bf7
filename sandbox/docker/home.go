package docker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/mount"
)

// shellStartupFiles are the files in HOME that bash and zsh run when they
// start or end. The CLI's Bash tool starts `bash -c -l` when the CLI
// starts, which runs the first of ~/.bash_profile, ~/.bash_login and
// ~/.profile and then ~/.bashrc, and keeps the functions, aliases, options
// and exported variables they define in a snapshot it sources before every
// command (measured on 2.1.330 and 2.1.332: a `touch` function in ~/.bashrc ran in
// place of the approved `touch` command). Without a snapshot it runs every
// command as a login shell. In the container each of these names is an
// empty file bound read-only, so nothing the agent writes there runs.
var shellStartupFiles = []string{
	".profile", ".bash_profile", ".bash_login", ".bashrc", ".bash_logout",
	".zshenv", ".zprofile", ".zshrc", ".zlogin", ".zlogout",
}

// closedConfigDirs are the directories, in the CLI's config directory,
// whose files the CLI runs without asking (measured on 2.1.330 and 2.1.332):
//   - session-env: the files in session-env/<session id> (which hooks
//     write: sessionstart-hook-N.sh and the like) before every Bash
//     command of that session, also a resumed one;
//   - shell-snapshots: the snapshot of the shell startup files it takes
//     at start (snapshot-bash-*.sh), before every Bash command of the
//     process: an agent that edits it with one approved command changes
//     what every later approved command runs, as long as the process
//     lives (herdbot keeps processes warm between messages).
//
// The CLI's own file tools refuse to write there; an approved Bash
// command could. In the container each is an empty read-only tmpfs:
// herdbot runs no hooks, so the CLI never needs session-env, and without
// a snapshot the CLI runs each command as a login shell, which reads only
// the empty read-only startup files above and the image's root-owned
// /etc.
var closedConfigDirs = []string{"session-env", "shell-snapshots"}

// closedTmpfs are the options of the tmpfs at each closedConfigDirs.
const closedTmpfs = "ro,nosuid,nodev,noexec,size=4k,mode=0555"

// homeProtection is what makePlan adds for a HOME persisted at home (host
// path) for container user u: the read-only binds over the shell startup
// files and the read-only tmpfs over the CLI's closedConfigDirs.
type homeProtection struct {
	mounts []mount.Mount
	tmpfs  map[string]string
}

// protectHome prepares HOME (host path home, already owned by u) so that
// the agent cannot make the CLI run its files: every shell startup file
// name is a regular file or absent (a link, directory or other entry the
// agent left there is removed) and becomes a mount point for the empty
// file; the CLI's config directory (configDir, as the container sees it:
// ~/.claude unless CLAUDE_CONFIG_DIR names another directory in HOME) is
// made for u when absent, so that the engine does not make it for root;
// each of its closedConfigDirs is a directory or absent and gets the
// read-only tmpfs.
// When herdbot may not look into HOME (a foreign owner with mode 0700),
// the engine makes the mount points, and the config directory must
// already exist.
func protectHome(home string, u uidGid, configDir, emptyFile string) (homeProtection, error) {
	var out homeProtection
	for _, name := range shellStartupFiles {
		if err := keepRegular(filepath.Join(home, name)); err != nil {
			return out, err
		}
		out.mounts = append(out.mounts, mount.Mount{Type: mount.TypeBind, Source: emptyFile, Target: path.Join(homeDir, name), ReadOnly: true})
	}
	rel, ok := strings.CutPrefix(configDir, homeDir+"/")
	if !ok || rel == "" || path.Clean(configDir) != configDir {
		// A config directory outside HOME is not persisted: nothing the
		// agent plants there outlives its container.
		return out, nil
	}
	cfg := filepath.Join(home, filepath.FromSlash(rel))
	if err := ensureDir(home, cfg, u); err != nil {
		return out, err
	}
	out.tmpfs = map[string]string{}
	for _, d := range closedConfigDirs {
		if err := keepDir(filepath.Join(cfg, d)); err != nil {
			return out, err
		}
		out.tmpfs[path.Join(configDir, d)] = closedTmpfs
	}
	return out, nil
}

// keepRegular removes what is at p unless it is a regular file or absent.
// Permission errors (herdbot may not look into HOME) are left to the
// engine, which makes the mount point.
func keepRegular(p string) error {
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return nil
	case err != nil:
		return fmt.Errorf("home: %w", err)
	case fi.Mode().IsRegular():
		return nil
	}
	if err := os.RemoveAll(p); err != nil { // never follows a link
		return fmt.Errorf("home: remove %s, left there by the agent: %w", p, err)
	}
	return nil
}

// keepDir removes what is at p unless it is a directory or absent.
func keepDir(p string) error {
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("home: %w", err)
	case fi.IsDir():
		return nil
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("home: remove %s, left there by the agent: %w", p, err)
	}
	return nil
}

// ensureDir makes dir (below base, each new level for u, mode 0700) unless
// it is a directory already; a link or file the agent left at a level is
// removed first, so that nothing herdbot makes follows it.
func ensureDir(base, dir string, u uidGid) error {
	rel, err := filepath.Rel(base, dir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("home: %s is not below %s", dir, base)
	}
	cur := base
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrPermission):
			return fmt.Errorf("home: cannot look into %s (%w): create %s for the container user yourself: install -d -o %d -g %d -m 0700 %s",
				filepath.Dir(cur), err, dir, u.uid, u.gid, dir)
		case err == nil && fi.IsDir():
			continue
		case err == nil:
			if err := os.Remove(cur); err != nil {
				return fmt.Errorf("home: remove %s, left there by the agent: %w", cur, err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("home: %w", err)
		}
		if err := os.Mkdir(cur, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("home: %w", err)
		}
		if err := os.Lchown(cur, u.uid, u.gid); err != nil {
			return fmt.Errorf("home: give %s to %s: %w", cur, u, err)
		}
	}
	return nil
}

// configDirOf is the CLI's config directory in the container: the
// declared CLAUDE_CONFIG_DIR, else ~/.claude.
func configDirOf(env []string) string {
	dir := homeDir + "/.claude"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "CLAUDE_CONFIG_DIR="); ok && path.IsAbs(v) {
			dir = path.Clean(v)
		}
	}
	return dir
}
