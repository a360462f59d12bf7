package config

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// ProtectedAgentFileNames are the names, in an agent directory, that an
// agent may never create or change: every agent file name herdbot or
// herdctl reads, in both spellings, and the agent .env. Inside a container
// each is the operator's file mounted read-only or an empty read-only
// placeholder.
var ProtectedAgentFileNames = []string{"agent.yaml", "agent.yml", "herdctl-agent.yaml", "herdctl-agent.yml", EnvFileName}

// checkOperatorFile refuses an agent file or agent .env that someone other
// than the operator could have written: a symbolic link (the agent could
// replace a link in its own directory), a file writable by group or others,
// or one owned by a user other than herdbot's (or root). An agent
// container runs as the workspace owner, so a file it wrote belongs to
// that user.
func checkOperatorFile(path string, euid int) error {
	st, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if st.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symbolic link; herdbot reads an agent's file and .env only as regular files, because the agent could replace a link in its own directory (copy the file there, or point agents[].path at the real directory)", path)
	}
	if !st.Mode().IsRegular() {
		return nil // readFile says what is wrong
	}
	if perm := st.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%s is writable by group or others (mode %04o); herdbot reads an agent's file and .env only when nobody but their owner can change them: chmod go-w %s", path, perm, path)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != euid && sys.Uid != 0 {
		return fmt.Errorf("%s belongs to uid %d, not to herdbot's user (uid %d) or root; an agent container running as uid %d could have written it: chown %d %s if it is yours", path, sys.Uid, euid, sys.Uid, euid, path)
	}
	return nil
}

// isPlaceholder reports whether path is an empty regular file: the
// read-only placeholder herdbot creates for an absent agent file name so
// that an agent cannot create it. It is never taken for the agent file.
func isPlaceholder(path string) bool {
	st, err := os.Lstat(path)
	return err == nil && st.Mode().IsRegular() && st.Size() == 0
}

// expandHome expands a leading "~" or "~/" to home. "~user" is refused:
// herdbot does not look up other users' homes.
func expandHome(p, home string) (string, error) {
	if !strings.HasPrefix(p, "~") {
		return p, nil
	}
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return "", fmt.Errorf("%q: only ~ and ~/ (herdbot's own home) are expanded; write the absolute path", p)
	}
	if home == "" {
		return "", fmt.Errorf("%q: herdbot's home directory is not known (HOME is not set); write the absolute path", p)
	}
	return home + strings.TrimPrefix(p, "~"), nil
}
