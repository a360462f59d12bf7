package docker

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/moby/moby/api/types/mount"
)

// TestProtectHome: every shell startup file name in a persisted HOME gets
// the empty read-only file, and the CLI's session-env and shell-snapshots
// an empty read-only tmpfs, in its config dir (~/.claude, or
// CLAUDE_CONFIG_DIR inside HOME), which is made for the container user.
// What the agent left at those names that is not a regular file (or, for
// the directories, a directory) is removed on the host first, so that no
// mount point is a link the engine would follow.
func TestProtectHome(t *testing.T) {
	u := uidGid{1234, 1234}
	const empty = "/run/herdbot/empty"
	home := t.TempDir()
	outside := t.TempDir()
	mk := func(rel, content string) {
		p := filepath.Join(home, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk(".bashrc", "touch() { :; }\n")                               // regular: stays on the host, hidden in the container
	mk(".zshrc/inside", "x")                                        // a directory at a file's name
	mk(".claude/shell-snapshots/snapshot-bash-1.sh", "alias x=y\n") // the CLI's, hidden by the tmpfs
	mk(".claude/session-env", "a file at a directory's name")
	if err := os.Symlink(filepath.Join(outside, "target"), filepath.Join(home, ".profile")); err != nil {
		t.Fatal(err)
	}

	hp, err := protectHome(home, u, configDirOf(nil), empty)
	if err != nil {
		t.Fatal(err)
	}
	var want []mount.Mount
	for _, n := range shellStartupFiles {
		want = append(want, mount.Mount{Type: mount.TypeBind, Source: empty, Target: homeDir + "/" + n, ReadOnly: true})
	}
	if !slices.Equal(hp.mounts, want) {
		t.Errorf("mounts\n%+v\nwant\n%+v", hp.mounts, want)
	}
	wantTmpfs := map[string]string{
		homeDir + "/.claude/session-env":     closedTmpfs,
		homeDir + "/.claude/shell-snapshots": closedTmpfs,
	}
	if len(hp.tmpfs) != len(wantTmpfs) {
		t.Errorf("tmpfs %v, want %v", hp.tmpfs, wantTmpfs)
	}
	for k, v := range wantTmpfs {
		if hp.tmpfs[k] != v {
			t.Errorf("tmpfs %v, want %v", hp.tmpfs, wantTmpfs)
		}
	}
	for rel, wantDir := range map[string]bool{
		".bashrc": false, ".claude/shell-snapshots": true,
	} {
		fi, err := os.Lstat(filepath.Join(home, rel))
		if err != nil || fi.IsDir() != wantDir {
			t.Errorf("%s: %v %v, want kept", rel, fi, err)
		}
	}
	for _, rel := range []string{".zshrc", ".profile", ".claude/session-env"} {
		if _, err := os.Lstat(filepath.Join(home, rel)); !os.IsNotExist(err) {
			t.Errorf("%s, left there by the agent, is still there: %v", rel, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(outside, "target")); !os.IsNotExist(err) {
		t.Errorf("something followed the agent's link: %v", err)
	}

	// A config dir the agent replaced by a link is made anew for the
	// container user; CLAUDE_CONFIG_DIR in HOME is protected there.
	home2 := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(home2, "cfg")); err != nil {
		t.Fatal(err)
	}
	hp, err = protectHome(home2, u, configDirOf([]string{"CLAUDE_CONFIG_DIR=" + homeDir + "/cfg"}), empty)
	if err != nil {
		t.Fatal(err)
	}
	if hp.tmpfs[homeDir+"/cfg/session-env"] != closedTmpfs || hp.tmpfs[homeDir+"/cfg/shell-snapshots"] != closedTmpfs {
		t.Errorf("tmpfs %v", hp.tmpfs)
	}
	fi, err := os.Lstat(filepath.Join(home2, "cfg"))
	if err != nil || !fi.IsDir() || fi.Sys().(*syscall.Stat_t).Uid != 1234 || fi.Mode().Perm() != 0o700 {
		t.Errorf("config dir: %v %v", fi, err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("something was made through the agent's link: %v", ents)
	}

	// A config dir outside HOME is not persisted: nothing to protect.
	hp, err = protectHome(t.TempDir(), u, configDirOf([]string{"CLAUDE_CONFIG_DIR=/opt/cfg"}), empty)
	if err != nil || len(hp.tmpfs) != 0 || len(hp.mounts) != len(shellStartupFiles) {
		t.Errorf("config dir outside HOME: %v %+v", err, hp)
	}
}
