package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents/redact"
	"github.com/herdbot/herdbot/internal/testenv"
)

// Secret values seeded into the test fleets; none may appear in doctor's
// output, and doctor must not even need to mask them.
const (
	testAPIKey       = "sk-ant-api03-DOCTORTESTSECRETapikey0123456789"
	testDiscordToken = "MTAxMDEwMTAxMDEwMTAxMDEw.GdOcTr.doctortestsecretdiscordtoken0123"
	testSlackBot     = "xoxb-1111-2222-doctortestsecretslackbot"
	testSlackApp     = "xapp-1-A111-2222-doctortestsecretslackapp"
	testGitHubToken  = "github_pat_doctortestsecretgithubtoken0123456789"
	testWrongShape   = "xapp-9-B999-doctortestsecretwrongshape"
)

var testSecrets = []string{testAPIKey, testDiscordToken, testSlackBot, testSlackApp, testGitHubToken, testWrongShape}

const doctorFleetYAML = `version: 1
fleet:
  name: doctortest
http:
  listen: 127.0.0.1:9090
docker:
  image: herdbot-agent:2.1.332
agents:
  - path: ./agents/garden
    overrides:
      docker:
        env:
          GITHUB_TOKEN: "${GARDEN_GITHUB_TOKEN}"
  - path: ./agents/notes
    overrides:
      docker:
        enabled: false
`

const gardenYAML = `name: garden
chat:
  discord:
    bot_token_env: GARDEN_DISCORD_BOT_TOKEN
    guilds:
      - id: "333333333333333333"
        channels:
          - id: "222222222222222222"
  slack:
    bot_token_env: GARDEN_SLACK_BOT_TOKEN
    app_token_env: GARDEN_SLACK_APP_TOKEN
    channels: []
`

// gardenEnv returns garden's .env with the named variables left out and
// the given ones replaced.
func gardenEnv(omit string, replace map[string]string) string {
	vars := [][2]string{
		{"GARDEN_DISCORD_BOT_TOKEN", testDiscordToken},
		{"GARDEN_SLACK_BOT_TOKEN", testSlackBot},
		{"GARDEN_SLACK_APP_TOKEN", testSlackApp},
		{"GARDEN_GITHUB_TOKEN", testGitHubToken},
	}
	var b strings.Builder
	for _, kv := range vars {
		if kv[0] == omit {
			continue
		}
		v := kv[1]
		if r, ok := replace[kv[0]]; ok {
			v = r
		}
		fmt.Fprintf(&b, "%s=%s\n", kv[0], v)
	}
	return b.String()
}

// doctorFleet is a healthy fleet in a temp dir: garden in a container with
// Discord and Slack, notes native; private .env files and state dir; a fake
// CLI at the pinned version.
type doctorFleet struct {
	dir string
	cli string // fake claude
}

func newDoctorFleet(t *testing.T) *doctorFleet {
	t.Helper()
	t.Setenv("ANTHROPIC_API_KEY", "")
	t.Setenv("CLAUDE_CODE_OAUTH_TOKEN", "")
	t.Setenv("HERDBOT_IN_CONTAINER", "")
	dir := t.TempDir()
	f := &doctorFleet{dir: dir, cli: filepath.Join(dir, "fakeclaude")}
	f.write(t, "herdbot.yaml", doctorFleetYAML, 0o644)
	f.write(t, ".env", "ANTHROPIC_API_KEY="+testAPIKey+"\n", 0o600)
	f.write(t, "agents/garden/agent.yaml", gardenYAML, 0o644)
	f.write(t, "agents/garden/.env", gardenEnv("", nil), 0o600)
	f.write(t, "agents/notes/agent.yaml", "name: notes\n", 0o644)
	if err := os.Mkdir(filepath.Join(dir, ".herdbot"), 0o700); err != nil {
		t.Fatal(err)
	}
	f.fakeCLI(t, "2.1.332 (Claude Code)")
	return f
}

func (f *doctorFleet) write(t *testing.T, name, content string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(f.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // WriteFile's mode is masked by umask
		t.Fatal(err)
	}
}

func (f *doctorFleet) chmod(t *testing.T, name string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(filepath.Join(f.dir, filepath.FromSlash(name)), mode); err != nil {
		t.Fatal(err)
	}
}

func (f *doctorFleet) fakeCLI(t *testing.T, versionLine string) {
	t.Helper()
	f.write(t, "fakeclaude", "#!/bin/sh\n[ \"$1\" = --version ] || exit 2\necho '"+versionLine+"'\n", 0o755)
}

