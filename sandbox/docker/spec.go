package docker

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"

	"github.com/herdbot/herdbot/internal/pathguard"
	"github.com/herdbot/herdbot/sandbox"
)

// placeholderKey is the ANTHROPIC_API_KEY an agent container holds: the
// CLI needs one to be set; the egress proxy replaces it with the real
// credential on the way out.
const placeholderKey = "placeholder"

// sandboxEnv are the variables the backend sets itself; a Spec.Env entry
// with one of these names is replaced.
var sandboxEnv = []string{"HOME", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "ANTHROPIC_BASE_URL"}

// credentialEnv may never carry a real model credential into a container:
// the egress proxy adds it.
var credentialEnv = []string{"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"}

// plan is a validated Spec turned into the container's configuration. The
// network mode is filled in by Start.
type plan struct {
	name   string
	ws     string // the resolved host workspace, or ""
	user   uidGid
	config *container.Config
	base   *container.HostConfig // hardened, before the passthrough
}

// validate checks the parts of a Spec that do not touch the host.
func (b *Backend) validate(spec *sandbox.Spec) error {
	if spec.Fleet != "" && spec.Fleet != b.cfg.Fleet {
		return fmt.Errorf("spec fleet %q differs from the backend's fleet %q", spec.Fleet, b.cfg.Fleet)
	}
	if !namePart.MatchString(spec.Agent) {
		return fmt.Errorf("agent name %q: want letters, digits, '_', '.', '-' (at most 63)", spec.Agent)
	}
	if spec.Image == "" {
		return errors.New("no image")
	}
	if len(spec.Command) == 0 || spec.Command[0] == "" {
		return errors.New("empty command")
	}
	for _, kv := range spec.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsRune(kv, 0) {
			return fmt.Errorf("env entry %q: want KEY=VALUE", redactEnv(kv))
		}
		for _, c := range credentialEnv {
			if k == c && v != placeholderKey {
				return fmt.Errorf("env %s: model credentials never enter the container; set them as the network's model upstream (the egress proxy adds them)", k)
			}
		}
	}
	if spec.Workspace != "" && !filepath.IsAbs(spec.Workspace) {
		return fmt.Errorf("workspace %q is not an absolute path", spec.Workspace)
	}
	if cw := spec.ContainerWorkspace; cw != "" && (!path.IsAbs(cw) || path.Clean(cw) != cw || cw == "/") {
		return fmt.Errorf("container workspace %q: want a clean absolute path other than /", cw)
	}
	if spec.StateDir != "" && !filepath.IsAbs(spec.StateDir) {
		return fmt.Errorf("state dir %q is not an absolute path", spec.StateDir)
	}
	for p := range spec.Tmpfs {
		if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
			return fmt.Errorf("tmpfs %q: want a clean absolute path other than /", p)
		}
	}
	return nil
}

// redactEnv shows an env entry's name only.
func redactEnv(kv string) string {
	k, _, _ := strings.Cut(kv, "=")
	if len(k) > 40 {
		k = k[:40]
	}
	return k + "=…"
}

