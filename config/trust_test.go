package config

import (
	"strings"
	"testing"
)

// TestTrustAgentFileReadsOnlyItsOwnEnv: an agent file cannot read the
// fleet .env, the process environment, or another agent's .env.
func TestTrustAgentFileReadsOnlyItsOwnEnv(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		env   map[string]string
	}{
		{"FleetEnv", map[string]string{".env": "ANTHROPIC_API_KEY=sk-ant-fleet-secret\n"}, nil},
		{"ProcessEnv", nil, map[string]string{"ANTHROPIC_API_KEY": "sk-ant-process-secret"}},
		{"OtherAgentEnv", map[string]string{
			"herdbot.yaml":        twoAgents,
			"agents/b/agent.yaml": "name: b\n",
			"agents/b/.env":       "ANTHROPIC_API_KEY=sk-ant-agent-b-secret\n",
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := with(baseFleet, tc.files)
			files["agents/a/agent.yaml"] = "name: a\nsystem_prompt: ${ANTHROPIC_API_KEY}\n"
			f, err, _ := loadFiles(t, files, tc.env)
			p := findProblem(t, err, "agents/a/agent.yaml", "system_prompt", "variable ANTHROPIC_API_KEY is not set")
			if p.Line != 2 || !strings.Contains(p.Message, "reads only its own") {
				t.Errorf("problem %s: want line 2 and an explanation", p)
			}
			if f != nil {
				for _, a := range f.Agents {
					if strings.Contains(a.SystemPrompt, "secret") {
						t.Errorf("agent %s got a secret in its system prompt", a.Name)
					}
				}
			}
		})
	}
}

// TestTrustAgentTokenEnvReadsOnlyAgentEnv: bot_token_env written in an
// agent file is looked up in the agent's .env only.
func TestTrustAgentTokenEnvReadsOnlyAgentEnv(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{
		".env":                "ANTHROPIC_API_KEY=sk-ant-fleet-secret\n",
		"agents/a/agent.yaml": "name: a\nchat:\n  discord:\n    bot_token_env: ANTHROPIC_API_KEY\n",
	}), map[string]string{"ANTHROPIC_API_KEY": "sk-ant-process"})
	if d := f.Agents[0].Chat.Discord; d.Token != "" || d.Connected() {
		t.Errorf("token = %q; an agent file must not read the fleet key", d.Token)
	}
}

// TestTrustOverridesScope: agents[].overrides resolve the agent's .env,
// then the fleet .env, then the process environment; the rest of the fleet
// file does not see agent .env files.
func TestTrustOverridesScope(t *testing.T) {
	files := map[string]string{
		"herdbot.yaml": `agents:
  - path: agents/a
    overrides:
      docker:
        env:
          GITHUB_TOKEN: "${GH}"
          SHARED: "${SHARED}"
          FROM_PROC: "${ONLY_PROC}"
  - path: agents/b
    overrides:
      docker:
        env:
          GITHUB_TOKEN: "${GH}"
`,
		".env":                "GH=fleet-gh\nSHARED=fleet-shared\n",
		"agents/a/agent.yaml": "name: a\n",
		"agents/a/.env":       "GH=a-gh\n",
		"agents/b/agent.yaml": "name: b\n",
		"agents/b/.env":       "GH=b-gh\n",
	}
	f := mustLoad(t, files, map[string]string{"ONLY_PROC": "proc", "GH": "proc-gh"})
	a, b := f.Agent("a"), f.Agent("b")
	if got := a.Docker.Env; got["GITHUB_TOKEN"] != "a-gh" || got["SHARED"] != "fleet-shared" || got["FROM_PROC"] != "proc" {
		t.Errorf("a env = %v; want a-gh, fleet-shared, proc", got)
	}
	if got := b.Docker.Env["GITHUB_TOKEN"]; got != "b-gh" {
		t.Errorf("b GITHUB_TOKEN = %q; want b's own b-gh", got)
	}
	if a.Env["GH"] != "a-gh" || b.Env["GH"] != "b-gh" {
		t.Errorf("agent Env maps mixed: a=%v b=%v", a.Env, b.Env)
	}

	// The rest of the fleet file cannot read an agent's .env.
	files["herdbot.yaml"] = "fleet:\n  description: ${ONLY_A}\n" + twoAgents
	files["agents/a/.env"] = "ONLY_A=x\n"
	_, err, _ := loadFiles(t, files, nil)
	findProblem(t, err, "herdbot.yaml", "fleet.description", "variable ONLY_A is not set")
}

// TestTrustNoRecursion: a substituted value that itself looks like a
// reference is not expanded again.
func TestTrustNoRecursion(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{
		"agents/a/.env":       "A=${B}\nB=secret-b\n",
		"agents/a/agent.yaml": "name: a\nsystem_prompt: \"x ${A} y $${A} z $HOME\"\n",
	}), nil)
	if got, want := f.Agents[0].SystemPrompt, "x ${B} y ${A} z $HOME"; got != want {
		t.Errorf("system_prompt = %q, want %q", got, want)
	}
}