// fakeEngine is a loopback Docker Engine API with the three read-only
// calls doctor makes, on a unix socket; DOCKER_HOST points at it.
type fakeEngine struct {
	images  map[string]bool
	skew    time.Duration
	version string
	secOpts []string // docker info's SecurityOptions
}

func startFakeEngine(t *testing.T, e *fakeEngine) {
	t.Helper()
	dir, err := os.MkdirTemp("", "hbdoc") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"Version": e.version, "ApiVersion": "1.41"})
	})
	mux.HandleFunc("GET /info", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"SystemTime": time.Now().Add(e.skew).Format(time.RFC3339Nano), "SecurityOptions": e.secOpts})
	})
	mux.HandleFunc("GET /images/", func(w http.ResponseWriter, r *http.Request) {
		ref, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/images/"), "/json")
		if !ok || !e.images[ref] {
			http.Error(w, `{"message":"No such image"}`, http.StatusNotFound)
			return
		}
		w.Write([]byte(`{"Id":"sha256:0"}`))
	})
	for _, p := range []string{"GET /containers/json", "GET /networks"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("[]")) })
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	t.Setenv("DOCKER_HOST", "unix://"+sock)
}

func healthyEngine() *fakeEngine {
	return &fakeEngine{images: map[string]bool{"herdbot-agent:2.1.332": true}, version: "26.1.4-fake",
		secOpts: []string{"name=apparmor", "name=seccomp,profile=default", "name=cgroupns"}}
}

// runDoctor runs `herdbot doctor` on the fleet and returns its output and
// exit code (0 for a nil error, N for exitError(N)).
func runDoctor(t *testing.T, f *doctorFleet, extra ...string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	args := append([]string{"doctor", "-c", f.dir, "--claude", f.cli}, extra...)
	err := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	code := 0
	if err != nil {
		var ee exitError
		if !errors.As(err, &ee) {
			t.Fatalf("doctor: %v (want nil or an exit status)\n%s", err, out.String())
		}
		code = int(ee)
	}
	all := out.String() + errb.String()
	for _, s := range testSecrets {
		if strings.Contains(all, s) {
			t.Errorf("output contains the secret value %q:\n%s", s, all)
		}
	}
	if strings.Contains(all, redact.Mask) {
		t.Errorf("output needed masking (a message tried to print a secret):\n%s", all)
	}
	return out.String(), code
}

// wantLine fails unless a line has the status and contains every part.
func wantLine(t *testing.T, out, status string, parts ...string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, status+" ") {
			continue
		}
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return
		}
	}
	t.Errorf("no %s line containing %q in:\n%s", status, parts, out)
}

func wantCode(t *testing.T, out string, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("exit code %d, want %d; output:\n%s", got, want, out)
	}
}

func TestDoctorHealthyFleet(t *testing.T) {
	f := newDoctorFleet(t)
	startFakeEngine(t, healthyEngine())
	out, code := runDoctor(t, f)
	wantCode(t, out, code, 0)
	wantLine(t, out, "OK", "docker engine: reachable", "26.1.4-fake")
	wantLine(t, out, "OK", "docker engine: Engine 26.1.4-fake has the fix for CVE-2024-29018")
	wantLine(t, out, "OK", "docker engine: containers run under an AppArmor profile")
	wantLine(t, out, "OK", "image herdbot-agent:2.1.332: present", "garden")
	wantLine(t, out, "OK", "agent garden: discord token GARDEN_DISCORD_BOT_TOKEN is set")
	wantLine(t, out, "OK", "GARDEN_SLACK_BOT_TOKEN")
	wantLine(t, out, "OK", "GARDEN_SLACK_APP_TOKEN")
	wantLine(t, out, "OK", "model credential: ANTHROPIC_API_KEY is set in the fleet .env")
	wantLine(t, out, "OK", "state dir:", "0700")
	wantLine(t, out, "OK", "claude CLI:", "2.1.332, the pinned version")
	wantLine(t, out, "OK", "clock skew:")
	wantLine(t, out, "OK", "agent notes: no Discord or Slack configured")
	// The one warning: notes runs without a container.
	wantLine(t, out, "WARN", "agent notes: docker.enabled is false", "WITHOUT isolation")
	if !strings.Contains(out, "doctor: 0 error(s), 1 warning(s)") {
		t.Errorf("want 0 errors and 1 warning:\n%s", out)
	}
	if strings.Contains(out, "ERROR") {
		t.Errorf("healthy fleet has an ERROR:\n%s", out)
	}
}

