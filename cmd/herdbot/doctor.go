package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/herdbot/herdbot/agents/redact"
	"github.com/herdbot/herdbot/config"
	"github.com/herdbot/herdbot/internal/sshdial"
	"github.com/herdbot/herdbot/web"
)

// pinnedClaudeVersion is the Claude Code CLI version herdbot is built and
// tested against: the Makefile's CLAUDE_VERSION and internal/testenv's
// ClaudeVersion (doctor_test.go checks they agree).
const pinnedClaudeVersion = "2.1.332"

// Clock skew between herdbot and the Docker engine above these is reported.
const (
	skewWarn  = 2 * time.Second
	skewError = 5 * time.Minute
)

// doctorCallTimeout bounds each engine call and the `claude --version` run.
const doctorCallTimeout = 10 * time.Second

// Check outcomes, worst last.
const (
	statusOK    = "OK"
	statusSkip  = "SKIP"
	statusWarn  = "WARN"
	statusError = "ERROR"
)

// doctor runs the checks of `herdbot doctor` and prints one line per check.
type doctor struct {
	cfg       *config.Fleet
	out       io.Writer
	red       *redact.Redactor
	claudeBin string
	errors    int
	warnings  int
}

func cmdDoctor(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("doctor", e, false)
	claudeBin := fs.String("claude", "", "Claude Code CLI that agents without Docker run (default: $"+claudeEnv+", next to herdbot, the .tools/ of its checkout or of this directory, then PATH)")
	if _, err := fs.parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(fs.config)
	if err != nil {
		// config errors never contain .env values (config redacts them).
		fmt.Fprintf(e.stdout, "%-5s config: %v\n", statusError, err)
		fmt.Fprintln(e.stdout, "doctor: 1 error: fix the configuration first (`herdbot validate` lists every problem)")
		return exitError(1)
	}
	d := &doctor{cfg: cfg, out: e.stdout, red: redact.New(cfg.Secrets()...), claudeBin: *claudeBin}
	d.run(ctx)
	fmt.Fprintf(d.out, "doctor: %d error(s), %d warning(s)\n", d.errors, d.warnings)
	if d.errors > 0 {
		return exitError(1)
	}
	return nil
}

// report prints one check's outcome. Every line goes through the redactor
// as a last guard, though no check puts a secret value in its message.
func (d *doctor) report(status, format string, args ...any) {
	switch status {
	case statusError:
		d.errors++
	case statusWarn:
		d.warnings++
	}
	msg := d.red.String(fmt.Sprintf(format, args...))
	fmt.Fprintf(d.out, "%-5s %s\n", status, msg)
}

func (d *doctor) run(ctx context.Context) {
	cfg := d.cfg
	d.report(statusOK, "config: %s loads (%d agent(s))", cfg.Path, len(cfg.Agents))
	for _, w := range cfg.Warnings {
		d.report(statusWarn, "config: %s", w)
	}
	d.checkListen()
	d.checkFiles()
	d.checkStateDir()
	d.checkModel()
	for _, a := range cfg.Agents {
		d.checkChat(a)
	}
	eng := d.checkDocker(ctx)
	d.checkEngines(ctx)
	d.checkSameNamedFleets(ctx, eng)
	d.checkCLI(ctx)
	d.checkClock(ctx, eng)
}

