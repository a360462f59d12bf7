package docker

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
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