// TestDoctorSeededProblems seeds one problem per case into a healthy fleet
// and checks doctor reports it with the right status and exit code.
func TestDoctorSeededProblems(t *testing.T) {
	cases := []struct {
		name   string
		seed   func(t *testing.T, f *doctorFleet, e *fakeEngine)
		code   int
		status string
		parts  []string
	}{
		{"missing discord token", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.write(t, "agents/garden/.env", gardenEnv("GARDEN_DISCORD_BOT_TOKEN", nil), 0o600)
		}, 1, "ERROR", []string{"agent garden: chat.discord is configured but GARDEN_DISCORD_BOT_TOKEN", "agents/garden/.env"}},
		{"missing slack app token", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.write(t, "agents/garden/.env", gardenEnv("GARDEN_SLACK_APP_TOKEN", nil), 0o600)
		}, 1, "ERROR", []string{"chat.slack is configured but GARDEN_SLACK_APP_TOKEN (app_token_env) is not set"}},
		{"slack token with the wrong shape", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.write(t, "agents/garden/.env", gardenEnv("", map[string]string{"GARDEN_SLACK_BOT_TOKEN": testWrongShape}), 0o600)
		}, 0, "WARN", []string{"GARDEN_SLACK_BOT_TOKEN is set", "does not look like a Slack bot token"}},
		{"discord token placeholder", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.write(t, "agents/garden/.env", gardenEnv("", map[string]string{"GARDEN_DISCORD_BOT_TOKEN": "garden-discord-bot-token"}), 0o600)
		}, 0, "WARN", []string{"GARDEN_DISCORD_BOT_TOKEN is set", "does not look like a Discord bot token"}},
		{"world-readable agent .env", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.chmod(t, "agents/garden/.env", 0o644)
		}, 0, "WARN", []string{"agent garden .env:", "mode 0644", "chmod 600"}},
		{"group-readable fleet .env", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.chmod(t, ".env", 0o640)
		}, 0, "WARN", []string{"fleet .env:", "mode 0640"}},
		// The loader itself refuses an agent .env or agent file that
		// others can write (issue 12): doctor reports the config error.
		{"world-writable agent .env", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.chmod(t, "agents/garden/.env", 0o666)
		}, 1, "ERROR", []string{"config:", "agents/garden/.env is writable by group or others (mode 0666)", "chmod go-w"}},
		{"group-writable agent file", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.chmod(t, "agents/garden/agent.yaml", 0o664)
		}, 1, "ERROR", []string{"config:", "agents/garden/agent.yaml is writable by group or others (mode 0664)", "chmod go-w"}},
		{"state dir 0755", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.chmod(t, ".herdbot", 0o755)
		}, 1, "ERROR", []string{"state dir:", "mode 0755", "chmod 700"}},
		{"state dir is a file", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			os.Remove(filepath.Join(f.dir, ".herdbot"))
			f.write(t, ".herdbot", "", 0o600)
		}, 1, "ERROR", []string{"state dir:", "is not a directory"}},
		{"state dir not created yet", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			os.Remove(filepath.Join(f.dir, ".herdbot"))
		}, 0, "OK", []string{"state dir:", "does not exist yet", "0700"}},
		{"missing agent image", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			e.images = map[string]bool{}
		}, 1, "ERROR", []string{"image herdbot-agent:2.1.332: not found", "garden", "make agent-image"}},
		{"missing custom image", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.write(t, "herdbot.yaml", strings.Replace(doctorFleetYAML, "herdbot-agent:2.1.332", "registry.example/team/agent:7", 1), 0o644)
		}, 1, "ERROR", []string{"image registry.example/team/agent:7: not found", "never pulls"}},
		{"engine unreachable", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(f.dir, "no.sock"))
		}, 1, "ERROR", []string{"docker engine: not reachable", "garden"}},
		{"unsupported DOCKER_HOST", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			t.Setenv("DOCKER_HOST", "ssh://user@host")
		}, 1, "ERROR", []string{"docker engine:", "unix:// and tcp:// only"}},
		{"no model credential", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.write(t, ".env", "OTHER=1\n", 0o600)
		}, 1, "ERROR", []string{"model credential: neither ANTHROPIC_API_KEY nor CLAUDE_CODE_OAUTH_TOKEN"}},
		{"CLI version differs", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.fakeCLI(t, "2.1.300 (Claude Code)")
		}, 0, "WARN", []string{"claude CLI:", "is 2.1.300; herdbot is tested with 2.1.332"}},
		{"CLI missing", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			os.Remove(f.cli)
		}, 1, "ERROR", []string{"claude CLI:", "notes", "make tools"}},
		{"CLI prints no version", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.fakeCLI(t, "hello")
		}, 1, "ERROR", []string{"claude CLI:", "printed no version"}},
		// 10.5 s: the measured skew (taken at the request's midpoint) may be
		// off by half a round trip and still reads "10.…".
		{"clock skew 10s", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			e.skew = 10500 * time.Millisecond
		}, 0, "WARN", []string{"clock skew: the engine's clock is 10."}},
		{"clock skew 10m behind", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			e.skew = -10*time.Minute - 30*time.Second // read within half a round trip: "-10m29.…" to "-10m30.…"
		}, 1, "ERROR", []string{"clock skew: the engine's clock is -10m"}},
		{"listen on all addresses", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.write(t, "herdbot.yaml", strings.Replace(doctorFleetYAML, "127.0.0.1:9090", "0.0.0.0:9090", 1), 0o644)
		}, 1, "ERROR", []string{"http.listen 0.0.0.0:9090 is not a loopback address", "HERDBOT_WEB_TOKEN"}},
		{"listen on all addresses without the dashboard", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.write(t, "herdbot.yaml", strings.Replace(doctorFleetYAML, "127.0.0.1:9090", "0.0.0.0:9090", 1)+"web:\n  enabled: false\n", 0o644)
		}, 0, "WARN", []string{"http.listen: 0.0.0.0:9090 is reachable from the network"}},
		{"listen on all addresses in a container", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.write(t, "herdbot.yaml", strings.Replace(doctorFleetYAML, "127.0.0.1:9090", "0.0.0.0:9090", 1), 0o644)
			t.Setenv("HERDBOT_IN_CONTAINER", "1")
		}, 0, "OK", []string{"http.listen: 0.0.0.0:9090 inside a container", "127.0.0.1"}},
		{"dashboard in a container without a login", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.write(t, "herdbot.yaml", strings.Replace(doctorFleetYAML, "127.0.0.1:9090", "0.0.0.0:9090", 1), 0o644)
			t.Setenv("HERDBOT_IN_CONTAINER", "1")
		}, 0, "WARN", []string{"web: in a container the dashboard cannot tell which local user connects", "HERDBOT_WEB_PASSWORD_HASH"}},
		{"listen on all addresses with a password hash", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.write(t, "herdbot.yaml", strings.Replace(doctorFleetYAML, "127.0.0.1:9090", "0.0.0.0:9090", 1), 0o644)
			f.write(t, ".env", "ANTHROPIC_API_KEY="+testAPIKey+"\nHERDBOT_WEB_PASSWORD_HASH='$2a$10$abcdefghijklmnopqrstuu3xQ3fJ0Jx8U1m0VvX6W9mV0H8cJ0pWe'\n", 0o600)
		}, 0, "WARN", []string{"http.listen: 0.0.0.0:9090 is reachable from the network"}},
		{"password hash that is not bcrypt", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.write(t, ".env", "ANTHROPIC_API_KEY="+testAPIKey+"\nHERDBOT_WEB_PASSWORD_HASH=plain-password-oops\n", 0o600)
		}, 1, "ERROR", []string{"HERDBOT_WEB_PASSWORD_HASH in the fleet .env is not a bcrypt hash", "herdbot web hash-password"}},
		{"engine affected by CVE-2024-29018", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			e.version = "20.10.24+dfsg1"
		}, 0, "WARN", []string{"docker engine: Engine 20.10.24+dfsg1 is affected by CVE-2024-29018", "26.0.0"}},
		{"engine 25.0.4", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			e.version = "25.0.4"
		}, 0, "WARN", []string{"Engine 25.0.4 is affected by CVE-2024-29018"}},
		{"engine version unreadable", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			e.version = "master-dockerproject-2024"
		}, 0, "WARN", []string{"cannot read the version", "CVE-2024-29018"}},
		{"no AppArmor or SELinux", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			e.secOpts = []string{"name=seccomp,profile=default"}
		}, 0, "WARN", []string{"docker engine: neither AppArmor nor SELinux is active", "security options: seccomp"}},
		{"no security options at all", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			e.secOpts = nil
		}, 0, "WARN", []string{"neither AppArmor nor SELinux", "security options: none"}},
		{"SELinux", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			e.secOpts = []string{"name=seccomp,profile=default", "name=selinux"}
		}, 0, "OK", []string{"containers run under an SELinux profile"}},
		{"old-style security options", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			e.secOpts = []string{"apparmor", "seccomp"}
		}, 0, "OK", []string{"containers run under an AppArmor profile"}},
		{"invalid config", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.write(t, "agents/garden/agent.yaml", gardenYAML+"bogus_field: 1\n", 0o644)
		}, 1, "ERROR", []string{"config:", "bogus_field"}},
		{"config warning", func(t *testing.T, f *doctorFleet, e *fakeEngine) {
			f.write(t, "agents/garden/agent.yaml", gardenYAML+"identity:\n  name: G\n", 0o644)
		}, 0, "WARN", []string{"config:", "identity is not supported"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newDoctorFleet(t)
			e := healthyEngine()
			startFakeEngine(t, e)
			tc.seed(t, f, e)
			out, code := runDoctor(t, f)
			wantLine(t, out, tc.status, tc.parts...)
			wantCode(t, out, code, tc.code)
		})
	}
}

