package docker

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/sandbox"
)

// TestDiskFillFromInsideTheContainer is the "fill its disk" attack of the
// hostile-agent suite, played by the real CLI in its real hardened
// container: the scripted model has the agent run a pre-approved Bash
// command that writes 32 MiB past an 8 MiB docker.disk_limit, into the
// workspace or into HOME. herdbot's disk watcher stops the run (a failed
// job with the reason, told in chat), the next run is refused with the use
// and the limit, an audit row and a metric record both, and herdbot's
// SQLite store still takes writes. With workspace_mode ro only HOME
// counts: 16 MiB already in the read-only workspace do not stop a run.
func TestDiskFillFromInsideTheContainer(t *testing.T) {
	b, tag := testCLIImage(t)
	ctx := testCtx(t)
	gw, err := b.HostGateway(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range claudetest.Env("unused") {
		if k, _, _ := strings.Cut(kv, "="); k != "ANTHROPIC_BASE_URL" && k != "ANTHROPIC_API_KEY" {
			env = append(env, kv)
		}
	}
	for _, tc := range []struct {
		name    string
		ro      bool
		command string
		what    string
	}{
		{"RWWorkspace", false, "head -c 33554432 /dev/zero > /workspace/big.bin && echo written", "workspace and HOME"},
		{"RWHome", false, `head -c 33554432 /dev/zero > "$HOME/big.bin" && echo written`, "workspace and HOME"},
		{"ROHome", true, `head -c 33554432 /dev/zero > "$HOME/big.bin" && echo written`, "HOME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := agentstest.NewDiskFill(tc.command, tc.what, 8<<20)
			// The fake model listens on the egress network's gateway,
			// which the sidecar may reach as a private destination.
			srv := claudetest.New(d.Model)
			ln, err := net.Listen("tcp4", net.JoinHostPort(gw.String(), "0"))
			if err != nil {
				t.Fatal(err)
			}
			srv.URL = "http://" + ln.Addr().String() // before Serve, which would set it beside the rig reading it
			serveCtx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { _ = srv.Serve(serveCtx, ln) })
			defer func() { stop(); wg.Wait() }()
			port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

			ws := workspace(t, 1000, 1000)
			if tc.ro {
				// Not the agent's: a read-only workspace is not counted.
				if err := os.WriteFile(filepath.Join(ws, "data.bin"), make([]byte, 16<<20), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			state := t.TempDir()
			d.Run(t, agentstest.Options{
				ModelServer: srv,
				Backend:     b,
				Spec: func(s *agents.AgentSpec) {
					s.Sandbox = sandbox.Spec{
						Image: tag, Env: env, Workspace: ws, WorkspaceReadOnly: tc.ro, StateDir: state,
						Limits: sandbox.Limits{MemoryBytes: 1 << 30, PidsLimit: 256},
						Network: sandbox.Network{
							Private: []string{gw.String() + "/32:" + port},
							Model:   sandbox.ModelUpstream{URL: "http://" + gw.String() + ":" + port, APIKey: realModelKey},
						},
					}
				},
			})
			// The command really ran in the container, as its user.
			target := filepath.Join(state, "home", "big.bin")
			if strings.Contains(tc.command, "/workspace/") {
				target = filepath.Join(ws, "big.bin")
			}
			if fi, err := os.Stat(target); err != nil || fi.Size() != 32<<20 {
				t.Fatalf("%s: %v %v", target, fi, err)
			}
		})
	}
}
