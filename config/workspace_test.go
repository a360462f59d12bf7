package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loadIn writes files into a new temp dir, with "{{dir}}" in contents
// replaced by that dir, makes the directories in dirs and the symbolic
// links in links ({name, target}, relative to the dir), and loads the fleet
// with procEnv (values also expanded).
func loadIn(t *testing.T, files map[string]string, dirs []string, procEnv map[string]string, links ...[2]string) (*Fleet, string, error) {
	t.Helper()
	dir := t.TempDir()
	x := func(s string) string { return strings.ReplaceAll(s, "{{dir}}", dir) }
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(x(content)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range links {
		if err := os.Symlink(filepath.Join(dir, l[1]), filepath.Join(dir, l[0])); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{}
	for k, v := range procEnv {
		env[k] = x(v)
	}
	f, err := load(dir, mapLookup(env))
	return f, dir, err
}

// TestWorkspacePlacement tries every placement of working_directory that
// would expose herdbot's state, the fleet, another agent or the host, set
// in the agent file and in the fleet file's overrides alike: each is an
// error at working_directory naming what it would expose.
func TestWorkspacePlacement(t *testing.T) {
	home := map[string]string{"HOME": "{{dir}}/users/bot"}
	dirs := []string{".herdbot/agents/b/home", "state/x", "users/bot/x", "shared"}
	for _, tc := range []struct {
		name, ws string
		extra    map[string]string // more files
		link     [2]string         // symlink to make: {name, target}, relative to the dir
		want     string
	}{
		{name: "DefaultStateDirRelative", ws: "../../.herdbot", want: "is herdbot's state directory"},
		{name: "StateDirAbsolute", ws: "{{dir}}/state", extra: map[string]string{"herdbot.yaml": "state_dir: {{dir}}/state\n"}, want: "is herdbot's state directory"},
		{name: "InsideStateDir", ws: "../../.herdbot/agents/b", want: "lies inside herdbot's state directory"},
		{name: "HerdbotHome", ws: "{{dir}}/users/bot", want: "is herdbot's home directory"},
		{name: "ContainsHerdbotHome", ws: "{{dir}}/users", want: "contains herdbot's home directory"},
		{name: "Tilde", ws: "~", want: "is herdbot's home directory"},
		{name: "TildeUser", ws: "~bob/x", want: "only ~ and ~/ (herdbot's own home) are expanded"},
		{name: "Root", ws: "/root", want: "is the system directory /root"},
		{name: "Slash", ws: "/", want: "is the root directory /"},
		{name: "Etc", ws: "/etc", want: "is the system directory /etc"},
		{name: "FleetDir", ws: "../..", want: "is the fleet directory"},
		{name: "ContainsFleetDir", ws: "../../..", want: "contains the fleet directory"},
		{name: "OtherAgentsDir", ws: "../b", want: "is agent b's directory"},
		{name: "InsideOtherAgentsDir", ws: "../b/sub", extra: map[string]string{"agents/b/sub/f": "x"}, want: "lies inside agent b's directory"},
		{name: "ContainsOtherAgents", ws: "..", want: "contains agent b's directory"},
		{name: "OtherAgentsWorkspace", ws: "{{dir}}/shared", extra: map[string]string{"agents/b/agent.yaml": "name: b\nworking_directory: {{dir}}/shared\n"}, want: "is agent b's workspace"},
		{name: "SymlinkIntoStateDir", ws: "{{dir}}/link", link: [2]string{"link", ".herdbot/agents"}, want: "resolves to"},
		{name: "SymlinkToFleetDir", ws: "{{dir}}/up", link: [2]string{"up", "."}, want: "is the fleet directory"},
	} {
		for _, where := range []string{"agent file", "fleet file"} {
			t.Run(tc.name+"/"+strings.ReplaceAll(where, " ", "_"), func(t *testing.T) {
				files := with(baseFleet, map[string]string{"agents/b/agent.yaml": "name: b\n"})
				fleet := "agents:\n  - path: agents/a\n  - path: agents/b\n"
				wantFile := "agents/a/agent.yaml"
				if where == "agent file" {
					files["agents/a/agent.yaml"] = "name: a\nworking_directory: \"" + tc.ws + "\"\n"
				} else {
					fleet = "agents:\n  - path: agents/a\n    overrides:\n      working_directory: \"" + tc.ws + "\"\n  - path: agents/b\n"
					wantFile = "herdbot.yaml"
				}
				for k, v := range tc.extra {
					if k == "herdbot.yaml" {
						fleet = v + fleet
						continue
					}
					files[k] = v
				}
				files["herdbot.yaml"] = fleet
				var links [][2]string
				if tc.link[0] != "" {
					links = append(links, tc.link)
				}
				_, _, err := loadIn(t, files, dirs, home, links...)
				p := findProblem(t, err, wantFile, fieldFor(where), tc.want)
				if tc.name != "TildeUser" && !strings.Contains(p.Message, "an agent's workspace may not hold or lie in") {
					t.Errorf("message does not say why: %s", p.Message)
				}
			})
		}
	}
}

func fieldFor(where string) string {
	if where == "agent file" {
		return "working_directory"
	}
	return "agents[0].overrides.working_directory"
}

// TestWorkspaceAllowed: the usual placements still load: the agent's own
// directory (default), a directory inside it, a directory outside the
// fleet, ~/x expanded to herdbot's home, and two read-only agents sharing
// one workspace.
func TestWorkspaceAllowed(t *testing.T) {
	home := map[string]string{"HOME": "{{dir}}/users/bot"}
	dirs := []string{"users/bot/x", "agents/a/work", "projects/garden", "shared"}
	for _, tc := range []struct {
		name, ws, want string
		fleet          string
	}{
		{name: "Default", ws: "", want: "{{dir}}/agents/a"},
		{name: "InsideOwnDir", ws: "work", want: "{{dir}}/agents/a/work"},
		{name: "OutsideTheFleet", ws: "{{dir}}/projects/garden", want: "{{dir}}/projects/garden"},
		{name: "TildeSlash", ws: "~/x", want: "{{dir}}/users/bot/x"},
		{name: "TwoReadOnlyAgentsShare", ws: "{{dir}}/shared", want: "{{dir}}/shared",
			fleet: "defaults:\n  docker:\n    workspace_mode: ro\nagents:\n  - path: agents/a\n  - path: agents/b\n    overrides:\n      working_directory: {{dir}}/shared\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agent := "name: a\n"
			if tc.ws != "" {
				agent += "working_directory: \"" + tc.ws + "\"\n"
			}
			fleet := tc.fleet
			if fleet == "" {
				fleet = "agents:\n  - path: agents/a\n  - path: agents/b\n"
			}
			f, dir, err := loadIn(t, map[string]string{"herdbot.yaml": fleet, "agents/a/agent.yaml": agent, "agents/b/agent.yaml": "name: b\n"}, dirs, home)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := f.Agent("a").WorkingDirectory, strings.ReplaceAll(tc.want, "{{dir}}", dir); got != want {
				t.Errorf("working directory %s, want %s", got, want)
			}
		})
	}
}

// TestWorkspaceSharedReadWriteRefused: one writable agent sharing a
// workspace with a read-only one could plant files for it: refused.
func TestWorkspaceSharedReadWriteRefused(t *testing.T) {
	_, _, err := loadIn(t, map[string]string{
		"herdbot.yaml":        "agents:\n  - path: agents/a\n    overrides:\n      docker:\n        workspace_mode: ro\n  - path: agents/b\n",
		"agents/a/agent.yaml": "name: a\nworking_directory: {{dir}}/shared\n",
		"agents/b/agent.yaml": "name: b\nworking_directory: {{dir}}/shared\n",
	}, []string{"shared"}, nil)
	findProblem(t, err, "agents/a/agent.yaml", "working_directory", "is agent b's workspace")
	findProblem(t, err, "agents/b/agent.yaml", "working_directory", "is agent a's workspace")
}

// TestTildePaths: ~ in state_dir and agents[].path is herdbot's home.
func TestTildePaths(t *testing.T) {
	f, dir, err := loadIn(t, map[string]string{
		"herdbot.yaml":                  "state_dir: ~/state\nagents:\n  - path: ~/agents/c\n",
		"users/bot/agents/c/agent.yaml": "name: c\n",
	}, nil, map[string]string{"HOME": "{{dir}}/users/bot"})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "users/bot/state"); f.StateDir != want {
		t.Errorf("state dir %s, want %s", f.StateDir, want)
	}
	if want := filepath.Join(dir, "users/bot/agents/c/agent.yaml"); f.Agents[0].File != want {
		t.Errorf("agent file %s, want %s", f.Agents[0].File, want)
	}
	_, _, err = loadIn(t, map[string]string{"herdbot.yaml": "state_dir: ~other/state\nagents:\n  - path: agents/a\n", "agents/a/agent.yaml": "name: a\n"}, nil, nil)
	findProblem(t, err, "herdbot.yaml", "state_dir", "only ~ and ~/")
}
