package config

import (
	"slices"
	"testing"
	"time"
)

// TestBudget: budget caps are taken from the fleet file as written; an
// agent file may set one where the fleet has none, or lower the fleet's,
// and the fleet's overrides win over the agent file.
func TestBudget(t *testing.T) {
	for _, tc := range []struct {
		name         string
		fleet, agent string
		want         Budget
	}{
		{"None", "", "", Budget{}},
		{"AgentSetsWhereFleetHasNone", "", "budget:\n  daily_usd: 2\n", Budget{DailyUSD: 2}},
		{"FleetDefaults", "defaults:\n  budget:\n    daily_usd: 5\n    monthly_usd: 50.5\nagents:\n  - path: agents/a\n", "", Budget{5, 50.5}},
		{"AgentLowersDefaults", "defaults:\n  budget:\n    daily_usd: 5\n    monthly_usd: 50\nagents:\n  - path: agents/a\n", "budget:\n  daily_usd: 1.25\n", Budget{1.25, 50}},
		{"AgentEqualsDefaults", "defaults:\n  budget:\n    daily_usd: 5\nagents:\n  - path: agents/a\n", "budget:\n  daily_usd: 5\n", Budget{DailyUSD: 5}},
		{"OverridesRaiseDefaults", "defaults:\n  budget:\n    daily_usd: 5\nagents:\n  - path: agents/a\n    overrides:\n      budget:\n        daily_usd: 20\n", "", Budget{DailyUSD: 20}},
		{"OverridesWinOverAgent", "agents:\n  - path: agents/a\n    overrides:\n      budget:\n        monthly_usd: 9\n", "budget:\n  monthly_usd: 1\n", Budget{MonthlyUSD: 9}},
		{"AgentUnderOverrides", "defaults:\n  budget:\n    daily_usd: 1\nagents:\n  - path: agents/a\n    overrides:\n      budget:\n        monthly_usd: 9\n", "budget:\n  daily_usd: 0.5\n", Budget{0.5, 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := with(baseFleet, map[string]string{"agents/a/agent.yaml": "name: a\n" + tc.agent})
			if tc.fleet != "" {
				files["herdbot.yaml"] = tc.fleet
			}
			f := mustLoad(t, files, nil)
			if got := f.Agents[0].Budget; got != tc.want {
				t.Fatalf("budget %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestBudgetErrors name the file and field: an agent file may not raise
// the fleet's cap, and a cap must be more than 0.
func TestBudgetErrors(t *testing.T) {
	for _, tc := range []struct {
		name             string
		fleet, agent     string
		file, field, msg string
	}{
		{name: "AgentRaisesDefaults", fleet: "defaults:\n  budget:\n    daily_usd: 5\nagents:\n  - path: agents/a\n", agent: "budget:\n  daily_usd: 6\n",
			file: "agents/a/agent.yaml", field: "budget.daily_usd", msg: "$6 is above the fleet's cap of $5 (defaults.budget.daily_usd in herdbot.yaml); an agent file may only lower it"},
		{name: "AgentRaisesMonthly", fleet: "defaults:\n  budget:\n    monthly_usd: 100\nagents:\n  - path: agents/a\n", agent: "budget:\n  monthly_usd: 1000\n",
			file: "agents/a/agent.yaml", field: "budget.monthly_usd", msg: "above the fleet's cap of $100"},
		{name: "Zero", agent: "budget:\n  daily_usd: 0\n", file: "agents/a/agent.yaml", field: "budget.daily_usd", msg: "must be more than 0"},
		{name: "Negative", fleet: "defaults:\n  budget:\n    monthly_usd: -1\nagents:\n  - path: agents/a\n",
			file: "herdbot.yaml", field: "defaults.budget.monthly_usd", msg: "must be more than 0"},
		{name: "NotANumber", agent: "budget:\n  daily_usd: lots\n", file: "agents/a/agent.yaml", field: "budget.daily_usd", msg: ""},
		{name: "UnknownKey", agent: "budget:\n  weekly_usd: 3\n", file: "agents/a/agent.yaml", field: "budget.weekly_usd", msg: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := with(baseFleet, map[string]string{"agents/a/agent.yaml": "name: a\n" + tc.agent})
			if tc.fleet != "" {
				files["herdbot.yaml"] = tc.fleet
			}
			_, _, err := loadFiles(t, files, nil)
			findProblem(t, err, tc.file, tc.field, tc.msg)
		})
	}
}

// TestModels: the fleet's list is taken as written; an agent file may
// only narrow it, and naming a model the fleet does not list is an error.
func TestModels(t *testing.T) {
	const fleet = "defaults:\n  models: [sonnet, haiku]\nagents:\n  - path: agents/a\n"
	files := with(baseFleet, map[string]string{"herdbot.yaml": fleet, "agents/a/agent.yaml": "name: a\n"})
	if got := mustLoad(t, files, nil).Agents[0].Models; !slices.Equal(got, []string{"sonnet", "haiku"}) {
		t.Fatalf("models %v", got)
	}
	files["agents/a/agent.yaml"] = "name: a\nmodels: [haiku]\n"
	if got := mustLoad(t, files, nil).Agents[0].Models; !slices.Equal(got, []string{"haiku"}) {
		t.Fatalf("narrowed models %v", got)
	}
	files["agents/a/agent.yaml"] = "name: a\nmodels: [haiku, opus]\n"
	_, _, err := loadFiles(t, files, nil)
	findProblem(t, err, "agents/a/agent.yaml", "models[1]", "opus is not on the fleet's list of models (sonnet, haiku); an agent file can only narrow it")

	files = with(baseFleet, map[string]string{"agents/a/agent.yaml": "name: a\nmodels: [opus]\n"})
	_, _, err = loadFiles(t, files, nil)
	findProblem(t, err, "agents/a/agent.yaml", "models[0]", "(none)")

	files = with(baseFleet, map[string]string{"herdbot.yaml": "defaults:\n  models: [\"--dangerously-skip-permissions\"]\nagents:\n  - path: agents/a\n", "agents/a/agent.yaml": "name: a\n"})
	_, _, err = loadFiles(t, files, nil)
	findProblem(t, err, "herdbot.yaml", "defaults.models[0]", "is not a model name")
}

// TestBudgetLocation: budget days begin in the fleet's timezone when it
// is set, else in UTC (not the host's local time).
func TestBudgetLocation(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{"agents/a/agent.yaml": "name: a\n"}), nil)
	if f.BudgetLocation() != time.UTC {
		t.Fatalf("no timezone: budget location %v, want UTC", f.BudgetLocation())
	}
	f = mustLoad(t, with(baseFleet, map[string]string{"herdbot.yaml": "timezone: Europe/Berlin\nagents:\n  - path: agents/a\n", "agents/a/agent.yaml": "name: a\n"}), nil)
	if got := f.BudgetLocation().String(); got != "Europe/Berlin" {
		t.Fatalf("budget location %s, want Europe/Berlin", got)
	}
}
