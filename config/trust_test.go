package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrustAgentFileVariables: an agent file reads its own .env; when the
// agent cannot write the file (it runs in a container, the default) also
// the fleet .env and herdbot's environment, as herdctl does, with one
// warning per variable naming where it came from; never the model
// credential; never another agent's .env.
func TestTrustAgentFileVariables(t *testing.T) {
	files := with(baseFleet, map[string]string{
		".env":                "ANTHROPIC_API_KEY=sk-ant-fleet-secret\nGUILD=111111111111111111\n",
		"agents/a/.env":       "OWN=own-value\n",
		"agents/a/agent.yaml": "name: a\nsystem_prompt: \"${OWN} ${GUILD} ${FROM_PROC}\"\ndescription: ${GUILD}\n",
	})
	f, _, err := loadFiles(t, files, map[string]string{"FROM_PROC": "proc-value"})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if got := f.Agents[0].SystemPrompt; got != "own-value 111111111111111111 proc-value" {
		t.Errorf("system_prompt = %q", got)
	}
	var guild, proc int
	for _, w := range f.Warnings {
		if strings.Contains(w, "GUILD comes from the fleet .env") && strings.Contains(w, "agents/a/agent.yaml:2: system_prompt") &&
			strings.Contains(w, "herdbot migrate --write") {
			guild++
		}
		if strings.Contains(w, "FROM_PROC comes from herdbot's environment") {
			proc++
		}
		if strings.Contains(w, "OWN") {
			t.Errorf("a variable of the agent's own .env was warned about: %s", w)
		}
	}
	if guild != 1 || proc != 1 {
		t.Errorf("want one warning for GUILD (used twice) and one for FROM_PROC:\n%s", strings.Join(f.Warnings, "\n"))
	}

	// The model credential: never, from the fleet .env or the process.
	for name, env := range map[string]map[string]string{"FleetEnv": nil, "ProcessEnv": {"ANTHROPIC_API_KEY": "sk-ant-process-secret"}} {
		t.Run("ModelCredential"+name, func(t *testing.T) {
			files := with(baseFleet, map[string]string{"agents/a/agent.yaml": "name: a\nsystem_prompt: ${ANTHROPIC_API_KEY}\n"})
			if env == nil {
				files[".env"] = "ANTHROPIC_API_KEY=sk-ant-fleet-secret\n"
			}
			f, _, err := loadFiles(t, files, env)
			findProblem(t, err, "agents/a/agent.yaml", "system_prompt", "model API credential")
			if f != nil {
				t.Errorf("loaded: %q", f.Agents[0].SystemPrompt)
			}
		})
	}
	// A renamed credential variable is the credential too.
	t.Run("ModelCredentialRenamed", func(t *testing.T) {
		_, _, err := loadFiles(t, with(baseFleet, map[string]string{
			"herdbot.yaml":        "model_api:\n  api_key_env: MY_KEY\nagents:\n  - path: agents/a\n",
			".env":                "MY_KEY=sk-ant-mine\n",
			"agents/a/agent.yaml": "name: a\nchat:\n  discord:\n    bot_token_env: MY_KEY\n    guilds: []\n",
		}), nil)
		findProblem(t, err, "agents/a/agent.yaml", "chat.discord.bot_token_env", "model API credential")
	})
	t.Run("OtherAgentEnv", func(t *testing.T) {
		_, _, err := loadFiles(t, with(baseFleet, map[string]string{
			"herdbot.yaml":        twoAgents,
			"agents/a/agent.yaml": "name: a\nsystem_prompt: ${B_SECRET}\n",
			"agents/b/agent.yaml": "name: b\n",
			"agents/b/.env":       "B_SECRET=sk-agent-b-secret\n",
		}), nil)
		findProblem(t, err, "agents/a/agent.yaml", "system_prompt", "variable B_SECRET is not set")
	})
}

// TestTrustWritableAgentFileReadsOnlyItsOwnEnv: when the agent could
// write its own file (no container, a dangerous host config, a writable
// volume over its directory), the file reads only the agent's own .env,
// and the error says how to fix it.
func TestTrustWritableAgentFileReadsOnlyItsOwnEnv(t *testing.T) {
	for name, fleet := range map[string]string{
		"Native":    "agents:\n  - path: agents/a\n    overrides:\n      docker:\n        enabled: false\n",
		"Dangerous": "agents:\n  - path: agents/a\n    overrides:\n      docker:\n        dangerous_host_config: true\n",
		"Volume":    "defaults:\n  docker:\n    volumes: [\"AGENTDIR:/data\"]\nagents:\n  - path: agents/a\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeFiles(t, with(baseFleet, map[string]string{
				".env":                "GUILD=111111111111111111\n",
				"agents/a/agent.yaml": "name: a\nsystem_prompt: ${GUILD}\n",
			}))
			fleet = strings.ReplaceAll(fleet, "AGENTDIR", filepath.Join(dir, "agents"))
			if err := os.WriteFile(filepath.Join(dir, "herdbot.yaml"), []byte(fleet), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := load(dir, mapLookup(map[string]string{"GUILD": "from-process"}))
			p := findProblem(t, err, "agents/a/agent.yaml", "system_prompt", "variable GUILD is not set")
			if !strings.Contains(p.Message, "herdbot migrate --write") || !strings.Contains(p.Message, "reads only its own") {
				t.Errorf("the error does not say how to fix it: %s", p)
			}
			if f != nil {
				t.Errorf("loaded")
			}
		})
	}
	// The token named in the file is not looked up outside its .env either.
	f := mustLoad(t, with(baseFleet, map[string]string{
		"herdbot.yaml":        "agents:\n  - path: agents/a\n    overrides:\n      docker:\n        enabled: false\n",
		".env":                "TOKEN=fleet-token-value\n",
		"agents/a/agent.yaml": "name: a\nchat:\n  discord:\n    bot_token_env: TOKEN\n    guilds: []\n",
	}), map[string]string{"TOKEN": "process-token"})
	if d := f.Agents[0].Chat.Discord; d.Token != "" {
		t.Errorf("native agent's token = %q; its file reads only its own .env", d.Token)
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
	_, _, err := loadFiles(t, files, nil)
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
	_, _, err := loadFiles(t, with(baseFleet, map[string]string{
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
		"agents/a/agent.yaml": "name: a\nchat:\n  discord:\n    bot_token_env: DISCORD\n    guilds: []\n" +
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
	as := strings.Join(values(f.Agents[0].NamedSecrets()), ",")
	if strings.Contains(as, "sk-ant-key") || !strings.Contains(as, "discord-token") {
		t.Errorf("Agent.NamedSecrets() = %s; want the agent's values only", as)
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