// makePlan validates spec and builds the container's hardened
// configuration: user, mounts (workspace, masked secrets, HOME, volumes),
// tmpfs, limits, labels and the environment.
func (b *Backend) makePlan(spec *sandbox.Spec, o Options) (*plan, error) {
	if err := b.validate(spec); err != nil {
		return nil, err
	}
	// The workspace is mounted by its resolved path, checked just now:
	// a symbolic link may have changed since the configuration was loaded.
	ws := ""
	if spec.Workspace != "" {
		if err := pathguard.Check(spec.Workspace, spec.Protected); err != nil {
			return nil, fmt.Errorf("workspace refused: %w", err)
		}
		ws = pathguard.Resolve(spec.Workspace)
		fi, err := os.Stat(ws)
		if err != nil {
			return nil, fmt.Errorf("workspace: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("workspace %s is not a directory", spec.Workspace)
		}
	}
	user, err := resolveUser(spec.User, ws, o.Dangerous)
	if err != nil {
		return nil, err
	}
	var readOnly []readOnlyPath
	if ws != "" && !b.cfg.Remote {
		if err := checkAccess(ws, user, spec.WorkspaceReadOnly); err != nil {
			return nil, err
		}
		create := b.createPlaceholder
		if create == nil {
			create = createPlaceholder
		}
		if readOnly, err = prepareReadOnly(ws, spec.ReadOnly, spec.WorkspaceReadOnly, b.emptyFile, create); err != nil {
			return nil, err
		}
	}
	cw := spec.ContainerWorkspace
	if cw == "" {
		cw = defaultContainerWorkspace
	}
	lim := mergeLimits(spec.Limits, b.limits)

	tmpfs := map[string]string{"/tmp": "rw,nosuid,nodev,mode=1777,size=" + strconv.FormatInt(lim.TmpBytes, 10)}
	for p, o := range spec.Tmpfs {
		tmpfs[p] = o
	}
	var mounts []mount.Mount
	workDir := homeDir
	if ws != "" {
		workDir = cw
	}
	if b.cfg.Remote {
		// Volumes on the engine, seeded by start (remote.go).
		mounts = append(mounts, b.remoteMounts(spec, cw)...)
		if spec.StateDir != "" {
			configDir := configDirOf(spec.Env)
			if rel, ok := strings.CutPrefix(configDir, homeDir+"/"); ok && rel != "" && path.Clean(configDir) == configDir {
				for _, d := range closedConfigDirs {
					tmpfs[path.Join(configDir, d)] = closedTmpfs
				}
			}
		} else {
			tmpfs[homeDir] = fmt.Sprintf("rw,nosuid,nodev,mode=0700,size=%d,uid=%d,gid=%d", 256<<20, user.uid, user.gid)
		}
		if len(o.Volumes) > 0 {
			return nil, fmt.Errorf("docker.volumes %q: the agent is on engine %s, not on herdbot's host, and nothing of this host is mounted there", o.Volumes, b.cfg.Engine)
		}
	}
	if ws != "" && !b.cfg.Remote {
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: ws, Target: cw, ReadOnly: spec.WorkspaceReadOnly})
		secrets, err := findSecrets(ws, b.cfg.ScanLimit)
		if err != nil {
			return nil, err
		}
		for _, f := range secrets.files {
			mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: b.emptyFile, Target: path.Join(cw, filepath.ToSlash(f)), ReadOnly: true})
		}
		for _, d := range secrets.dirs {
			tmpfs[path.Join(cw, filepath.ToSlash(d))] = "ro,nosuid,nodev,noexec,size=4k,mode=0555"
		}
		for _, p := range readOnly {
			mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: p.source, Target: path.Join(cw, filepath.ToSlash(p.rel)), ReadOnly: true})
		}
	}
	if spec.StateDir != "" && !b.cfg.Remote {
		home, err := prepareHome(spec.StateDir, user)
		if err != nil {
			return nil, err
		}
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: home, Target: homeDir})
		if b.exposeHome == nil || !b.exposeHome(spec) {
			hp, err := protectHome(home, user, configDirOf(spec.Env), b.emptyFile)
			if err != nil {
				return nil, err
			}
			mounts = append(mounts, hp.mounts...)
			for p, o := range hp.tmpfs {
				tmpfs[p] = o
			}
		}
	} else if !b.cfg.Remote {
		tmpfs[homeDir] = fmt.Sprintf("rw,nosuid,nodev,mode=0700,size=%d,uid=%d,gid=%d", 256<<20, user.uid, user.gid)
	}
	for _, v := range o.Volumes {
		m, err := parseVolume(v)
		if err != nil {
			return nil, err
		}
		if !o.Dangerous {
			if err := checkBindSource(m.Source); err != nil {
				return nil, fmt.Errorf("volume %q %w; only the fleet-level dangerous opt-in allows that", v, err)
			}
		}
		mounts = append(mounts, m)
	}

	labels := make(map[string]string, len(spec.Labels)+5)
	for k, v := range spec.Labels {
		if strings.HasPrefix(k, "herdbot.") {
			return nil, fmt.Errorf("label %q: the herdbot.* labels are set by the sandbox", k)
		}
		labels[k] = v
	}
	for k, v := range b.baseLabels(roleAgent) {
		labels[k] = v
	}
	labels[LabelAgent] = spec.Agent
	labels[LabelJob] = spec.Job

	name := b.containerName(spec.Agent, spec.Job)
	base := hardenedHostConfig(hardenedInput{
		dns: agentDNS,
		limits: limitsSpec{
			memory: lim.MemoryBytes, nanoCPUs: lim.NanoCPUs, cpuShares: lim.CPUShares,
			cpuPeriod: lim.CPUPeriod, cpuQuota: lim.CPUQuota, pids: lim.PidsLimit,
		},
		mounts:    mounts,
		tmpfs:     tmpfs,
		readOnly:  true,
		logDriver: "none", // transcripts go through the attach stream only
	})
	return &plan{
		ws:   ws,
		name: name,
		user: user,
		base: base,
		config: &container.Config{
			Image:        spec.Image,
			Entrypoint:   spec.Command[:1],
			Cmd:          append([]string{}, spec.Command[1:]...),
			Env:          containerEnv(spec.Env, !spec.Network.None),
			User:         user.String(),
			WorkingDir:   workDir,
			Hostname:     sanitize(spec.Agent, 63),
			Labels:       labels,
			AttachStdin:  true,
			AttachStdout: true,
			AttachStderr: true,
			OpenStdin:    true,
			StdinOnce:    true,
			Tty:          false,
		},
	}, nil
}

