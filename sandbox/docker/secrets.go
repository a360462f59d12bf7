package docker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/herdbot/herdbot/internal/pathguard"
)

// secretMatch reports whether a workspace entry's name marks it as a secret
// to mask: .env and .env.* / .env-anything, *.pem, *.key.
func secretMatch(name string) bool {
	lo := strings.ToLower(name)
	return strings.HasPrefix(lo, ".env") || strings.HasSuffix(lo, ".pem") || strings.HasSuffix(lo, ".key")
}

// secretPaths are the workspace entries to mask, relative to the workspace.
type secretPaths struct {
	files []string
	dirs  []string
}

var errScanLimit = errors.New("workspace too large to scan for secret files")

// findSecrets walks the workspace (not following symbolic links) and lists
// the entries to mask. It refuses (fails closed) when the workspace has more
// than limit entries. Symbolic links are not masked: a link's target inside
// the workspace is masked by its own name or holds nothing secret-named, and
// a target outside the workspace is not visible in the container.
func findSecrets(root string, limit int) (secretPaths, error) {
	var out secretPaths
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			// An unreadable entry cannot be read in the container
			// either (same or lower privileges); skip it.
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if path == root {
			return nil
		}
		n++
		if n > limit {
			return fmt.Errorf("%w: more than %d entries in %s (raise docker ScanLimit or use a smaller workspace)", errScanLimit, limit, root)
		}
		if !secretMatch(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		switch {
		case d.Type().IsRegular():
			out.files = append(out.files, rel)
		case d.IsDir():
			out.dirs = append(out.dirs, rel)
			return fs.SkipDir // masked as a whole
		}
		return nil
	})
	if err != nil {
		return secretPaths{}, fmt.Errorf("scan workspace for secrets: %w", err)
	}
	return out, nil
}

// readOnlyPath is a Spec.ReadOnly entry to bind read-only.
type readOnlyPath struct {
	source string // host path bound: the entry itself, or the empty file
	rel    string // target, relative to the workspace
}

// prepareReadOnly turns Spec.ReadOnly into the binds to add, for workspace
// ws (resolved). Entries outside ws are dropped. In a writable workspace an
// absent entry is first created as an empty read-only placeholder (create,
// normally createPlaceholder), so that the agent cannot create it: its name
// stays a read-only mount point. When herdbot may not write the directory
// (systemd's ProtectSystem, a foreign owner), the empty file is bound there
// instead and the engine makes the mount point (an empty root-owned file).
// A symbolic link is refused (the agent could replace it). An existing
// entry named like a secret (.env) is left to findSecrets, which masks it
// with the empty file: binding it would show its contents.
func prepareReadOnly(ws string, entries []string, wsReadOnly bool, emptyFile string, create func(string) error) ([]readOnlyPath, error) {
	var out []readOnlyPath
	for _, p := range entries {
		// Resolve the directory, never the name itself.
		host := filepath.Join(pathguard.Resolve(filepath.Dir(p)), filepath.Base(p))
		rel, err := filepath.Rel(ws, host)
		if err != nil || rel == "." || !pathguard.Within(host, ws) {
			continue // outside the workspace: not visible anyway
		}
		fi, err := os.Lstat(host)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if wsReadOnly {
				continue // nothing can be created in a read-only workspace
			}
			if err := create(host); err != nil {
				if !errors.Is(err, syscall.EROFS) && !errors.Is(err, fs.ErrPermission) {
					return nil, err
				}
				out = append(out, readOnlyPath{source: emptyFile, rel: rel})
				continue
			}
		case err != nil:
			return nil, fmt.Errorf("read-only path: %w", err)
		case fi.Mode()&os.ModeSymlink != 0:
			if wsReadOnly {
				continue
			}
			return nil, fmt.Errorf("%s is a symbolic link inside the agent's writable workspace: the agent could replace it with a file of its own; make it a regular file (or set docker.workspace_mode: ro)", host)
		}
		if secretMatch(filepath.Base(host)) {
			continue // masked by findSecrets
		}
		out = append(out, readOnlyPath{source: host, rel: rel})
	}
	return out, nil
}

// createPlaceholder creates path as an empty file of mode 0444, never
// following a link.
func createPlaceholder(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o444)
	if err != nil {
		return fmt.Errorf("create the read-only placeholder %s, so that the agent cannot create that file itself: %w", path, err)
	}
	err = f.Chmod(0o444)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("read-only placeholder %s: %w", path, err)
	}
	return nil
}
