package docker

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

// homeDir is the agent's HOME inside the container (the CLI keeps its config
// and sessions in it).
const homeDir = "/home/agent"

// defaultContainerWorkspace is used when Spec.ContainerWorkspace is empty.
const defaultContainerWorkspace = "/workspace"

// agentDNS is the DNS upstream of every agent container: the container's
// own loopback, where nothing answers. Docker's embedded resolver
// (127.0.0.11, which the container's resolv.conf names) still answers the
// names of its network (the "egress" alias), but forwards every other name
// to this upstream, from the container's own network namespace: never out
// through the host. Without it, Engines before 26.0.0 (23.0.11, 25.0.5)
// forward an internal network's lookups through the host's resolver when
// that is on the host's loopback (CVE-2024-29018), an exfiltration channel.
// Measured on Engine 20.10 from inside a hardened agent container
// (TestAgentDNSNeverForwardsOut): a lookup of an outside name sent straight
// to 127.0.0.11 is forwarded to the agent's own 127.0.0.1:53 and nowhere
// else. A user-given upstream on loopback means the container's loopback
// on every Engine version (the engine's HostLoopback flag is set only for
// servers taken from the host's resolv.conf).
var agentDNS = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}

// hardenedInput is what the hardened host config is made from.
type hardenedInput struct {
	netMode   string
	dns       []netip.Addr // DNS upstreams; nil keeps the engine's (the sidecar needs the host's)
	limits    limitsSpec
	mounts    []mount.Mount
	tmpfs     map[string]string
	readOnly  bool // root fs read-only (always, for agents and sidecars)
	logDriver string
}

type limitsSpec struct {
	memory, nanoCPUs, cpuShares, cpuPeriod, cpuQuota, pids int64
}

// hardenedHostConfig returns the host config every sandboxed container
// gets: no capabilities, no privilege gain, read-only root, limits, an init
// process that forwards signals and reaps zombies.
func hardenedHostConfig(in hardenedInput) *container.HostConfig {
	pids := in.limits.pids
	init := true
	nano := in.limits.nanoCPUs
	if in.limits.cpuPeriod != 0 || in.limits.cpuQuota != 0 {
		nano = 0 // the engine refuses NanoCPUs together with period/quota
	}
	logCfg := container.LogConfig{Type: in.logDriver}
	if in.logDriver == "json-file" {
		logCfg.Config = map[string]string{"max-size": "10m", "max-file": "2"}
	}
	return &container.HostConfig{
		NetworkMode:    container.NetworkMode(in.netMode),
		DNS:            slices.Clone(in.dns),
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		ReadonlyRootfs: in.readOnly,
		Tmpfs:          in.tmpfs,
		Mounts:         in.mounts,
		Init:           &init,
		LogConfig:      logCfg,
		RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Resources: container.Resources{
			Memory:     in.limits.memory,
			MemorySwap: in.limits.memory,
			NanoCPUs:   nano,
			CPUShares:  in.limits.cpuShares,
			CPUPeriod:  in.limits.cpuPeriod,
			CPUQuota:   in.limits.cpuQuota,
			PidsLimit:  &pids,
		},
	}
}

// HardeningError says which host_config field would weaken the sandbox.
type HardeningError struct {
	Field string // HostConfig field name, e.g. "Privileged"
	Why   string
}

func (e *HardeningError) Error() string {
	return fmt.Sprintf("host_config.%s %s; only the fleet-level dangerous opt-in allows that", e.Field, e.Why)
}

