package docker

import (
	"context"
	"os"
	"path/filepath"
	"slices"
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

// runCase plays case c in a new agent of mode ro: plants its files as the
// agent (for a resumed case, after a first container made the session),
// starts the CLI as herdbot does and runs the probe, answered as c wants.
// It returns the probe's turn and the agent's dirs.
func (h *hostileRig) runCase(t *testing.T, c hostile.Case, ro bool, opts func(hostile.Paths) agents.RunOptions) (hostile.Turn, agentDirs) {
	t.Helper()
	d := h.newAgentDirs(t, ro)
	var env []string
	if c.Env != nil {
		env = c.Env(d.paths)
	}
	o := opts(d.paths)
	if c.Resumed {
		conn := h.start(t, d, h.rt.Command(o), env, nil)
		first := hostile.RunTurn(t, conn, hostile.ProbePrompt, nil)
		closeConn(t, conn)
		if first.Result.SessionID == "" {
			t.Fatalf("the first container made no session: %+v", first.Result)
		}
		d.paths.SessionID, o.Resume = first.Result.SessionID, first.Result.SessionID
		if err := os.RemoveAll(d.markers); err != nil {
			t.Fatal(err)
		}
		if _, err := hostile.MakeMarkerDir(d.paths.Home, 1000, 1000); err != nil {
			t.Fatal(err)
		}
	}
	if err := hostile.Plant(d.paths, c.Files(d.paths), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	conn := h.start(t, d, h.rt.Command(o), env, nil)
	turn := hostile.RunTurn(t, conn, hostile.ProbePrompt, hostile.Decide(c))
	closeConn(t, conn)
	return turn, d
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

// turnToolOutput is the tool results of a turn, as the CLI sent them.
func turnToolOutput(turn hostile.Turn) string {
	var sb strings.Builder
	for _, e := range turn.Events {
		if e.Kind == agents.EventToolResult {
			sb.Write(e.Raw)
		}
	}
	return sb.String()
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
// that reaches herdbot, run no hook, helper, MCP server or shell file,
// load nothing and redirect nothing, an approved probe runs as asked and
// nothing else does, while the fleet's MCP server starts. The places
// herdbot's container closes (shell startup files, the CLI's
// session-env) do take effect in the same image without that protection.
// Files the agent writes into its HOME with an approved Bash command
// change nothing in the same process nor in the next container, which
// resumes the session from the persisted HOME; the shell startup files
// and session-env cannot be written at all. The image's managed settings
// are root's, read-only and in effect, and a bypassPermissions or
// allowed_tools choice of the fleet still applies.
func TestHostileFilesInTheAgentImage(t *testing.T) {
	t.Parallel()
	h := newHostileRig(t)
	withMCP := func(p hostile.Paths) agents.RunOptions { return agents.RunOptions{MCPConfig: hostile.ConfigMCP(p)} }

	// First, alone on the backend (the parallel subtests below start when
	// this returns): without the container's HOME protection, each place
	// it closes takes effect, so the checks below can fail.
	t.Run("without the HOME protection", func(t *testing.T) {
		h.b.exposeHome = true
		t.Cleanup(func() { h.b.exposeHome = false })
		for _, c := range hostile.Cases() {
			if !c.Sandbox || c.Unprotected.Inert() {
				continue
			}
			t.Run(c.Name, func(t *testing.T) {
				t.Parallel()
				turn, d := h.runCase(t, c, false, func(hostile.Paths) agents.RunOptions { return agents.RunOptions{} })
				hostile.CheckUnprotected(t, turn, d.markers, c.Unprotected, h.redirect)
			})
		}
	})

	for _, mode := range []struct {
		name string
		ro   bool
	}{{"rw", false}, {"ro", true}} {
		for _, c := range hostile.Cases() {
			t.Run(mode.name+"/"+c.Name, func(t *testing.T) {
				t.Parallel()
				turn, d := h.runCase(t, c, mode.ro, withMCP)
				hostile.Check(t, turn, d.markers, hostile.Want{ProbeAllowed: c.Approve, ConfigMCP: true, Redirect: h.redirect})
			})
		}
	}

	for _, mode := range []struct {
		name, plant string
		ro          bool
	}{{"rw", plantAllPrompt, false}, {"ro", plantHomePrompt, true}} {
		t.Run("persisted HOME/"+mode.name, func(t *testing.T) {
			t.Parallel()
			want := hostile.Want{ProbeAllowed: true, ConfigMCP: true, Redirect: h.redirect}
			d := h.newAgentDirs(t, mode.ro)
			opts := agents.RunOptions{MCPConfig: hostile.ConfigMCP(d.paths)}
			conn := h.start(t, d, h.rt.Command(opts), nil, nil)
			allowPlant := func(p *agents.PermissionRequest) agents.Decision {
				if strings.Contains(string(p.Input), "HOSTILE_EOF") {
					return agents.Decision{Behavior: agents.Allow}
				}
				return agents.Decision{Behavior: agents.Deny, Message: "denied by the hostile-file test"}
			}
			plant := hostile.RunTurn(t, conn, mode.plant, allowPlant)
			if len(plant.Permissions) != 1 || plant.Result.Err != nil || plant.Result.Result.Text != hostile.Done {
				t.Fatalf("plant turn: %d permission requests, result %+v %v", len(plant.Permissions), plant.Result.Result, plant.Result.Err)
			}
			// The same process, after its files changed under it. The
			// probe is approved: it must run as asked and nothing with it.
			hostile.Check(t, hostile.RunTurn(t, conn, hostile.ProbePrompt, hostile.AllowProbe), d.markers, want)
			closeConn(t, conn)
			// The agent's files persist in HOME (and, rw, the workspace),
			// except ~/.claude.json: the CLI rewrites that from memory when
			// it exits, dropping what the agent wrote during the run. An
			// agent that wins that race would leave its keys there, so
			// the test puts them back before the next container. The files
			// of the places the container closes were never written.
			d.paths.SessionID = plant.Result.SessionID
			var kept, claudeJSON, closed []hostile.File
			for _, c := range hostile.Cases() {
				if c.Sandbox {
					closed = append(closed, c.Files(d.paths)...)
				}
			}
			for _, f := range hostile.Merge(d.paths, hostile.Cases()) {
				switch {
				case mode.ro && !f.InHome:
				case slices.ContainsFunc(closed, func(c hostile.File) bool { return c.InHome == f.InHome && c.Path == f.Path }):
				case f.InHome && f.Path == ".claude.json":
					claudeJSON = append(claudeJSON, f)
				default:
					kept = append(kept, f)
				}
			}
			if err := hostile.Present(d.paths, kept); err != nil {
				t.Fatalf("the agent's files did not persist: %v", err)
			}
			if err := hostile.Absent(d.paths, closed); err != nil {
				t.Fatalf("the agent wrote a file the container keeps read-only: %v", err)
			}
			for _, f := range closed {
				if !strings.Contains(turnToolOutput(plant), hostile.NotWritten+homeDir+"/"+strings.ReplaceAll(f.Path, hostile.Session, d.paths.SessionID)) {
					t.Errorf("the plant script did not report %s as not written; its output:\n%s", f.Path, turnToolOutput(plant))
				}
			}
			if err := hostile.Plant(d.paths, claudeJSON, 1000, 1000); err != nil {
				t.Fatal(err)
			}

			// A new container on the same HOME resumes the session.
			opts.Resume = plant.Result.SessionID
			conn = h.start(t, d, h.rt.Command(opts), nil, nil)
			turn := hostile.RunTurn(t, conn, hostile.ProbePrompt, hostile.AllowProbe)
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
