package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/herdbot/herdbot/agents/redact"
	"github.com/herdbot/herdbot/internal/testenv"
)

// TestDocsConfigurationUpToDate keeps docs/configuration.md equal to the
// output of `herdbot docs config`, so the reference cannot drift from the
// schema. Regenerate with:
//
//	go run ./cmd/herdbot docs config > docs/configuration.md
func TestDocsConfigurationUpToDate(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"docs", "config"}, strings.NewReader(""), &out, &errb); err != nil {
		t.Fatalf("herdbot docs config: %v\n%s", err, errb.String())
	}
	path := filepath.Join(testenv.ModuleRoot(), "docs", "configuration.md")
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Bytes(); !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("docs/configuration.md is stale (first difference at line %d):\n  file:    %q\n  command: %q\nregenerate: go run ./cmd/herdbot docs config > docs/configuration.md", i+1, w, g)
			}
		}
	}
}

func TestDocsUnknownTopic(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"docs", "nope"}, strings.NewReader(""), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "config") {
		t.Fatalf("err %v; want one naming the config topic", err)
	}
}

// composeFile is the part of deploy/docker-compose.yml the hardening test
// reads.
type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		User        string            `yaml:"user"`
		ReadOnly    bool              `yaml:"read_only"`
		CapDrop     []string          `yaml:"cap_drop"`
		CapAdd      []string          `yaml:"cap_add"`
		SecurityOpt []string          `yaml:"security_opt"`
		Privileged  bool              `yaml:"privileged"`
		PidsLimit   int               `yaml:"pids_limit"`
		Restart     string            `yaml:"restart"`
		NetworkMode string            `yaml:"network_mode"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		EnvFile     []string          `yaml:"env_file"`
		Environment map[string]string `yaml:"environment"`
		Profiles    []string          `yaml:"profiles"`
		Deploy      struct {
			Resources struct {
				Limits struct {
					Memory string `yaml:"memory"`
					CPUs   string `yaml:"cpus"`
				} `yaml:"limits"`
			} `yaml:"resources"`
		} `yaml:"deploy"`
	} `yaml:"services"`
}

// TestComposeHardening checks deploy/docker-compose.yml line by line against
// the hardened-compose guidance: non-root, read-only, cap_drop ALL,
// no-new-privileges, limits, pinned tags, secrets from env files only,
// nothing from $HOME, nothing published beyond loopback.
func TestComposeHardening(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(), "deploy", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	// Drop comment lines, then substitute the variables as compose would,
	// with test values.
	var kept [][]byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			kept = append(kept, line)
		}
	}
	b = bytes.Join(kept, []byte("\n"))
	vars := map[string]string{"HERDBOT_VERSION": "0.0.0-test", "HERDBOT_FLEET_DIR": "/srv/fleet",
		"HERDBOT_UID": "1000", "HERDBOT_GID": "1000", "DOCKER_GID": "999"}
	b = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[?-][^}]*)?\}`).ReplaceAllFunc(b, func(m []byte) []byte {
		name := regexp.MustCompile(`^\$\{([A-Za-z0-9_]+)`).FindSubmatch(m)[1]
		v, ok := vars[string(name)]
		if !ok {
			t.Errorf("compose uses ${%s}; add it to this test (and to the file's header comment)", name)
		}
		return []byte(v)
	})
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("parse: %v", err)
	}
	h, ok := c.Services["herdbot"]
	if !ok {
		t.Fatal("no herdbot service")
	}
	if h.User == "" || strings.HasPrefix(h.User, "0:") || strings.HasPrefix(h.User, "root") {
		t.Errorf("herdbot user %q: want a non-root uid:gid", h.User)
	}
	if h.Restart != "unless-stopped" {
		t.Errorf("herdbot restart %q, want unless-stopped", h.Restart)
	}
	if h.Deploy.Resources.Limits.Memory == "" || h.Deploy.Resources.Limits.CPUs == "" || h.PidsLimit <= 0 {
		t.Errorf("herdbot limits: memory %q cpus %q pids %d; want all set", h.Deploy.Resources.Limits.Memory, h.Deploy.Resources.Limits.CPUs, h.PidsLimit)
	}
	if len(h.EnvFile) == 0 {
		t.Error("herdbot has no env_file")
	}
	for k, v := range h.Environment {
		if looksSecret(k, v) {
			t.Errorf("environment %s holds an inline value that looks like a secret", k)
		}
	}
	var fleetRO, sock bool
	for _, v := range h.Volumes {
		src, rest, _ := strings.Cut(v, ":")
		for _, bad := range []string{"$HOME", "${HOME", "~", "/root", "/home", ".ssh", ".aws", ".config"} {
			if strings.Contains(src, bad) {
				t.Errorf("volume %q mounts %s", v, bad)
			}
		}
		if src == "/" {
			t.Errorf("volume %q mounts the host root", v)
		}
		switch {
		case src == "/var/run/docker.sock":
			sock = true
		case strings.HasPrefix(src, "/srv/fleet"):
			if dst, _, _ := strings.Cut(rest, ":"); dst != src {
				t.Errorf("fleet volume %q: want the same path inside and out", v)
			}
			if src == "/srv/fleet" {
				fleetRO = strings.HasSuffix(rest, ":ro")
			}
		default:
			t.Errorf("volume %q: only the engine socket and the fleet directory (with its state dir) are needed", v)
		}
	}
	if !sock || !fleetRO {
		t.Errorf("volumes %q: want the engine socket and the fleet directory read-only", h.Volumes)
	}
	for name, s := range c.Services {
		if !s.ReadOnly {
			t.Errorf("%s: read_only is not true", name)
		}
		if len(s.CapDrop) != 1 || s.CapDrop[0] != "ALL" || len(s.CapAdd) > 0 || s.Privileged {
			t.Errorf("%s: cap_drop %q cap_add %q privileged %t; want cap_drop [ALL] only", name, s.CapDrop, s.CapAdd, s.Privileged)
		}
		nnp := false
		for _, o := range s.SecurityOpt {
			nnp = nnp || o == "no-new-privileges:true"
		}
		if !nnp {
			t.Errorf("%s: security_opt %q lacks no-new-privileges:true", name, s.SecurityOpt)
		}
		img := s.Image
		if i := strings.LastIndex(img, ":"); i < 0 || strings.HasSuffix(img, ":latest") || strings.Contains(img[i:], "/") {
			t.Errorf("%s: image %q is not pinned to a tag", name, img)
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s: port %q is not bound to 127.0.0.1", name, p)
			}
		}
		if s.NetworkMode == "host" {
			t.Errorf("%s: network_mode host", name)
		}
	}
	if a, ok := c.Services["agent-image"]; ok {
		if a.Image != "herdbot-agent:"+pinnedClaudeVersion || a.NetworkMode != "none" || len(a.Profiles) == 0 {
			t.Errorf("agent-image: image %q network %q profiles %q; want the pinned tag, no network, a build profile", a.Image, a.NetworkMode, a.Profiles)
		}
	}
}

