package docker

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/sandbox"
)

// requireImage returns an error wrapping sandbox.ErrImageMissing when the
// image is not present locally (nothing is ever pulled).
func (b *Backend) requireImage(ctx context.Context, image string) error {
	b.mu.Lock()
	seen := b.images[image]
	b.mu.Unlock()
	if seen {
		return nil // a removal since is caught by create (imageGone)
	}
	_, ok, err := b.imageLabels(ctx, image)
	if err != nil {
		return err
	}
	if !ok {
		return errImageMissing(image)
	}
	b.mu.Lock()
	b.images[image] = true
	b.mu.Unlock()
	return nil
}

func errImageMissing(image string) error {
	return fmt.Errorf("%w: image %q is not present on this Docker engine (nothing is pulled); build it with `make agent-image` (scripts/agent-image.sh), or build deploy/agent/Dockerfile and tag it %q", sandbox.ErrImageMissing, image, image)
}

// imageGone translates a create error for an image removed since it was
// seen into ErrImageMissing.
func (b *Backend) imageGone(image string, err error) error {
	if !isNotFound(err) || !strings.Contains(strings.ToLower(err.Error()), "image") {
		return err
	}
	b.mu.Lock()
	delete(b.images, image)
	b.mu.Unlock()
	return fmt.Errorf("%w (%w)", errImageMissing(image), err)
}

// track records a container this backend created, so Cleanup spares it.
func (b *Backend) track(id string) {
	b.mu.Lock()
	b.created[id] = struct{}{}
	b.mu.Unlock()
}

// removeContainer force-removes a container by id or name, ignoring one
// that is already gone or being removed.
func (b *Backend) removeContainer(ctx context.Context, ref string) error {
	cctx, cancel := b.callCtx(ctx)
	defer cancel()
	_, err := b.cli.ContainerRemove(cctx, ref, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !isNotFound(err) && !(isConflict(err) && strings.Contains(err.Error(), "already in progress")) {
		return fmt.Errorf("remove container %s: %w", ref, err)
	}
	b.mu.Lock()
	delete(b.created, ref)
	b.mu.Unlock()
	return nil
}

// checkWarnings logs the engine's create warnings and fails when one says
// a resource limit was dropped (no cgroup controller), unless the backend
// allows that.
func (b *Backend) checkWarnings(warnings []string, name string) error {
	for _, w := range warnings {
		b.log.Warn("container create warning", "container", name, "warning", w)
		if strings.Contains(strings.ToLower(w), "discarded") && !b.cfg.AllowDroppedLimits {
			return fmt.Errorf("create container %s: the engine dropped a resource limit (%s); fix the host's cgroups or set AllowDroppedLimits", name, w)
		}
	}
	return nil
}
