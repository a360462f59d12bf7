package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/sandbox"
)

// A remote engine (Config.Remote) runs on another machine, so nothing of
// herdbot's host is bind-mounted into its containers. Instead:
//
//   - the agent's workspace is a named volume on the engine
//     (<prefix>-<agent>-workspace), created and seeded from the agent's
//     directory through the API on the agent's first start: a tar of the
//     directory, without the secret files (.env*, *.pem, *.key), copied
//     into a helper container that mounts the volume and is never started.
//     The copy is the agent's from then on: what it writes stays on its
//     engine (`herdbot workspace ls|get` reads it back), and herdbot never
//     reads its configuration from there;
//   - its HOME is a named volume (<prefix>-<agent>-home), whose top is
//     root's with the sticky bit and the agent's group (01770): the agent
//     may create files there, but the shell startup files, which the same
//     helper writes as root-owned empty read-only files before every
//     start, it can neither change, remove nor rename. The CLI's config
//     directory is the agent's, with session-env and shell-snapshots as
//     read-only tmpfs as on the local engine;
//   - docker.volumes (host binds) are refused.

// Volume roles (values of LabelRole).
const (
	roleWorkspace = "workspace"
	roleHome      = "home"
	roleHelper    = "helper"
)

// seedDir is where the helper container mounts the agent's volumes.
const seedDir = "/seed"

// seedTimeout bounds one copy into or out of a volume (a workspace may be
// large).
const seedTimeout = 15 * time.Minute

func (b *Backend) workspaceVolume(agent string) string {
	return b.prefix() + "-" + agent + "-workspace"
}
func (b *Backend) homeVolume(agent string) string { return b.prefix() + "-" + agent + "-home" }

// remoteMounts are the mounts of a remote agent container: its volumes in
// place of the workspace and HOME binds.
func (b *Backend) remoteMounts(spec *sandbox.Spec, cw string) []mount.Mount {
	var out []mount.Mount
	if spec.Workspace != "" {
		out = append(out, mount.Mount{Type: mount.TypeVolume, Source: b.workspaceVolume(spec.Agent), Target: cw,
			ReadOnly: spec.WorkspaceReadOnly, VolumeOptions: &mount.VolumeOptions{NoCopy: true}})
	}
	if spec.StateDir != "" {
		out = append(out, mount.Mount{Type: mount.TypeVolume, Source: b.homeVolume(spec.Agent), Target: homeDir,
			VolumeOptions: &mount.VolumeOptions{NoCopy: true}})
	}
	return out
}

// prepareVolumes creates the agent's volumes on the engine when absent,
// seeds a new workspace volume from the host workspace ws (resolved, or
// ""), and writes HOME's protected files again, all through one helper
// container.
func (b *Backend) prepareVolumes(ctx context.Context, spec *sandbox.Spec, ws string, u uidGid) error {
	a, err := b.agent(spec.Agent)
	if err != nil {
		return err
	}
	a.volMu.Lock()
	defer a.volMu.Unlock()
	var mounts []mount.Mount
	var entries []func(tw *tar.Writer) error
	newWorkspace := false
	if ws != "" {
		name := b.workspaceVolume(spec.Agent)
		created, err := b.ensureVolume(ctx, name, spec.Agent, roleWorkspace)
		if err != nil {
			return err
		}
		if created {
			newWorkspace = true
			mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Source: name, Target: seedDir + "/workspace"})
			entries = append(entries, func(tw *tar.Writer) error { return b.tarWorkspace(tw, ws, u) })
		}
	}
	if spec.StateDir != "" {
		name := b.homeVolume(spec.Agent)
		if _, err := b.ensureVolume(ctx, name, spec.Agent, roleHome); err != nil {
			return err
		}
		mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Source: name, Target: seedDir + "/home"})
		entries = append(entries, func(tw *tar.Writer) error { return tarHome(tw, u, configDirOf(spec.Env)) })
	}
	if len(entries) == 0 {
		return nil
	}
	err = b.withHelper(ctx, spec.Agent, mounts, func(ctx context.Context, id string) error {
		return b.copyIn(ctx, id, entries)
	})
	if err != nil && newWorkspace {
		// Seeded next time from the start, not half.
		err = errors.Join(err, b.removeVolume(context.WithoutCancel(ctx), b.workspaceVolume(spec.Agent)))
	}
	return err
}

