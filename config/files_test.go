package config

import (
	"strings"
	"testing"
)

// TestFilesLimits: the fleet file sets the files limits (defaults,
// overrides); an agent file may only narrow them.
func TestFilesLimits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fleet string // herdbot.yaml ("" = baseFleet's)
		agent string // appended to agents/a/agent.yaml
		want  Files
	}{
		{"Default", "", "", Files{true, DefaultMaxFileSize, DefaultMaxMessageSize, DefaultMaxFileCount, DefaultFileTypes}},
		{"AgentNarrows", "", "files:\n  enabled: false\n  max_file_size: 1m\n  max_message_size: 2m\n  max_count: 2\n  types: [text/plain, image/png]\n",
			Files{false, 1 << 20, 2 << 20, 2, []string{"text/plain", "image/png"}}},
		{"AgentTakesNoType", "", "files:\n  types: []\n", Files{true, DefaultMaxFileSize, DefaultMaxMessageSize, DefaultMaxFileCount, []string{}}},
		{"FleetDefaultsWiden", "defaults:\n  files:\n    max_file_size: 100m\n    max_count: 50\n    types: ['*']\nagents:\n  - path: agents/a\n", "files:\n  max_file_size: 50m\n  types: [application/octet-stream]\n",
			Files{true, 50 << 20, DefaultMaxMessageSize, 50, []string{"application/octet-stream"}}},
		{"OverridesWin", "agents:\n  - path: agents/a\n    overrides:\n      files:\n        max_count: 40\n        enabled: true\n", "files:\n  max_count: 3\n  enabled: false\n",
			Files{true, DefaultMaxFileSize, DefaultMaxMessageSize, 40, DefaultFileTypes}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := with(baseFleet, map[string]string{"agents/a/agent.yaml": "name: a\n" + tc.agent})
			if tc.fleet != "" {
				files["herdbot.yaml"] = tc.fleet
			}
			f := mustLoad(t, files, nil)
			got := f.Agents[0].Files
			if got.Enabled != tc.want.Enabled || got.MaxFileSize != tc.want.MaxFileSize || got.MaxMessageSize != tc.want.MaxMessageSize ||
				got.MaxCount != tc.want.MaxCount || strings.Join(got.Types, ",") != strings.Join(tc.want.Types, ",") || (got.Types == nil) != (tc.want.Types == nil) {
				t.Fatalf("files %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestFilesLimitsErrors: an agent file that widens a limit is an error
// naming its file and field; bad values are errors too.
func TestFilesLimitsErrors(t *testing.T) {
	for _, tc := range []struct {
		name             string
		fleet, agent     string
		file, field, msg string
	}{
		{name: "AgentRaisesSize", agent: "files:\n  max_file_size: 11m\n",
			file: "agents/a/agent.yaml", field: "files.max_file_size", msg: "above the fleet's 10MiB; an agent file may only narrow"},
		{name: "AgentRaisesCount", agent: "files:\n  max_count: 11\n",
			file: "agents/a/agent.yaml", field: "files.max_count", msg: "11 is above the fleet's 10"},
		{name: "AgentAddsType", agent: "files:\n  types: [text/plain, application/octet-stream]\n",
			file: "agents/a/agent.yaml", field: "files.types[1]", msg: "application/octet-stream is not among the fleet's types"},
		{name: "AgentAddsStar", agent: "files:\n  types: ['*']\n",
			file: "agents/a/agent.yaml", field: "files.types[0]", msg: "is not among the fleet's types"},
		{name: "AgentTurnsOnWhatFleetTurnedOff", fleet: "defaults:\n  files:\n    enabled: false\nagents:\n  - path: agents/a\n", agent: "files:\n  enabled: true\n",
			file: "agents/a/agent.yaml", field: "files.enabled", msg: "files are off for this agent in the fleet file"},
		{name: "BadSize", agent: "files:\n  max_message_size: lots\n",
			file: "agents/a/agent.yaml", field: "files.max_message_size", msg: `invalid size "lots"`},
		{name: "BadType", fleet: "defaults:\n  files:\n    types: [text]\nagents:\n  - path: agents/a\n",
			file: "herdbot.yaml", field: "defaults.files.types[0]", msg: `invalid file type "text"`},
		{name: "ZeroCount", agent: "files:\n  max_count: 0\n",
			file: "agents/a/agent.yaml", field: "files.max_count", msg: "must be 1 or more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := with(baseFleet, map[string]string{"agents/a/agent.yaml": "name: a\n" + tc.agent})
			if tc.fleet != "" {
				files["herdbot.yaml"] = tc.fleet
			}
			_, _, err := loadFiles(t, files, nil)
			findProblem(t, err, tc.file, tc.field, tc.msg)
			if ps := problemsOf(t, err); len(ps) != 1 {
				t.Errorf("want one problem, got:\n%v", err)
			}
		})
	}
}