func TestDoctorNoDockerAgentsSkipsEngine(t *testing.T) {
	f := newDoctorFleet(t)
	yaml := `version: 1
fleet:
  name: doctortest
agents:
  - path: ./agents/garden
    overrides:
      docker:
        enabled: false
  - path: ./agents/notes
    overrides:
      docker:
        enabled: false
`
	f.write(t, "herdbot.yaml", yaml, 0o644)
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(f.dir, "no.sock")) // would fail if asked
	out, code := runDoctor(t, f)
	wantCode(t, out, code, 0)
	wantLine(t, out, "SKIP", "docker engine: no agent has docker.enabled")
	wantLine(t, out, "SKIP", "clock skew: no reachable Docker engine")
	wantLine(t, out, "OK", "claude CLI:")
}

func TestDoctorBadFlag(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"doctor", "--nope"}, strings.NewReader(""), &out, &errb)
	if err == nil || !strings.Contains(errb.String(), "flag provided but not defined") {
		t.Fatalf("err %v, stderr %q; want a flag error", err, errb.String())
	}
}

// TestDoctorRealEngine runs the engine checks against the real Docker
// engine: a FROM scratch image the test builds is found, a missing one is
// reported, and the clocks agree.
func TestDoctorRealEngine(t *testing.T) {
	testenv.RequireDocker(t)
	f := newDoctorFleet(t)
	t.Setenv("DOCKER_HOST", "")
	tag := fmt.Sprintf("herdbot-doctor-test:%d", time.Now().UnixNano())
	ctxDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM scratch\nLABEL herdbot.test=doctor\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("docker", "build", "-q", "-t", tag, ctxDir)
	build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	missing := tag + "-missing"
	yaml := strings.Replace(doctorFleetYAML, "image: herdbot-agent:2.1.332", "image: "+tag, 1)
	yaml = strings.Replace(yaml, "  - path: ./agents/notes\n    overrides:\n      docker:\n        enabled: false\n",
		"  - path: ./agents/notes\n    overrides:\n      docker:\n        image: "+missing+"\n", 1)
	f.write(t, "herdbot.yaml", yaml, 0o644)
	out, code := runDoctor(t, f)
	wantCode(t, out, code, 1)
	wantLine(t, out, "OK", "docker engine: reachable at unix:///var/run/docker.sock")
	wantLine(t, out, "OK", "image "+tag+": present", "garden")
	wantLine(t, out, "ERROR", "image "+missing+": not found", "notes")
	wantLine(t, out, "OK", "clock skew:")
}