// ensureVolume creates the named volume unless this installation's exists;
// created says it is new.
func (b *Backend) ensureVolume(ctx context.Context, name, agent, role string) (created bool, err error) {
	cctx, cancel := b.callCtx(ctx)
	res, err := b.cli.VolumeInspect(cctx, name, client.VolumeInspectOptions{})
	cancel()
	switch {
	case err == nil:
		if l := res.Volume.Labels; l[LabelManaged] != "1" || l[LabelInstallation] != b.cfg.Installation || l[LabelAgent] != agent {
			return false, fmt.Errorf("volume %s exists but is not this herdbot installation's volume for %s; remove or rename it", name, agent)
		}
		return false, nil
	case !isNotFound(err):
		return false, fmt.Errorf("inspect volume %s: %w", name, err)
	}
	labels := b.baseLabels(role)
	labels[LabelAgent] = agent
	cctx, cancel = b.callCtx(ctx)
	_, err = b.cli.VolumeCreate(cctx, client.VolumeCreateOptions{Name: name, Labels: labels})
	cancel()
	if err != nil {
		return false, fmt.Errorf("create volume %s: %w", name, err)
	}
	b.log.Info("volume created", "volume", name, "agent", agent)
	return true, nil
}

func (b *Backend) removeVolume(ctx context.Context, name string) error {
	cctx, cancel := b.callCtx(ctx)
	defer cancel()
	if _, err := b.cli.VolumeRemove(cctx, name, client.VolumeRemoveOptions{Force: true}); err != nil && !isNotFound(err) {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return nil
}

// RemoveAgentVolumes removes the agent's workspace and HOME volumes on a
// remote engine (what `herdbot` keeps between runs there, as it keeps the
// state directory here). The agent must not be running.
func (b *Backend) RemoveAgentVolumes(ctx context.Context, agent string) error {
	return errors.Join(b.removeVolume(ctx, b.workspaceVolume(agent)), b.removeVolume(ctx, b.homeVolume(agent)))
}

// withHelper runs fn with a helper container that has mounts and is never
// started: the engine copies into and out of a created container's
// volumes. It is made from the sidecar image (present on every engine
// herdbot uses, built there) and removed afterwards.
func (b *Backend) withHelper(ctx context.Context, agent string, mounts []mount.Mount, fn func(ctx context.Context, id string) error) error {
	img, err := b.ensureEgressImage(ctx)
	if err != nil {
		return err
	}
	labels := b.baseLabels(roleHelper)
	labels[LabelAgent] = agent
	hc := hardenedHostConfig(hardenedInput{
		netMode:   "none",
		limits:    limitsSpec{memory: sidecarMemory, nanoCPUs: sidecarCPUs, pids: 16},
		mounts:    mounts,
		logDriver: "none",
		// The root file system stays writable: the engine refuses to
		// extract into a read-only one, and the copy goes to /seed/...,
		// whose volumes are mounted there.
	})
	hc.Init = nil
	cctx, cancel := b.callCtx(ctx)
	res, err := b.cli.ContainerCreate(cctx, client.ContainerCreateOptions{
		Name:       b.prefix() + "-" + agent + "-helper-" + randomHex(4),
		Config:     &container.Config{Image: img, User: egressUser, Labels: labels, Entrypoint: []string{"/herdbot"}, Cmd: []string{"version"}},
		HostConfig: hc,
	})
	cancel()
	if err != nil {
		return fmt.Errorf("create helper container for %s: %w", agent, err)
	}
	b.track(res.ID)
	return errors.Join(fn(ctx, res.ID), b.removeContainer(context.WithoutCancel(ctx), res.ID))
}

// copyIn streams a tar of entries into the helper at seedDir.
func (b *Backend) copyIn(ctx context.Context, id string, entries []func(tw *tar.Writer) error) error {
	ctx, cancel := context.WithTimeout(ctx, seedTimeout)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		tw := tar.NewWriter(pw)
		var err error
		for _, e := range entries {
			if err = e(tw); err != nil {
				break
			}
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
		done <- err
	}()
	_, err := b.cli.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: seedDir, Content: pr})
	pr.CloseWithError(errors.New("copy finished"))
	werr := <-done
	if werr != nil && !strings.Contains(werr.Error(), "copy finished") {
		return fmt.Errorf("copy into the agent's volumes: %w", werr)
	}
	if err != nil {
		return fmt.Errorf("copy into the agent's volumes: %w", err)
	}
	return nil
}

