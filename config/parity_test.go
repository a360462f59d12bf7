package config

import (
	"strings"
	"testing"
	"time"
)

// warningsContaining returns the warnings of f that contain every part.
func warningsContaining(ws []string, parts ...string) []string {
	var out []string
	for _, w := range ws {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(w, p)
		}
		if ok {
			out = append(out, w)
		}
	}
	return out
}

// TestHerdctlDefaults: what herdctl does when a field is left out.
func TestHerdctlDefaults(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{
		"herdbot.yaml": "version: 2\nagents:\n  - path: agents/a\n  - path: agents/b\n",
		"agents/a/agent.yaml": "name: a\ndefault_prompt: Do the usual.\nschedules:\n  s:\n    type: interval\n    interval: \"5 m\"\n" +
			"chat:\n  slack:\n    channels: []\n",
		"agents/a/.env":       "SLACK_BOT_TOKEN=xoxb-a\nSLACK_APP_TOKEN=xapp-a\n",
		"agents/b/agent.yaml": "name: b\npermission_mode: delegate\nschedules:\n  s:\n    type: cron\n    expression: \"0 9 L * *\"\n",
	}), nil)
	a, b := f.Agent("a"), f.Agent("b")
	if s := a.Schedules[0]; s.Prompt != "Do the usual." || s.Interval != 5*time.Minute {
		t.Errorf("a's schedule = %+v; want default_prompt and 5m", s)
	}
	if s := b.Schedules[0]; s.Prompt != DefaultSchedulePrompt || s.Cron != "0 9 L * *" {
		t.Errorf("b's schedule = %+v; want herdctl's fallback prompt", s)
	}
	if sl := a.Chat.Slack; sl.BotTokenEnv != "SLACK_BOT_TOKEN" || sl.AppTokenEnv != "SLACK_APP_TOKEN" || !sl.Connected() {
		t.Errorf("slack = %+v; want herdctl's token variable names", sl)
	}
	if b.PermissionMode != "default" || len(warningsContaining(f.Warnings, "permission_mode", "delegate", "runs with permission mode default")) != 1 {
		t.Errorf("delegate: mode %q, warnings:\n%s", b.PermissionMode, strings.Join(f.Warnings, "\n"))
	}

	// A fleet with no agents loads, with a warning.
	f = mustLoad(t, map[string]string{"herdctl.yml": "version: 1\n"}, nil)
	if len(f.Agents) != 0 || len(warningsContaining(f.Warnings, "no agents")) != 1 || !strings.HasSuffix(f.Path, "herdctl.yml") {
		t.Errorf("empty fleet: %s %d agents, warnings %q", f.Path, len(f.Agents), f.Warnings)
	}
}

// TestHerdctlOldNames: workspace is read as working_directory and
// base_image as image, each with a warning; the new name wins when both
// are set.
func TestHerdctlOldNames(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{
		"herdbot.yaml":        "docker:\n  base_image: old-image:1\ndefaults:\n  workspace: ./ws\nagents:\n  - path: agents/a\n  - path: agents/b\n",
		"ws/.keep":            "",
		"agents/a/agent.yaml": "name: a\nworkspace: ../../wa\n",
		"wa/.keep":            "",
		"agents/b/agent.yaml": "name: b\n",
	}), nil)
	a, b := f.Agent("a"), f.Agent("b")
	if !strings.HasSuffix(a.WorkingDirectory, "/wa") || !strings.HasSuffix(b.WorkingDirectory, "/ws") {
		t.Errorf("workspaces %s, %s; want wa (agent file) and ws (defaults, relative to the fleet file)", a.WorkingDirectory, b.WorkingDirectory)
	}
	if a.Docker.Image != "old-image:1" {
		t.Errorf("image %q; want base_image's", a.Docker.Image)
	}
	for _, w := range []string{"defaults.workspace: workspace is herdctl's old name", "agents/a/agent.yaml:2: workspace: workspace is herdctl's old name", "docker.base_image: base_image is herdctl's old name for image"} {
		if len(warningsContaining(f.Warnings, w)) != 1 {
			t.Errorf("no warning %q in:\n%s", w, strings.Join(f.Warnings, "\n"))
		}
	}
}

