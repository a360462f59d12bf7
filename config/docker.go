package config

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/docker/go-units"
)

// hardeningKeys are Docker HostConfig keys (matched case-insensitively)
// whose use can undo the container hardening, with why.
var hardeningKeys = map[string]string{
	"privileged":        "runs the container privileged",
	"capadd":            "adds capabilities back",
	"capdrop":           "changes the dropped capabilities (hardening drops ALL)",
	"securityopt":       "changes security options (no-new-privileges, seccomp, AppArmor)",
	"networkmode":       "replaces the agent's isolated network",
	"pidmode":           "shares a PID namespace",
	"ipcmode":           "shares an IPC namespace",
	"utsmode":           "shares a UTS namespace",
	"usernsmode":        "changes the user namespace",
	"cgroupnsmode":      "shares the cgroup namespace",
	"readonlyrootfs":    "makes the root file system writable",
	"devices":           "passes host devices in",
	"devicerequests":    "passes host devices in",
	"devicecgrouprules": "allows device access",
	"binds":             "mounts host paths (use docker.volumes)",
	"mounts":            "mounts host paths (use docker.volumes)",
	"volumesfrom":       "mounts another container's volumes",
	"maskedpaths":       "unmasks kernel paths",
	"readonlypaths":     "makes kernel paths writable",
	"sysctls":           "changes kernel parameters",
	"cgroupparent":      "moves the container out of its cgroup",
	"portbindings":      "publishes ports",
	"publishallports":   "publishes ports",
	"pidslimit":         "changes the process limit (use docker.pids_limit)",
	"memory":            "changes the memory limit (use docker.memory)",
	"memoryswap":        "changes the swap limit",
	"dns":               "gives the agent a DNS upstream other than its own loopback, so lookups could leave the sandbox",
}

// hostConfigHarmless reports whether a hardening-related key is set to a
// value that keeps the hardening (e.g. ReadonlyRootfs: true).
func hostConfigHarmless(key string, v any) bool {
	switch key {
	case "readonlyrootfs":
		b, ok := v.(bool)
		return ok && b
	case "privileged", "publishallports":
		b, ok := v.(bool)
		return ok && !b
	}
	return false
}

func (r *agentRes) docker(s *dockerSpec) Docker {
	d := Docker{
		Enabled:       boolOr(s.Enabled, true),
		Ephemeral:     boolOr(s.Ephemeral, true),
		Memory:        DefaultMemory,
		MaxContainers: DefaultMaxContainers,
		WorkspaceMode: defaultStr(s.WorkspaceMode, "rw"),
		PidsLimit:     DefaultPidsLimit,
		Labels:        s.Labels,
		Image:         defaultStr(s.Image, DefaultImage),
		Network:       defaultStr(s.Network, "bridge"),
		User:          s.User,
		Volumes:       s.Volumes,
		Runtime:       s.Runtime,
		Engine:        s.Engine,
		Env:           s.Env,
		HostConfig:    s.HostConfig,
		Privileged:    boolOr(s.Privileged, false),
		CapAdd:        s.CapAdd,
	}
	if r.fleetDoc().has(r.ovPrefix + ".docker.dangerous_host_config") {
		d.DangerousHostConfig = boolOr(s.DangerousHostConfig, false)
	}
	if !d.Enabled {
		if o := r.origin("docker.enabled"); !o.fleet {
			// An agent can edit its own file: it may not turn its sandbox off.
			r.errf("docker.enabled", "an agent file may not turn docker off (the agent would run without isolation); set it in the fleet file under defaults.docker or agents[].overrides.docker; run `herdbot migrate` to move it to agents[].overrides")
		}
	}
	if s.Memory != "" {
		if !memoryPattern.MatchString(s.Memory) {
			r.errf("docker.memory", "invalid memory size %q: use e.g. 512m or 2g", truncate(s.Memory, 40))
		} else if n, err := parseMemory(s.Memory); err != nil {
			r.errf("docker.memory", "%v", err)
		} else {
			d.Memory = n
		}
	}
	d.DiskLimit = r.diskLimit(s.DiskLimit)
	d.CPUShares = r.int64Min("docker.cpu_shares", s.CPUShares, 2)
	d.CPUPeriod = r.int64Range("docker.cpu_period", s.CPUPeriod, 1000, 1000000)
	d.CPUQuota = r.int64Min("docker.cpu_quota", s.CPUQuota, 1000)
	if s.MaxContainers != nil {
		d.MaxContainers = r.positive("docker.max_containers", s.MaxContainers, DefaultMaxContainers)
	}
	if s.PidsLimit != nil {
		if *s.PidsLimit < 1 {
			r.errf("docker.pids_limit", "must be 1 or more (a process limit is part of the hardening), got %d", *s.PidsLimit)
		} else {
			d.PidsLimit = *s.PidsLimit
		}
	}
	if err := oneOf(d.WorkspaceMode, WorkspaceModes); err != nil {
		r.errf("docker.workspace_mode", "%v", err)
	}
	d.Tmpfs = r.tmpfs(s.Tmpfs)
	for k := range d.Labels {
		if k == "" || strings.HasPrefix(k, "herdbot.") {
			r.errf("docker.labels."+k, "label keys starting with herdbot. are reserved")
		}
	}
	if err := oneOf(d.Network, NetworkModes); err != nil {
		r.errf("docker.network", "%v", err)
	}
	for i, v := range d.Volumes {
		if err := validVolume(v); err != nil {
			r.errf(fmt.Sprintf("docker.volumes[%d]", i), "%v", err)
		}
	}
	for k := range d.Env {
		if !isVarName(k) {
			r.errf("docker.env."+k, "%q is not a variable name", k)
		}
	}

	// What would undo the hardening needs the per-agent opt-in.
	dangerous := func(p, why string) {
		if !d.DangerousHostConfig {
			r.errf(p, "%s, which undoes the container hardening; if this agent really needs it, set docker.dangerous_host_config: true in the fleet file under its agents[].overrides (run `herdbot migrate` to drop the option instead, with a note in the file)", why)
		}
	}
	if d.Network == "host" {
		dangerous("docker.network", "network: host shares the host's network")
	}
	if d.Privileged {
		dangerous("docker.privileged", "privileged: true gives the container every capability and device")
	}
	if len(d.CapAdd) > 0 {
		dangerous("docker.cap_add", "cap_add adds capabilities back")
	}
	if d.User != "" && !userPattern.MatchString(d.User) {
		r.errf("docker.user", "invalid user %q: use \"UID\" or \"UID:GID\" in digits, e.g. \"1000:1000\"", truncate(d.User, 40))
	} else if u, _, _ := strings.Cut(d.User, ":"); u == "0" {
		dangerous("docker.user", "user root runs the agent as root")
	}
	keys := make([]string, 0, len(d.HostConfig))
	for k := range d.HostConfig {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(k)
		why, bad := hardeningKeys[lk]
		if !bad || hostConfigHarmless(lk, d.HostConfig[k]) {
			continue
		}
		dangerous("docker.host_config."+k, "host_config."+k+" "+why)
	}
	return d
}

