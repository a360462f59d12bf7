package docker

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/sandbox"
)

// TestReadOnlyPathsCannotBeChanged: the agent's own config file inside a
// rw workspace stays read-only in the container (an agent cannot widen its
// approvers, schedules or tools), while the rest of the workspace is
// writable. A path outside the workspace is ignored.
func TestReadOnlyPathsCannotBeChanged(t *testing.T) {
	t.Parallel()
	b, tag := testCLIImage(t)
	ws := workspace(t, 1000, 1000)
	cfg := filepath.Join(ws, "agent.yaml")
	if err := os.WriteFile(cfg, []byte("name: garden\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(cfg, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	spec := sandbox.Spec{
		Agent: "ro", Job: "readonly", Image: tag,
		Command: []string{"/bin/sh", "-c",
			"echo 'approvers: {discord: [\"*\"]}' >> /workspace/agent.yaml; echo append=$?; " +
				"rm -f /workspace/agent.yaml; echo rm=$?; echo ok > /workspace/notes.txt; echo write=$?"},
		Workspace: ws, StateDir: t.TempDir(), Network: sandbox.Network{None: true},
		ReadOnly: []string{cfg, "/etc/passwd"},
	}
	out, errOut, st := runAll(t, b, spec)
	if st.Code != 0 {
		t.Fatalf("exit %d: %s %s", st.Code, out, errOut)
	}
	if !strings.Contains(out, "append=1") || !strings.Contains(out, "rm=1") || !strings.Contains(out, "write=0") {
		t.Fatalf("want the config file unwritable and the workspace writable, got %q (stderr %q)", out, errOut)
	}
	if b, err := os.ReadFile(cfg); err != nil || string(b) != "name: garden\n" {
		t.Fatalf("agent.yaml changed: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(ws, "notes.txt")); err != nil {
		t.Fatalf("workspace not writable: %v", err)
	}
}

// plantScript tries, from inside the container, everything an agent could
// do to its configuration files; each attempt prints allowed=NAME or
// refused=NAME (error). notes is the control: an ordinary workspace write.
const plantScript = `t(){ if bash -c "$2" 2>/tmp/e; then echo "allowed=$1"; else echo "refused=$1 ($(tr -d '\n' </tmp/e))"; fi; }
t env 'echo TOKEN=x > /workspace/.env'
t env_rm 'rm /workspace/.env'
t env_link 'ln -sf /workspace/notes.txt /workspace/.env'
t agent_yaml 'printf "name: garden\npermission_mode: acceptEdits\n" > /workspace/agent.yaml'
t agent_yaml_rm 'rm /workspace/agent.yaml'
t agent_yml 'echo name: evil > /workspace/agent.yml'
t herdctl_yml 'echo name: evil > /workspace/herdctl-agent.yml'
t overwrite 'echo "approvers: {console: [mallory]}" >> /workspace/herdctl-agent.yaml'
t truncate ': > /workspace/herdctl-agent.yaml'
t rename 'mv /workspace/herdctl-agent.yaml /workspace/old.yaml'
t notes 'echo ok > /workspace/notes.txt'
`

// TestAgentCannotPlantConfigFiles: the real CLI in a real hardened
// container from the real agent image, with Bash pre-approved (the worst
// case), runs plantScript in the agent's own directory (its workspace,
// holding the operator's herdctl-agent.yaml and no .env). Creating .env or
// agent.yaml beside herdctl-agent.yaml, replacing, renaming or overwriting
// the agent file all fail with EROFS or EBUSY, in a writable and in a
// read-only workspace; the host files stay as they were. The read-only
// workspace starts although nothing can be created in it.
func TestAgentCannotPlantConfigFiles(t *testing.T) {
	b, tag := testCLIImage(t)
	gw, port, model := plantModel(t, b)
	for _, mode := range []string{"rw", "ro"} {
		t.Run(mode, func(t *testing.T) {
			ws := workspace(t, 1000, 1000)
			agentFile := filepath.Join(ws, "herdctl-agent.yaml")
			const content = "name: garden\napprovers:\n  console: [operator]\n"
			// The operator's file belongs to the container's user (herdbot
			// and its agents share a uid in the systemd layout): only the
			// read-only mount stops the writes.
			if err := os.WriteFile(agentFile, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(agentFile, 1000, 1000); err != nil {
				t.Fatal(err)
			}
			var readOnly []string
			for _, n := range []string{"agent.yaml", "agent.yml", "herdctl-agent.yaml", "herdctl-agent.yml", ".env"} {
				readOnly = append(readOnly, filepath.Join(ws, n))
			}
			spec := sandbox.Spec{
				Agent: "plant-" + mode, Job: "plant", Image: tag,
				Command: []string{"claude", "-p", "change your config", "--output-format", "stream-json", "--verbose",
					"--allowedTools", "Bash", "--model", "claude-sonnet-4-5"},
				Env:       []string{"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1"},
				Workspace: ws, WorkspaceReadOnly: mode == "ro", ReadOnly: readOnly, StateDir: t.TempDir(),
				Network: sandbox.Network{
					Private: []string{gw + "/32:" + port},
					Model:   sandbox.ModelUpstream{URL: "http://" + gw + ":" + port, APIKey: realModelKey},
				},
			}
			out, errOut, st := runAll(t, b, spec)
			if st.Code != 0 || !strings.Contains(out, "attempts made") {
				t.Fatalf("claude exited %d; stdout %.3000s; stderr %.2000s", st.Code, out, errOut)
			}
			out = toolOutput(t, out)
			t.Logf("the agent's attempts:\n%s", out)
			got := map[string]string{}
			for _, line := range strings.Split(out, "\n") {
				if verdict, rest, ok := strings.Cut(line, "="); ok && (verdict == "allowed" || verdict == "refused") {
					name, _, _ := strings.Cut(rest, " ")
					got[name] = verdict
				}
			}
			for _, name := range []string{"env", "env_rm", "env_link", "agent_yaml", "agent_yaml_rm", "agent_yml", "herdctl_yml", "overwrite", "truncate", "rename"} {
				if got[name] != "refused" {
					t.Errorf("%s: %q, want refused", name, got[name])
				}
			}
			if want := map[string]string{"rw": "allowed", "ro": "refused"}[mode]; got["notes"] != want {
				t.Errorf("the ordinary write: %q in a %s workspace, want %s", got["notes"], mode, want)
			}
			for _, want := range []string{"Read-only file system", "busy"} {
				if mode == "rw" && !strings.Contains(out, want) {
					t.Errorf("no %q among the refusals", want)
				}
			}
			if b, err := os.ReadFile(agentFile); err != nil || string(b) != content {
				t.Errorf("herdctl-agent.yaml changed: %q %v", b, err)
			}
			for _, n := range []string{"agent.yaml", "agent.yml", "herdctl-agent.yml", ".env"} {
				fi, err := os.Lstat(filepath.Join(ws, n))
				switch {
				case mode == "ro" && err == nil:
					t.Errorf("%s exists in a read-only workspace", n)
				case mode == "rw" && (err != nil || !fi.Mode().IsRegular() || fi.Size() != 0):
					t.Errorf("%s is not the empty placeholder: %v %v", n, fi, err)
				}
			}
			if _, err := os.Lstat(filepath.Join(ws, "old.yaml")); err == nil {
				t.Error("the agent file was renamed")
			}
		})
	}
	if n := len(model.MessageRequests()); n < 4 {
		t.Errorf("model got %d message requests, want 2 per run", n)
	}
}

// plantModel serves a fake model API on the egress network's gateway that
// asks for plantScript as a Bash call, then answers "attempts made".
func plantModel(t *testing.T, b *Backend) (gw, port string, model *claudetest.ModelServer) {
	t.Helper()
	model = claudetest.New(func(req *claudetest.Request) claudetest.Reply {
		if len(req.ToolResults()) > 0 {
			return claudetest.Text("attempts made")
		}
		return claudetest.Bash(plantScript, "change my own configuration")
	})
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, stopServe := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = model.Serve(serveCtx, ln) })
	t.Cleanup(func() { stopServe(); wg.Wait() })
	egressNet, err := b.ensureEgressNetwork(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return egressNet.gateways[0].String(), strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), model
}

// toolOutput returns the text of the tool results in the CLI's stream-json
// output.
func toolOutput(t *testing.T, stream string) string {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(stream, "\n") {
		var ev struct {
			Type    string
			Message struct {
				Content []struct {
					Type    string
					Content json.RawMessage
				}
			}
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Type != "user" {
			continue
		}
		for _, c := range ev.Message.Content {
			if c.Type != "tool_result" {
				continue
			}
			var s string
			if json.Unmarshal(c.Content, &s) == nil {
				b.WriteString(s + "\n")
				continue
			}
			var parts []struct{ Text string }
			_ = json.Unmarshal(c.Content, &parts)
			for _, p := range parts {
				b.WriteString(p.Text + "\n")
			}
		}
	}
	if b.Len() == 0 {
		t.Fatalf("no tool result in the CLI's output: %.3000s", stream)
	}
	return b.String()
}

// TestEnginePlaceholdersHold: when herdbot cannot create the placeholders
// itself (here: it is told EROFS, as under systemd's ProtectSystem), the
// engine makes the mount points and the names are just as read-only; the
// files it leaves on the host are empty, root's and not writable by group
// or others, which the loader takes for placeholders, never agent files.
func TestEnginePlaceholdersHold(t *testing.T) {
	t.Parallel()
	b, tag := testCLIImage(t)
	b.createPlaceholder = func(p string) error { return &os.PathError{Op: "open", Path: p, Err: syscall.EROFS} }
	ws := workspace(t, 1000, 1000)
	agentFile := filepath.Join(ws, "herdctl-agent.yaml")
	if err := os.WriteFile(agentFile, []byte("name: garden\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var readOnly []string
	for _, n := range []string{"agent.yaml", "agent.yml", "herdctl-agent.yaml", "herdctl-agent.yml", ".env"} {
		readOnly = append(readOnly, filepath.Join(ws, n))
	}
	spec := sandbox.Spec{
		Agent: "enginephs", Job: "plant", Image: tag, Command: []string{"/bin/bash", "-c", plantScript},
		Workspace: ws, ReadOnly: readOnly, StateDir: t.TempDir(), Network: sandbox.Network{None: true},
	}
	out, errOut, st := runAll(t, b, spec)
	if st.Code != 0 {
		t.Fatalf("exit %d: %s %s", st.Code, out, errOut)
	}
	t.Logf("attempts:\n%s", out)
	for _, name := range []string{"env", "env_rm", "agent_yaml", "agent_yaml_rm", "agent_yml", "herdctl_yml", "truncate", "rename"} {
		if !strings.Contains(out, "refused="+name+" (") {
			t.Errorf("%s not refused", name)
		}
	}
	if !strings.Contains(out, "allowed=notes") {
		t.Error("the workspace is not writable")
	}
	for _, n := range []string{"agent.yaml", "agent.yml", "herdctl-agent.yml", ".env"} {
		fi, err := os.Lstat(filepath.Join(ws, n))
		if err != nil {
			t.Errorf("%s: no mount point left on the host: %v", n, err)
			continue
		}
		sys := fi.Sys().(*syscall.Stat_t)
		if !fi.Mode().IsRegular() || fi.Size() != 0 || sys.Uid != 0 || fi.Mode().Perm()&0o022 != 0 {
			t.Errorf("%s: %v size %d uid %d; want an empty root-owned file nobody else can write", n, fi.Mode(), fi.Size(), sys.Uid)
		}
	}
}