// checkListen warns when herdbot's HTTP listener is not on loopback.
func (d *doctor) checkListen() {
	addr := d.cfg.HTTP.Listen
	login := d.cfg.Env[web.TokenEnv] != "" || d.cfg.Env[web.PasswordHashEnv] != ""
	if h := d.cfg.Env[web.PasswordHashEnv]; h != "" && d.cfg.Web.Enabled {
		if err := web.CheckPasswordHash(h); err != nil {
			d.report(statusError, "%v (in %s)", err, d.cfg.EnvFile)
		}
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		d.report(statusError, "http.listen: %q is not host:port", addr)
		return
	}
	if host == "localhost" {
		d.report(statusOK, "http.listen: %s is loopback only", addr)
		return
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		d.report(statusOK, "http.listen: %s is loopback only", addr)
		return
	}
	if os.Getenv("HERDBOT_IN_CONTAINER") == "1" {
		// deploy/docker-compose.yml sets this: all addresses of the
		// container's own namespace, published on the host's loopback.
		d.report(statusOK, "http.listen: %s inside a container; check the host publishes it on 127.0.0.1 only (`docker port`)", addr)
		if d.cfg.Web.Enabled && !login {
			d.report(statusWarn, "web: in a container the dashboard cannot tell which local user connects, so without a login it refuses every request; set %s or %s in %s",
				web.PasswordHashEnv, web.TokenEnv, d.cfg.EnvFile)
		}
		return
	}
	if _, err := web.CheckListen(addr, login, false); err != nil && d.cfg.Web.Enabled {
		d.report(statusError, "%v (herdbot start refuses this; or set web.enabled: false)", err)
		return
	}
	d.report(statusWarn, "http.listen: %s is reachable from the network; keep it on 127.0.0.1 or put a TLS reverse proxy or tunnel with authentication in front", addr)
}

// checkFiles checks the modes of the .env files (secrets) and of the
// fleet and agent files (policy).
func (d *doctor) checkFiles() {
	type envFile struct{ path, owner string }
	files := []envFile{{d.cfg.EnvFile, "fleet"}}
	for _, a := range d.cfg.Agents {
		files = append(files, envFile{a.EnvFile, "agent " + a.Name})
	}
	for _, f := range files {
		st, err := os.Stat(f.path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			d.report(statusOK, "%s .env: %s does not exist (nothing to protect)", f.owner, f.path)
			continue
		case err != nil:
			d.report(statusError, "%s .env: %v", f.owner, err)
			continue
		}
		mode := st.Mode().Perm()
		switch {
		case mode&0o002 != 0:
			d.report(statusError, "%s .env: %s is world-writable (mode %04o): anyone on this host can change its tokens; chmod 600 %s", f.owner, f.path, mode, f.path)
		case mode&0o077 != 0:
			d.report(statusWarn, "%s .env: %s is readable or writable by group or others (mode %04o); chmod 600 %s", f.owner, f.path, mode, f.path)
		default:
			d.report(statusOK, "%s .env: %s mode %04o", f.owner, f.path, mode)
		}
		d.checkOwner(f.owner+" .env", f.path, st)
	}
	policy := []string{d.cfg.Path}
	for _, a := range d.cfg.Agents {
		policy = append(policy, a.File)
	}
	for _, p := range policy {
		st, err := os.Stat(p)
		if err != nil {
			continue // Load read it a moment ago
		}
		if mode := st.Mode().Perm(); mode&0o022 != 0 {
			d.report(statusWarn, "config file: %s is writable by group or others (mode %04o): whoever can write it can change the agent's tools and container; chmod go-w %s", p, mode, p)
		}
	}
}

// checkOwner warns when a file or directory belongs to another user than
// the one running doctor (the one expected to run herdbot).
func (d *doctor) checkOwner(what, path string, st os.FileInfo) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	if uid := os.Getuid(); int(sys.Uid) != uid {
		d.report(statusWarn, "%s: %s belongs to uid %d, not to uid %d running this check", what, path, sys.Uid, uid)
	}
}

// checkStateDir checks that the state directory is private (0700).
func (d *doctor) checkStateDir() {
	dir := d.cfg.StateDir
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		d.report(statusOK, "state dir: %s does not exist yet; `herdbot start` creates it with mode 0700", dir)
		return
	case err != nil:
		d.report(statusError, "state dir: %v", err)
		return
	case !st.IsDir():
		d.report(statusError, "state dir: %s is not a directory", dir)
		return
	}
	if mode := st.Mode().Perm(); mode&0o077 != 0 {
		d.report(statusError, "state dir: %s has mode %04o; it holds transcripts, approvals and the control socket, so it must be 0700: chmod 700 %s", dir, mode, dir)
	} else {
		d.report(statusOK, "state dir: %s mode %04o", dir, mode)
	}
	d.checkOwner("state dir", dir, st)
}