// diskLimit resolves docker.disk_limit (0: none). The agent can edit its
// own file, so a value written there may only lower what the fleet file
// gives the agent (defaults.docker, else the top-level docker, else the
// default): never raise it, never turn it off.
func (r *agentRes) diskLimit(v string) int64 {
	const p = "docker.disk_limit"
	if v == "" {
		return DefaultDiskLimit
	}
	n, err := parseDiskLimit(v)
	if err != nil {
		r.errf(p, "%v", err)
		return DefaultDiskLimit
	}
	if r.origin(p).fleet {
		return n
	}
	fleet, where := int64(DefaultDiskLimit), "herdbot's default"
	for _, src := range []struct {
		m    map[string]any
		path string
	}{{asMap(r.defs["docker"]), "defaults.docker.disk_limit"}, {asMap(r.l.raw["docker"]), "docker.disk_limit"}} {
		raw, ok := src.m["disk_limit"]
		if !ok || raw == nil {
			continue
		}
		fv, err := parseDiskLimit(fmt.Sprint(raw))
		if err != nil {
			r.l.ps.add(r.l.doc.file, r.l.doc.line(src.path), src.path, "%v", err)
			return n
		}
		fleet, where = fv, src.path+" in "+filepath.Base(r.l.doc.file)
		break
	}
	switch {
	case fleet == 0:
		return n
	case n == 0:
		r.errf(p, "an agent file may not turn the disk limit off (the fleet's is %s, %s); only the fleet file can", sizeText(fleet), where)
		return fleet
	case n > fleet:
		r.errf(p, "%s is above the fleet's limit of %s (%s); an agent file may only lower it: raise it in the fleet file under agents[].overrides.docker", sizeText(n), sizeText(fleet), where)
		return fleet
	}
	return n
}

// parseDiskLimit parses a disk limit: a size such as 500m, 10g, 2GiB, or
// none (0).
func parseDiskLimit(s string) (int64, error) {
	if strings.EqualFold(strings.TrimSpace(s), "none") {
		return 0, nil
	}
	n, err := units.RAMInBytes(s)
	if err != nil {
		return 0, fmt.Errorf("invalid disk limit %q: use a size such as 500m or 10g, or none", truncate(s, 40))
	}
	if n < 1<<20 {
		return 0, fmt.Errorf("disk limit %q is below 1m (use none for no limit)", truncate(s, 40))
	}
	return n, nil
}

// sizeText writes bytes in binary units: 10GiB, 512MiB.
func sizeText(n int64) string { return units.BytesSize(float64(n)) }

func (r *agentRes) tmpfs(v any) map[string]string {
	if v == nil {
		return nil
	}
	out := map[string]string{}
	add := func(p, path, opts string) {
		if err := validTmpfsPath(path, opts); err != nil {
			r.errf(p, "%v", err)
			return
		}
		out[path] = opts
	}
	switch t := v.(type) {
	case []any:
		for i, e := range t {
			p := fmt.Sprintf("docker.tmpfs[%d]", i)
			s, ok := e.(string)
			if !ok {
				r.errf(p, "expected path[:options], got %s", describeNode(e))
				continue
			}
			path, opts, _ := strings.Cut(s, ":")
			add(p, path, opts)
		}
	default:
		r.errf("docker.tmpfs", "expected a list of /path or /path:options, got %s", describeNode(v))
	}
	return out
}

func (r *agentRes) int64Min(p string, v *int64, min int64) int64 {
	if v == nil {
		return 0
	}
	if *v < min {
		r.errf(p, "must be at least %d, got %d", min, *v)
		return 0
	}
	return *v
}

func (r *agentRes) int64Range(p string, v *int64, min, max int64) int64 {
	if v == nil {
		return 0
	}
	if *v < min || *v > max {
		r.errf(p, "must be between %d and %d, got %d", min, max, *v)
		return 0
	}
	return *v
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}