// TestHerdctlLenientObjects: inside herdctl's lenient objects an unknown
// key is warned about and dropped (herdctl drops it silently), unless it
// looks like a misspelt known key; herdctl's strict objects refuse it.
func TestHerdctlLenientObjects(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{
		"agents/a/agent.yaml": "name: a\nsession:\n  resume: true\nmcp_servers:\n  gh:\n    command: npx\n    timeout: 30000\n    alwaysLoad: true\n" +
			"chat:\n  discord:\n    bot_token_env: T\n    skills: [x]\n    guilds:\n      - id: \"1\"\n        nickname: bob\n",
	}), nil)
	for _, w := range []string{"session.resume: unknown key: ignored (herdctl ignores it too)", "mcp_servers.gh.timeout: mcp_servers.*.timeout is not supported",
		"mcp_servers.gh.alwaysLoad", "chat.discord.skills", "chat.discord.guilds[0].nickname: unknown key"} {
		if len(warningsContaining(f.Warnings, w)) != 1 {
			t.Errorf("want one warning %q in:\n%s", w, strings.Join(f.Warnings, "\n"))
		}
	}
	for _, tc := range []struct{ file, field, msg string }{
		{"name: a\nsession:\n  timout: 1h\n", "session.timout", "did you mean timeout?"},
		{"name: a\nchat:\n  discord:\n    bot_token_env: T\n    guilds: []\n    allowed_user: [\"1\"]\n", "chat.discord.allowed_user", "did you mean allowed_users?"},
		{"name: a\nmodel_name: x\n", "model_name", "unknown key"},
		{"name: a\ndocker:\n  shm_size: 1g\n", "docker.shm_size", "unknown key"},
	} {
		_, _, err := loadFiles(t, with(baseFleet, map[string]string{"agents/a/agent.yaml": tc.file}), nil)
		findProblem(t, err, "agents/a/agent.yaml", tc.field, tc.msg)
	}
}

// TestNoWeakTyping: 1.5 is not a whole number, "3" is not a number, "yes"
// is not true and a single value is not a list.
func TestNoWeakTyping(t *testing.T) {
	for _, tc := range []struct{ file, field, msg string }{
		{"name: a\nmax_turns: 1.5\n", "max_turns", "expected a whole number, got 1.5"},
		{"name: a\ninstances:\n  max_concurrent: 1.5\n", "instances.max_concurrent", "got 1.5"},
		{"name: a\nqueue:\n  max: 2.5\n", "queue.max", "got 2.5"},
		{"name: a\nmax_turns: \"3\"\n", "max_turns", "expected a whole number"},
		{"name: a\ndocker:\n  ephemeral: \"yes\"\n", "docker.ephemeral", "expected true or false"},
		{"name: a\nallowed_tools: Read\n", "allowed_tools", "expected a list"},
		{"name: a\nqueue:\n  mode: 3\n", "queue.mode", ""},
	} {
		_, _, err := loadFiles(t, with(baseFleet, map[string]string{"agents/a/agent.yaml": tc.file}), nil)
		findProblem(t, err, "agents/a/agent.yaml", tc.field, tc.msg)
	}
	// A whole number written as 3.0 is a whole number.
	f := mustLoad(t, with(baseFleet, map[string]string{"agents/a/agent.yaml": "name: a\nmax_turns: 3.0\n"}), nil)
	if f.Agents[0].MaxTurns != 3 {
		t.Errorf("max_turns = %d", f.Agents[0].MaxTurns)
	}
}

// TestSubFleets: herdctl's fleets: load every level; an agent of a
// sub-fleet is <fleet>.<name>; defaults cascade (the nearer fleet wins);
// a sub-fleet's entry can rename it and override its fields.
func TestSubFleets(t *testing.T) {
	f := mustLoad(t, map[string]string{
		"herdctl.yaml": "defaults:\n  model: root-model\n  max_turns: 100\nfleets:\n  - path: ./one/herdctl.yaml\n  - path: ./two/herdctl.yaml\n" +
			"    name: renamed\n    overrides:\n      defaults:\n        max_turns: 7\nagents:\n  - path: ./agents/top.yaml\n",
		"agents/top.yaml":             "name: top\n",
		"one/herdctl.yaml":            "fleet:\n  name: one\ndefaults:\n  model: one-model\nfleets:\n  - path: ./deep/herdctl.yaml\nagents:\n  - path: ./agents/worker.yaml\n",
		"one/agents/worker.yaml":      "name: worker\n",
		"one/deep/herdctl.yaml":       "agents:\n  - path: ./agents/worker.yaml\n",
		"one/deep/agents/worker.yaml": "name: worker\nmodel: own\n",
		"two/herdctl.yaml":            "fleet:\n  name: two\nagents:\n  - path: ./agents/worker.yaml\n",
		"two/agents/worker.yaml":      "name: worker\n",
	}, nil)
	var names []string
	for _, a := range f.Agents {
		names = append(names, a.Name)
	}
	if got := strings.Join(names, " "); got != "top one.worker one.deep.worker renamed.worker" {
		t.Fatalf("agents %s", got)
	}
	for name, want := range map[string]struct {
		model string
		turns int
	}{"top": {"root-model", 100}, "one.worker": {"one-model", 100}, "one.deep.worker": {"own", 100}, "renamed.worker": {"root-model", 7}} {
		if a := f.Agent(name); a.Model != want.model || a.MaxTurns != want.turns {
			t.Errorf("%s: model %q turns %d; want %+v", name, a.Model, a.MaxTurns, want)
		}
	}
	if len(f.SubFleetFiles) != 3 {
		t.Errorf("sub-fleet files %v", f.SubFleetFiles)
	}
	// A workspace may not hold a sub-fleet's file.
	_, _, err := loadFiles(t, map[string]string{
		"herdctl.yaml":     "fleets:\n  - path: ./sub/herdctl.yaml\n",
		"sub/herdctl.yaml": "agents:\n  - path: ./a/agent.yaml\n",
		"sub/a/agent.yaml": "name: a\nworking_directory: ..\n",
	}, nil)
	findProblem(t, err, "sub/a/agent.yaml", "working_directory", "sub-fleet")

	for _, tc := range []struct {
		name  string
		files map[string]string
		file  string
		field string
		msg   string
	}{
		{"Cycle", map[string]string{"herdctl.yaml": "fleets:\n  - path: ./a/herdctl.yaml\n", "a/herdctl.yaml": "fleets:\n  - path: ../b/herdctl.yaml\n",
			"b/herdctl.yaml": "fleets:\n  - path: ../a/herdctl.yaml\n"}, "b/herdctl.yaml", "fleets[0].path", "fleet composition cycle"},
		{"Collision", map[string]string{"herdctl.yaml": "fleets:\n  - path: ./a/herdctl.yaml\n  - path: ./b/herdctl.yaml\n",
			"a/herdctl.yaml": "fleet:\n  name: same\n", "b/herdctl.yaml": "fleet:\n  name: same\n"}, "herdctl.yaml", "fleets[1].path", `named "same"`},
		{"BadName", map[string]string{"herdctl.yaml": "fleets:\n  - path: ./a/herdctl.yaml\n    name: my.fleet\n", "a/herdctl.yaml": "version: 1\n"},
			"herdctl.yaml", "fleets[0].name", "no dots"},
		{"Missing", map[string]string{"herdctl.yaml": "fleets:\n  - path: ./nope/herdctl.yaml\n"}, "herdctl.yaml", "fleets[0].path", "no such file"},
		{"RootOnlySettings", map[string]string{"herdctl.yaml": "fleets:\n  - path: ./a/herdctl.yaml\n",
			"a/herdctl.yaml": "docker:\n  dangerous_host_config: true\n"}, "a/herdctl.yaml", "docker.dangerous_host_config", "per agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := loadFiles(t, tc.files, nil)
			findProblem(t, err, tc.file, tc.field, tc.msg)
		})
	}
}