// checkHardening verifies that hc (the hardened config with the fleet's
// passthrough merged on top) still holds every hardening property of base.
func checkHardening(hc, base *container.HostConfig) error {
	bad := func(field, why string) error { return &HardeningError{Field: field, Why: why} }
	if hc.Privileged {
		return bad("Privileged", "turns on privileged mode")
	}
	if len(hc.CapAdd) > 0 {
		return bad("CapAdd", "adds capabilities")
	}
	if !slices.ContainsFunc(hc.CapDrop, func(c string) bool { return strings.EqualFold(c, "ALL") }) {
		return bad("CapDrop", "no longer drops ALL capabilities")
	}
	nnp := false
	for _, o := range hc.SecurityOpt {
		lo := strings.ToLower(strings.ReplaceAll(o, " ", ""))
		switch {
		case lo == "no-new-privileges" || lo == "no-new-privileges:true" || lo == "no-new-privileges=true":
			nnp = true
		case strings.HasPrefix(lo, "no-new-privileges"):
			return bad("SecurityOpt", "turns off no-new-privileges")
		case strings.HasSuffix(lo, "unconfined"), lo == "label=disable", lo == "label:disable":
			return bad("SecurityOpt", fmt.Sprintf("removes a security profile (%q)", o))
		}
	}
	if !nnp {
		return bad("SecurityOpt", "drops no-new-privileges")
	}
	if hc.NetworkMode != base.NetworkMode {
		return bad("NetworkMode", "changes the sandbox network")
	}
	if !slices.Equal(hc.DNS, base.DNS) {
		return bad("Dns", "gives the container a DNS upstream other than its own loopback (a way to send lookups out)")
	}
	if !hc.ReadonlyRootfs {
		return bad("ReadonlyRootfs", "makes the root file system writable")
	}
	for field, mode := range map[string]string{
		"PidMode": string(hc.PidMode), "IpcMode": string(hc.IpcMode), "UTSMode": string(hc.UTSMode),
		"UsernsMode": string(hc.UsernsMode), "CgroupnsMode": string(hc.CgroupnsMode), "Cgroup": string(hc.Cgroup),
	} {
		if mode == "host" || strings.HasPrefix(mode, "container:") {
			return bad(field, fmt.Sprintf("shares a namespace (%q)", mode))
		}
	}
	if len(hc.Devices) > 0 || len(hc.DeviceCgroupRules) > 0 || len(hc.DeviceRequests) > 0 {
		return bad("Devices", "gives the container host devices")
	}
	if len(hc.VolumesFrom) > 0 {
		return bad("VolumesFrom", "mounts another container's volumes")
	}
	if hc.MaskedPaths != nil || hc.ReadonlyPaths != nil {
		return bad("MaskedPaths", "changes the engine's masked /proc and /sys paths")
	}
	if hc.Memory <= 0 {
		return bad("Memory", "removes the memory limit")
	}
	if hc.MemorySwap != hc.Memory {
		return bad("MemorySwap", "allows swap beyond the memory limit")
	}
	if hc.PidsLimit == nil || *hc.PidsLimit <= 0 {
		return bad("PidsLimit", "removes the process limit")
	}
	if hc.OomKillDisable != nil && *hc.OomKillDisable {
		return bad("OomKillDisable", "turns off the OOM killer")
	}
	for _, m := range base.Mounts {
		if !slices.Contains(hc.Mounts, m) {
			return bad("Mounts", fmt.Sprintf("removes the sandbox mount at %s", m.Target))
		}
	}
	for p, o := range base.Tmpfs {
		if hc.Tmpfs[p] != o {
			return bad("Tmpfs", fmt.Sprintf("changes the sandbox tmpfs at %s", p))
		}
	}
	for _, bind := range hc.Binds {
		if err := checkBindSource(strings.SplitN(bind, ":", 2)[0]); err != nil {
			return bad("Binds", err.Error())
		}
	}
	for _, m := range hc.Mounts {
		if m.Type == mount.TypeBind {
			if err := checkBindSource(m.Source); err != nil {
				return bad("Mounts", err.Error())
			}
		}
	}
	return nil
}

// checkBindSource refuses host paths that hand over the host: its root and
// the Docker socket.
func checkBindSource(src string) error {
	clean := strings.TrimRight(src, "/")
	switch clean {
	case "", "/proc", "/sys", "/dev", "/etc", "/var/run", "/run", "/var/lib/docker":
		return fmt.Errorf("mounts a host system path (%q)", src)
	}
	if strings.HasSuffix(clean, "docker.sock") || strings.HasSuffix(clean, "containerd.sock") {
		return fmt.Errorf("mounts the container engine's socket (%q)", src)
	}
	return nil
}