// looksSecret reports whether an inline environment value looks like a
// secret: a secret-sounding name with a literal value, or a token shape.
func looksSecret(k, v string) bool {
	if strings.HasPrefix(v, "${") {
		return false // a reference, resolved from the caller's environment
	}
	name := strings.ToUpper(k)
	for _, w := range []string{"KEY", "TOKEN", "SECRET", "PASSWORD"} {
		if strings.Contains(name, w) && v != "" {
			return true
		}
	}
	return redact.New().String(v) != v
}

// composeEnv is what deploy/docker-compose.yml needs substituted.
func composeEnv(t *testing.T) []string {
	fleet := t.TempDir()
	if err := os.WriteFile(filepath.Join(fleet, ".env"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(), "HERDBOT_VERSION=0.0.0-test", "HERDBOT_FLEET_DIR="+fleet,
		"HERDBOT_UID=1000", "HERDBOT_GID=1000", "DOCKER_GID=999")
}

// TestComposeConfig runs `docker compose config` (or docker-compose) on
// deploy/docker-compose.yml when either is installed, and checks that a
// missing variable is a clear error.
func TestComposeConfig(t *testing.T) {
	var cmd []string
	if exec.Command("docker", "compose", "version").Run() == nil {
		cmd = []string{"docker", "compose"}
	} else if p, err := exec.LookPath("docker-compose"); err == nil {
		cmd = []string{p}
	} else {
		t.Skip("neither `docker compose` nor docker-compose is installed; TestComposeHardening checks the file")
	}
	file := filepath.Join(testenv.ModuleRoot(), "deploy", "docker-compose.yml")
	c := exec.Command(cmd[0], append(cmd[1:], "-f", file, "config", "-q")...)
	c.Env = composeEnv(t)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%s config: %v\n%s", strings.Join(cmd, " "), err, out)
	}
	c = exec.Command(cmd[0], append(cmd[1:], "-f", file, "config", "-q")...)
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := c.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "HERDBOT_") {
		t.Fatalf("config without variables: err %v, output %s; want an error naming the variable", err, out)
	}
}

