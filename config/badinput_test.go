package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInputNeverPanics feeds hostile or broken files to Load; each must
// give a clear *Errors, never a panic.
func TestBadInputNeverPanics(t *testing.T) {
	bomb := `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`
	big := "name: a\ndescription: \"" + strings.Repeat("x", 10<<20) + "\"\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		file  string
		msg   string
	}{
		// An empty agent file is herdbot's read-only placeholder, never the agent file.
		{"EmptyAgentFile", map[string]string{"agents/a/agent.yaml": ""}, "herdbot.yaml", "an empty file is herdbot's read-only placeholder"},
		{"CommentsOnly", map[string]string{"agents/a/agent.yaml": "# nothing\n"}, "agents/a/agent.yaml", "required"},
		{"YAMLBombAgent", map[string]string{"agents/a/agent.yaml": "name: a\nx:\n" + indent(bomb)}, "agents/a/agent.yaml", "alias bomb"},
		{"YAMLBombFleet", map[string]string{"herdbot.yaml": bomb + "agents:\n  - path: agents/a\n"}, "herdbot.yaml", "alias bomb"},
		{"NonUTF8", map[string]string{"agents/a/agent.yaml": "name: \xff\xfe\n"}, "agents/a/agent.yaml", "not valid UTF-8"},
		{"NonUTF8Env", map[string]string{"agents/a/.env": "A=\xc3\x28\n"}, "agents/a/.env", "not valid UTF-8"},
		{"NULByte", map[string]string{"agents/a/agent.yaml": "name: a\x00\n"}, "agents/a/agent.yaml", "NUL"},
		{"TenMegabytes", map[string]string{"agents/a/agent.yaml": big}, "agents/a/agent.yaml", "limited to 1048576 bytes"},
		{"TwoDocuments", map[string]string{"agents/a/agent.yaml": "name: a\n---\nname: b\n"}, "agents/a/agent.yaml", "more than one YAML document"},
		{"DeepNesting", map[string]string{"agents/a/agent.yaml": "name: a\nx: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n"}, "agents/a/agent.yaml", ""},
		{"ScalarTop", map[string]string{"herdbot.yaml": "just text\n"}, "herdbot.yaml", "top level must be a mapping"},
		{"WrongShapes", map[string]string{"agents/a/agent.yaml": "name: [a]\nschedules: 5\ndocker: yes\nchat:\n  discord: 3\n"}, "agents/a/agent.yaml", ""},
		{"MergeKeyNotMapping", map[string]string{"agents/a/agent.yaml": "name: a\nsession:\n  <<: 5\n"}, "agents/a/agent.yaml", "merge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := loadFiles(t, with(baseFleet, tc.files), nil)
			ps := problemsOf(t, err)
			found := false
			for _, p := range ps {
				if strings.HasSuffix(p.File, filepath.FromSlash(tc.file)) && strings.Contains(p.Message, tc.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem in %s containing %q:\n%v", tc.file, tc.msg, err)
			}
		})
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}

// TestDirectoryWhereFileShouldBe covers directories in place of the fleet
// file, an agent file and .env files.
func TestDirectoryWhereFileShouldBe(t *testing.T) {
	t.Run("FleetDirWithoutFleetFile", func(t *testing.T) {
		_, err := load(t.TempDir(), mapLookup(nil))
		if p := problemsOf(t, err); !strings.Contains(p[0].Message, "no herdbot.yaml or herdctl.yaml") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("FleetFileIsDir", func(t *testing.T) {
		dir := writeFiles(t, baseFleet)
		os.Remove(filepath.Join(dir, "herdbot.yaml"))
		os.Mkdir(filepath.Join(dir, "herdbot.yaml"), 0o755)
		_, err := load(filepath.Join(dir, "herdbot.yaml"), mapLookup(nil))
		if p := problemsOf(t, err); !strings.Contains(p[0].Message, "is a directory") {
			t.Errorf("got %v", err)
		}
	})
	for _, name := range []string{"agents/a/agent.yaml/", "agents/a/.env/", ".env/"} {
		t.Run(strings.Trim(name, "/"), func(t *testing.T) {
			dir := writeFiles(t, baseFleet)
			p := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(name, "/")))
			os.Remove(p)
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := load(dir, mapLookup(nil))
			ps := problemsOf(t, err)
			if !strings.Contains(err.Error(), "is a directory") {
				t.Errorf("got %v", ps)
			}
		})
	}
	t.Run("MissingPath", func(t *testing.T) {
		_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
		var es *Errors
		if !errors.As(err, &es) || !strings.Contains(err.Error(), "no such file") {
			t.Errorf("got %T %v", err, err)
		}
	})
}
