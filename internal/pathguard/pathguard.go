// Package pathguard decides whether a host directory may be mounted as an
// agent's workspace. A workspace may not be / or a system directory, and
// it may not contain (nor, for most protected paths, lie inside) herdbot's
// own files or another agent's. Paths are compared after resolving
// symbolic links, so a link cannot smuggle a protected directory in.
//
// config checks every workspace with it when the fleet is loaded, and the
// Docker backend checks again just before it mounts one, because a link
// can change after load.
package pathguard

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Rule protects one host path.
type Rule struct {
	// Path is the protected host path, absolute. It is resolved (symbolic
	// links) when checked; it need not exist. "" is ignored.
	Path string
	// What names it in errors, e.g. "herdbot's state directory".
	What string
	// MayLieInside allows a workspace inside Path: then only a workspace
	// that is Path or contains it is refused (the fleet directory, which
	// holds the agents' own directories; herdbot's home directory).
	MayLieInside bool
	// Except lists directories inside Path in which a workspace may lie
	// even though MayLieInside is false (the demo's scratch workspaces
	// inside the state directory).
	Except []string
}

// systemInside are directories no workspace may be, contain or lie inside.
var systemInside = []string{
	"/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/run", "/sbin",
	"/sys", "/usr", "/var/run", "/var/lib/docker", "/var/lib/containerd", "/var/log",
}

// systemContain are directories no workspace may be or contain; a
// workspace inside them is fine (/srv/agents/garden, /tmp/x).
var systemContain = []string{"/", "/home", "/mnt", "/media", "/opt", "/srv", "/tmp", "/var", "/var/lib", "/var/tmp"}

// System returns the rules for / and the system directories.
func System() []Rule {
	out := make([]Rule, 0, len(systemInside)+len(systemContain))
	for _, p := range systemInside {
		out = append(out, Rule{Path: p, What: "the system directory " + p})
	}
	for _, p := range systemContain {
		what := "the system directory " + p
		if p == "/" {
			what = "the root directory /"
		}
		out = append(out, Rule{Path: p, What: what, MayLieInside: true})
	}
	return out
}

// Check returns an error naming the first rule workspace breaks, after
// resolving symbolic links in both. The System rules always apply.
func Check(workspace string, rules []Rule) error {
	if !filepath.IsAbs(workspace) {
		return fmt.Errorf("workspace %s is not an absolute path", workspace)
	}
	ws := Resolve(workspace)
	shown := workspace
	if ws != filepath.Clean(workspace) {
		shown = fmt.Sprintf("%s (which resolves to %s)", workspace, ws)
	}
	all := append(System(), rules...)
	for _, r := range all {
		if r.Path != "" && ws == Resolve(r.Path) {
			return fmt.Errorf("%s is %s", shown, r.What)
		}
	}
	for _, r := range all {
		if r.Path == "" {
			continue
		}
		p := Resolve(r.Path)
		switch {
		case Within(p, ws):
			return fmt.Errorf("%s contains %s (%s)", shown, r.What, p)
		case !r.MayLieInside && Within(ws, p) && !excepted(ws, r.Except):
			return fmt.Errorf("%s lies inside %s (%s)", shown, r.What, p)
		}
	}
	return nil
}

func excepted(ws string, except []string) bool {
	for _, e := range except {
		if e != "" && Within(ws, Resolve(e)) {
			return true
		}
	}
	return false
}

// Resolve returns p made absolute and clean, with every symbolic link in
// its longest existing prefix resolved; the part that does not exist yet is
// appended as written.
func Resolve(p string) string {
	p, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	var rest []string
	for cur := p; ; {
		r, err := filepath.EvalSymlinks(cur)
		if err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		}
		parent := filepath.Dir(cur)
		if parent == cur || !(errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrPermission)) {
			return p
		}
		rest = append([]string{filepath.Base(cur)}, rest...)
		cur = parent
	}
}

// Within reports whether path is dir or lies inside it. Both should be
// clean absolute paths.
func Within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
