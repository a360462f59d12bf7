package config

import (
	"testing"
)

// TestPrecedence: fleet docker < defaults < agent file < overrides; maps
// merge, lists replace; schedule order follows the files.
func TestPrecedence(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{
		"herdbot.yaml": `docker:
  image: fleet-image:1
  memory: 4g
  labels: {from: fleet}
defaults:
  model: haiku
  max_turns: 5
  allowed_tools: [Read, Write]
  docker:
    memory: 3g
    pids_limit: 99
  schedules:
    zz-default:
      type: interval
      interval: 1h
      prompt: from defaults
agents:
  - path: agents/a
    overrides:
      max_turns: 7
      docker:
        labels: {extra: override}
      schedules:
        b-second:
          prompt: overridden prompt
`,
		"agents/a/agent.yaml": `name: a
model: sonnet
max_turns: 6
allowed_tools: [Grep]
docker:
  memory: 1g
  labels: {agent: yes-label}
schedules:
  c-first:
    type: interval
    interval: 2h
    prompt: p1
  b-second:
    type: cron
    cron: "0 * * * *"
    prompt: p2
`,
	}), nil)
	a := f.Agents[0]
	if a.Model != "sonnet" || a.MaxTurns != 7 {
		t.Errorf("model %q max_turns %d; want sonnet (agent over defaults), 7 (override over agent)", a.Model, a.MaxTurns)
	}
	if len(a.AllowedTools) != 1 || a.AllowedTools[0] != "Grep" {
		t.Errorf("allowed_tools %v; lists replace", a.AllowedTools)
	}
	d := a.Docker
	if d.Image != "fleet-image:1" || d.Memory != 1<<30 || d.PidsLimit != 99 {
		t.Errorf("docker image %q memory %d pids %d", d.Image, d.Memory, d.PidsLimit)
	}
	if d.Labels["from"] != "fleet" || d.Labels["agent"] != "yes-label" || d.Labels["extra"] != "override" {
		t.Errorf("labels %v; maps merge", d.Labels)
	}
	var names []string
	for _, s := range a.Schedules {
		names = append(names, s.Name)
	}
	if len(names) != 3 || names[0] != "c-first" || names[1] != "b-second" || names[2] != "zz-default" {
		t.Errorf("schedule order %v", names)
	}
	if s := a.Schedules[1]; s.Prompt != "overridden prompt" || s.Cron != "0 * * * *" {
		t.Errorf("b-second = %+v", s)
	}
}

// TestNetworkNarrowing: an agent file's allowlist replaces the fleet's
// when every entry is covered.
func TestNetworkNarrowing(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{
		"herdbot.yaml":        "defaults:\n  network:\n    allow: [\"*.github.com\", pypi.org]\nagents:\n  - path: agents/a\n",
		"agents/a/agent.yaml": "name: a\nnetwork:\n  allow: [api.github.com, \"*.raw.github.com\"]\n",
	}), nil)
	if got := f.Agents[0].Network.Allow; len(got) != 2 || got[0] != "api.github.com" {
		t.Errorf("allow = %v", got)
	}
	for _, tc := range []struct {
		p, q string
		want bool
	}{{"a.com", "a.com", true}, {"*.a.com", "x.a.com", true}, {"*.a.com", "*.x.a.com", true}, {"*.a.com", "a.com", false},
		{"*.a.com", "xa.com", false}, {"a.com", "*.a.com", false}, {"*.a.com", "*.a.com", true}} {
		if got := covers(tc.p, tc.q); got != tc.want {
			t.Errorf("covers(%q, %q) = %v", tc.p, tc.q, got)
		}
	}
}

// TestNullKeepsWhatIsBelow: "key:" with nothing in an upper layer (the
// agent file over the defaults, the overrides over the agent file) sets
// nothing: the value below stays.
func TestNullKeepsWhatIsBelow(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{
		"herdbot.yaml": `defaults:
  model: haiku
  docker:
    memory: 3g
agents:
  - path: agents/a
    overrides:
      max_turns:
      docker:
`,
		"agents/a/agent.yaml": "name: a\nmax_turns: 6\nmodel:\ndocker:\n  memory:\n",
	}), nil)
	a := f.Agents[0]
	if a.Model != "haiku" || a.MaxTurns != 6 || a.Docker.Memory != 3<<30 {
		t.Errorf("model %q max_turns %d memory %d; want haiku, 6, 3g kept from below", a.Model, a.MaxTurns, a.Docker.Memory)
	}
}

// TestAgentsDoNotShareMergedValues: merging one agent's file over the
// fleet's docker and the defaults leaves them as written for the next
// agent.
func TestAgentsDoNotShareMergedValues(t *testing.T) {
	f := mustLoad(t, map[string]string{
		"herdbot.yaml": `docker:
  labels: {from: fleet}
defaults:
  docker:
    labels: {team: garden}
agents:
  - path: agents/a
  - path: agents/b
`,
		"agents/a/agent.yaml": "name: a\ndocker:\n  labels: {only: a}\n",
		"agents/b/agent.yaml": "name: b\n",
	}, nil)
	a, b := f.Agents[0].Docker.Labels, f.Agents[1].Docker.Labels
	if a["from"] != "fleet" || a["team"] != "garden" || a["only"] != "a" {
		t.Errorf("a's labels %v, want from, team and only", a)
	}
	if b["from"] != "fleet" || b["team"] != "garden" || b["only"] != "" {
		t.Errorf("b's labels %v, want from and team (a's own label leaked into what is below it)", b)
	}
}