// checkModel checks that a model credential is set, by variable name.
func (d *doctor) checkModel() {
	m := d.cfg.Model
	where := func(name string) string {
		if _, ok := d.cfg.Env[name]; ok {
			return "in the fleet .env"
		}
		return "in the environment"
	}
	switch {
	case m.APIKey != "":
		d.report(statusOK, "model credential: %s is set %s", m.APIKeyEnv, where(m.APIKeyEnv))
	case m.OAuthToken != "":
		d.report(statusOK, "model credential: %s is set %s", m.OAuthTokenEnv, where(m.OAuthTokenEnv))
	case m.BaseURL != config.DefaultModelBaseURL:
		d.report(statusWarn, "model credential: neither %s nor %s is set; fine only if %s needs no key", m.APIKeyEnv, m.OAuthTokenEnv, m.BaseURL)
	default:
		d.report(statusError, "model credential: neither %s nor %s is set in %s or the environment; agents cannot reach the model", m.APIKeyEnv, m.OAuthTokenEnv, d.cfg.EnvFile)
	}
}

// discordTokenRe is the shape of a Discord bot token: three base64url parts.
var discordTokenRe = regexp.MustCompile(`^[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}$`)

// checkChat checks that each configured chat platform has its tokens,
// naming variables and never printing values.
func (d *doctor) checkChat(a *config.Agent) {
	if a.Chat.Discord == nil && a.Chat.Slack == nil {
		d.report(statusOK, "agent %s: no Discord or Slack configured (console chat and schedules only)", a.Name)
	}
	where := func(name string) string {
		if _, ok := a.Env[name]; ok {
			return a.EnvFile
		}
		return "the fleet .env or the environment (set from agents[].overrides)"
	}
	token := func(platform, field, name, value, shapeHint string, shapeOK bool) {
		switch {
		case value == "":
			d.report(statusError, "agent %s: chat.%s is configured but %s (%s) is not set in %s; the %s bot will not connect", a.Name, platform, name, field, a.EnvFile, platform)
		case !shapeOK:
			d.report(statusWarn, "agent %s: %s is set in %s but does not look like %s (a placeholder?)", a.Name, name, where(name), shapeHint)
		default:
			d.report(statusOK, "agent %s: %s token %s is set in %s", a.Name, platform, name, where(name))
		}
	}
	if dc := a.Chat.Discord; dc != nil {
		token("discord", "bot_token_env", dc.BotTokenEnv, dc.Token, "a Discord bot token", discordTokenRe.MatchString(dc.Token))
	}
	if s := a.Chat.Slack; s != nil {
		token("slack", "bot_token_env", s.BotTokenEnv, s.BotToken, "a Slack bot token (xoxb-…)", strings.HasPrefix(s.BotToken, "xoxb-"))
		token("slack", "app_token_env", s.AppTokenEnv, s.AppToken, "a Slack app-level token (xapp-…)", strings.HasPrefix(s.AppToken, "xapp-"))
	}
}

// checkDocker checks the engine and the agent images when an agent runs
// in a container. It returns the engine client when the engine answered.
func (d *doctor) checkDocker(ctx context.Context) *engineClient {
	images := map[string][]string{} // image → agents
	var dockerAgents []string
	for _, a := range d.cfg.Agents {
		if !a.Docker.Enabled {
			d.report(statusWarn, "agent %s: docker.enabled is false, so it runs natively WITHOUT isolation (its tools act on this host as this user)", a.Name)
			continue
		}
		if a.Docker.Engine != "" {
			continue // checkEngines
		}
		dockerAgents = append(dockerAgents, a.Name)
		images[a.Docker.Image] = append(images[a.Docker.Image], a.Name)
	}
	if len(dockerAgents) == 0 {
		if len(d.cfg.Engines) > 0 {
			d.report(statusSkip, "docker engine: no agent runs on the local engine")
		} else {
			d.report(statusSkip, "docker engine: no agent has docker.enabled")
		}
		return nil
	}
	eng, err := newEngineClient(os.Getenv)
	if err != nil {
		d.report(statusError, "docker engine: %v", err)
		return nil
	}
	v, err := eng.version(ctx)
	if err != nil {
		d.report(statusError, "docker engine: not reachable at %s: %v (needed by %s; start the engine, or set docker.enabled: false to run without isolation)", eng.host, err, strings.Join(dockerAgents, ", "))
		return nil
	}
	d.report(statusOK, "docker engine: reachable at %s (Engine %s, API %s)", eng.host, v.Version, v.APIVersion)
	d.checkEngineDNS(v.Version)
	d.checkEngineLSM(ctx, eng)
	d.checkImages(ctx, eng, images, "")
	return eng
}

