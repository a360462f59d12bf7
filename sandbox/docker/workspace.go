package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// WorkspaceEntry is one entry of a remote agent's workspace.
type WorkspaceEntry struct {
	Name       string // relative to the directory listed
	Size       int64
	Mode       fs.FileMode
	ModTime    time.Time
	LinkTarget string // for a symbolic link
}

// ErrNoWorkspace says the agent has no workspace volume on the engine
// (it never started there, or has no workspace).
var ErrNoWorkspace = errors.New("no workspace volume on this engine")

// cleanWorkspacePath turns p (relative to the workspace; "" or "." is the
// top) into a clean path below "/", refusing one that leaves it.
func cleanWorkspacePath(p string) (string, error) {
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("path %q: contains NUL", p)
	}
	for _, part := range strings.Split(strings.ReplaceAll(p, "\\", "/"), "/") {
		if part == ".." {
			return "", fmt.Errorf("path %q leaves the workspace", p)
		}
	}
	return path.Clean("/" + p), nil
}

// withWorkspace runs fn with a helper container that mounts the agent's
// workspace volume read-only at seedDir/workspace.
func (b *Backend) withWorkspace(ctx context.Context, agent string, fn func(ctx context.Context, id string) error) error {
	if !namePart.MatchString(agent) {
		return fmt.Errorf("agent name %q: want letters, digits, '_', '.', '-'", agent)
	}
	name := b.workspaceVolume(agent)
	cctx, cancel := b.callCtx(ctx)
	res, err := b.cli.VolumeInspect(cctx, name, client.VolumeInspectOptions{})
	cancel()
	if isNotFound(err) {
		return fmt.Errorf("agent %s: %w", agent, ErrNoWorkspace)
	}
	if err != nil {
		return b.engineLost(ctx, fmt.Errorf("inspect volume %s: %w", name, err))
	}
	if l := res.Volume.Labels; l[LabelInstallation] != b.cfg.Installation || l[LabelAgent] != agent {
		return fmt.Errorf("volume %s is not this installation's workspace of %s", name, agent)
	}
	m := []mount.Mount{{Type: mount.TypeVolume, Source: name, Target: seedDir + "/workspace", ReadOnly: true}}
	return b.withHelper(ctx, agent, m, fn)
}

// statNoLinks stats rel (clean, below "/") in the helper's workspace and
// refuses it when it or a directory on the way is a symbolic link: the
// engine would follow it, inside the helper's root file system, out of
// the workspace.
func (b *Backend) statNoLinks(ctx context.Context, id, rel string) (fs.FileMode, int64, error) {
	cur := seedDir + "/workspace"
	var mode fs.FileMode
	var size int64
	parts := []string{""}
	if rel != "/" {
		parts = append(parts, strings.Split(strings.TrimPrefix(rel, "/"), "/")...)
	}
	for i, part := range parts {
		if i > 0 {
			cur += "/" + part
		}
		cctx, cancel := b.callCtx(ctx)
		st, err := b.cli.ContainerStatPath(cctx, id, client.ContainerStatPathOptions{Path: cur})
		cancel()
		if isNotFound(err) {
			return 0, 0, fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("stat %s: %w", rel, err)
		}
		if st.Stat.Mode&fs.ModeSymlink != 0 {
			return 0, 0, fmt.Errorf("%s is a symbolic link (to %s), which is not followed", path.Join("/", path.Join(parts[:i+1]...)), st.Stat.LinkTarget)
		}
		mode, size = st.Stat.Mode, st.Stat.Size
	}
	return mode, size, nil
}

// WorkspaceList lists a directory (relative to the workspace) of the
// agent's workspace volume: its entries, one level deep, sorted by name.
// Symbolic links are listed, never followed.
func (b *Backend) WorkspaceList(ctx context.Context, agent, dir string) ([]WorkspaceEntry, error) {
	rel, err := cleanWorkspacePath(dir)
	if err != nil {
		return nil, err
	}
	var out []WorkspaceEntry
	err = b.withWorkspace(ctx, agent, func(ctx context.Context, id string) error {
		mode, _, err := b.statNoLinks(ctx, id, rel)
		if err != nil {
			return err
		}
		if !mode.IsDir() {
			return fmt.Errorf("%s is not a directory", rel)
		}
		ctx, cancel := context.WithTimeout(ctx, seedTimeout)
		defer cancel()
		res, err := b.cli.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: seedDir + "/workspace" + strings.TrimSuffix(rel, "/") + "/."})
		if err != nil {
			return fmt.Errorf("read %s: %w", rel, err)
		}
		defer res.Content.Close()
		tr := tar.NewReader(res.Content)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", rel, err)
			}
			name := strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/")
			first, rest, _ := strings.Cut(strings.TrimSuffix(name, "/"), "/")
			if first == "" || first == "." || rest != "" {
				continue
			}
			out = append(out, WorkspaceEntry{Name: first, Size: h.Size, Mode: h.FileInfo().Mode(), ModTime: h.ModTime, LinkTarget: h.Linkname})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// WorkspaceGet writes the regular file p (relative to the workspace) of
// the agent's workspace volume to w, at most max bytes (an error beyond).
func (b *Backend) WorkspaceGet(ctx context.Context, agent, p string, w io.Writer, max int64) (int64, error) {
	rel, err := cleanWorkspacePath(p)
	if err != nil {
		return 0, err
	}
	var n int64
	err = b.withWorkspace(ctx, agent, func(ctx context.Context, id string) error {
		mode, size, err := b.statNoLinks(ctx, id, rel)
		if err != nil {
			return err
		}
		if !mode.IsRegular() {
			return fmt.Errorf("%s is not a regular file (%v)", rel, mode.Type())
		}
		if size > max {
			return fmt.Errorf("%s is %d bytes, over the limit of %d", rel, size, max)
		}
		ctx, cancel := context.WithTimeout(ctx, seedTimeout)
		defer cancel()
		res, err := b.cli.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: seedDir + "/workspace" + rel})
		if err != nil {
			return fmt.Errorf("read %s: %w", rel, err)
		}
		defer res.Content.Close()
		tr := tar.NewReader(res.Content)
		h, err := tr.Next()
		if err != nil {
			return fmt.Errorf("read %s: %w", rel, err)
		}
		if h.Typeflag != tar.TypeReg {
			return fmt.Errorf("%s is not a regular file", rel)
		}
		n, err = io.Copy(w, io.LimitReader(tr, max))
		return err
	})
	return n, err
}