// unitDirectives parses deploy/herdbot.service into section.key → values.
func unitDirectives(t *testing.T) map[string][]string {
	b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(), "deploy", "herdbot.service"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("herdbot.service: %q is not key=value", line)
			}
			out[section+"."+k] = append(out[section+"."+k], v)
		}
	}
	return out
}

// TestSystemdUnit checks the sandboxing directives of deploy/herdbot.service
// and, where systemd-analyze exists, that `systemd-analyze verify` is clean.
func TestSystemdUnit(t *testing.T) {
	d := unitDirectives(t)
	want := map[string]string{
		"Service.NoNewPrivileges": "yes", "Service.ProtectSystem": "strict", "Service.ProtectHome": "yes",
		"Service.PrivateTmp": "yes", "Service.PrivateDevices": "yes", "Service.CapabilityBoundingSet": "",
		"Service.ReadWritePaths": "/var/lib/herdbot", "Service.StateDirectory": "herdbot",
		"Service.StateDirectoryMode": "0700", "Service.Restart": "on-failure", "Service.UMask": "0077",
		"Service.Environment": "TMPDIR=/var/lib/herdbot", "Service.User": "herdbot",
	}
	for k, v := range want {
		if got := d[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed; directives checked above")
	}
	// verify wants ExecStart to exist: point it at this test binary.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(testenv.ModuleRoot(), "deploy", "herdbot.service"))
	unit := filepath.Join(t.TempDir(), "herdbot.service")
	if err := os.WriteFile(unit, bytes.Replace(b, []byte("/usr/local/bin/herdbot start"), []byte(self+" start"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "verify", unit).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestHerdbotImageScript builds herdbot's image with scripts/herdbot-image.sh
// (FROM scratch, no registry) and checks it runs as non-root without a shell.
func TestHerdbotImageScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and an image; skipped with -short")
	}
	testenv.RequireDocker(t)
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	tag := fmt.Sprintf("herdbot-image-test:%d", time.Now().UnixNano())
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	script := filepath.Join(testenv.ModuleRoot(), "scripts", "herdbot-image.sh")
	if out, err := exec.Command(script, tag).CombinedOutput(); err != nil {
		t.Fatalf("herdbot-image.sh: %v\n%s", err, out)
	}
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Config.User}} {{json .Config.Entrypoint}}", tag).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != `65532:65532 ["/herdbot"]` {
		t.Errorf("image config %q (%v); want user 65532:65532, entrypoint /herdbot", out, err)
	}
	out, err = exec.Command("docker", "run", "--rm", "--network", "none", "--read-only", "--cap-drop", "ALL", tag, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "herdbot ") {
		t.Errorf("docker run %s version: %v\n%s", tag, err, out)
	}
	if err := exec.Command("docker", "run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", tag, "-c", "true").Run(); err == nil {
		t.Error("the image has a shell")
	}
}

// TestDocsNameRealTests keeps the test names the docs cite as proof
// pointing at tests that exist:
// TestX and FuzzX must be declared in some _test.go file, and a subtest
// TestX/sub_name must appear as "sub name" in a Go file.
func TestDocsNameRealTests(t *testing.T) {
	root := testenv.ModuleRoot()
	funcs := map[string]bool{}
	var all strings.Builder
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".tools" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		all.Write(b) // subtest names: also in shared suites such as sandboxtest
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		for _, m := range regexp.MustCompile(`(?m)^func ((?:Test|Fuzz)[A-Za-z0-9_]+)\(`).FindAllSubmatch(b, -1) {
			funcs[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ref := regexp.MustCompile(`\b((?:Test|Fuzz)[A-Z][A-Za-z0-9_]*)(?:/([A-Za-z0-9_.-]+))?`)
	for _, doc := range []string{"security.md", "docker-socket.md", "discord.md", "slack.md", "migrating-from-herdctl.md", "getting-started.md", "../deploy/README.md"} {
		b, err := os.ReadFile(filepath.Join(root, "docs", doc))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range ref.FindAllStringSubmatch(string(b), -1) {
			if m[1] == "TestName" { // the placeholder in "package: TestName"
				continue
			}
			n++
			if !funcs[m[1]] {
				t.Errorf("docs/%s cites %s, which no _test.go declares", doc, m[1])
			}
			if sub := strings.ReplaceAll(m[2], "_", " "); sub != "" && !strings.Contains(all.String(), `"`+sub+`"`) {
				t.Errorf("docs/%s cites subtest %s/%s, which no _test.go names", doc, m[1], m[2])
			}
		}
		if n == 0 && doc == "security.md" {
			t.Errorf("docs/%s cites no tests", doc)
		}
	}
}