// checkImages reports whether each image (→ the agents using it) is on
// the engine; where names the engine in messages ("" for the local one).
func (d *doctor) checkImages(ctx context.Context, eng *engineClient, images map[string][]string, where string) {
	refs := make([]string, 0, len(images))
	for ref := range images {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		users := strings.Join(images[ref], ", ")
		ok, err := eng.imageExists(ctx, ref)
		switch {
		case err != nil:
			d.report(statusError, "image %s: %v", ref, err)
		case ok:
			d.report(statusOK, "image %s: present (used by %s)", ref, users)
		case ref == config.DefaultImage:
			d.report(statusError, "image %s: not found (used by %s); herdbot never pulls images: build it with `make agent-image`", ref, users)
		case where != "":
			d.report(statusWarn, "image %s: not found on engine %s (used by %s); herdbot builds it there through the engine's API at start when it finds the Claude Code CLI, else build or load it there", ref, where, users)
		default:
			d.report(statusError, "image %s: not found (used by %s); herdbot never pulls images: build or load it on this engine first", ref, users)
		}
	}
}

// checkEngines reports each engine of the fleet file: reachable with its
// version, and its agents' images; one that does not answer is an error
// for its agents only.
func (d *doctor) checkEngines(ctx context.Context) {
	for _, name := range engineNames(d.cfg) {
		e := d.cfg.Engines[name]
		images := map[string][]string{}
		var users []string
		for _, a := range d.cfg.Agents {
			if a.Docker.Enabled && a.Docker.Engine == name {
				users = append(users, a.Name)
				images[a.Docker.Image] = append(images[a.Docker.Image], a.Name)
			}
		}
		eng, err := remoteEngineClient(e)
		if err != nil {
			d.report(statusError, "engine %s: %v", name, err)
			continue
		}
		d.checkEngine(ctx, eng, e, users, images)
		if eng.close != nil {
			eng.close()
		}
	}
}

// checkEngine reports one engine: its version, and its agents' images.
func (d *doctor) checkEngine(ctx context.Context, eng *engineClient, e config.Engine, users []string, images map[string][]string) {
	name := e.Name
	v, err := eng.version(ctx)
	switch {
	case err != nil && len(users) == 0:
		d.report(statusWarn, "engine %s: not reachable at %s: %v (no agent is placed on it)", name, e.Host, err)
		return
	case err != nil:
		d.report(statusError, "engine %s: not reachable at %s: %v (agents %s cannot run until it answers)", name, e.Host, err, strings.Join(users, ", "))
		return
	}
	d.report(statusOK, "engine %s: reachable at %s (Engine %s, API %s; agents: %s)", name, e.Host, v.Version, v.APIVersion, firstOf(strings.Join(users, ", "), "none"))
	d.checkEngineDNS(v.Version)
	d.checkImages(ctx, eng, images, name)
}

