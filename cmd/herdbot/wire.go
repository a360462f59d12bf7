package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/redact"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/console"
	"github.com/herdbot/herdbot/config"
	"github.com/herdbot/herdbot/internal/pathguard"
	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/sandbox/docker"
	"github.com/herdbot/herdbot/sched"
	"github.com/herdbot/herdbot/web"
)

// noTrafficEnv silences the CLI's telemetry, auto-updater and other
// non-essential traffic in every agent process.
var noTrafficEnv = []string{
	"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
	"DISABLE_AUTOUPDATER=1",
	"DISABLE_TELEMETRY=1",
	"DISABLE_ERROR_REPORTING=1",
	"DISABLE_BUG_COMMAND=1",
}

// model is where agent processes reach the model API.
type model struct {
	URL        string
	APIKey     string
	OAuthToken string
}

// agentSpec maps one configured agent to the fleet's view of it. native
// says whether it runs without a container (then the model credential is
// in its environment, as there is no proxy to inject it).
func agentSpec(f *config.Fleet, a *config.Agent, m model, native bool) agents.AgentSpec {
	opts := agents.RunOptions{
		Model: a.Model, PermissionMode: a.PermissionMode, MaxTurns: a.MaxTurns,
		Tools: a.Tools, AllowedTools: a.AllowedTools, DisallowedTools: a.DeniedTools,
		AppendSystemPrompt: a.SystemPrompt, MCPConfig: mcpConfig(a.MCPServers),
	}
	if a.Session.Model != "" {
		opts.Model = a.Session.Model
	}
	if a.Session.MaxTurns > 0 {
		opts.MaxTurns = a.Session.MaxTurns
	}
	env := append([]string(nil), noTrafficEnv...)
	keys := make([]string, 0, len(a.Docker.Env))
	for k := range a.Docker.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+a.Docker.Env[k])
	}
	net := sandbox.Network{Allow: a.Network.Allow, Private: a.Network.Private,
		Model: sandbox.ModelUpstream{URL: m.URL, APIKey: m.APIKey, OAuthToken: m.OAuthToken}}
	if a.Docker.Network == "none" {
		net.None = true
	}
	if native {
		env = append(env, "PATH=/usr/local/bin:/usr/bin:/bin", "ANTHROPIC_BASE_URL="+m.URL)
		if m.APIKey != "" {
			env = append(env, "ANTHROPIC_API_KEY="+m.APIKey)
		}
		if m.OAuthToken != "" {
			env = append(env, "CLAUDE_CODE_OAUTH_TOKEN="+m.OAuthToken)
		}
	}
	return agents.AgentSpec{
		Name: a.Name, Description: a.Description, Options: opts,
		Sandbox: sandbox.Spec{
			Fleet: f.Name, Agent: a.Name, Image: a.Docker.Image, Env: env,
			Workspace: a.WorkingDirectory, WorkspaceReadOnly: a.Docker.WorkspaceMode == "ro",
			// The agent may not edit, create or replace its own config
			// files (approvers, schedules, tools, the .env they read)
			// and have herdbot reload them.
			ReadOnly:  protectedFiles(a),
			Protected: workspaceRules(f, a),
			StateDir:  filepath.Join(f.StateDir, "agents", a.Name), User: a.Docker.User,
			Limits: sandbox.Limits{MemoryBytes: a.Docker.Memory, CPUShares: a.Docker.CPUShares,
				CPUPeriod: a.Docker.CPUPeriod, CPUQuota: a.Docker.CPUQuota, PidsLimit: a.Docker.PidsLimit},
			Tmpfs: a.Docker.Tmpfs, Labels: a.Docker.Labels, Network: net,
		},
		Approvers: map[string][]string{
			bot.Discord: a.Approvers.Discord, bot.Slack: a.Approvers.Slack, bot.Console: a.Approvers.Console,
			web.Platform: a.Approvers.Web,
		},
		MaxConcurrent: a.MaxConcurrent, QueueMax: a.Queue.Max, Steer: a.Queue.Mode == "steer",
		AgentQueueMax: a.Queue.AgentMax, UserRate: agents.Rate(a.Queue.PerUser), NoticeEvery: a.Queue.NoticeEvery,
		Warm: !a.Docker.Ephemeral, MaxProcesses: a.Docker.MaxContainers,
		SessionTimeout: sessionTimeout(a), RunTimeout: a.RunTimeout, ApprovalTimeout: a.ApprovalTimeout,
		DiskLimit: a.Docker.DiskLimit,
		Budget:    agents.Budget(a.Budget),
		Models:    a.Models,
		Files: agents.FileLimits{Disabled: !a.Files.Enabled, MaxFile: a.Files.MaxFileSize,
			MaxMessage: a.Files.MaxMessageSize, MaxCount: a.Files.MaxCount, Types: a.Files.Types},
	}
}

