package docker

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// Bridge driver options.
const (
	optInhibitIPv4 = "com.docker.network.bridge.inhibit_ipv4"
	optEnableICC   = "com.docker.network.bridge.enable_icc"
)

// netInfo is what the backend needs to know about one of its networks.
type netInfo struct {
	id       string
	name     string
	subnets  []netip.Prefix
	gateways []netip.Addr
}

// ensureAgentNetwork returns the agent's network, creating it if needed:
// internal (no route out) and without an IPv4 address on the host side, so
// that nothing on it reaches the host through a gateway address.
func (b *Backend) ensureAgentNetwork(ctx context.Context, agent string) (netInfo, error) {
	labels := b.baseLabels(roleNetwork)
	labels[LabelAgent] = agent
	return b.ensureNetwork(ctx, b.agentNetworkName(agent), labels, client.NetworkCreateOptions{
		Driver:   "bridge",
		Internal: true,
		Options:  map[string]string{optInhibitIPv4: "true"},
	})
}

// ensureEgressNetwork returns the fleet's egress network, shared by the
// sidecars: a plain bridge with a route out, and no traffic between the
// containers on it (enable_icc=false), so one agent's sidecar cannot reach
// another's.
func (b *Backend) ensureEgressNetwork(ctx context.Context) (netInfo, error) {
	b.mu.Lock()
	cached := b.egressNet
	b.mu.Unlock()
	if cached.id != "" {
		return cached, nil
	}
	opts := client.NetworkCreateOptions{
		Driver:  "bridge",
		Options: map[string]string{optEnableICC: "false"},
	}
	b.mu.Lock()
	last := b.lastEgress
	b.mu.Unlock()
	if len(last.subnets) == 1 && len(last.gateways) == 1 {
		// Recreated (the engine lost it): with the same subnet and
		// gateway when free, so that what herdbot serves on the host's
		// address there (the demo model) is reachable again.
		opts.IPAM = &network.IPAM{Config: []network.IPAMConfig{{Subnet: last.subnets[0], Gateway: last.gateways[0]}}}
	}
	n, err := b.ensureNetwork(ctx, b.egressNetworkName(), b.baseLabels(roleEgressNet), opts)
	if err != nil && opts.IPAM != nil {
		b.log.Warn("egress network: its former subnet is taken; creating it with another", "subnet", last.subnets[0], "err", err)
		opts.IPAM = nil
		n, err = b.ensureNetwork(ctx, b.egressNetworkName(), b.baseLabels(roleEgressNet), opts)
	}
	if err == nil {
		b.mu.Lock()
		b.egressNetID, b.egressNet, b.lastEgress = n.id, n, n
		b.mu.Unlock()
	}
	return n, err
}

// ensureNetwork looks the network up by exact name and creates it when
// absent. Creation is serialized: Engine 20.10 accepts duplicate names and
// later fails with "ambiguous" on start.
func (b *Backend) ensureNetwork(ctx context.Context, name string, labels map[string]string, opts client.NetworkCreateOptions) (netInfo, error) {
	b.netMu.Lock()
	defer b.netMu.Unlock()

	found, err := b.findNetwork(ctx, name)
	if err != nil {
		return netInfo{}, err
	}
	if found != nil {
		if found.Labels[LabelManaged] != "1" || found.Labels[LabelInstallation] != b.cfg.Installation {
			return netInfo{}, fmt.Errorf("network %s exists but is not this herdbot installation's (%s); remove or rename it", name, b.cfg.Installation)
		}
		if found.Internal != opts.Internal {
			return netInfo{}, fmt.Errorf("network %s exists with internal=%t, want %t; remove it (herdbot recreates it)", name, found.Internal, opts.Internal)
		}
		for k, v := range opts.Options {
			if found.Options[k] != v {
				return netInfo{}, fmt.Errorf("network %s exists without option %s=%s; remove it (herdbot recreates it)", name, k, v)
			}
		}
		return toNetInfo(found.Network), nil
	}

	opts.Labels = labels
	cctx, cancel := b.callCtx(ctx)
	res, err := b.cli.NetworkCreate(cctx, name, opts)
	cancel()
	if err != nil {
		return netInfo{}, fmt.Errorf("create network %s: %w", name, err)
	}
	for _, w := range res.Warning {
		b.log.Warn("network create warning", "network", name, "warning", w)
	}
	cctx, cancel = b.callCtx(ctx)
	ins, err := b.cli.NetworkInspect(cctx, res.ID, client.NetworkInspectOptions{})
	cancel()
	if err != nil {
		return netInfo{}, fmt.Errorf("inspect network %s: %w", name, err)
	}
	b.log.Debug("network created", "network", name, "id", res.ID)
	return toNetInfo(ins.Network.Network), nil
}

// findNetwork returns the network with exactly this name, or nil. The
// engine's name filter matches substrings, so the result is checked.
func (b *Backend) findNetwork(ctx context.Context, name string) (*network.Summary, error) {
	cctx, cancel := b.callCtx(ctx)
	defer cancel()
	res, err := b.cli.NetworkList(cctx, client.NetworkListOptions{Filters: make(client.Filters).Add("name", name)})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	var match []network.Summary
	for _, n := range res.Items {
		if n.Name == name {
			match = append(match, n)
		}
	}
	switch len(match) {
	case 0:
		return nil, nil
	case 1:
		return &match[0], nil
	default:
		return nil, fmt.Errorf("network name %s is ambiguous (%d networks); run herdbot's cleanup or remove the duplicates", name, len(match))
	}
}

func toNetInfo(n network.Network) netInfo {
	ni := netInfo{id: n.ID, name: n.Name}
	for _, c := range n.IPAM.Config {
		if c.Subnet.IsValid() {
			ni.subnets = append(ni.subnets, c.Subnet)
		}
		if c.Gateway.IsValid() {
			ni.gateways = append(ni.gateways, c.Gateway)
		}
	}
	return ni
}

// removeNetwork removes a network, ignoring one that is already gone.
func (b *Backend) removeNetwork(ctx context.Context, id string) error {
	cctx, cancel := b.callCtx(ctx)
	defer cancel()
	if _, err := b.cli.NetworkRemove(cctx, id, client.NetworkRemoveOptions{}); err != nil && !isNotFound(err) {
		return fmt.Errorf("remove network %s: %w", id, err)
	}
	return nil
}

// forgetNetworks drops the cached network ids after a failure, so that the
// next Start looks them up again (someone may have removed them).
func (b *Backend) forgetNetworks(a *agentState) {
	b.mu.Lock()
	b.egressNet = netInfo{}
	b.mu.Unlock()
	a.hasNet = false
}

// HostGateway returns the host's address on the egress network: a server
// herdbot runs on the host (the demo model, say) listens there, and an
// agent's sidecar reaches it only when "ADDR:PORT" is in the agent's
// Network.Private.
func (b *Backend) HostGateway(ctx context.Context) (netip.Addr, error) {
	ctx, cancel := b.callCtx(ctx)
	defer cancel()
	n, err := b.ensureEgressNetwork(ctx)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, gw := range n.gateways {
		if gw.Is4() {
			return gw, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("egress network %s has no IPv4 gateway", b.egressNetworkName())
}
