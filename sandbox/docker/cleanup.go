package docker

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/client"
)

// Cleanup removes what an earlier herdbot process of this installation
// left behind: containers (agents and sidecars) and networks labelled
// herdbot.managed=1 and herdbot.installation=<installation>, except those
// this Backend created. Resources of other installations are never
// touched, whatever their fleet is called. Call it once at startup, before
// the first Start, holding the state dir's lock (one process per
// installation). Images are kept (they are shared by content between
// installations and rebuilt only when their content changes).
func (b *Backend) Cleanup(ctx context.Context) error {
	filters := make(client.Filters).Add("label", LabelManaged+"=1", LabelInstallation+"="+b.cfg.Installation)
	cctx, cancel := b.callCtx(ctx)
	res, err := b.cli.ContainerList(cctx, client.ContainerListOptions{All: true, Filters: filters})
	cancel()
	if err != nil {
		return fmt.Errorf("cleanup: list containers: %w", err)
	}
	b.mu.Lock()
	own := make(map[string]bool, len(b.created))
	for id := range b.created {
		own[id] = true
	}
	ownNets := map[string]bool{b.egressNetID: b.egressNetID != ""}
	agents := make([]*agentState, 0, len(b.agents))
	for _, a := range b.agents {
		agents = append(agents, a)
	}
	b.mu.Unlock()
	for _, a := range agents {
		a.mu.Lock()
		if a.hasNet {
			ownNets[a.net.id] = true
		}
		a.mu.Unlock()
	}

	var errs []error
	removed := 0
	for _, c := range res.Items {
		if own[c.ID] {
			continue
		}
		if err := b.removeContainer(ctx, c.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	cctx, cancel = b.callCtx(ctx)
	nets, err := b.cli.NetworkList(cctx, client.NetworkListOptions{Filters: filters})
	cancel()
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("cleanup: list networks: %w", err))...)
	}
	for _, n := range nets.Items {
		if ownNets[n.ID] {
			continue
		}
		if err := b.removeNetwork(ctx, n.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	if removed > 0 {
		b.log.Info("removed leftovers of an earlier run", "count", removed)
	}
	return errors.Join(errs...)
}