// protectedFiles are the agent's files that stay read-only in its
// container: every agent file name and the .env in its directory (absent
// ones become empty read-only placeholders), and its agent file.
func protectedFiles(a *config.Agent) []string {
	out := make([]string, 0, len(config.ProtectedAgentFileNames)+1)
	for _, n := range config.ProtectedAgentFileNames {
		out = append(out, filepath.Join(a.Dir, n))
	}
	if !slices.Contains(out, a.File) {
		out = append(out, a.File)
	}
	return out
}

// workspaceRules are the config's workspace rules, checked again when the
// container is started; the demo's scratch workspace <state>/demo/<agent>
// is the one place inside the state directory a workspace may be.
func workspaceRules(f *config.Fleet, a *config.Agent) []pathguard.Rule {
	rules := config.WorkspaceRules(f, a)
	for i := range rules {
		if rules[i].Path == f.StateDir {
			rules[i].Except = append(rules[i].Except, filepath.Join(f.StateDir, "demo", a.Name))
		}
	}
	return rules
}

// redactSecrets are the fleet's secrets for the redactor, with their names.
func redactSecrets(f *config.Fleet) []redact.Secret {
	in := f.NamedSecrets()
	out := make([]redact.Secret, len(in))
	for i, s := range in {
		out[i] = redact.Secret{Name: s.Name, Value: s.Value}
	}
	return out
}

// sessionTimeout is session.timeout, unless a chat platform's herdctl-style
// session_expiry_hours says otherwise (the shortest wins).
func sessionTimeout(a *config.Agent) time.Duration {
	d := a.Session.Timeout
	hours := []int{}
	if a.Chat.Discord != nil {
		hours = append(hours, a.Chat.Discord.SessionExpiryHours)
	}
	if a.Chat.Slack != nil {
		hours = append(hours, a.Chat.Slack.SessionExpiryHours)
	}
	for _, h := range hours {
		if h > 0 && h != config.DefaultSessionExpiry && time.Duration(h)*time.Hour < d {
			d = time.Duration(h) * time.Hour
		}
	}
	return d
}

func mcpConfig(servers map[string]config.MCPServer) string {
	if len(servers) == 0 {
		return ""
	}
	out := map[string]any{}
	for name, s := range servers {
		m := map[string]any{}
		if s.Type != "" {
			m["type"] = s.Type
		}
		if s.Command != "" {
			m["command"] = s.Command
		}
		if len(s.Args) > 0 {
			m["args"] = s.Args
		}
		if len(s.Env) > 0 {
			m["env"] = s.Env
		}
		if s.URL != "" {
			m["url"] = s.URL
		}
		if len(s.Headers) > 0 {
			m["headers"] = s.Headers
		}
		out[name] = m
	}
	b, _ := json.Marshal(map[string]any{"mcpServers": out})
	return string(b)
}

// schedules maps every configured schedule.
func schedules(f *config.Fleet) []sched.Schedule {
	var out []sched.Schedule
	for _, a := range f.Agents {
		for _, s := range a.Schedules {
			out = append(out, schedOf(a, s))
		}
	}
	return out
}