func TestDNSLeakFixed(t *testing.T) {
	for _, c := range []struct {
		version   string
		fixed, ok bool
	}{
		{"20.10.24+dfsg1", false, true},
		{"19.03.15", false, true},
		{"23.0.10", false, true},
		{"23.0.11", true, true},
		{"23.0.15", true, true},
		{"24.0.9", false, true}, // 24.0 never got the fix
		{"25.0.4", false, true},
		{"25.0.5", true, true},
		{"26.0.0", true, true},
		{"v26.1.4", true, true},
		{"28.0.0-rc.1", true, true},
		{"", false, false},
		{"dev", false, false},
	} {
		fixed, ok := dnsLeakFixed(c.version)
		if fixed != c.fixed || ok != c.ok {
			t.Errorf("dnsLeakFixed(%q) = %t, %t; want %t, %t", c.version, fixed, ok, c.fixed, c.ok)
		}
	}
}

// TestPinnedClaudeVersion keeps doctor's pin with the Makefile's and
// internal/testenv's.
func TestPinnedClaudeVersion(t *testing.T) {
	if pinnedClaudeVersion != testenv.ClaudeVersion {
		t.Errorf("pinnedClaudeVersion %s, testenv.ClaudeVersion %s", pinnedClaudeVersion, testenv.ClaudeVersion)
	}
	mk, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^CLAUDE_VERSION\s*:=\s*(\S+)`).FindSubmatch(mk)
	if m == nil || string(m[1]) != pinnedClaudeVersion {
		t.Errorf("Makefile CLAUDE_VERSION %q, doctor pins %s", m, pinnedClaudeVersion)
	}
}
