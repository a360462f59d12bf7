package claude_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/agents/claude/claudetest/hostile"
)

// hostileSession is a native session with one hostile case planted in its
// workspace and HOME.
type hostileSession struct {
	*session
	paths     hostile.Paths
	markers   string // host path of the marker dir
	redirect  *claudetest.ModelServer
	mcpConfig string
}

func newHostileSession(t *testing.T, c hostile.Case) *hostileSession {
	t.Helper()
	srv := claudetest.NewModelServer(t, hostile.Model(nil))
	redirect := claudetest.NewModelServer(t, hostile.RedirectModel())
	s := newSession(t, srv)
	home := filepath.Join(s.state, "home") // the native backend's HOME
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	p := hostile.Paths{Workspace: s.ws, Home: home, CLIWorkspace: s.ws, CLIHome: home, RedirectURL: redirect.URL}
	markers, err := hostile.MakeMarkerDir(home, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Resumed {
		if err := hostile.Plant(p, c.Files(p), -1, -1); err != nil {
			t.Fatal(err)
		}
	}
	if c.Env != nil {
		s.env = append(s.env, c.Env(p)...)
	}
	return &hostileSession{session: s, paths: p, markers: markers, redirect: redirect, mcpConfig: hostile.ConfigMCP(p)}
}

// resume plays a first turn with argv (its probe denied), plants c's files
// for the session it made, and returns argv for a CLI that resumes it.
func (h *hostileSession) resume(t *testing.T, c hostile.Case, argv func(*claude.Runtime, string) []string) func(*claude.Runtime) []string {
	t.Helper()
	r := h.startArgv(t, func(rt *claude.Runtime) []string { return argv(rt, "") })
	first := hostile.RunTurn(t, r.conn, hostile.ProbePrompt, nil)
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if first.Result.SessionID == "" {
		t.Fatalf("the first turn made no session: %+v", first.Result)
	}
	h.paths.SessionID = first.Result.SessionID
	if err := hostile.Plant(h.paths, c.Files(h.paths), -1, -1); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(h.markers); err != nil {
		t.Fatal(err)
	}
	if _, err := hostile.MakeMarkerDir(h.paths.Home, -1, -1); err != nil {
		t.Fatal(err)
	}
	return func(rt *claude.Runtime) []string { return argv(rt, first.Result.SessionID) }
}

// TestHostileFilesChangeNothing plants, for every place the CLI reads
// configuration from that the agent can write, files that would approve
// Bash, run hooks, start MCP servers, run an apiKeyHelper, redirect the
// model API, load subagents and skills, or run code of the agent's with
// an approved command; the real CLI started by herdbot (native backend:
// its flags alone, no managed settings) still asks for the probe's Bash
// through the control protocol, and nothing planted runs or loads. The
// fleet's own MCP server still starts. The places only herdbot's
// container closes (shell startup files, session-env: hostile.Case
// Sandbox) are left to sandbox/docker: the native backend leaves them
// open, as TestHostileFilesTakeEffectUnprotected shows.
func TestHostileFilesChangeNothing(t *testing.T) {
	for _, c := range hostile.Cases() {
		if c.Sandbox {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			h := newHostileSession(t, c)
			r := h.start(t, agents.RunOptions{MCPConfig: h.mcpConfig})
			turn := hostile.RunTurn(t, r.conn, hostile.ProbePrompt, hostile.Decide(c))
			if err := r.close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			hostile.Check(t, turn, h.markers, hostile.Want{ProbeAllowed: c.Approve, ConfigMCP: true, Redirect: h.redirect})
		})
	}
}

// TestHostileFilesTakeEffectUnprotected is the other half of
// TestHostileFilesChangeNothing: started without herdbot's protections
// (hostile.Unprotect), the same CLI reads each case's files and they do
// what they were planted for, so every case above can fail. Cases the
// pinned CLI ignores even so are left out (they guard against a CLI that
// starts reading them). The places only herdbot's container closes
// (hostile.Case Sandbox) take effect here as they would for a native
// agent, which herdbot does not protect.
func TestHostileFilesTakeEffectUnprotected(t *testing.T) {
	for _, c := range hostile.Cases() {
		if c.Unprotected.Inert() {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			h := newHostileSession(t, c)
			argv := func(rt *claude.Runtime) []string { return hostile.Unprotect(rt.Command(agents.RunOptions{})) }
			if c.Resumed {
				argv = h.resume(t, c, func(rt *claude.Runtime, session string) []string {
					return hostile.Unprotect(rt.Command(agents.RunOptions{Resume: session}))
				})
			}
			r := h.startArgv(t, argv)
			turn := hostile.RunTurn(t, r.conn, hostile.ProbePrompt, hostile.Decide(c))
			_ = r.close() // a hostile file may make the CLI fail; the effects are what counts
			hostile.CheckUnprotected(t, turn, h.markers, c.Unprotected, h.redirect)
		})
	}
}
