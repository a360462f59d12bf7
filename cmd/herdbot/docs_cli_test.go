package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/config"
	"github.com/herdbot/herdbot/internal/testenv"
)

func readDoc(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section is the text of the markdown section headed title, up to the
// next heading of the same or a higher level.
func section(t *testing.T, doc, title string) string {
	t.Helper()
	i := strings.Index(doc, title+"\n")
	if i < 0 {
		t.Fatalf("no section %q", title)
	}
	level := strings.Count(strings.Fields(title)[0], "#")
	rest := doc[i+len(title)+1:]
	for _, m := range regexp.MustCompile(`(?m)^(#+) `).FindAllStringSubmatchIndex(rest, -1) {
		if m[3]-m[2] <= level {
			return rest[:m[0]]
		}
	}
	return rest
}

// TestDocsReloadSection keeps README's "Reload" section equal to what a
// reload does: the settings it says need a restart are exactly those
// reload refuses (reloadNeedsRestart), and no doc says otherwise.
func TestDocsReloadSection(t *testing.T) {
	readme := readDoc(t, "README.md")
	sec := section(t, readme, "### Reload")
	m := regexp.MustCompile(`It\s+cannot\s+change\s+([^:]+):`).FindStringSubmatch(sec)
	if m == nil {
		t.Fatalf("README's Reload section does not say what it cannot change:\n%s", sec)
	}
	var said []string
	for _, n := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(m[1], -1) {
		said = append(said, n[1])
	}
	var code []string
	for _, r := range reloadNeedsRestart {
		code = append(code, r.name)
	}
	slices.Sort(said)
	slices.Sort(code)
	if !slices.Equal(said, code) {
		t.Errorf("README says a reload cannot change %v; the code refuses %v", said, code)
	}
	for _, w := range []string{"agents added, removed or\nchanged", "schedules", "chat connections", "redaction"} {
		if !strings.Contains(sec, w) {
			t.Errorf("README's Reload section lacks %q", w)
		}
	}
	for _, doc := range []string{"README.md", "docs/security.md", "docs/migrating-from-herdctl.md", "docs/getting-started.md", "docs/configuration.md"} {
		text := readDoc(t, doc)
		for _, wrong := range []string{"applies schedules only", "reloads schedules on change, other changes need a restart"} {
			if strings.Contains(text, wrong) {
				t.Errorf("%s says a reload %q", doc, wrong)
			}
		}
	}
	mig := readDoc(t, "docs/migrating-from-herdctl.md")
	for _, n := range code {
		if !strings.Contains(mig, "`"+n+"`") {
			t.Errorf("docs/migrating-from-herdctl.md does not name %s among what needs a restart", n)
		}
	}
}

// TestReloadRefusesExactlyTheRestartSettings: a reload that changes one of
// reloadNeedsRestart is refused, naming it; a change to an agent is not.
func TestReloadRefusesExactlyTheRestartSettings(t *testing.T) {
	base := func() *config.Fleet {
		return &config.Fleet{Name: "f", StateDir: "/s", HTTP: config.HTTP{Listen: "127.0.0.1:9090"},
			Model:  config.Model{BaseURL: "https://api.anthropic.com", APIKey: "k"},
			Agents: []*config.Agent{{Name: "garden"}}}
	}
	for name, change := range map[string]func(f *config.Fleet){
		"state_dir":   func(f *config.Fleet) { f.StateDir = "/t" },
		"http.listen": func(f *config.Fleet) { f.HTTP.Listen = "127.0.0.1:9091" },
		"model_api":   func(f *config.Fleet) { f.Model.APIKey = "rotated" },
		"fleet.name":  func(f *config.Fleet) { f.Name = "g" },
		"engines": func(f *config.Fleet) {
			f.Engines = map[string]config.Engine{"box2": {Name: "box2", Host: "unix:///x.sock"}}
		},
		"web": func(f *config.Fleet) { f.Env = map[string]string{"HERDBOT_WEB_TOKEN": "new"} },
		"": func(f *config.Fleet) {
			f.Agents = []*config.Agent{{Name: "garden", Description: "changed"}, {Name: "homelab"}}
		},
	} {
		next := base()
		change(next)
		if got := sameFleetLevel(base(), next); got != name {
			t.Errorf("changing %q: reload names %q", name, got)
		}
	}
	if len(reloadNeedsRestart) != 6 {
		t.Errorf("reloadNeedsRestart has %d entries; this test and README's Reload section know 6", len(reloadNeedsRestart))
	}
}

// TestMakeHelpListsEveryTarget: `make help` names every target of the
// Makefile, and every `make X` the README and getting-started name exists.
func TestMakeHelpListsEveryTarget(t *testing.T) {
	mk := readDoc(t, "Makefile")
	var targets []string
	for _, m := range regexp.MustCompile(`(?m)^([a-z][a-z-]*):`).FindAllStringSubmatch(mk, -1) {
		targets = append(targets, m[1])
	}
	var helped []string
	for _, m := range regexp.MustCompile(`(?m)^\t@echo "make ([a-z-]+) `).FindAllStringSubmatch(mk, -1) {
		helped = append(helped, m[1])
	}
	slices.Sort(targets)
	slices.Sort(helped)
	for _, tg := range targets {
		if tg != "help" && !slices.Contains(helped, tg) {
			t.Errorf("make help does not list %s", tg)
		}
	}
	for _, h := range helped {
		if !slices.Contains(targets, h) {
			t.Errorf("make help lists %s, which the Makefile lacks", h)
		}
	}
	for _, doc := range []string{"README.md", "docs/getting-started.md"} {
		for _, m := range regexp.MustCompile("`make ([a-z-]+)|^make ([a-z-]+)").FindAllStringSubmatch(readDoc(t, doc), -1) {
			name := m[1] + m[2]
			if !slices.Contains(targets, name) {
				t.Errorf("%s names make %s, which the Makefile lacks", doc, name)
			}
		}
	}
}

// TestReadmeListsEveryCommand: README's command list names every
// subcommand a person uses.
func TestReadmeListsEveryCommand(t *testing.T) {
	sec := section(t, readDoc(t, "README.md"), "## Commands")
	for name := range commands() {
		if name == "egress" { // runs inside the sidecar, not by people
			continue
		}
		if !regexp.MustCompile(`\b` + name + `\b`).MatchString(sec) {
			t.Errorf("README's Commands section does not name %s", name)
		}
	}
}