// TestSecretsNotInErrors: a secret that ends up in an error message is masked.
func TestSecretsNotInErrors(t *testing.T) {
	_, err, _ := loadFiles(t, with(baseFleet, map[string]string{
		"agents/a/.env":       "TOKEN=supersecretvalue\n",
		"agents/a/agent.yaml": "name: a\nmax_turns: ${TOKEN}\n",
	}), nil)
	p := findProblem(t, err, "agents/a/agent.yaml", "max_turns", "expected a whole number")
	if strings.Contains(err.Error(), "supersecretvalue") || !strings.Contains(p.Message, "[REDACTED]") {
		t.Errorf("secret not masked: %v", err)
	}
}

// TestSecrets lists the operator's secrets that herdbot hands out, with
// the variable each came from: the fleet .env, the model credentials, chat
// tokens, webhook secrets, docker.env and MCP env/header values. An agent
// .env value nothing references is not a redaction string (it would hide
// text on approval cards for nothing), nor is a value under 8 characters.
func TestSecrets(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{
		".env":          "ANTHROPIC_API_KEY=sk-ant-key\nSHORT=1234567\n",
		"agents/a/.env": "DISCORD=discord-token\nGH=gh-token-a\nUNUSED=&& touch /workspace/x\nHOOK=hook-secret-1\nMCP=mcp-token-1\n",
		"herdbot.yaml":  "agents:\n  - path: agents/a\n    overrides:\n      docker:\n        env:\n          GITHUB_TOKEN: ${GH}\n",
		"agents/a/agent.yaml": "name: a\nchat:\n  discord:\n    bot_token_env: DISCORD\n" +
			"schedules:\n  h:\n    type: webhook\n    secret_env: HOOK\n    prompt: p\n" +
			"mcp_servers:\n  notes:\n    url: https://notes.example\n    headers:\n      Authorization: ${MCP}\n",
	}), map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": "oauth-from-process"})
	got := map[string]string{}
	for _, s := range f.NamedSecrets() {
		got[s.Value] = s.Name
	}
	for value, name := range map[string]string{
		"sk-ant-key": "ANTHROPIC_API_KEY", "discord-token": "DISCORD", "gh-token-a": "GITHUB_TOKEN",
		"oauth-from-process": "CLAUDE_CODE_OAUTH_TOKEN", "hook-secret-1": "HOOK", "mcp-token-1": "Authorization",
	} {
		if got[value] != name {
			t.Errorf("NamedSecrets()[%s] = %q, want %q (all: %v)", value, got[value], name, got)
		}
	}
	for _, not := range []string{"1234567", "&& touch /workspace/x"} {
		if _, ok := got[not]; ok {
			t.Errorf("NamedSecrets() has %q: %v", not, got)
		}
	}
	if strings.Join(f.Secrets(), ",") != strings.Join(values(f.NamedSecrets()), ",") {
		t.Errorf("Secrets() and NamedSecrets() disagree")
	}
	as := strings.Join(f.Agents[0].Secrets(), ",")
	if strings.Contains(as, "sk-ant-key") || !strings.Contains(as, "discord-token") {
		t.Errorf("Agent.Secrets() = %s; want the agent's values only", as)
	}
	if f.Model.APIKey != "sk-ant-key" || f.Model.OAuthToken != "oauth-from-process" {
		t.Errorf("model credentials = %q/%q", f.Model.APIKey, f.Model.OAuthToken)
	}
}

// TestSecretsSharedValueNamesEveryVariable: one value under two names is
// masked once and names both.
func TestSecretsSharedValueNamesEveryVariable(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{
		".env":         "SHARED=shared-value-1\n",
		"herdbot.yaml": "agents:\n  - path: agents/a\n    overrides:\n      docker:\n        env:\n          B_TOKEN: ${SHARED}\n",
	}), nil)
	s := f.NamedSecrets()
	if len(s) != 1 || s[0].Name != "B_TOKEN,SHARED" || s[0].Value != "shared-value-1" {
		t.Fatalf("NamedSecrets() = %+v", s)
	}
}

// TestDangerousOptIn: the per-agent flag lets that agent, and only that
// agent, undo hardening.
func TestDangerousOptIn(t *testing.T) {
	f := mustLoad(t, with(baseFleet, map[string]string{
		"herdbot.yaml": `agents:
  - path: agents/a
    overrides:
      docker:
        dangerous_host_config: true
        network: host
        host_config:
          Privileged: true
          ShmSize: 67108864
  - path: agents/b
    overrides:
      docker:
        host_config:
          ShmSize: 67108864
          ReadonlyRootfs: true
`,
		"agents/b/agent.yaml": "name: b\n",
	}), nil)
	a, b := f.Agent("a"), f.Agent("b")
	if !a.Docker.DangerousHostConfig || a.Docker.Network != "host" || a.Docker.HostConfig["Privileged"] != true {
		t.Errorf("a docker = %+v", a.Docker)
	}
	if b.Docker.DangerousHostConfig || b.Docker.HostConfig["ShmSize"] != int64(67108864) {
		t.Errorf("b docker = %+v", b.Docker)
	}
}
