package claude_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/agents/claude/claudetest/hostile"
)

// hostileSession is a native session for one hostile case: its
// workspace, HOME and marker dir, and a fake model that knows the case's
// plant command.
type hostileSession struct {
	*session
	paths     hostile.Paths
	markers   string // host path of the marker dir
	redirect  *claudetest.ModelServer
	mcpConfig string
}

func newHostileSession(t *testing.T, c hostile.Case) *hostileSession {
	t.Helper()
	plants := &hostile.Plants{}
	srv := claudetest.NewModelServer(t, hostile.Model(plants))
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
	if c.Live {
		plants.Set(hostile.PlantPrompt(c), hostile.PlantScript(p, []hostile.Case{c}))
	}
	if c.Env != nil {
		s.env = append(s.env, c.Env(p)...)
	}
	return &hostileSession{session: s, paths: p, markers: markers, redirect: redirect, mcpConfig: hostile.ConfigMCP(p)}
}

// play meets c (hostile.Play) in CLIs that argv starts.
func (h *hostileSession) play(t *testing.T, c hostile.Case, argv func(rt *claude.Runtime, session string) []string, checkClose bool) hostile.Turn {
	t.Helper()
	return hostile.Play(t, c, &h.paths, hostile.Runner{
		Start: func(t testing.TB, session string) agents.Conn {
			return h.startArgv(t, func(rt *claude.Runtime) []string { return argv(rt, session) }).conn
		},
		Close: func(t testing.TB, conn agents.Conn) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// A hostile file may make an unprotected CLI fail; the effects
			// are what counts there.
			if err := conn.Close(ctx); err != nil && checkClose {
				t.Errorf("Close: %v", err)
			}
		},
		Plant: func(files []hostile.File) error { return hostile.Plant(h.paths, files, -1, -1) },
		ClearMarkers: func() error {
			if err := os.RemoveAll(h.markers); err != nil {
				return err
			}
			_, err := hostile.MakeMarkerDir(h.paths.Home, -1, -1)
			return err
		},
	})
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
			turn := h.play(t, c, func(rt *claude.Runtime, session string) []string {
				return rt.Command(agents.RunOptions{MCPConfig: h.mcpConfig, Resume: session})
			}, true)
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
			turn := h.play(t, c, func(rt *claude.Runtime, session string) []string {
				return hostile.Unprotect(rt.Command(agents.RunOptions{Resume: session}))
			}, false)
			hostile.CheckUnprotected(t, turn, h.markers, c.Unprotected, h.redirect)
		})
	}
}
