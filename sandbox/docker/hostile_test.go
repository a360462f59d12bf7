package docker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/agents/claude/claudetest/hostile"
	"github.com/herdbot/herdbot/sandbox"
)

// Prompts that make the hostile model plant files from inside the
// container with one (approved) Bash command.
const (
	plantAllPrompt  = "plant: every hostile file, in the workspace and in HOME"
	plantHomePrompt = "plant: every hostile file that goes in HOME"
)

// hostileRig runs the real CLI, started as herdbot starts it, in the agent
// image under the full hardening. The CLI reaches the fake model on the
// host only through the agent's egress sidecar, which adds the real key;
// the redirect target (where planted ANTHROPIC_BASE_URLs point) is
// reachable the same way, so a CLI that obeyed one would be seen.
type hostileRig struct {
	b        *Backend
	image    string
	rt       *claude.Runtime
	model    *claudetest.ModelServer
	redirect *claudetest.ModelServer
	net      sandbox.Network
	env      []string
	cli      hostile.Paths // CLI-side paths and the redirect URL
	plants   map[string]string
}

func newHostileRig(t *testing.T) *hostileRig {
	t.Helper()
	b, tag := testCLIImage(t)
	h := &hostileRig{b: b, image: tag, rt: claude.New(claude.Config{Binary: "claude"})}
	h.model = claudetest.New(func(r *claudetest.Request) claudetest.Reply { return hostile.Model(h.plants)(r) })
	h.redirect = claudetest.New(hostile.RedirectModel())
	egressNet, err := b.ensureEgressNetwork(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	gw := egressNet.gateways[0].String()
	port, redirectPort := serveOnAll(t, h.model), serveOnAll(t, h.redirect)
	h.net = sandbox.Network{
		Private: []string{gw + "/32:" + port, gw + "/32:" + redirectPort},
		Model:   sandbox.ModelUpstream{URL: "http://" + gw + ":" + port, APIKey: realModelKey},
	}
	h.env = cliEnv()
	h.cli = hostile.Paths{CLIWorkspace: defaultContainerWorkspace, CLIHome: homeDir, RedirectURL: "http://" + gw + ":" + redirectPort}
	all := hostile.Merge(h.cli, hostile.Cases())
	var home []hostile.File
	for _, f := range all {
		if f.InHome {
			home = append(home, f)
		}
	}
	h.plants = map[string]string{plantAllPrompt: hostile.Script(h.cli, all), plantHomePrompt: hostile.Script(h.cli, home)}
	return h
}

// agentDirs is one agent's workspace and state dir on the host, with its
// HOME and marker dir made as the backend would (owned by 1000).
type agentDirs struct {
	paths   hostile.Paths
	state   string
	markers string // host path
	ro      bool
}

func (h *hostileRig) newAgentDirs(t *testing.T, ro bool) agentDirs {
	t.Helper()
	ws, state := workspace(t, 1000, 1000), t.TempDir()
	home := filepath.Join(state, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	markers, err := hostile.MakeMarkerDir(home, 1000, 1000)
	if err != nil {
		t.Fatal(err)
	}
	p := h.cli
	p.Workspace, p.Home = ws, home
	return agentDirs{paths: p, state: state, markers: markers, ro: ro}
}

// start runs argv (the CLI) in a new hardened container for d and
// attaches the driver; the process is closed when the test ends.
func (h *hostileRig) start(t *testing.T, d agentDirs, argv []string, env []string, tmpfs map[string]string) agents.Conn {
	t.Helper()
	p, err := h.b.Start(testCtx(t), sandbox.Spec{
		Agent: "hostile", Job: t.Name(), Image: h.image, Command: argv, Env: append(append([]string{}, h.env...), env...),
		Workspace: d.paths.Workspace, WorkspaceReadOnly: d.ro, StateDir: d.state, Tmpfs: tmpfs, Network: h.net,
	})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	conn := h.rt.Attach(p)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func hostileCase(t *testing.T, name string) hostile.Case {
	t.Helper()
	for _, c := range hostile.Cases() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no hostile case %q", name)
	return hostile.Case{}
}

func closeConn(t *testing.T, conn agents.Conn) {
	t.Helper()
	if err := conn.Close(testCtx(t)); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestHostileFilesInTheAgentImage: nothing an agent can write in its
// workspace or HOME changes what the CLI in the agent image may do. For
// every place the CLI reads (hostile.Cases), in an agent with a rw
// workspace and in one with workspace_mode ro (whose HOME is still
// writable), the planted files leave the probe's Bash a permission request
// that reaches herdbot, run no hook, helper or MCP server, load nothing
// and redirect nothing, while the fleet's MCP server starts. Files the
// agent writes into its HOME with an approved Bash command change nothing
// in the same process nor in the next container, which resumes the
// session from the persisted HOME. The image's managed settings are
// root's, read-only and in effect, and a bypassPermissions or
// allowed_tools choice of the fleet still applies.
func TestHostileFilesInTheAgentImage(t *testing.T) {
	t.Parallel()
	h := newHostileRig(t)
	want := hostile.Want{ConfigMCP: true, Redirect: h.redirect}

	for _, mode := range []struct {
		name string
		ro   bool
	}{{"rw", false}, {"ro", true}} {
		for _, c := range hostile.Cases() {
			t.Run(mode.name+"/"+c.Name, func(t *testing.T) {
				t.Parallel()
				d := h.newAgentDirs(t, mode.ro)
				if err := hostile.Plant(d.paths, c.Files(d.paths), 1000, 1000); err != nil {
					t.Fatal(err)
				}
				var env []string
				if c.Env != nil {
					env = c.Env(d.paths)
				}
				conn := h.start(t, d, h.rt.Command(agents.RunOptions{MCPConfig: hostile.ConfigMCP(d.paths)}), env, nil)
				turn := hostile.RunTurn(t, conn, hostile.ProbePrompt, nil)
				closeConn(t, conn)
				hostile.Check(t, turn, d.markers, want)
			})
		}
	}

	for _, mode := range []struct {
		name, plant string
		ro          bool
	}{{"rw", plantAllPrompt, false}, {"ro", plantHomePrompt, true}} {
		t.Run("persisted HOME/"+mode.name, func(t *testing.T) {
			t.Parallel()
			d := h.newAgentDirs(t, mode.ro)
			opts := agents.RunOptions{MCPConfig: hostile.ConfigMCP(d.paths)}
			conn := h.start(t, d, h.rt.Command(opts), nil, nil)
			allowPlant := func(p *agents.PermissionRequest) agents.Decision {
				if strings.Contains(string(p.Input), "HOSTILE_EOF") {
					return agents.Decision{Verdict: agents.Allowed}
				}
				return agents.Decision{Verdict: agents.Denied, Message: "denied by the hostile-file test"}
			}
			plant := hostile.RunTurn(t, conn, mode.plant, allowPlant)
			if len(plant.Permissions) != 1 || plant.Result.Err != nil || plant.Result.Result.Text != hostile.Done {
				t.Fatalf("plant turn: %d permission requests, result %+v %v", len(plant.Permissions), plant.Result.Result, plant.Result.Err)
			}
			// The same process, after its files changed under it.
			hostile.Check(t, hostile.RunTurn(t, conn, hostile.ProbePrompt, nil), d.markers, want)
			closeConn(t, conn)
			// The agent's files persist in HOME (and, rw, the workspace),
			// except ~/.claude.json: the CLI rewrites that from memory when
			// it exits, dropping what the agent wrote during the run. An
			// agent that wins that race would leave its keys there, so
			// the test puts them back before the next container.
			var kept, claudeJSON []hostile.File
			for _, f := range hostile.Merge(d.paths, hostile.Cases()) {
				switch {
				case mode.ro && !f.InHome:
				case f.InHome && f.Path == ".claude.json":
					claudeJSON = append(claudeJSON, f)
				default:
					kept = append(kept, f)
				}
			}
			if err := hostile.Present(d.paths, kept); err != nil {
				t.Fatalf("the agent's files did not persist: %v", err)
			}
			if err := hostile.Plant(d.paths, claudeJSON, 1000, 1000); err != nil {
				t.Fatal(err)
			}

			// A new container on the same HOME resumes the session.
			opts.Resume = plant.Result.SessionID
			conn = h.start(t, d, h.rt.Command(opts), nil, nil)
			turn := hostile.RunTurn(t, conn, hostile.ProbePrompt, nil)
			closeConn(t, conn)
			hostile.Check(t, turn, d.markers, want)
			if turn.Result.SessionID != plant.Result.SessionID {
				t.Errorf("second container ran session %q, want the resumed %q", turn.Result.SessionID, plant.Result.SessionID)
			}
		})
	}

	t.Run("managed settings are read-only", func(t *testing.T) {
		t.Parallel()
		d := h.newAgentDirs(t, false)
		dir := filepath.Dir(ManagedSettingsPath)
		script := "cat " + ManagedSettingsPath + "; echo '--'; stat -c '%u:%g %a' " + dir + " " + ManagedSettingsPath + "; " +
			"for try in 'echo {} > " + ManagedSettingsPath + "' 'echo x >> " + ManagedSettingsPath + "' 'rm -f " + ManagedSettingsPath + "' " +
			"'mv " + ManagedSettingsPath + " /tmp/m' 'chmod 0666 " + ManagedSettingsPath + "' 'mkdir " + dir + "/managed-settings.d' " +
			"'touch " + dir + "/managed-mcp.json'; do if sh -c \"$try\" 2>/dev/null; then echo \"WRITABLE: $try\"; fi; done"
		out, errOut, st := runAll(t, h.b, sandbox.Spec{
			Agent: "hostile-ro", Job: "managed", Image: h.image, Command: []string{"/bin/sh", "-c", script},
			Workspace: d.paths.Workspace, StateDir: d.state, Network: sandbox.Network{None: true},
		})
		if st.Code != 0 {
			t.Fatalf("exit %d: %s %s", st.Code, out, errOut)
		}
		content, stats, _ := strings.Cut(out, "--\n")
		if content != ManagedSettings {
			t.Errorf("managed settings in the image:\n%s\nwant:\n%s", content, ManagedSettings)
		}
		if stats != "0:0 755\n0:0 444\n" {
			t.Errorf("owner and mode of %s and the file: %q, want root's, 755 and 444", dir, stats)
		}
		if strings.Contains(out, "WRITABLE") {
			t.Errorf("the agent changed its managed settings: %s", out)
		}
	})

	// The managed settings alone (the CLI started without herdbot's flags)
	// keep planted hooks from running; with /etc/claude-code hidden, the
	// same hooks run, so this check can fail.
	userHooks := hostileCase(t, "user settings hooks")
	for _, tc := range []struct {
		name   string
		hidden bool
	}{{"managed settings alone stop hooks", false}, {"without managed settings hooks run", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := h.newAgentDirs(t, false)
			if err := hostile.Plant(d.paths, userHooks.Files(d.paths), 1000, 1000); err != nil {
				t.Fatal(err)
			}
			var tmpfs map[string]string
			if tc.hidden {
				tmpfs = map[string]string{filepath.Dir(ManagedSettingsPath): "ro,nosuid,nodev,noexec,size=4k,mode=0555"}
			}
			conn := h.start(t, d, hostile.Unprotect(h.rt.Command(agents.RunOptions{})), nil, tmpfs)
			turn := hostile.RunTurn(t, conn, hostile.ProbePrompt, nil)
			closeConn(t, conn)
			if tc.hidden {
				hostile.CheckUnprotected(t, turn, d.markers, userHooks.Unprotected, h.redirect)
			} else {
				hostile.Check(t, turn, d.markers, hostile.Want{})
			}
		})
	}

	t.Run("fleet choices still apply", func(t *testing.T) {
		t.Parallel()
		for _, opts := range []agents.RunOptions{
			{PermissionMode: claude.BypassPermissions},
			{AllowedTools: []string{"Bash"}},
		} {
			d := h.newAgentDirs(t, false)
			conn := h.start(t, d, h.rt.Command(opts), nil, nil)
			turn := hostile.RunTurn(t, conn, hostile.ProbePrompt, nil)
			closeConn(t, conn)
			mode := opts.PermissionMode
			if mode == "" {
				mode = "default"
			}
			if len(turn.Permissions) != 0 || turn.Init["permissionMode"] != mode {
				t.Errorf("%+v: %d permission requests, init mode %v; want none and %s", opts, len(turn.Permissions), turn.Init["permissionMode"], mode)
			}
			if markers, _ := hostile.ListMarkers(d.markers); len(markers) != 1 || markers[0] != hostile.MarkerBash {
				t.Errorf("%+v: markers %q, want the probe's %q", opts, markers, hostile.MarkerBash)
			}
		}
	})
}
