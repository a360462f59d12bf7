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
	plants   *hostile.Plants
}

// The rig's agents: every case runs as hostileAgent, protected as herdbot
// runs agents; exposedAgent's HOME lacks the container's protection of the
// shell startup files and the CLI's config directories (exposeHome), to
// show what those files do.
const (
	hostileAgent = "hostile"
	exposedAgent = "hostile-exposed"
)

func newHostileRig(t *testing.T) *hostileRig {
	t.Helper()
	b, tag := testCLIImage(t)
	b.exposeHome = func(s *sandbox.Spec) bool { return s.Agent == exposedAgent }
	h := &hostileRig{b: b, image: tag, rt: claude.New(claude.Config{Binary: "claude"}), plants: &hostile.Plants{}}
	h.model = claudetest.New(hostile.Model(h.plants))
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
	h.plants.Set(plantAllPrompt, hostile.PlantScript(h.cli, hostile.Cases()))
	var home []hostile.File
	for _, f := range hostile.Merge(h.cli, hostile.Cases()) {
		if f.InHome {
			home = append(home, f)
		}
	}
	h.plants.Set(plantHomePrompt, hostile.Script(h.cli, home)+commands(h.cli))
	for _, c := range hostile.Cases() {
		if c.Live {
			h.plants.Set(hostile.PlantPrompt(c), hostile.PlantScript(h.cli, []hostile.Case{c}))
		}
	}
	return h
}

// commands are the Command of every case, as the agent's plant command
// runs them.
func commands(p hostile.Paths) string {
	var sb strings.Builder
	for _, c := range hostile.Cases() {
		if c.Command != nil {
			sb.WriteString(c.Command(p))
		}
	}
	return sb.String()
}

// agentDirs is one agent's workspace and state dir on the host, with its
// HOME and marker dir made as the backend would (owned by 1000).
type agentDirs struct {
	agent   string // hostileAgent or exposedAgent
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
	return agentDirs{agent: hostileAgent, paths: p, state: state, markers: markers, ro: ro}
}

// start runs argv (the CLI) in a new hardened container for d and
// attaches the driver; the process is closed when the test ends.
func (h *hostileRig) start(t testing.TB, d agentDirs, argv []string, env []string, tmpfs map[string]string) agents.Conn {
	t.Helper()
	p, err := h.b.Start(testCtx(t), sandbox.Spec{
		Agent: d.agent, Job: t.Name(), Image: h.image, Command: argv, Env: append(append([]string{}, h.env...), env...),
		Workspace: d.paths.Workspace, WorkspaceReadOnly: d.ro, StateDir: d.state, Tmpfs: tmpfs, Network: h.net,
	})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	conn := h.rt.Attach(p)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// runCase plays case c (hostile.Play) in a new agent d (HOME protected
// unless exposed, workspace read-only when ro) whose CLI is started as
// herdbot starts it with opts. It returns the probe's turn and the
// agent's dirs.
func (h *hostileRig) runCase(t *testing.T, c hostile.Case, ro, exposed bool, opts func(hostile.Paths) agents.RunOptions) (hostile.Turn, agentDirs) {
	t.Helper()
	d := h.newAgentDirs(t, ro)
	if exposed {
		d.agent = exposedAgent
	}
	var env []string
	if c.Env != nil {
		env = c.Env(d.paths)
	}
	turn := hostile.Play(t, c, &d.paths, hostile.Runner{
		Start: func(t testing.TB, session string) agents.Conn {
			o := opts(d.paths)
			o.Resume = session
			return h.start(t, d, h.rt.Command(o), env, nil)
		},
		Close: func(t testing.TB, conn agents.Conn) {
			if !exposed {
				closeConn(t, conn)
				return
			}
			_ = conn.Close(testCtx(t)) // a hostile file may make the CLI fail; the effects are what counts
		},
		Plant: func(files []hostile.File) error { return hostile.Plant(d.paths, files, 1000, 1000) },
		ClearMarkers: func() error {
			if err := os.RemoveAll(d.markers); err != nil {
				return err
			}
			_, err := hostile.MakeMarkerDir(d.paths.Home, 1000, 1000)
			return err
		},
	})
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

// homeOnly reports whether every file of c goes in HOME.
func homeOnly(c hostile.Case, p hostile.Paths) bool {
	for _, f := range c.Files(p) {
		if !f.InHome {
			return false
		}
	}
	return true
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

func closeConn(t testing.TB, conn agents.Conn) {
	t.Helper()
	if err := conn.Close(testCtx(t)); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestHostileFilesInTheAgentImage: nothing an agent can write in its
// workspace or HOME changes what the CLI in the agent image may do. For
// every place the CLI reads (hostile.Cases), in an agent with a rw
// workspace and (for the cases with workspace files: ro changes only the
// workspace mount) in one with workspace_mode ro, whose HOME is still
// writable, the planted files leave the probe's Bash a permission request
// that reaches herdbot, run no hook, helper, MCP server or shell file,
// load nothing and redirect nothing, an approved probe runs as asked and
// nothing else does, while the fleet's MCP server starts. The places
// herdbot's container closes (shell startup files, the CLI's session-env
// and shell-snapshots) do take effect in the same image without that
// protection (exposedAgent). Files the agent writes into its HOME with an
// approved Bash command change nothing in the same process nor in the
// next container, which resumes the session from the persisted HOME; the
// closed places cannot be written at all. The image's managed settings
// are root's, read-only and in effect, and a bypassPermissions or
// allowed_tools choice of the fleet still applies.
func TestHostileFilesInTheAgentImage(t *testing.T) {
	t.Parallel()
	h := newHostileRig(t)
	withMCP := func(p hostile.Paths) agents.RunOptions { return agents.RunOptions{MCPConfig: hostile.ConfigMCP(p)} }

	// Without the container's HOME protection (exposedAgent), each place
	// it closes takes effect, so the checks below can fail.
	for _, c := range hostile.Cases() {
		if !c.Sandbox || c.Unprotected.Inert() {
			continue
		}
		t.Run("without the HOME protection/"+c.Name, func(t *testing.T) {
			t.Parallel()
			turn, d := h.runCase(t, c, false, true, func(hostile.Paths) agents.RunOptions { return agents.RunOptions{} })
			hostile.CheckUnprotected(t, turn, d.markers, c.Unprotected, h.redirect)
		})
	}

	for _, mode := range []struct {
		name string
		ro   bool
	}{{"rw", false}, {"ro", true}} {
		for _, c := range hostile.Cases() {
			if mode.ro && homeOnly(c, h.cli) {
				continue // ro changes only the workspace: the rw run covers it
			}
			t.Run(mode.name+"/"+c.Name, func(t *testing.T) {
				t.Parallel()
				turn, d := h.runCase(t, c, mode.ro, false, withMCP)
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
					return agents.Decision{Verdict: agents.Allowed}
				}
				return agents.Decision{Verdict: agents.Denied, Message: "denied by the hostile-file test"}
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

	// The managed settings alone (the CLI started without herdbot's flags,
	// HOME without the container's protection) keep planted hooks from
	// running; with /etc/claude-code hidden, the same hooks run, so this
	// check can fail.
	userHooks := hostileCase(t, "user settings hooks")
	for _, tc := range []struct {
		name   string
		hidden bool
	}{{"managed settings alone stop hooks", false}, {"without managed settings hooks run", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := h.newAgentDirs(t, false)
			d.agent = exposedAgent // the read-only session-env alone keeps the SessionStart hook from running
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
