package docker

import (
	"context"

	"github.com/moby/moby/api/types/container"

	"github.com/herdbot/herdbot/sandbox"
)

// Options are an agent's Docker-only settings: what no other backend has a
// meaning for. They come from the fleet file only (an agent cannot write
// them) and are chosen in main, per agent, with With. The zero Options add
// nothing to the hardened container.
type Options struct {
	Privileged  bool     // docker.privileged
	CapAdd      []string // docker.cap_add
	Runtime     string   // docker.runtime (an OCI runtime such as runsc)
	HostNetwork bool     // docker.network: host
	// HostConfig is the fleet's docker.host_config passthrough: Docker API
	// HostConfig field names (case, '_' and '-' ignored) merged over the
	// hardened host config (objects key by key; CapDrop, SecurityOpt,
	// Binds, Mounts, ExtraHosts and the Dns lists extended). The typed
	// options above are applied after it.
	HostConfig map[string]any
	// Volumes are extra binds, "host:container[:ro]".
	Volumes []string
	// Dangerous is the fleet file's per-agent opt-in
	// (docker.dangerous_host_config) that lets the options above remove
	// hardening (privileged, cap_add, host network, a root user, binds of
	// the engine socket or system directories). Without it they may only
	// add to it, and a start that would weaken it is refused.
	Dangerous bool
}

// With returns a sandbox.Backend that starts processes on b with o.
func (b *Backend) With(o Options) sandbox.Backend { return withOptions{b: b, o: o} }

type withOptions struct {
	b *Backend
	o Options
}

// Start starts spec on the backend with the options.
func (w withOptions) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Process, error) {
	return w.b.startWith(ctx, spec, w.o)
}

// hostConfig returns base with o applied: the passthrough merged over it,
// then the typed options.
func (o Options) hostConfig(base *container.HostConfig) (*container.HostConfig, error) {
	hc, err := mergePassthrough(base, o.HostConfig)
	if err != nil {
		return nil, err
	}
	if hc == base {
		c := *base
		hc = &c
	}
	if o.Privileged {
		hc.Privileged = true
	}
	if len(o.CapAdd) > 0 {
		hc.CapAdd = append([]string(nil), o.CapAdd...)
	}
	if o.Runtime != "" {
		hc.Runtime = o.Runtime
	}
	if o.HostNetwork {
		hc.NetworkMode = container.NetworkMode("host")
	}
	if hc.NetworkMode.IsHost() || hc.NetworkMode.IsContainer() {
		// A shared network namespace (only with the dangerous opt-in)
		// has the host's or that container's resolver; agentDNS is for
		// the agent's own namespace.
		hc.DNS = nil
	}
	if !o.Dangerous {
		if err := checkHardening(hc, base); err != nil {
			return nil, err
		}
	}
	return hc, nil
}
