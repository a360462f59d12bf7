package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// otherUID is a uid that is neither ours nor root's.
const otherUID = 4242

// TestAgentFilesMustBeTheOperators: an agent .env or agent file that the
// agent (or anyone but herdbot's user and root) could have written is
// refused with a message that says how to fix it; so an agent-writable
// .env can never feed the agent file or the fleet's overrides for it.
func TestAgentFilesMustBeTheOperators(t *testing.T) {
	fleet := "agents:\n  - path: agents/a\n    overrides:\n      approvers:\n        console: [\"${APPROVER}\"]\n"
	for _, tc := range []struct {
		name, file string
		prep       func(t *testing.T, path string)
		want       string
	}{
		{"EnvGroupWritable", "agents/a/.env", chmod(0o664), "writable by group or others (mode 0664); herdbot reads an agent's file and .env only when nobody but their owner can change them: chmod go-w"},
		{"EnvWorldWritable", "agents/a/.env", chmod(0o646), "writable by group or others (mode 0646)"},
		{"EnvOtherOwner", "agents/a/.env", chown(otherUID), "belongs to uid 4242, not to herdbot's user"},
		{"EnvSymlink", "agents/a/.env", symlinkTo("../../fleet-secrets.env"), "is a symbolic link"},
		{"AgentFileGroupWritable", "agents/a/agent.yaml", chmod(0o660), "writable by group or others (mode 0660)"},
		{"AgentFileOtherOwner", "agents/a/agent.yaml", chown(otherUID), "belongs to uid 4242"},
		{"AgentFileSymlink", "agents/a/agent.yaml", symlinkTo("../../elsewhere.yaml"), "is a symbolic link"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{
				"herdbot.yaml":        fleet,
				"agents/a/agent.yaml": "name: a\n",
				"agents/a/.env":       "APPROVER=mallory\n",
				"fleet-secrets.env":   "APPROVER=mallory\n",
				"elsewhere.yaml":      "name: a\n",
			})
			tc.prep(t, filepath.Join(dir, filepath.FromSlash(tc.file)))
			f, err := load(dir, mapLookup(map[string]string{"APPROVER": "operator"}))
			if f != nil {
				t.Fatalf("loaded; approvers %v", f.Agents[0].Approvers.Console)
			}
			findProblem(t, err, tc.file, "", tc.want)
		})
	}
}

func chmod(mode os.FileMode) func(*testing.T, string) {
	return func(t *testing.T, p string) {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// chown gives the file to uid; without root, it checks as if herdbot ran
// as another user instead (the file stays ours, which is then not
// herdbot's), since only root can give files away.
func chown(uid int) func(*testing.T, string) {
	return func(t *testing.T, p string) {
		if os.Geteuid() != 0 {
			t.Skipf("giving a file to uid %d needs root; the non-root case is TestCheckOperatorFileOtherUser", uid)
		}
		if err := os.Chown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
}

func symlinkTo(target string) func(*testing.T, string) {
	return func(t *testing.T, p string) {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCheckOperatorFileOtherUser: a file owned by neither herdbot's user
// nor root is refused; one owned by either is accepted, as is herdbot's
// empty read-only placeholder.
func TestCheckOperatorFileOtherUser(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(p, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	me := os.Geteuid()
	if err := checkOperatorFile(p, me); err != nil {
		t.Errorf("own placeholder refused: %v", err)
	}
	if me != 0 {
		if err := checkOperatorFile(p, me+1); err == nil || !strings.Contains(err.Error(), "not to herdbot's user") {
			t.Errorf("a file of uid %d checked for uid %d: %v", me, me+1, err)
		}
	} else if err := checkOperatorFile(p, otherUID); err != nil {
		t.Errorf("a root-owned file is the operator's: %v", err)
	}
}

// TestEnvPlaceholderLoads: the empty read-only .env herdbot puts in an
// agent directory loads as an empty .env.
func TestEnvPlaceholderLoads(t *testing.T) {
	dir := writeFiles(t, baseFleet)
	if err := os.WriteFile(filepath.Join(dir, "agents/a/.env"), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	f, err := load(dir, mapLookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Agents[0].Env) != 0 {
		t.Errorf("env %v", f.Agents[0].Env)
	}
}

// TestPlaceholderIsNeverTheAgentFile: an empty agent.yaml (herdbot's
// placeholder) beside herdctl-agent.yaml does not win.
func TestPlaceholderIsNeverTheAgentFile(t *testing.T) {
	f := mustLoad(t, map[string]string{
		"herdbot.yaml":                "agents:\n  - path: agents/a\n",
		"agents/a/agent.yaml":         "",
		"agents/a/agent.yml":          "",
		"agents/a/herdctl-agent.yaml": "name: a\n",
	}, nil)
	if got := filepath.Base(f.Agents[0].File); got != "herdctl-agent.yaml" {
		t.Fatalf("agent file %s", got)
	}
}

// TestReloadKeepsTheAgentFile: an agent file name that appears beside the
// one loaded at start is ignored by Reload with a warning (what it says is
// not applied); one that replaced it makes Reload fail. A fresh Load is
// what would read it, i.e. a restart.
func TestReloadKeepsTheAgentFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"herdbot.yaml":                "agents:\n  - path: agents/a\n",
		"agents/a/herdctl-agent.yaml": "name: a\napprovers:\n  console: [operator]\n",
	})
	first, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(dir, "agents/a/agent.yaml")
	if err := os.WriteFile(planted, []byte("name: a\napprovers:\n  console: [mallory]\npermission_mode: acceptEdits\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	next, err := Reload(first)
	if err != nil {
		t.Fatal(err)
	}
	a := next.Agents[0]
	if filepath.Base(a.File) != "herdctl-agent.yaml" || strings.Join(a.Approvers.Console, ",") != "operator" || a.PermissionMode != "default" {
		t.Fatalf("reload applied the planted file: %s approvers %v mode %s", a.File, a.Approvers.Console, a.PermissionMode)
	}
	if w := strings.Join(next.Warnings, "\n"); !strings.Contains(w, "agent.yaml appeared beside") || !strings.Contains(w, "is ignored") {
		t.Errorf("no warning about the new file: %q", w)
	}
	// The pin follows the reloaded fleet, too.
	again, err := Reload(next)
	if err != nil || filepath.Base(again.Agents[0].File) != "herdctl-agent.yaml" {
		t.Fatalf("second reload: %v", err)
	}

	if err := os.Remove(filepath.Join(dir, "agents/a/herdctl-agent.yaml")); err != nil {
		t.Fatal(err)
	}
	_, err = Reload(first)
	findProblem(t, err, "herdbot.yaml", "agents[0].path", "a reload never switches an agent to another file: restart herdbot")
}

// TestReloadRefusesAWritableEnv: a .env that appears with group write
// permission makes the reload fail; the running config stays.
func TestReloadRefusesAWritableEnv(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"herdbot.yaml":        "agents:\n  - path: agents/a\n    overrides:\n      approvers:\n        console: [\"${WHO:-operator}\"]\n",
		"agents/a/agent.yaml": "name: a\n",
	})
	first, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	env := filepath.Join(dir, "agents/a/.env")
	if err := os.WriteFile(env, []byte("WHO=mallory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(env, 0o666); err != nil {
		t.Fatal(err)
	}
	_, err = Reload(first)
	findProblem(t, err, "agents/a/.env", "", "writable by group or others")
}