// TestFleetNameAnyText: herdctl's fleet.name is any text; herdbot keeps
// what container and network names allow and says so.
func TestFleetNameAnyText(t *testing.T) {
	for in, want := range map[string]string{"my.project": "my.project", "My Fleet!": "My-Fleet", "-x": "x"} {
		f := mustLoad(t, with(baseFleet, map[string]string{"herdbot.yaml": "fleet:\n  name: \"" + in + "\"\nagents:\n  - path: agents/a\n"}), nil)
		if f.Name != want {
			t.Errorf("fleet.name %q → %q, want %q", in, f.Name, want)
		}
		if warned := len(warningsContaining(f.Warnings, "fleet.name")) == 1; warned != (in != want) {
			t.Errorf("fleet.name %q: warned %v; warnings %q", in, warned, f.Warnings)
		}
	}
}

// TestNotAReferenceIsKept: "${" that does not start a ${NAME} reference
// (GitHub's ${{ }}, an unclosed one) is kept as written, with a warning,
// as herdctl keeps it.
func TestNotAReferenceIsKept(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{
		"agents/a/agent.yaml": "name: a\nsystem_prompt: \"use ${{ secrets.TOKEN }} and ${1X} and ${X\"\n",
	}), nil)
	if got := f.Agents[0].SystemPrompt; got != "use ${{ secrets.TOKEN }} and ${1X} and ${X" {
		t.Errorf("system_prompt = %q", got)
	}
	if n := len(warningsContaining(f.Warnings, "agents/a/agent.yaml:2: system_prompt:", "kept as written")); n != 3 {
		t.Errorf("%d warnings, want 3:\n%s", n, strings.Join(f.Warnings, "\n"))
	}
}

// TestMisspellingHint: a short unknown key is not taken for a misspelling
// of a different short key.
func TestMisspellingHint(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{
		"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    type: interval\n    interval: 1h\n    id: 7\n",
	}), nil)
	if len(warningsContaining(f.Warnings, "schedules.s.id: unknown key: ignored")) != 1 {
		t.Errorf("warnings %q", f.Warnings)
	}
	_, _, err := loadFiles(t, with(baseFleet, map[string]string{
		"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    type: interval\n    intervl: 1h\n",
	}), nil)
	findProblem(t, err, "agents/a/agent.yaml", "schedules.s.intervl", "did you mean interval?")
}

// TestDMOffUnlessEnabled: herdctl turns DMs on when dm: is written;
// herdbot keeps them off unless enabled is true, and says so.
func TestDMOffUnlessEnabled(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{
		"agents/a/agent.yaml": "name: a\nchat:\n  discord:\n    bot_token_env: T\n    guilds: []\n    dm:\n      allowlist: [\"1\"]\n",
	}), nil)
	if f.Agents[0].Chat.Discord.DM.Enabled || len(warningsContaining(f.Warnings, "chat.discord.dm: DMs stay off")) != 1 {
		t.Errorf("dm %+v; warnings %q", f.Agents[0].Chat.Discord.DM, f.Warnings)
	}
}