// remoteEngineClient is the doctor's client for one of the fleet file's
// engines, with its own certificate.
func remoteEngineClient(e config.Engine) (*engineClient, error) {
	if e.SSHKey != "" {
		sd, err := sshdial.New(sshdial.Config{Host: e.Host, Key: e.SSHKey, KnownHosts: e.KnownHosts, Socket: e.Socket})
		if err != nil {
			return nil, err
		}
		tr := &http.Transport{DialContext: sd.DialContext}
		return &engineClient{host: e.Host, base: "http://docker", hc: &http.Client{Transport: tr, Timeout: doctorCallTimeout},
			close: func() { tr.CloseIdleConnections(); _ = sd.Close() }}, nil
	}
	if e.CA == "" {
		return newEngineClient(func(k string) string {
			if k == "DOCKER_HOST" {
				return e.Host
			}
			return ""
		})
	}
	u, err := url.Parse(e.Host)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(e.Cert, e.Key)
	if err != nil {
		return nil, fmt.Errorf("TLS client certificate: %w", err)
	}
	ca, err := os.ReadFile(e.CA)
	if err != nil {
		return nil, fmt.Errorf("TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("TLS CA: no certificate in %s", e.CA)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return &engineClient{host: e.Host, base: "https://" + u.Host, hc: &http.Client{Transport: tr, Timeout: doctorCallTimeout}}, nil
}

var versionRe = regexp.MustCompile(`\d+\.\d+\.\d+`)

// engineVersionRe reads an Engine version's numbers: "20.10.24+dfsg1",
// "26.1.4", "25.0.5-ce".
var engineVersionRe = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)`)

// dnsLeakFixed reports whether an Engine version has the fix for
// CVE-2024-29018 (an internal network's DNS lookups forwarded out through
// the host's resolver when that listens on the host's loopback): 26.0.0
// and later, 25.0.5 and later 25.0 releases, 23.0.11 and later 23.0
// releases (moby advisory GHSA-mq39-4gv4-mvpx; the Go vulnerability
// database lists 25.0.5 as the fixed 25.0 release). 24.0 never got the
// fix. ok is false when the version cannot be read.
func dnsLeakFixed(version string) (fixed, ok bool) {
	m := engineVersionRe.FindStringSubmatch(version)
	if m == nil {
		return false, false
	}
	var n [3]int
	for i := range n {
		fmt.Sscan(m[i+1], &n[i])
	}
	major, minor, patch := n[0], n[1], n[2]
	switch {
	case major >= 26:
		return true, true
	case major == 25:
		return minor > 0 || patch >= 5, true
	case major == 23:
		return minor > 0 || patch >= 11, true
	}
	return false, true
}

// checkEngineDNS warns when the engine is one affected by CVE-2024-29018.
// herdbot's agent containers are not exposed (their DNS upstream is their
// own loopback), but other containers on the engine are.
func (d *doctor) checkEngineDNS(version string) {
	fixed, ok := dnsLeakFixed(version)
	switch {
	case !ok:
		d.report(statusWarn, "docker engine: cannot read the version %q; check it is 26.0.0 or later (CVE-2024-29018)", version)
	case !fixed:
		d.report(statusWarn, "docker engine: Engine %s is affected by CVE-2024-29018 (containers on internal networks can send DNS lookups out through the host); "+
			"herdbot's agents use their own loopback as DNS upstream, which closes it for them, but upgrade to 26.0.0 or later (or 25.0.5+, 23.0.11+)", version)
	default:
		d.report(statusOK, "docker engine: Engine %s has the fix for CVE-2024-29018", version)
	}
}

// checkEngineLSM warns when the engine runs containers without an
// AppArmor or SELinux profile (docker info's SecurityOptions).
func (d *doctor) checkEngineLSM(ctx context.Context, eng *engineClient) {
	opts, err := eng.securityOptions(ctx)
	if err != nil {
		d.report(statusWarn, "docker engine: cannot read its security options: %v", err)
		return
	}
	var names []string
	for _, o := range opts {
		name := o
		for kv := range strings.SplitSeq(o, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok && k == "name" {
				name = v
			}
		}
		names = append(names, name)
	}
	list := strings.Join(names, ", ")
	if list == "" {
		list = "none"
	}
	for _, lsm := range [][2]string{{"apparmor", "an AppArmor"}, {"selinux", "an SELinux"}} {
		if slices.Contains(names, lsm[0]) {
			d.report(statusOK, "docker engine: containers run under %s profile (security options: %s)", lsm[1], list)
			return
		}
	}
	d.report(statusWarn, "docker engine: neither AppArmor nor SELinux is active (security options: %s); agents still run with no capabilities, no-new-privileges, seccomp and a read-only root, "+
		"but a kernel security module is one more layer: enable AppArmor on the host, or SELinux with \"selinux-enabled\": true in daemon.json", list)
}

// checkCLI compares the CLI that native agents run with the pinned version.
func (d *doctor) checkCLI(ctx context.Context) {
	var native []string
	for _, a := range d.cfg.Agents {
		if !a.Docker.Enabled {
			native = append(native, a.Name)
		}
	}
	if len(native) == 0 {
		d.report(statusSkip, "claude CLI: every agent runs in a container; the image carries the CLI")
		return
	}
	bin := d.claudeBin
	if bin == "" {
		bin = findClaude()
	}
	if bin == "" {
		d.report(statusError, "claude CLI: agents %s run it natively, but %s", strings.Join(native, ", "), claudeNotFound())
		return
	}
	got, err := claudeVersion(ctx, bin)
	if err != nil {
		d.report(statusError, "claude CLI: `%s --version`: %v (agents %s run it natively; `make tools` installs %s, or pass --claude PATH)", bin, err, strings.Join(native, ", "), pinnedClaudeVersion)
		return
	}
	switch got {
	case "":
		d.report(statusError, "claude CLI: `%s --version` printed no version", bin)
	case pinnedClaudeVersion:
		d.report(statusOK, "claude CLI: %s is %s, the pinned version", bin, got)
	default:
		d.report(statusWarn, "claude CLI: %s is %s; herdbot is tested with %s (`make tools` installs it)", bin, got, pinnedClaudeVersion)
	}
}

// claudeVersion runs `bin --version` and returns the version it printed
// ("" when it printed none).
func claudeVersion(ctx context.Context, bin string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, doctorCallTimeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, bin, "--version")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "DISABLE_AUTOUPDATER=1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"}
	out, err := cmd.Output()
	if err != nil {
		return "", err
	}
	return versionRe.FindString(string(out)), nil
}

// checkClock compares this host's clock with the Docker engine's.
func (d *doctor) checkClock(ctx context.Context, eng *engineClient) {
	if eng == nil {
		d.report(statusSkip, "clock skew: no reachable Docker engine to compare with")
		return
	}
	skew, err := eng.clockSkew(ctx)
	if err != nil {
		d.report(statusWarn, "clock skew: %v", err)
		return
	}
	abs := skew.Abs()
	switch {
	case abs > skewError:
		d.report(statusError, "clock skew: the engine's clock is %s off this host's; schedules, approval expiry and TLS need agreeing clocks (check NTP)", skew.Round(time.Millisecond))
	case abs > skewWarn:
		d.report(statusWarn, "clock skew: the engine's clock is %s off this host's (check NTP)", skew.Round(time.Millisecond))
	default:
		d.report(statusOK, "clock skew: %s against the engine", skew.Round(time.Millisecond))
	}
}

// engineClient is the handful of read-only Docker Engine API calls doctor
// makes, over plain HTTP (sandbox/docker owns the real client; doctor only
// looks).
type engineClient struct {
	host string // as given, for messages
	base string // URL prefix
	hc   *http.Client
	// close, when set, ends what the client holds open (an SSH
	// connection).
	close func()
}

// newEngineClient follows the docker CLI's variables: DOCKER_HOST
// (unix:// or tcp://; default unix:///var/run/docker.sock), and for tcp
// DOCKER_TLS_VERIFY with DOCKER_CERT_PATH.
func newEngineClient(getenv func(string) string) (*engineClient, error) {
	host := getenv("DOCKER_HOST")
	if host == "" {
		host = "unix:///var/run/docker.sock"
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("DOCKER_HOST %q: %w", host, err)
	}
	e := &engineClient{host: host}
	tr := &http.Transport{}
	switch u.Scheme {
	case "unix":
		sock := u.Path
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", sock)
		}
		e.base = "http://docker"
	case "tcp":
		e.base = "http://" + u.Host
		if getenv("DOCKER_TLS_VERIFY") != "" || getenv("DOCKER_CERT_PATH") != "" {
			tc, err := engineTLS(getenv("DOCKER_CERT_PATH"), getenv("DOCKER_TLS_VERIFY") != "")
			if err != nil {
				return nil, err
			}
			tr.TLSClientConfig = tc
			e.base = "https://" + u.Host
		}
	default:
		return nil, fmt.Errorf("DOCKER_HOST %q: doctor speaks unix:// and tcp:// only", host)
	}
	e.hc = &http.Client{Transport: tr, Timeout: doctorCallTimeout}
	return e, nil
}

// engineTLS loads the docker CLI's client certificates.
func engineTLS(dir string, verify bool) (*tls.Config, error) {
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".docker")
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		return nil, fmt.Errorf("docker TLS client certificate: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if verify {
		ca, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
		if err != nil {
			return nil, fmt.Errorf("docker TLS CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("docker TLS CA: no certificate in %s", filepath.Join(dir, "ca.pem"))
		}
		tc.RootCAs = pool
	} else {
		tc.InsecureSkipVerify = true // DOCKER_CERT_PATH without DOCKER_TLS_VERIFY, as the docker CLI does
	}
	return tc, nil
}

// get fetches path and returns the status and up to 1 MB of body.
func (e *engineClient) get(ctx context.Context, path string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+path, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	res, err := e.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, res.Header, b, err
}

type engineVersion struct {
	Version    string `json:"Version"`
	APIVersion string `json:"ApiVersion"`
}

func (e *engineClient) version(ctx context.Context) (engineVersion, error) {
	var v engineVersion
	code, _, b, err := e.get(ctx, "/version")
	if err != nil {
		return v, err
	}
	if code != http.StatusOK {
		return v, fmt.Errorf("GET /version: HTTP %d", code)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("GET /version: %w", err)
	}
	return v, nil
}

func (e *engineClient) imageExists(ctx context.Context, ref string) (bool, error) {
	parts := strings.Split(ref, "/") // the engine takes a reference's slashes as they are
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	code, _, _, err := e.get(ctx, "/images/"+strings.Join(parts, "/")+"/json")
	switch {
	case err != nil:
		return false, err
	case code == http.StatusOK:
		return true, nil
	case code == http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("inspect: HTTP %d", code)
}

// securityOptions returns docker info's SecurityOptions
// ("name=seccomp,profile=default", "name=apparmor", …).
func (e *engineClient) securityOptions(ctx context.Context) ([]string, error) {
	code, _, b, err := e.get(ctx, "/info")
	if err != nil {
		return nil, fmt.Errorf("GET /info: %w", err)
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /info: HTTP %d", code)
	}
	var info struct {
		SecurityOptions []string `json:"SecurityOptions"`
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("GET /info: %w", err)
	}
	return info.SecurityOptions, nil
}

// clockSkew returns the engine's clock minus this host's, taking this
// host's time as the midpoint of the request.
func (e *engineClient) clockSkew(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	code, hdr, b, err := e.get(ctx, "/info")
	t1 := time.Now()
	if err != nil {
		return 0, fmt.Errorf("GET /info: %w", err)
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("GET /info: HTTP %d", code)
	}
	local := t0.Add(t1.Sub(t0) / 2)
	var info struct {
		SystemTime string `json:"SystemTime"`
	}
	if err := json.Unmarshal(b, &info); err == nil && info.SystemTime != "" {
		if t, err := time.Parse(time.RFC3339Nano, info.SystemTime); err == nil {
			return t.Sub(local), nil
		}
	}
	// Fall back to the response's Date header (whole seconds).
	t, err := http.ParseTime(hdr.Get("Date"))
	if err != nil {
		return 0, errors.New("the engine reported no time")
	}
	skew := t.Sub(local.Truncate(time.Second))
	if skew.Abs() <= time.Second {
		return 0, nil
	}
	return skew, nil
}