// containerEnv is the declared list with the sandbox's own variables
// replaced: HOME, and with a network the proxy settings and the model API
// base URL with a placeholder key.
func containerEnv(declared []string, networked bool) []string {
	own := []string{"HOME=" + homeDir}
	if networked {
		proxy := "http://" + egressAlias + ":" + proxyPort
		noProxy := egressAlias + ",localhost,127.0.0.1"
		own = append(own,
			"HTTP_PROXY="+proxy, "HTTPS_PROXY="+proxy, "http_proxy="+proxy, "https_proxy="+proxy,
			"NO_PROXY="+noProxy, "no_proxy="+noProxy,
			"ANTHROPIC_BASE_URL=http://"+egressAlias+":"+modelPort,
			"ANTHROPIC_API_KEY="+placeholderKey,
		)
	}
	replaced := make(map[string]bool)
	for _, kv := range own {
		k, _, _ := strings.Cut(kv, "=")
		replaced[k] = true
	}
	for _, k := range sandboxEnv {
		replaced[k] = true
	}
	env := make([]string, 0, len(declared)+len(own))
	for _, kv := range declared {
		k, _, _ := strings.Cut(kv, "=")
		if !replaced[k] {
			env = append(env, kv)
		}
	}
	return append(env, own...)
}

// parseVolume parses a fleet-level bind "host:container[:ro|:rw]".
func parseVolume(v string) (mount.Mount, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return mount.Mount{}, fmt.Errorf("volume %q: want host:container[:ro]", v)
	}
	m := mount.Mount{Type: mount.TypeBind, Source: parts[0], Target: parts[1]}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			m.ReadOnly = true
		case "rw":
		default:
			return mount.Mount{}, fmt.Errorf("volume %q: mode must be ro or rw", v)
		}
	}
	if !filepath.IsAbs(m.Source) || !path.IsAbs(m.Target) || path.Clean(m.Target) == "/" {
		return mount.Mount{}, fmt.Errorf("volume %q: want absolute host and container paths", v)
	}
	return m, nil
}
