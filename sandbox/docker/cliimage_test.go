package docker

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/internal/testenv"
	"github.com/herdbot/herdbot/sandbox"
)

// testCLIImage builds the agent image with the real CLI under a test tag
// (removed when the test ends; the build cache makes it quick when
// `make agent-image` has run).
func testCLIImage(t *testing.T) (*Backend, string) {
	t.Helper()
	b := newTestBackend(t)
	return b, buildCLIImage(t, b)
}

// buildCLIImage builds an agent image from the pinned CLI on b, removed
// when the test ends, and returns its tag.
func buildCLIImage(t *testing.T, b *Backend) string {
	t.Helper()
	claudeBin := testenv.RequireClaude(t)
	tag := "herdbot-agent-test:" + randomHex(6)
	start := time.Now()
	if err := b.BuildCLIImage(testCtx(t), tag, claudeBin); err != nil {
		t.Fatalf("BuildCLIImage: %v", err)
	}
	t.Logf("BuildCLIImage took %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := b.cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{PruneChildren: true}); err != nil {
			t.Errorf("remove %s: %v", tag, err)
		}
	})
	return tag
}

// serveOnAll serves m on all addresses (the egress sidecar reaches it
// through the egress network's gateway) until the test ends, and returns
// its port.
func serveOnAll(t testing.TB, m *claudetest.ModelServer) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = m.Serve(ctx, ln) })
	t.Cleanup(func() { stop(); wg.Wait() })
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// cliEnv is claudetest.Env without the model URL and key, which the
// sandbox sets (the egress proxy and a placeholder key).
func cliEnv() []string {
	var env []string
	for _, kv := range claudetest.Env("unused") {
		if k, _, _ := strings.Cut(kv, "="); k != "ANTHROPIC_BASE_URL" && k != "ANTHROPIC_API_KEY" {
			env = append(env, kv)
		}
	}
	return env
}

// TestCLIImageRunsTheRealCLI builds the image and runs `claude --version`
// under the full hardening; a second build of the same content is skipped.
func TestCLIImageRunsTheRealCLI(t *testing.T) {
	t.Parallel()
	b, tag := testCLIImage(t)
	labels, _, err := b.imageLabels(testCtx(t), tag)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := b.cli.ImageInspect(testCtx(t), tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.BuildCLIImage(testCtx(t), tag, testenv.ClaudeBin()); err != nil {
		t.Fatalf("second BuildCLIImage: %v", err)
	}
	again, err := b.cli.ImageInspect(testCtx(t), tag)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != ins.ID || labels[LabelContent] == "" {
		t.Errorf("second build made image %s (first %s, content label %q); want it skipped", again.ID, ins.ID, labels[LabelContent])
	}

	spec := sandbox.Spec{
		Agent: "cli", Job: "version", Image: tag,
		Command:   []string{"claude", "--version"},
		Workspace: workspace(t, 1000, 1000), StateDir: t.TempDir(),
		Network: sandbox.Network{None: true},
	}
	out, errOut, st := runAll(t, b, spec)
	if st.Code != 0 || !strings.Contains(out, testenv.ClaudeVersion+" (Claude Code)") {
		t.Fatalf("claude --version: code %d, stdout %q, stderr %q", st.Code, out, errOut)
	}
}

// TestCLITurnThroughTheSandbox runs one real CLI turn inside the sandbox:
// the CLI talks to the fake model API on the host only through the egress
// sidecar (which adds the real key), the model asks for a Bash tool call,
// and the tool runs in the container and writes into the workspace.
func TestCLITurnThroughTheSandbox(t *testing.T) {
	t.Parallel()
	b, tag := testCLIImage(t)
	ctx := testCtx(t)

	model := claudetest.New(func(req *claudetest.Request) claudetest.Reply {
		if len(req.ToolResults()) > 0 {
			return claudetest.Text("the file is made")
		}
		return claudetest.Bash("touch /workspace/made-by-claude && echo done", "make the file")
	})
	port := serveOnAll(t, model)
	egressNet, err := b.ensureEgressNetwork(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gw := egressNet.gateways[0].String()
	env := cliEnv()
	ws := workspace(t, 1000, 1000)
	spec := sandbox.Spec{
		Agent: "clitest", Job: "turn", Image: tag,
		Command: []string{"claude", "-p", "make the file", "--output-format", "stream-json", "--verbose",
			"--allowedTools", "Bash", "--model", "claude-sonnet-4-5"},
		Env:       env,
		Workspace: ws, StateDir: t.TempDir(),
		Network: sandbox.Network{
			Private: []string{gw + "/32:" + port},
			Model:   sandbox.ModelUpstream{URL: "http://" + gw + ":" + port, APIKey: realModelKey},
		},
	}
	out, errOut, st := runAll(t, b, spec)
	if st.Code != 0 {
		t.Fatalf("claude exited %d; stdout %.2000s; stderr %.2000s", st.Code, out, errOut)
	}
	if !strings.Contains(out, "the file is made") {
		t.Errorf("stdout has no final answer: %.2000s", out)
	}
	fi, err := os.Stat(filepath.Join(ws, "made-by-claude"))
	if err != nil {
		t.Fatalf("the Bash tool did not run in the container: %v", err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1000 {
		t.Errorf("file made by uid %d, want 1000", st.Uid)
	}
	reqs := model.MessageRequests()
	if len(reqs) < 2 {
		t.Fatalf("model got %d message requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		if got := r.Header.Get("X-Api-Key"); got != realModelKey {
			t.Errorf("model request %s carried key %q, want the real key added by the proxy", r.Path, got)
		}
	}
}
