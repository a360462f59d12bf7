package hostile

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func testPaths(t *testing.T) Paths {
	ws, home := t.TempDir(), t.TempDir()
	return Paths{Workspace: ws, Home: home, CLIWorkspace: ws, CLIHome: home, RedirectURL: "http://127.0.0.1:1",
		SessionID: "0b7a2c52-7d3e-4c55-9a51-3f0e2d6f1c11"}
}

// tree returns every regular file below dir with its content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestScriptWritesWhatPlantWrites: the shell script an agent would run
// leaves exactly the files Plant writes from the host.
func TestScriptWritesWhatPlantWrites(t *testing.T) {
	a, b := testPaths(t), testPaths(t)
	seedAppendTargets(t, a, Merge(a, Cases()))
	seedAppendTargets(t, b, Merge(a, Cases()))
	if err := Plant(a, Merge(a, Cases()), -1, -1); err != nil {
		t.Fatal(err)
	}
	// b's files must hold the same paths as a's, so the script is made
	// for a's CLI paths and run with b's directories in their place.
	script := Script(a, Merge(a, Cases()))
	script = strings.NewReplacer(a.CLIWorkspace, b.Workspace, a.CLIHome, b.Home).Replace(script)
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = append(os.Environ(), "CLAUDE_CODE_SESSION_ID="+a.SessionID)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
		t.Fatalf("script: %v: %s", err, out)
	}
	for _, dirs := range [][2]string{{a.Workspace, b.Workspace}, {a.Home, b.Home}} {
		want, got := tree(t, dirs[0]), tree(t, dirs[1])
		if len(want) == 0 {
			t.Fatalf("nothing planted in %s", dirs[0])
		}
		for name, w := range want {
			g := strings.NewReplacer(b.Workspace, a.CLIWorkspace, b.Home, a.CLIHome).Replace(got[name])
			if g != w {
				t.Errorf("%s: script wrote\n%s\nPlant wrote\n%s", name, g, w)
			}
		}
		if len(got) != len(want) {
			t.Errorf("script wrote %d files, Plant %d", len(got), len(want))
		}
	}
	if err := Present(a, Merge(a, Cases())); err != nil {
		t.Errorf("Present after Plant: %v", err)
	}
}

