package config

import (
	"strings"
	"testing"
)

const twoAgents = "agents:\n  - path: agents/a\n  - path: agents/b\n"

// TestValidationRules has one failing input per rule; each must produce a
// problem naming the file, the field and what is wrong.
func TestValidationRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		env   map[string]string // process environment
		file  string            // where the problem is (suffix)
		field string
		msg   string
		line  int // 0: not checked
	}{
		{name: "AgentNameInvalid", files: map[string]string{"agents/a/agent.yaml": "name: bad name\n"},
			file: "agents/a/agent.yaml", field: "name", msg: "not a valid name", line: 1},
		{name: "AgentNameMissing", files: map[string]string{"agents/a/agent.yaml": "description: x\n"},
			file: "agents/a/agent.yaml", field: "name", msg: "required"},
		{name: "AgentNameDuplicate", files: map[string]string{"herdbot.yaml": twoAgents, "agents/b/agent.yaml": "name: a\n"},
			file: "agents/b/agent.yaml", field: "name", msg: "already used"},
		{name: "FleetNameInvalid", files: map[string]string{"herdbot.yaml": "fleet:\n  name: \"--\"\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "fleet.name", msg: "no letter or digit", line: 2},
		{name: "DurationInvalid", files: map[string]string{"agents/a/agent.yaml": "name: a\nrun_timeout: soon\n"},
			file: "agents/a/agent.yaml", field: "run_timeout", msg: "invalid duration", line: 2},
		{name: "DurationZero", files: map[string]string{"agents/a/agent.yaml": "name: a\nsession:\n  timeout: 0s\n"},
			file: "agents/a/agent.yaml", field: "session.timeout", msg: "greater than zero", line: 3},
		{name: "IntervalInvalid", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    type: interval\n    interval: 3x\n    prompt: p\n"},
			file: "agents/a/agent.yaml", field: "schedules.s.interval", msg: `interval "3x": unknown unit "x"`, line: 5},
		{name: "IntervalDecimal", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    type: interval\n    interval: 1.5h\n    prompt: p\n"},
			file: "agents/a/agent.yaml", field: "schedules.s.interval", msg: "decimals are not supported", line: 5},
		{name: "CronInvalid", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    type: cron\n    cron: \"61 * * * *\"\n    prompt: p\n"},
			file: "agents/a/agent.yaml", field: "schedules.s.cron", msg: "minute 61 is out of range", line: 5},
		// validate and start use one parser and check (sched/spec): what start
		// refuses, validate refuses.
		{name: "CronEvery", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    type: cron\n    cron: \"@every 5m\"\n    prompt: p\n"},
			file: "agents/a/agent.yaml", field: "schedules.s.cron", msg: "use an interval schedule", line: 5},
		{name: "JitterOverInterval", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    type: interval\n    interval: 5m\n    jitter: 10m\n    prompt: p\n"},
			file: "agents/a/agent.yaml", field: "schedules.s.jitter", msg: "shorter than the interval"},
		{name: "CronTooManyFields", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    type: cron\n    expression: \"0 0 0 * * * *\"\n    prompt: p\n"},
			file: "agents/a/agent.yaml", field: "schedules.s.expression", msg: "want 5 fields"},
		{name: "CronTZPrefix", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    type: cron\n    cron: \"TZ=UTC 0 7 * * *\"\n    prompt: p\n"},
			file: "agents/a/agent.yaml", field: "schedules.s.cron", msg: "timezone"},
		{name: "FleetTimezone", files: map[string]string{"herdbot.yaml": "timezone: Mars/Olympus\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "timezone", msg: "unknown time zone", line: 1},
		{name: "ScheduleTimezone", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    type: cron\n    cron: \"0 7 * * *\"\n    timezone: Nowhere/Town\n    prompt: p\n"},
			file: "agents/a/agent.yaml", field: "schedules.s.timezone", msg: "unknown time zone", line: 6},
		{name: "ScheduleAtInvalid", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    type: at\n    at: tomorrow\n    prompt: p\n"},
			file: "agents/a/agent.yaml", field: "schedules.s.at", msg: "invalid time"},
		{name: "ScheduleTypeUnknown", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    type: hourly\n    prompt: p\n"},
			file: "agents/a/agent.yaml", field: "schedules.s.type", msg: "not one of"},
		{name: "ScheduleTypeMissing", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    prompt: p\n"},
			file: "agents/a/agent.yaml", field: "schedules.s.type", msg: "required"},
		{name: "ScheduleFieldOfOtherType", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    type: interval\n    interval: 1h\n    cron: \"0 * * * *\"\n    prompt: p\n"},
			file: "agents/a/agent.yaml", field: "schedules.s.cron", msg: "only for type cron"},
		{name: "ScheduleName", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  \"my sched\":\n    type: interval\n    interval: 1h\n    prompt: p\n"},
			file: "agents/a/agent.yaml", field: "schedules.my sched", msg: `name "my sched": want letters, digits`},
		// The scheduler's own check (sched/spec) runs at validate: a
		// webhook template field not in fields, a qualified agent name
		// the scheduler cannot use.
		{name: "WebhookTemplateFieldNotListed", files: map[string]string{"agents/a/.env": "HOOK_SECRET=0123456789abcdef\n",
			"agents/a/agent.yaml": "name: a\nschedules:\n  hook:\n    type: webhook\n    secret_env: HOOK_SECRET\n    fields: [pr.number]\n    prompt: \"Review {{pr.title}}\"\n"},
			file: "agents/a/agent.yaml", field: "schedules.hook.prompt", msg: "prompt uses {{pr.title}}, which is not listed in fields", line: 7},
		{name: "QualifiedAgentNameTooLong", files: map[string]string{
			"herdbot.yaml": "fleets:\n  - path: ./" + strings.Repeat("f", 40) + "/herdbot.yaml\n",
			strings.Repeat("f", 40) + "/herdbot.yaml":        "agents:\n  - path: ./agents/a\n",
			strings.Repeat("f", 40) + "/agents/a/agent.yaml": "name: " + strings.Repeat("a", 40) + "\nschedules:\n  s:\n    type: interval\n    interval: 1h\n    prompt: p\n"},
			file: strings.Repeat("f", 40) + "/agents/a/agent.yaml", field: "name", msg: "(max 64)", line: 1},
		{name: "CatchUp", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    type: interval\n    interval: 1h\n    prompt: p\n    catch_up: all\n"},
			file: "agents/a/agent.yaml", field: "schedules.s.catch_up", msg: "not one of skip, once"},
		{name: "WebhookWithoutSecret", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  hook:\n    type: webhook\n    secret_env: HOOK_SECRET\n    prompt: p\n"},
			file: "agents/a/agent.yaml", field: "schedules.hook.secret_env", msg: "HOOK_SECRET is not set"},
		{name: "PostToWithoutChat", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    type: interval\n    interval: 1h\n    prompt: p\n    post_to: {platform: discord, channel: \"123\"}\n"},
			file: "agents/a/agent.yaml", field: "schedules.s.post_to.platform", msg: "no chat.discord"},
		{name: "PostToPlatform", files: map[string]string{"agents/a/agent.yaml": "name: a\nschedules:\n  s:\n    type: interval\n    interval: 1h\n    prompt: p\n    post_to: {platform: irc, channel: x}\n"},
			file: "agents/a/agent.yaml", field: "schedules.s.post_to.platform", msg: "not one of discord, slack, console"},
		{name: "DiscordGuildID", files: map[string]string{"agents/a/agent.yaml": "name: a\nchat:\n  discord:\n    bot_token_env: T\n    guilds:\n      - id: my-server\n"},
			file: "agents/a/agent.yaml", field: "chat.discord.guilds[0].id", msg: "not a Discord id", line: 6},
		{name: "DiscordChannelID", files: map[string]string{"agents/a/agent.yaml": "name: a\nchat:\n  discord:\n    bot_token_env: T\n    guilds:\n      - id: 1\n        channels:\n          - id: general\n"},
			file: "agents/a/agent.yaml", field: "chat.discord.guilds[0].channels[0].id", msg: "not a Discord id"},
		{name: "DiscordChannelMode", files: map[string]string{"agents/a/agent.yaml": "name: a\nchat:\n  discord:\n    bot_token_env: T\n    guilds:\n      - id: 1\n        channels:\n          - id: 2\n            mode: always\n"},
			file: "agents/a/agent.yaml", field: "chat.discord.guilds[0].channels[0].mode", msg: `"always" is not one of mention, auto`, line: 9},
		{name: "DiscordDefaultChannelMode", files: map[string]string{"agents/a/agent.yaml": "name: a\nchat:\n  discord:\n    bot_token_env: T\n    guilds:\n      - id: 1\n        default_channel_mode: loud\n"},
			file: "agents/a/agent.yaml", field: "chat.discord.guilds[0].default_channel_mode", msg: "not one of"},
		{name: "DiscordTokenEnvMissing", files: map[string]string{"agents/a/agent.yaml": "name: a\nchat:\n  discord:\n    guilds: []\n"},
			file: "agents/a/agent.yaml", field: "chat.discord.bot_token_env", msg: "required"},
		{name: "DiscordDMAllowlist", files: map[string]string{"agents/a/agent.yaml": "name: a\nchat:\n  discord:\n    bot_token_env: T\n    dm:\n      enabled: true\n      allowlist: [bob]\n"},
			file: "agents/a/agent.yaml", field: "chat.discord.dm.allowlist[0]", msg: "not a Discord id"},
		{name: "SlackChannelID", files: map[string]string{"agents/a/agent.yaml": "name: a\nchat:\n  slack:\n    bot_token_env: B\n    app_token_env: A\n    channels:\n      - id: general\n"},
			file: "agents/a/agent.yaml", field: "chat.slack.channels[0].id", msg: "not a Slack channel id"},
		{name: "SlackUserID", files: map[string]string{"agents/a/agent.yaml": "name: a\napprovers:\n  slack: [C123ABC]\n"},
			file: "agents/a/agent.yaml", field: "approvers.slack[0]", msg: "not a Slack user id"},
		{name: "SlackSlashCommand", files: map[string]string{"agents/a/agent.yaml": "name: a\nchat:\n  slack:\n    bot_token_env: B\n    app_token_env: A\n    slash_command: Ask Me\n"},
			file: "agents/a/agent.yaml", field: "chat.slack.slash_command", msg: "not a slash command"},
		{name: "DiscordApprover", files: map[string]string{"agents/a/agent.yaml": "name: a\napprovers:\n  discord: [\"role:admins\"]\n"},
			file: "agents/a/agent.yaml", field: "approvers.discord[0]", msg: "not a Discord id"},
		{name: "PermissionMode", files: map[string]string{"agents/a/agent.yaml": "name: a\npermission_mode: yolo\n"},
			file: "agents/a/agent.yaml", field: "permission_mode", msg: "not one of default, acceptEdits, bypassPermissions, plan, delegate, dontAsk, auto", line: 2},
		{name: "QueueMode", files: map[string]string{"agents/a/agent.yaml": "name: a\nqueue:\n  mode: drop\n"},
			file: "agents/a/agent.yaml", field: "queue.mode", msg: "not one of queue, steer"},
		{name: "QueuePerUser", files: map[string]string{"agents/a/agent.yaml": "name: a\nqueue:\n  per_user: fast\n"},
			file: "agents/a/agent.yaml", field: "queue.per_user", msg: "want N/duration"},
		{name: "QueuePerUserZero", files: map[string]string{"agents/a/agent.yaml": "name: a\nqueue:\n  per_user: 0/1m\n"},
			file: "agents/a/agent.yaml", field: "queue.per_user", msg: "N 1 or more"},
		{name: "QueuePerUserDuration", files: map[string]string{"agents/a/agent.yaml": "name: a\nqueue:\n  per_user: 5/soon\n"},
			file: "agents/a/agent.yaml", field: "queue.per_user", msg: "bad duration"},
		{name: "QueueAgentMax", files: map[string]string{"agents/a/agent.yaml": "name: a\nqueue:\n  agent_max: 0\n"},
			file: "agents/a/agent.yaml", field: "queue.agent_max", msg: "1 or more"},
		{name: "QueueNoticeEvery", files: map[string]string{"agents/a/agent.yaml": "name: a\nqueue:\n  notice_every: never\n"},
			file: "agents/a/agent.yaml", field: "queue.notice_every", msg: "never"},
		{name: "MaxConcurrent", files: map[string]string{"agents/a/agent.yaml": "name: a\ninstances:\n  max_concurrent: 0\n"},
			file: "agents/a/agent.yaml", field: "instances.max_concurrent", msg: "1 or more"},
		{name: "MaxTurnsNotNumber", files: map[string]string{"agents/a/agent.yaml": "name: a\nmax_turns: lots\n"},
			file: "agents/a/agent.yaml", field: "max_turns", msg: "lots", line: 2},
		{name: "MCPStdioNoCommand", files: map[string]string{"agents/a/agent.yaml": "name: a\nmcp_servers:\n  fs:\n    type: stdio\n"},
			file: "agents/a/agent.yaml", field: "mcp_servers.fs.command", msg: "required"},
		{name: "SameDiscordToken", files: map[string]string{
			"herdbot.yaml":        twoAgents,
			"agents/a/agent.yaml": "name: a\nchat:\n  discord:\n    bot_token_env: A_TOKEN\n",
			"agents/a/.env":       "A_TOKEN=same-token-value\n",
			"agents/b/agent.yaml": "name: b\nchat:\n  discord:\n    bot_token_env: B_TOKEN\n",
			"agents/b/.env":       "B_TOKEN=same-token-value\n"},
			file: "agents/b/agent.yaml", field: "chat.discord.bot_token_env", msg: "each agent needs its own bot", line: 4},
		{name: "SameSlackToken", files: map[string]string{
			"herdbot.yaml":        twoAgents,
			"agents/a/agent.yaml": "name: a\nchat:\n  slack: {bot_token_env: X, app_token_env: Y}\n",
			"agents/a/.env":       "X=xoxb-1\nY=xapp-1\n",
			"agents/b/agent.yaml": "name: b\nchat:\n  slack: {bot_token_env: X, app_token_env: Y}\n",
			"agents/b/.env":       "X=xoxb-1\nY=xapp-2\n"},
			file: "agents/b/agent.yaml", field: "chat.slack.bot_token_env", msg: "same as agent a's Slack bot token"},
		{name: "UnknownAgentKey", files: map[string]string{"agents/a/agent.yaml": "name: a\nbogus: 1\n"},
			file: "agents/a/agent.yaml", field: "bogus", msg: "unknown key", line: 2},
		{name: "UnknownNestedKey", files: map[string]string{"agents/a/agent.yaml": "name: a\nsession:\n  timeot: 1h\n"},
			file: "agents/a/agent.yaml", field: "session.timeot", msg: "unknown key", line: 3},
		{name: "UnknownFleetKey", files: map[string]string{"herdbot.yaml": "agents:\n  - path: agents/a\n    overrides:\n      docker:\n        imagee: x\n"},
			file: "herdbot.yaml", field: "agents[0].overrides.docker.imagee", msg: "unknown key", line: 5},
		{name: "KeysAreCaseSensitive", files: map[string]string{"agents/a/agent.yaml": "name: a\ndocker:\n  Image: evil\n"},
			file: "agents/a/agent.yaml", field: "docker.Image", msg: "unknown key"},
		{name: "AgentNetworkPrivate", files: map[string]string{"agents/a/agent.yaml": "name: a\nnetwork:\n  private: [\"10.0.0.1:22\"]\n"},
			file: "agents/a/agent.yaml", field: "network.private", msg: "agents[].overrides.network"},
		{name: "AgentNetworkWidens", files: map[string]string{
			"herdbot.yaml":        "defaults:\n  network:\n    allow: [api.github.com]\nagents:\n  - path: agents/a\n",
			"agents/a/agent.yaml": "name: a\nnetwork:\n  allow: [api.github.com, evil.example.com]\n"},
			file: "agents/a/agent.yaml", field: "network.allow[1]", msg: "not in the fleet's allowlist", line: 3},
		{name: "AgentNetworkWildcardWidens", files: map[string]string{
			"herdbot.yaml":        "defaults:\n  network:\n    allow: [api.github.com]\nagents:\n  - path: agents/a\n",
			"agents/a/agent.yaml": "name: a\nnetwork:\n  allow: [\"*.github.com\"]\n"},
			file: "agents/a/agent.yaml", field: "network.allow[0]", msg: "only narrow"},
		{name: "AllowIsHostName", files: map[string]string{"herdbot.yaml": "defaults:\n  network:\n    allow: [\"10.1.1.1\"]\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "defaults.network.allow[0]", msg: "IP address"},
		{name: "PrivateFormat", files: map[string]string{"herdbot.yaml": "agents:\n  - path: agents/a\n    overrides:\n      network:\n        private: [proxmox.lan]\n"},
			file: "herdbot.yaml", field: "agents[0].overrides.network.private[0]", msg: "host:port"},
		{name: "HostConfigPrivileged", files: map[string]string{"herdbot.yaml": "agents:\n  - path: agents/a\n    overrides:\n      docker:\n        host_config:\n          Privileged: true\n"},
			file: "herdbot.yaml", field: "agents[0].overrides.docker.host_config.Privileged", msg: "dangerous_host_config: true", line: 6},
		{name: "HostConfigFromDefaults", files: map[string]string{"herdbot.yaml": "defaults:\n  docker:\n    host_config:\n      CapAdd: [NET_ADMIN]\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "defaults.docker.host_config.CapAdd", msg: "undoes the container hardening"},
		{name: "HostConfigReadonlyRootfsFalse", files: map[string]string{"herdbot.yaml": "docker:\n  host_config:\n    ReadonlyRootfs: false\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "docker.host_config.ReadonlyRootfs", msg: "writable"},
		{name: "HostConfigSecurityOptLowercase", files: map[string]string{"herdbot.yaml": "docker:\n  host_config:\n    securityopt: [\"seccomp=unconfined\"]\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "docker.host_config.securityopt", msg: "security options"},
		{name: "HostConfigDns", files: map[string]string{"herdbot.yaml": "docker:\n  host_config:\n    Dns: [\"8.8.8.8\"]\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "docker.host_config.Dns", msg: "DNS upstream"},
		{name: "HostConfigPidMode", files: map[string]string{"herdbot.yaml": "docker:\n  host_config:\n    PidMode: host\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "docker.host_config.PidMode", msg: "PID namespace"},
		{name: "NetworkHost", files: map[string]string{"herdbot.yaml": "agents:\n  - path: agents/a\n    overrides:\n      docker:\n        network: host\n"},
			file: "herdbot.yaml", field: "agents[0].overrides.docker.network", msg: "dangerous_host_config"},
		{name: "PrivilegedField", files: map[string]string{"herdbot.yaml": "defaults:\n  docker:\n    privileged: true\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "defaults.docker.privileged", msg: "dangerous_host_config"},
		{name: "RootUser", files: map[string]string{"herdbot.yaml": "docker:\n  user: \"0:0\"\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "docker.user", msg: "root"},
		{name: "DangerousFlagInDefaults", files: map[string]string{"herdbot.yaml": "defaults:\n  docker:\n    dangerous_host_config: true\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "defaults.docker.dangerous_host_config", msg: "per agent"},
		{name: "NetworkMode", files: map[string]string{"herdbot.yaml": "docker:\n  network: overlay\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "docker.network", msg: "not one of none, bridge, host"},
		{name: "Memory", files: map[string]string{"agents/a/agent.yaml": "name: a\ndocker:\n  memory: lots\n"},
			file: "agents/a/agent.yaml", field: "docker.memory", msg: "invalid memory size", line: 3},
		{name: "MemoryTooSmall", files: map[string]string{"agents/a/agent.yaml": "name: a\ndocker:\n  memory: 1k\n"},
			file: "agents/a/agent.yaml", field: "docker.memory", msg: "minimum"},
		{name: "PidsLimitZero", files: map[string]string{"agents/a/agent.yaml": "name: a\ndocker:\n  pids_limit: 0\n"},
			file: "agents/a/agent.yaml", field: "docker.pids_limit", msg: "1 or more"},
		{name: "WorkspaceMode", files: map[string]string{"agents/a/agent.yaml": "name: a\ndocker:\n  workspace_mode: rwx\n"},
			file: "agents/a/agent.yaml", field: "docker.workspace_mode", msg: "not one of rw, ro"},
		{name: "TmpfsProc", files: map[string]string{"agents/a/agent.yaml": "name: a\ndocker:\n  tmpfs: [\"/proc/x:size=1m\"]\n"},
			file: "agents/a/agent.yaml", field: "docker.tmpfs[0]", msg: "may not be under /proc"},
		{name: "ReservedLabel", files: map[string]string{"agents/a/agent.yaml": "name: a\ndocker:\n  labels:\n    herdbot.agent: other\n"},
			file: "agents/a/agent.yaml", field: "docker.labels.herdbot.agent", msg: "reserved"},
		{name: "CPUPeriod", files: map[string]string{"agents/a/agent.yaml": "name: a\ndocker:\n  cpu_period: 5\n"},
			file: "agents/a/agent.yaml", field: "docker.cpu_period", msg: "between 1000 and 1000000"},
		{name: "Volume", files: map[string]string{"herdbot.yaml": "docker:\n  volumes: [\"/data\"]\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "docker.volumes[0]", msg: "host:container"},
		{name: "DockerEnvName", files: map[string]string{"herdbot.yaml": "agents:\n  - path: agents/a\n    overrides:\n      docker:\n        env:\n          1BAD: x\n"},
			file: "herdbot.yaml", field: "agents[0].overrides.docker.env.1BAD", msg: "not a variable name"},
		{name: "Version", files: map[string]string{"herdbot.yaml": "version: \"1\"\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "version", msg: "expected a whole number", line: 1},
		{name: "VersionZero", files: map[string]string{"herdbot.yaml": "version: 0\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "version", msg: "1 or more", line: 1},
		{name: "AgentPathMissing", files: map[string]string{"herdbot.yaml": "agents:\n  - overrides: {}\n"},
			file: "herdbot.yaml", field: "agents[0].path", msg: "required"},
		{name: "AgentPathNotFound", files: map[string]string{"herdbot.yaml": "agents:\n  - path: agents/zzz\n"},
			file: "herdbot.yaml", field: "agents[0].path", msg: "no such file", line: 2},
		{name: "AgentDirWithoutFile", files: map[string]string{"herdbot.yaml": "agents:\n  - path: agents/b\n", "agents/b/notes.md": "x"},
			file: "herdbot.yaml", field: "agents[0].path", msg: "has no agent.yaml or herdctl-agent.yaml"},
		{name: "AgentInFleetDir", files: map[string]string{"herdbot.yaml": "agents:\n  - path: agent.yaml\n", "agent.yaml": "name: a\n"},
			file: "herdbot.yaml", field: "agents[0].path", msg: "its .env would be the fleet .env"},
		{name: "AgentListedTwice", files: map[string]string{"herdbot.yaml": "agents:\n  - path: agents/a\n  - path: agents/a/agent.yaml\n"},
			file: "herdbot.yaml", field: "agents[1].path", msg: "listed twice"},
		{name: "WorkingDirectoryMissing", files: map[string]string{"agents/a/agent.yaml": "name: a\nworking_directory: nowhere\n"},
			file: "agents/a/agent.yaml", field: "working_directory", msg: "no such file"},
		{name: "WorkingDirectoryIsFleetDir", files: map[string]string{"agents/a/agent.yaml": "name: a\nworking_directory: ../..\n"},
			file: "agents/a/agent.yaml", field: "working_directory", msg: "is the fleet directory"},
		{name: "WorkingDirectoryOtherAgent", files: map[string]string{"herdbot.yaml": "agents:\n  - path: agents/a\n  - path: x/b\n",
			"agents/a/agent.yaml": "name: a\nworking_directory: ../../x\n", "x/b/agent.yaml": "name: b\n"},
			file: "agents/a/agent.yaml", field: "working_directory", msg: "contains agent b's directory"},
		{name: "SharedEnvDir", files: map[string]string{"herdbot.yaml": "agents:\n  - path: agents/one.yaml\n  - path: agents/two.yaml\n",
			"agents/one.yaml": "name: one\n", "agents/two.yaml": "name: two\n", "agents/.env": "X=1\n"},
			file: "agents/two.yaml", field: "", msg: "share the directory"},
		{name: "DuplicateYAMLKey", files: map[string]string{"agents/a/agent.yaml": "name: a\nmodel: x\nmodel: y\n"},
			file: "agents/a/agent.yaml", field: "model", msg: "key given twice", line: 3},
		{name: "YAMLSyntax", files: map[string]string{"agents/a/agent.yaml": "name: a\nmodel: [x\n"},
			file: "agents/a/agent.yaml", field: "", msg: "invalid YAML"},
		{name: "TopLevelNotMapping", files: map[string]string{"agents/a/agent.yaml": "- a\n- b\n"},
			file: "agents/a/agent.yaml", field: "", msg: "top level must be a mapping"},
		{name: "CustomTag", files: map[string]string{"agents/a/agent.yaml": "name: !env FOO\n"},
			file: "agents/a/agent.yaml", field: "name", msg: "custom YAML tag"},
		{name: "EnvSyntax", files: map[string]string{"agents/a/.env": "GOOD=1\nthis line is bad\n"},
			file: "agents/a/.env", field: "", msg: "expected KEY=VALUE", line: 2},
		{name: "EnvUnclosedQuote", files: map[string]string{".env": "A=\"open\n"},
			file: ".env", field: "", msg: "no closing"},
		{name: "HTTPListen", files: map[string]string{"herdbot.yaml": "http:\n  listen: nine\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "http.listen", msg: "not host:port"},
		{name: "ModelBaseURL", files: map[string]string{"herdbot.yaml": "model_api:\n  base_url: ftp://x\nagents:\n  - path: agents/a\n"},
			file: "herdbot.yaml", field: "model_api.base_url", msg: "not an http(s) URL"},
		{name: "RuntimeUnknown", files: map[string]string{"agents/a/agent.yaml": "name: a\nruntime: python\n"},
			file: "agents/a/agent.yaml", field: "runtime", msg: `"python" is not one of sdk, cli`},
		{name: "WorkingDirectoryMapNoRoot", files: map[string]string{"agents/a/agent.yaml": "name: a\nworking_directory:\n  auto_clone: true\n"},
			file: "agents/a/agent.yaml", field: "working_directory.root", msg: "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := loadFiles(t, with(baseFleet, tc.files), tc.env)
			p := findProblem(t, err, tc.file, tc.field, tc.msg)
			if tc.line != 0 && p.Line != tc.line {
				t.Errorf("line = %d, want %d (%s)", p.Line, tc.line, p)
			}
		})
	}
}

// TestAgentFileDangerousDocker checks every fleet-only docker option in an
// agent file is refused with the field and where to set it instead.
func TestAgentFileDangerousDocker(t *testing.T) {
	for _, opt := range []string{
		"image: evil:latest", "network: host", "volumes: [\"/:/host\"]", "user: \"0:0\"", "ports: [\"80:80\"]",
		"env: {A: b}", "host_config: {Privileged: true}", "privileged: true", "cap_add: [SYS_ADMIN]", "runtime: runc",
		"dangerous_host_config: true",
	} {
		key, _, _ := strings.Cut(opt, ":")
		t.Run(key, func(t *testing.T) {
			_, _, err := loadFiles(t, with(baseFleet, map[string]string{"agents/a/agent.yaml": "name: a\ndocker:\n  enabled: true\n  " + opt + "\n"}), nil)
			p := findProblem(t, err, "agents/a/agent.yaml", "docker."+key, "set it in the fleet file under agents[].overrides.docker")
			if p.Line != 4 {
				t.Errorf("line = %d, want 4", p.Line)
			}
			if !strings.Contains(p.Message, "may not be set in an agent file") {
				t.Errorf("message %q does not say why", p.Message)
			}
		})
	}
}

// TestErrorsCollected checks that Load reports every problem, across
// files, in one error, one per line.
func TestErrorsCollected(t *testing.T) {
	_, _, err := loadFiles(t, with(baseFleet, map[string]string{
		"herdbot.yaml":        "timezone: Nowhere\nhttp:\n  listen: x\n" + twoAgents,
		"agents/a/agent.yaml": "name: a\npermission_mode: nope\nrun_timeout: never\nbogus: 1\n",
		"agents/b/agent.yaml": "name: \"b b\"\nschedules:\n  s:\n    type: cron\n    cron: \"x\"\n    prompt: p\n",
	}), nil)
	ps := problemsOf(t, err)
	want := []string{"timezone", "http.listen", "permission_mode", "run_timeout", "bogus", "name", "schedules.s.cron"}
	for _, w := range want {
		found := false
		for _, p := range ps {
			if p.Field == w {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem at %s in:\n%v", w, err)
		}
	}
	if got := strings.Count(err.Error(), "\n") + 1; got != len(ps) {
		t.Errorf("Error() has %d lines for %d problems", got, len(ps))
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.Contains(line, ".yaml:") {
			t.Errorf("line %q does not start with file:line", line)
		}
	}
}
