package config

import "testing"

// TestDiskLimit: docker.disk_limit parses like docker.memory, defaults to
// 10 GiB, can be turned off only in the fleet file, and an agent file may
// lower the fleet's value but never raise it.
func TestDiskLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fleet string // herdbot.yaml ("" = baseFleet's)
		agent string // appended to agents/a/agent.yaml
		want  int64
	}{
		{"Default", "", "", DefaultDiskLimit},
		{"AgentLowersDefault", "", "docker:\n  disk_limit: 500MB\n", 500 << 20},
		{"AgentEqualsDefault", "", "docker:\n  disk_limit: 10GiB\n", 10 << 30},
		{"FleetDocker", "docker:\n  disk_limit: 2g\nagents:\n  - path: agents/a\n", "", 2 << 30},
		{"FleetDefaults", "docker:\n  disk_limit: 2g\ndefaults:\n  docker:\n    disk_limit: 20g\nagents:\n  - path: agents/a\n", "", 20 << 30},
		{"AgentLowersFleet", "docker:\n  disk_limit: 2g\nagents:\n  - path: agents/a\n", "docker:\n  disk_limit: 1g\n", 1 << 30},
		{"AgentUnderRaisedDefaults", "defaults:\n  docker:\n    disk_limit: 50g\nagents:\n  - path: agents/a\n", "docker:\n  disk_limit: 20g\n", 20 << 30},
		{"OverridesWin", "agents:\n  - path: agents/a\n    overrides:\n      docker:\n        disk_limit: 30g\n", "docker:\n  disk_limit: 1g\n", 30 << 30},
		{"FleetNone", "docker:\n  disk_limit: none\nagents:\n  - path: agents/a\n", "", 0},
		{"AgentUnderFleetNone", "defaults:\n  docker:\n    disk_limit: none\nagents:\n  - path: agents/a\n", "docker:\n  disk_limit: 3g\n", 3 << 30},
		{"OverridesNone", "agents:\n  - path: agents/a\n    overrides:\n      docker:\n        disk_limit: NONE\n", "", 0},
		{"Bytes", "", "docker:\n  disk_limit: 8388608\n", 8 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := with(baseFleet, map[string]string{"agents/a/agent.yaml": "name: a\n" + tc.agent})
			if tc.fleet != "" {
				files["herdbot.yaml"] = tc.fleet
			}
			f := mustLoad(t, files, nil)
			if got := f.Agents[0].Docker.DiskLimit; got != tc.want {
				t.Fatalf("disk limit %d, want %d", got, tc.want)
			}
		})
	}
}

// TestDiskLimitErrors name the file and field; an agent file that tries to
// raise or drop the limit is told where the fleet's value is.
func TestDiskLimitErrors(t *testing.T) {
	for _, tc := range []struct {
		name             string
		fleet, agent     string
		file, field, msg string
		line             int
	}{
		{name: "AgentRaisesDefault", agent: "docker:\n  disk_limit: 11g\n",
			file: "agents/a/agent.yaml", field: "docker.disk_limit", msg: "11GiB is above the fleet's limit of 10GiB (herdbot's default); an agent file may only lower it", line: 3},
		{name: "AgentRaisesFleet", fleet: "docker:\n  disk_limit: 2g\nagents:\n  - path: agents/a\n", agent: "docker:\n  disk_limit: 3g\n",
			file: "agents/a/agent.yaml", field: "docker.disk_limit", msg: "above the fleet's limit of 2GiB (docker.disk_limit in herdbot.yaml)"},
		{name: "AgentRaisesDefaults", fleet: "docker:\n  disk_limit: 20g\ndefaults:\n  docker:\n    disk_limit: 1g\nagents:\n  - path: agents/a\n", agent: "docker:\n  disk_limit: 5g\n",
			file: "agents/a/agent.yaml", field: "docker.disk_limit", msg: "(defaults.docker.disk_limit in herdbot.yaml)"},
		{name: "AgentTurnsItOff", agent: "docker:\n  disk_limit: none\n",
			file: "agents/a/agent.yaml", field: "docker.disk_limit", msg: "may not turn the disk limit off"},
		{name: "Invalid", agent: "docker:\n  disk_limit: lots\n",
			file: "agents/a/agent.yaml", field: "docker.disk_limit", msg: "invalid disk limit \"lots\""},
		{name: "Zero", fleet: "docker:\n  disk_limit: 0\nagents:\n  - path: agents/a\n",
			file: "herdbot.yaml", field: "docker.disk_limit", msg: "below 1m (use none for no limit)", line: 2},
		{name: "TooSmallInOverrides", fleet: "agents:\n  - path: agents/a\n    overrides:\n      docker:\n        disk_limit: 100k\n",
			file: "herdbot.yaml", field: "agents[0].overrides.docker.disk_limit", msg: "below 1m"},
		{name: "InvalidFleetUnderAgent", fleet: "defaults:\n  docker:\n    disk_limit: big\nagents:\n  - path: agents/a\n", agent: "docker:\n  disk_limit: 1g\n",
			file: "herdbot.yaml", field: "defaults.docker.disk_limit", msg: "invalid disk limit", line: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := with(baseFleet, map[string]string{"agents/a/agent.yaml": "name: a\n" + tc.agent})
			if tc.fleet != "" {
				files["herdbot.yaml"] = tc.fleet
			}
			_, _, err := loadFiles(t, files, nil)
			p := findProblem(t, err, tc.file, tc.field, tc.msg)
			if tc.line != 0 && p.Line != tc.line {
				t.Errorf("line %d, want %d: %s", p.Line, tc.line, p)
			}
			if ps := problemsOf(t, err); len(ps) != 1 {
				t.Errorf("want one problem, got:\n%v", err)
			}
		})
	}
}