// schedOf maps one configured schedule of agent a.
func schedOf(a *config.Agent, s config.Schedule) sched.Schedule {
	prompt := s.Prompt
	if prompt == "" {
		prompt = a.DefaultPrompt
	}
	return sched.Schedule{
		Agent: a.Name, Name: s.Name, Type: s.Type, Interval: s.Interval, Cron: s.Cron,
		Location: s.Timezone, At: s.At, Jitter: s.Jitter, Prompt: prompt, Enabled: s.Enabled,
		PostTo: postTo(s.PostTo), ResumeSession: s.ResumeSession, CatchUp: s.CatchUp,
		Secret: s.Secret, Fields: s.Fields,
	}
}

// nextRuns is the scheduler's own fire-time computation, for validate.
func nextRuns(a *config.Agent, s config.Schedule, now time.Time, n int) []time.Time {
	return sched.NextRuns(schedOf(a, s), now, n)
}

func postTo(p config.PostTo) bot.Target {
	switch p.Platform {
	case "":
		return bot.Target{}
	case bot.Console:
		return console.Target
	}
	return bot.Target{Platform: p.Platform, Channel: p.Channel, Thread: p.Thread}
}

// dockerOptions are agent a's Docker-only settings, for the docker
// backend (docker.Backend.With): they are fleet-level only.
func dockerOptions(a *config.Agent) docker.Options {
	return docker.Options{
		Privileged: a.Docker.Privileged, CapAdd: a.Docker.CapAdd, Runtime: a.Docker.Runtime,
		HostNetwork: a.Docker.Network == "host", HostConfig: a.Docker.HostConfig, Volumes: a.Docker.Volumes,
		Dangerous: a.Docker.DangerousHostConfig,
	}
}

// backendMux picks each agent's sandbox backend.
type backendMux struct {
	nativeBin string // the CLI native agents run

	mu      sync.RWMutex
	byAgent map[string]sandbox.Backend
	native  map[string]bool // agents run without a container
}

func newBackendMux(nativeBin string) *backendMux {
	return &backendMux{nativeBin: nativeBin, byAgent: map[string]sandbox.Backend{}, native: map[string]bool{}}
}

// set routes agent to b (native: b runs local processes).
func (m *backendMux) set(agent string, b sandbox.Backend, native bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byAgent[agent], m.native[agent] = b, native
}

// Native reports whether agent runs without a container.
func (m *backendMux) Native(agent string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.native[agent]
}

func (m *backendMux) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Process, error) {
	m.mu.RLock()
	b, ok := m.byAgent[spec.Agent]
	native := m.native[spec.Agent]
	m.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("no sandbox backend for agent %q", spec.Agent)
	}
	if native && len(spec.Command) > 0 && spec.Command[0] == "claude" {
		spec.Command = append([]string{m.nativeBin}, spec.Command[1:]...)
	}
	return b.Start(ctx, spec)
}

// reportPoster posts schedule reports. A report whose platform the agent
// is not connected to (no token: the demo, a fleet being set up) goes to
// the console, saying so, instead of failing.
type reportPoster struct {
	mux  *bot.Mux
	log  *slog.Logger
	demo bool // no tokens is the point: not a warning
}

func (p reportPoster) Post(ctx context.Context, agent string, to bot.Target, m bot.Message) error {
	if to.Platform != bot.Console {
		if _, ok := p.mux.Outbox(agent, to.Platform); !ok {
			logf := p.log.Warn
			if p.demo {
				logf = p.log.Info
			}
			logf("report posted to the console: the agent is not connected to "+to.Platform, "agent", agent, "channel", to.Channel)
			m.Text = "(for " + to.Platform + " channel " + to.Channel + ", where " + agent + " is not connected)\n" + m.Text
			to = console.Target
		}
	}
	return p.mux.Post(ctx, agent, to, m)
}