// tarWorkspace writes the host workspace ws as workspace/..., owned by u,
// without the secret files and directories (findSecrets' names), without
// following links, and refusing more than ScanLimit entries.
func (b *Backend) tarWorkspace(tw *tar.Writer, ws string, u uidGid) error {
	n := 0
	return filepath.WalkDir(ws, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == ws {
				return err
			}
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil // unreadable: not readable in a container either
		}
		rel, err := filepath.Rel(ws, p)
		if err != nil {
			return err
		}
		if p != ws {
			n++
			if n > b.cfg.ScanLimit {
				return fmt.Errorf("%w: more than %d entries in %s", errScanLimit, b.cfg.ScanLimit, ws)
			}
			if secretMatch(d.Name()) {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		link := ""
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return nil
			}
		case fi.IsDir(), fi.Mode().IsRegular():
		default:
			return nil // sockets, devices, pipes stay behind
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = path.Join("workspace", filepath.ToSlash(rel))
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = u.uid, u.gid, "", ""
		hdr.Mode &^= 0o7000 // no set-id or sticky bits from the host
		if !fi.Mode().IsRegular() {
			return tw.WriteHeader(hdr)
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
			return fmt.Errorf("copy %s: %w", p, err)
		}
		return nil
	})
}

// homeTopMode is the mode of a remote HOME's top directory (root's, the
// agent's group): the agent can create entries, not remove root's.
const homeTopMode = 0o1770

// tarHome writes HOME's top directory and protected files: the shell
// startup files root's, empty and read-only; the CLI's config directory
// (configDir in the container) the agent's, when it is in HOME, with its
// closed directories present as mount points.
func tarHome(tw *tar.Writer, u uidGid, configDir string) error {
	if err := tw.WriteHeader(&tar.Header{Name: "home/", Typeflag: tar.TypeDir, Mode: homeTopMode, Uid: 0, Gid: u.gid, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	for _, f := range shellStartupFiles {
		if err := tw.WriteHeader(&tar.Header{Name: "home/" + f, Typeflag: tar.TypeReg, Mode: 0o444, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
	}
	rel, ok := strings.CutPrefix(configDir, homeDir+"/")
	if !ok || rel == "" || path.Clean(configDir) != configDir {
		return nil
	}
	parts := strings.Split(rel, "/")
	for i := range parts {
		if err := tarDir(tw, "home/"+strings.Join(parts[:i+1], "/"), 0o700, u.uid, u.gid); err != nil {
			return err
		}
	}
	for _, d := range closedConfigDirs {
		if err := tarDir(tw, "home/"+rel+"/"+d, 0o555, 0, 0); err != nil {
			return err
		}
	}
	return nil
}

// checkNoBinds refuses a host config for a remote engine that binds a path.
func checkNoBinds(hc *container.HostConfig) error {
	if len(hc.Binds) > 0 {
		return fmt.Errorf("binds %q: nothing of herdbot's host is mounted into a remote engine's containers", hc.Binds)
	}
	for _, m := range hc.Mounts {
		if m.Type == mount.TypeBind {
			return fmt.Errorf("bind of %s: nothing of herdbot's host is mounted into a remote engine's containers", m.Source)
		}
	}
	return nil
}