// seedAppendTargets makes, for every Append file, one file its pattern
// names in p's directories, as the CLI would have (a snapshot, a
// transcript).
func seedAppendTargets(t *testing.T, p Paths, files []File) {
	t.Helper()
	for _, f := range files {
		if !f.Append {
			continue
		}
		base := p.Workspace
		if f.InHome {
			base = p.Home
		}
		rel := strings.ReplaceAll(strings.ReplaceAll(f.Path, "*", "x"), Session, p.SessionID)
		dest := filepath.Join(base, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dest, []byte("written by the CLI\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAppendFiles: an Append file's text goes at the end of every file
// its pattern names, with the session's id for Session, from the host
// (Plant) and from inside (Script) alike; with nothing to append to,
// Plant fails and Script says NotWritten; Present looks for the text.
func TestAppendFiles(t *testing.T) {
	p := testPaths(t)
	f := File{InHome: true, Path: "snaps/s-*.sh", Append: true, Text: "id " + Session + "\n"}
	if err := Plant(p, []File{f}, -1, -1); err == nil || !strings.Contains(err.Error(), "no file matches") {
		t.Errorf("Plant with nothing to append to: %v", err)
	}
	script := func() ([]byte, error) {
		cmd := exec.Command("/bin/sh", "-c", Script(p, []File{f}))
		cmd.Env = append(os.Environ(), "CLAUDE_CODE_SESSION_ID="+p.SessionID)
		return cmd.CombinedOutput()
	}
	if out, err := script(); err != nil || string(out) != NotWritten+p.Home+"/snaps/s-*.sh\n" {
		t.Errorf("script with nothing to append to: %v: %q", err, out)
	}
	if err := Present(p, []File{f}); err == nil {
		t.Error("Present found text nothing appended")
	}
	snaps := filepath.Join(p.Home, "snaps")
	if err := os.Mkdir(snaps, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"s-1.sh", "s-2.sh", "other.sh"} {
		if err := os.WriteFile(filepath.Join(snaps, n), []byte("cli\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := script(); err != nil || len(out) != 0 {
		t.Fatalf("script: %v: %q", err, out)
	}
	if err := Plant(p, []File{f}, -1, -1); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"s-1.sh":   "cli\nid " + p.SessionID + "\nid " + p.SessionID + "\n",
		"s-2.sh":   "cli\nid " + p.SessionID + "\nid " + p.SessionID + "\n",
		"other.sh": "cli\n",
	}
	if got := tree(t, snaps); !maps.Equal(got, want) {
		t.Errorf("after the script and Plant: %q, want %q", got, want)
	}
	if err := Present(p, []File{f}); err != nil {
		t.Errorf("Present: %v", err)
	}
}

// TestProjectKey: the CLI's folder name for a workspace.
func TestProjectKey(t *testing.T) {
	for in, want := range map[string]string{
		"/workspace":                  "-workspace",
		"/tmp/TestX123/001/workspace": "-tmp-TestX123-001-workspace",
		"/srv/my_agent.v2/ws":         "-srv-my-agent-v2-ws",
	} {
		if got := projectKey(in); got != want {
			t.Errorf("projectKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMergeKeepsEveryCasesKeys: files of several cases at one place are
// merged so that each case's keys survive.
func TestMergeKeepsEveryCasesKeys(t *testing.T) {
	p := testPaths(t)
	var userSettingsFile *File
	merged := Merge(p, Cases())
	for i, f := range merged {
		if f.InHome && f.Path == userSettings {
			userSettingsFile = &merged[i]
		}
	}
	if userSettingsFile == nil {
		t.Fatal("no merged user settings")
	}
	perms, _ := userSettingsFile.JSON["permissions"].(map[string]any)
	for _, k := range []string{"hooks", "apiKeyHelper", "env"} {
		if _, ok := userSettingsFile.JSON[k]; !ok {
			t.Errorf("merged user settings lack %s", k)
		}
	}
	if perms["allow"] == nil || perms["defaultMode"] != "bypassPermissions" {
		t.Errorf("merged permissions %v: want allow and defaultMode", perms)
	}
	places := map[string]bool{}
	for _, f := range merged {
		key := filepath.Join(map[bool]string{false: "workspace", true: "home"}[f.InHome], f.Path)
		if places[key] {
			t.Errorf("two merged files at %s", key)
		}
		places[key] = true
	}
}

// TestPresentNoticesLostKeys: a JSON file that lost a planted key, or a
// changed text file, is reported; keys the CLI added are not.
func TestPresentNoticesLostKeys(t *testing.T) {
	p := testPaths(t)
	files := []File{
		{InHome: true, Path: ".claude.json", JSON: map[string]any{"mcpServers": map[string]any{"x": map[string]any{"command": "c"}}}},
		{Path: "a.md", Text: "text"},
	}
	if err := Plant(p, files, -1, -1); err != nil {
		t.Fatal(err)
	}
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cj := filepath.Join(p.Home, ".claude.json")
	write(cj, `{"userID":"u","mcpServers":{"x":{"command":"c"},"y":{}}}`)
	if err := Present(p, files); err != nil {
		t.Errorf("keys added by the CLI: %v", err)
	}
	write(cj, `{"userID":"u"}`)
	if err := Present(p, files); err == nil {
		t.Error("lost mcpServers not noticed")
	}
	write(cj, `{"mcpServers":{"x":{"command":"other"}}}`)
	if err := Present(p, files); err == nil {
		t.Error("changed value not noticed")
	}
	b, _ := json.Marshal(files[0].JSON)
	write(cj, string(b))
	write(filepath.Join(p.Workspace, "a.md"), "changed")
	if err := Present(p, files); err == nil {
		t.Error("changed text not noticed")
	}
}

func TestUnprotect(t *testing.T) {
	argv := []string{"claude", "-p", "--setting-sources=", "--strict-mcp-config", "--permission-mode=default",
		`--settings={"permissions":{}}`, "--allowedTools=Bash", "--mcp-config={}"}
	want := []string{"claude", "-p", "--permission-mode=default", "--allowedTools=Bash", "--mcp-config={}"}
	if got := Unprotect(argv); !slices.Equal(got, want) {
		t.Errorf("Unprotect = %q, want %q", got, want)
	}
}

// TestCasesAreWellFormed: names are unique, every file is relative and
// every effect's markers and loads carry the names the checks look for.
func TestCasesAreWellFormed(t *testing.T) {
	p := testPaths(t)
	seen := map[string]bool{}
	for _, c := range Cases() {
		if seen[c.Name] {
			t.Errorf("duplicate case %q", c.Name)
		}
		seen[c.Name] = true
		if len(c.Files(p)) == 0 {
			t.Errorf("%s: no files", c.Name)
		}
		for _, f := range c.Files(p) {
			if filepath.IsAbs(f.Path) || strings.Contains(f.Path, "..") {
				t.Errorf("%s: path %q", c.Name, f.Path)
			}
		}
		for _, f := range c.Files(p) {
			if strings.Contains(f.Path, Session) != c.Resumed {
				t.Errorf("%s: %s; want %s in the paths of resumed cases only", c.Name, f.Path, Session)
			}
			if f.Append && !c.Live && !c.Resumed {
				t.Errorf("%s: %s appends, but nothing is there to append to before the CLI starts", c.Name, f.Path)
			}
		}
		if c.Live && c.Resumed {
			t.Errorf("%s: Live and Resumed", c.Name)
		}
		if c.Command != nil && !c.Live {
			t.Errorf("%s: a Command runs only in the agent's plant command (Live)", c.Name)
		}
		for _, l := range c.Unprotected.Loads {
			if !strings.Contains(l, Evil) {
				t.Errorf("%s: load %q lacks %q, Check would not see it", c.Name, l, Evil)
			}
		}
	}
}

// TestScriptGoesOnPastUnwritablePlaces: a file the script cannot write is
// reported with NotWritten and its path, and the files after it are
// written; Absent tells the two apart.
func TestScriptGoesOnPastUnwritablePlaces(t *testing.T) {
	p := testPaths(t)
	files := []File{
		{InHome: true, Path: "locked/a", Text: "a\n"},
		{InHome: true, Path: ".claude/session-env/" + Session + "/sessionstart-hook-0.sh", Text: "b\n"},
		{Path: "c", Text: "c\n"},
	}
	// A file where the directory should be: no one, root included, can
	// write below it.
	if err := os.WriteFile(filepath.Join(p.Home, "locked"), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", Script(p, files))
	cmd.Env = append(os.Environ(), "CLAUDE_CODE_SESSION_ID="+p.SessionID)
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != NotWritten+p.Home+"/locked/a\n" {
		t.Fatalf("script: %v: %q", err, out)
	}
	if err := Present(p, files[1:]); err != nil {
		t.Errorf("the files after the read-only one: %v", err)
	}
	if err := Absent(p, files[:1]); err != nil {
		t.Errorf("Absent: %v", err)
	}
	if err := Absent(p, files[1:2]); err == nil {
		t.Error("Absent missed a written file")
	}
}
