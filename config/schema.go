package config

// The structs in this file are the configuration files' schema as written
// on disk. Load decodes every file into them strictly (an unknown key is an
// error) and then resolves them into Fleet and Agent. Struct tags:
//
//	yaml:    the YAML key
//	doc:     one-line description, used by WriteReference
//	default: the default, as shown in the reference
//	scope:   "fleet" for agent fields that only the fleet file may set
//	         (defaults, agents[].overrides, top-level docker)
//
// herdctl's fields that herdbot does not act on are not here: herdctl.go
// lists every herdctl field, checks herdctl's rules for it, warns about
// the ones herdbot ignores and drops them before decoding.

// fleetSpec is the fleet file, herdbot.yaml (or herdctl.yaml).
type fleetSpec struct {
	Version  any                   `yaml:"version" doc:"Schema version: a whole number; herdctl writes 1. Optional."`
	Fleet    fleetMetaSpec         `yaml:"fleet" doc:"The fleet's name and description."`
	StateDir string                `yaml:"state_dir" doc:"Directory for the SQLite database, control socket, lock and installation id, relative to the fleet file (~ is herdbot's home); one herdbot start owns it at a time." default:".herdbot"`
	Timezone string                `yaml:"timezone" doc:"IANA time zone for cron schedules and displayed times (e.g. Europe/Berlin)." default:"Local"`
	HTTP     httpSpec              `yaml:"http" doc:"herdbot's own HTTP server (health, metrics, webhook schedules, the web dashboard)."`
	Web      webSpec               `yaml:"web" doc:"The web dashboard, served on http.listen (herdctl's web; its host, port and open_browser are ignored). Its login is in the fleet .env: HERDBOT_WEB_PASSWORD_HASH (a bcrypt hash, from herdbot web hash-password) and/or HERDBOT_WEB_TOKEN; with one, everyone signs in. Without one it serves, on a loopback http.listen, only connections from herdbot's own uid or root; off loopback herdbot refuses to start."`
	ModelAPI modelAPISpec          `yaml:"model_api" doc:"Where the model API is and which fleet .env variables hold its credentials. The egress proxy adds them; containers never see them."`
	Docker   dockerSpec            `yaml:"docker" doc:"Fleet-wide docker options (herdctl's top-level docker). Lowest precedence: defaults.docker, the agent file and agents[].overrides.docker go over it."`
	Engines  map[string]engineSpec `yaml:"engines" doc:"Docker engines on other machines, by name, that agents can be placed on with agents[].overrides.docker.engine (the local engine is the default). Only in the top fleet file."`
	Defaults agentSpec             `yaml:"defaults" doc:"Agent fields applied to every agent; the agent file and its overrides take precedence. Same keys as an agent file, plus the fleet-only ones."`
	Agents   []agentRef            `yaml:"agents" doc:"The agents of the fleet, in order."`
	Fleets   []fleetRef            `yaml:"fleets" doc:"herdctl's sub-fleets: other fleet files whose agents join this fleet, named <fleet>.<agent>. Their defaults cascade below this file's; only this file's state_dir, http, model_api, timezone and docker apply."`
}

type fleetMetaSpec struct {
	Name        string `yaml:"name" doc:"Fleet name, used in container labels, network names and logs (characters other than letters, digits, ., _ and - become -)." default:"the fleet directory's name"`
	Description string `yaml:"description" doc:"Free text."`
}

type httpSpec struct {
	Listen string `yaml:"listen" doc:"Address to listen on, host:port." default:"127.0.0.1:9090"`
}

type webSpec struct {
	Enabled            *bool `yaml:"enabled" doc:"Serve the dashboard." default:"true"`
	SessionExpiryHours int   `yaml:"session_expiry_hours" doc:"How long a dashboard session lasts from its start, in hours (one unused for an hour ends sooner)." default:"12"`
	ToolResults        *bool `yaml:"tool_results" doc:"Show tool results in the dashboard's transcripts." default:"true"`
}

// engineSpec is one entry of engines:.
type engineSpec struct {
	Host string        `yaml:"host" doc:"The engine's address: tcp://HOST:PORT (needs tls), ssh://USER@HOST[:PORT] (needs ssh; port 22 by default) or unix:///path/to/docker.sock."`
	TLS  engineTLSSpec `yaml:"tls" doc:"Client certificate for a tcp:// engine (the engine runs with --tlsverify). Paths are relative to the fleet file and may not be inside any agent's directory or workspace."`
	SSH  engineSSHSpec `yaml:"ssh" doc:"How to reach an ssh:// engine: herdbot connects over SSH and forwards to the engine's unix socket there (OpenSSH streamlocal forwarding; the server needs AllowStreamLocalForwarding, and USER access to the socket). Paths are relative to the fleet file and may not be inside any agent's directory or workspace."`
}

type engineSSHSpec struct {
	Key        string `yaml:"key" doc:"herdbot's private key file (unencrypted); only herdbot's user may read or write it."`
	KnownHosts string `yaml:"known_hosts" doc:"Required: a known_hosts file with the machine's host key. The host key is always checked; an unknown or changed key is refused."`
	Socket     string `yaml:"socket" doc:"The engine's socket on that machine." default:"/var/run/docker.sock"`
}

type engineTLSSpec struct {
	CA   string `yaml:"ca" doc:"The CA certificate that signed the engine's server certificate (PEM)."`
	Cert string `yaml:"cert" doc:"herdbot's client certificate (PEM)."`
	Key  string `yaml:"key" doc:"Its private key (PEM); only herdbot's user may read or write it."`
}

type modelAPISpec struct {
	BaseURL       string `yaml:"base_url" doc:"Model API base URL the egress proxy forwards to." default:"https://api.anthropic.com"`
	APIKeyEnv     string `yaml:"api_key_env" doc:"Fleet .env (or process) variable holding the API key." default:"ANTHROPIC_API_KEY"`
	OAuthTokenEnv string `yaml:"oauth_token_env" doc:"Fleet .env (or process) variable holding a Claude subscription OAuth token." default:"CLAUDE_CODE_OAUTH_TOKEN"`
}

type agentRef struct {
	Path      string    `yaml:"path" doc:"Agent file, or a directory holding agent.yaml or herdctl-agent.yaml (an empty one is herdbot's placeholder and skipped); relative to the fleet file."`
	Overrides agentSpec `yaml:"overrides" doc:"Agent fields merged over the agent file (maps merge, lists replace). Variables here resolve against the agent's .env, then the fleet .env, then the process environment. The only place for docker.dangerous_host_config."`
}

// fleetRef is an entry of fleets: (herdctl's sub-fleets).
type fleetRef struct {
	Path      string    `yaml:"path" doc:"The sub-fleet's fleet file, relative to this file."`
	Name      string    `yaml:"name" doc:"The sub-fleet's name (letters, digits, _ and -)." default:"its fleet.name, else its directory's name"`
	Overrides fleetSpec `yaml:"overrides" doc:"Fleet fields merged over the sub-fleet's file (not agents or fleets)."`
}

// agentSpec is an agent file (agent.yaml or herdctl-agent.yaml), and the
// shape of defaults and agents[].overrides in the fleet file.
type agentSpec struct {
	Name             string                  `yaml:"name" doc:"Agent name: letters, digits, _ and -, starting with a letter or digit; unique in the fleet. Required."`
	Description      string                  `yaml:"description" doc:"Free text, shown by herdbot validate."`
	WorkingDirectory any                     `yaml:"working_directory" doc:"The agent's workspace: a path (relative to the agent file) or herdctl's {root: path}. It must keep clear of herdbot's state, the fleet directory, other agents and system directories (see above)." default:"the agent file's directory"`
	SystemPrompt     string                  `yaml:"system_prompt" doc:"Appended to Claude Code's system prompt."`
	DefaultPrompt    string                  `yaml:"default_prompt" doc:"Prompt for runs started without one (herdbot trigger, schedules without prompt)."`
	Model            string                  `yaml:"model" doc:"Claude model name or alias (e.g. sonnet)." default:"the CLI's default"`
	Models           []string                `yaml:"models" doc:"Models an approver may switch a conversation to with /model (names or aliases the CLI takes). An agent file may only narrow the fleet file's list." default:"none: /model only shows the model"`
	MaxTurns         *int                    `yaml:"max_turns" doc:"Maximum agentic turns per run (1 or more); leave it out for no limit." default:"no limit"`
	PermissionMode   string                  `yaml:"permission_mode" doc:"Claude Code permission mode: default, acceptEdits, plan, bypassPermissions, dontAsk or auto. Tools not pre-approved are asked for in chat." default:"default"`
	Tools            []string                `yaml:"tools" doc:"Tools available to the agent (empty: all the CLI has)."`
	AllowedTools     []string                `yaml:"allowed_tools" doc:"Pre-approved tools, Claude Code rule syntax: Read, Bash(git *), mcp__server__*."`
	DeniedTools      []string                `yaml:"denied_tools" doc:"Tools that are always refused."`
	MCPServers       map[string]mcpSpec      `yaml:"mcp_servers" doc:"MCP servers by name."`
	Session          sessionSpec             `yaml:"session" doc:"Chat session settings."`
	Instances        instancesSpec           `yaml:"instances" doc:"Concurrency."`
	Queue            queueSpec               `yaml:"queue" doc:"What happens to messages that arrive while a run is going."`
	RunTimeout       string                  `yaml:"run_timeout" doc:"Longest a single run may take (Go duration, or days like 3d)." default:"30m"`
	Budget           budgetSpec              `yaml:"budget" doc:"Spending caps in US dollars, from the cost the CLI reports per run. A run that would start with the cap reached is refused (a running one finishes). Days and months begin at midnight in the fleet's timezone, or UTC when it is not set. An agent file may only lower the fleet file's caps."`
	ApprovalTimeout  string                  `yaml:"approval_timeout" doc:"How long a tool approval request waits before it is denied." default:"10m"`
	Approvers        approversSpec           `yaml:"approvers" doc:"Who may approve tool requests, per platform. Nobody listed: requests are denied."`
	Network          networkSpec             `yaml:"network" doc:"Egress allowlist. An agent file may only narrow what the fleet file allows."`
	Docker           dockerSpec              `yaml:"docker" doc:"Container settings. An agent file may set only the safe subset; the rest is fleet-only."`
	Schedules        map[string]scheduleSpec `yaml:"schedules" doc:"Schedules by name, in file order."`
	Files            filesSpec               `yaml:"files" doc:"Files people send with chat messages: images go to the agent in the prompt, other files into inbox/<job>/ in its workspace. An agent file may only narrow what the fleet file allows."`
	Chat             chatSpec                `yaml:"chat" doc:"Chat connections; each agent has its own bot identity."`
	Runtime          string                  `yaml:"runtime" doc:"herdctl's runner: cli (the only one herdbot has). sdk is accepted with a warning." default:"cli"`
}

type filesSpec struct {
	Enabled        *bool    `yaml:"enabled" doc:"Take files sent with chat messages (a message with files is refused when false)." default:"true"`
	MaxFileSize    string   `yaml:"max_file_size" doc:"Largest file, e.g. 512k, 10m." default:"10m"`
	MaxMessageSize string   `yaml:"max_message_size" doc:"Largest total of one message's files." default:"25m"`
	MaxCount       *int     `yaml:"max_count" doc:"Most files in one message." default:"10"`
	Types          []string `yaml:"types" doc:"File types taken, sniffed from the bytes (the declared type is not trusted): media types, major/* or *." default:"image/png, image/jpeg, image/gif, image/webp, text/*, application/pdf, application/zip, application/x-gzip"`
}

type mcpSpec struct {
	Type    string            `yaml:"type" doc:"stdio, sse or http." default:"stdio with command, http with url"`
	Command string            `yaml:"command" doc:"Program to start (stdio)."`
	Args    []string          `yaml:"args" doc:"Its arguments."`
	Env     map[string]string `yaml:"env" doc:"Its environment."`
	URL     string            `yaml:"url" doc:"Server URL (sse, http)."`
	Headers map[string]string `yaml:"headers" doc:"HTTP headers (sse, http)."`
}

type sessionSpec struct {
	Timeout  string `yaml:"timeout" doc:"A chat session idle longer than this starts afresh." default:"24h"`
	MaxTurns *int   `yaml:"max_turns" doc:"Turn limit for chat runs (overrides max_turns)."`
	Model    string `yaml:"model" doc:"Model for chat runs (overrides model)."`
}

type budgetSpec struct {
	DailyUSD   *float64 `yaml:"daily_usd" doc:"Most the agent's runs may cost per day (more than 0)." default:"no cap"`
	MonthlyUSD *float64 `yaml:"monthly_usd" doc:"Most the agent's runs may cost per calendar month (more than 0)." default:"no cap"`
}

type instancesSpec struct {
	MaxConcurrent *int `yaml:"max_concurrent" doc:"Runs of this agent at the same time (different conversations)." default:"1"`
}

type queueSpec struct {
	Max         *int   `yaml:"max" doc:"Chat messages waiting per conversation. When full, someone with fewer waiting there takes the place of the newest message of whoever has the most; otherwise the new message is refused." default:"10"`
	Mode        string `yaml:"mode" doc:"queue (wait for the run to end) or steer (feed into the running turn)." default:"queue"`
	AgentMax    *int   `yaml:"agent_max" doc:"Chat messages waiting across all of the agent's conversations (Slack threads and DMs included), shared out like max." default:"50"`
	PerUser     string `yaml:"per_user" doc:"How many messages one person may send the agent: N/duration, a bucket of N refilled at N per duration (10/1m), or off. Over it, a message is not queued." default:"10/1m"`
	NoticeEvery string `yaml:"notice_every" doc:"At most one 'not queued' and one 'queued' notice per person per this long." default:"1m"`
}

type approversSpec struct {
	Discord []string `yaml:"discord" doc:"Discord user ids, or role:ID for everyone with that role."`
	Slack   []string `yaml:"slack" doc:"Slack user ids (U… or W…)."`
	Console []string `yaml:"console" doc:"\"local\": the local operator, at the terminal of herdbot start --demo/--console or through herdbot chat (only herdbot's own user and root reach its socket), whatever their login name; \"*\" is the same."`
	Web     []string `yaml:"web" doc:"Who may decide in the web dashboard: \"local\", herdbot's own user or root at this machine, on a loopback http.listen without a login; \"operator\", whoever signed in with the fleet .env's HERDBOT_WEB_PASSWORD_HASH password or HERDBOT_WEB_TOKEN; \"*\", either."`
}

type networkSpec struct {
	Allow   []string `yaml:"allow" doc:"Host names the agent may reach through the egress proxy: exact (api.github.com) or wildcard (*.github.com)."`
	Private []string `yaml:"private" scope:"fleet" doc:"Private destinations the proxy may reach, host:port or CIDR:port (e.g. proxmox.lan:8006)."`
}

// dockerSpec is docker: in an agent file (safe keys only), in defaults,
// agents[].overrides or the fleet's top level (all keys).
type dockerSpec struct {
	Enabled             *bool             `yaml:"enabled" doc:"Run the agent in a hardened container. false runs it natively (no isolation; development only)." default:"true"`
	Ephemeral           *bool             `yaml:"ephemeral" doc:"A fresh container per run (sessions survive in a per-agent volume)." default:"true"`
	Memory              string            `yaml:"memory" doc:"Memory limit, e.g. 512m, 2g." default:"2g"`
	DiskLimit           string            `yaml:"disk_limit" doc:"Disk space the agent's writable places (its workspace when rw, its HOME under the state dir) may take, e.g. 500m, 10g, or none. Over it new runs are refused and a running one is stopped; so they are while that disk has under 512 MiB free. An agent file may only lower the fleet's value." default:"10g"`
	CPUShares           *int64            `yaml:"cpu_shares" doc:"Relative CPU weight."`
	CPUPeriod           *int64            `yaml:"cpu_period" doc:"CFS period in microseconds."`
	CPUQuota            *int64            `yaml:"cpu_quota" doc:"CFS quota in microseconds per period."`
	MaxContainers       *int              `yaml:"max_containers" doc:"Containers of this agent at once." default:"5"`
	WorkspaceMode       string            `yaml:"workspace_mode" doc:"rw or ro: how the workspace is mounted." default:"rw"`
	Tmpfs               any               `yaml:"tmpfs" doc:"Extra tmpfs mounts: a list of /path or /path:options (e.g. /cache:size=64m)."`
	PidsLimit           *int64            `yaml:"pids_limit" doc:"Process limit." default:"256"`
	Labels              map[string]string `yaml:"labels" doc:"Extra container labels (herdbot.* is reserved)."`
	Image               string            `yaml:"image" scope:"fleet" doc:"Agent image, built locally from deploy/." default:"herdbot-agent:2.1.332"`
	Network             string            `yaml:"network" scope:"fleet" doc:"bridge (the agent's own internal network behind the egress proxy), none, or host (dangerous: needs dangerous_host_config)." default:"bridge"`
	User                string            `yaml:"user" scope:"fleet" doc:"\"UID\" or \"UID:GID\" (digits) inside the container; 0 needs dangerous_host_config." default:"the workspace owner"`
	Volumes             []string          `yaml:"volumes" scope:"fleet" doc:"Extra binds, host:container[:ro|rw]."`
	Env                 map[string]string `yaml:"env" scope:"fleet" doc:"The only variables the container receives (besides herdbot's own)."`
	HostConfig          map[string]any    `yaml:"host_config" scope:"fleet" doc:"Docker HostConfig passthrough. Keys that undo hardening need dangerous_host_config."`
	Privileged          *bool             `yaml:"privileged" scope:"fleet" doc:"Privileged container (dangerous: needs dangerous_host_config)."`
	CapAdd              []string          `yaml:"cap_add" scope:"fleet" doc:"Capabilities to add back (dangerous: needs dangerous_host_config)."`
	Runtime             string            `yaml:"runtime" scope:"fleet" doc:"OCI runtime, e.g. runsc."`
	Engine              string            `yaml:"engine" scope:"fleet" doc:"The Docker engine the agent runs on: a name from the fleet file's engines, or local. Everything of the agent (its networks, egress sidecar, images, container, HOME and workspace as volumes) is on that engine." default:"local"`
	DangerousHostConfig *bool             `yaml:"dangerous_host_config" scope:"fleet" doc:"Only in agents[].overrides.docker: allow this agent's host_config/network/privileged/cap_add to remove hardening." default:"false"`
	Ports               any               `yaml:"ports" scope:"fleet" doc:"herdctl's port bindings: accepted with a warning and ignored, because agent containers sit on an internal network and publish nothing."`
}

type scheduleSpec struct {
	Type          string     `yaml:"type" doc:"interval, cron, at or webhook (herdctl's chat type is warned and skipped)." default:"from the fields set"`
	Interval      string     `yaml:"interval" doc:"For interval: Go duration or days (30m, 72h, 3d)."`
	Cron          string     `yaml:"cron" doc:"For cron: 5 fields, or 6 with seconds first; @hourly style descriptors work."`
	Expression    string     `yaml:"expression" doc:"herdctl's name for cron."`
	Timezone      string     `yaml:"timezone" doc:"Time zone for cron and at." default:"the fleet timezone"`
	At            string     `yaml:"at" doc:"For at: one run at this time, RFC 3339 or 2006-01-02 15:04 in the schedule's time zone."`
	Jitter        string     `yaml:"jitter" doc:"Random delay up to this duration before each run."`
	Prompt        string     `yaml:"prompt" doc:"What the agent is asked." default:"default_prompt"`
	Enabled       *bool      `yaml:"enabled" doc:"Set false to keep a schedule without running it." default:"true"`
	ResumeSession *bool      `yaml:"resume_session" doc:"Continue the schedule's previous session instead of starting fresh." default:"false"`
	PostTo        postToSpec `yaml:"post_to" doc:"Where the report goes."`
	CatchUp       string     `yaml:"catch_up" doc:"After downtime: skip missed runs, or run once." default:"skip"`
	SecretEnv     string     `yaml:"secret_env" doc:"For webhook: agent .env variable holding the HMAC-SHA256 secret. Required for webhooks."`
	Fields        []string   `yaml:"fields" doc:"For webhook: JSON payload fields passed to the prompt."`
}

type postToSpec struct {
	Platform string `yaml:"platform" doc:"discord, slack or console."`
	Channel  string `yaml:"channel" doc:"Channel id (Discord snowflake, Slack C…/G…/D…)."`
	Thread   string `yaml:"thread" doc:"Optional thread id."`
}

type chatSpec struct {
	Discord *discordSpec `yaml:"discord" doc:"Discord bot for this agent."`
	Slack   *slackSpec   `yaml:"slack" doc:"Slack app (Socket Mode) for this agent."`
}

type discordSpec struct {
	BotTokenEnv         string      `yaml:"bot_token_env" doc:"Variable in the agent's .env holding the bot token. Required. Empty or unset: the bot is not connected."`
	SessionExpiryHours  *int        `yaml:"session_expiry_hours" doc:"Hours of silence after which a channel's session starts afresh." default:"24"`
	Guilds              []guildSpec `yaml:"guilds" doc:"Servers and channels the bot answers in."`
	DM                  dmSpec      `yaml:"dm" doc:"Direct messages."`
	AllowedUsers        []string    `yaml:"allowed_users" doc:"If set, only these user ids may talk to the bot."`
	AllowedRoles        []string    `yaml:"allowed_roles" doc:"If set, only members with one of these role ids may talk to the bot."`
	CommandRegistration cmdRegSpec  `yaml:"command_registration" doc:"Slash command registration."`
}

type guildSpec struct {
	ID                 string        `yaml:"id" doc:"Guild (server) id."`
	DefaultChannelMode string        `yaml:"default_channel_mode" doc:"mention (answer when mentioned) or auto (answer everything)." default:"mention"`
	Channels           []channelSpec `yaml:"channels" doc:"Channels the bot answers in; none listed: none."`
}

type channelSpec struct {
	ID   string `yaml:"id" doc:"Channel id."`
	Name string `yaml:"name" doc:"A label for humans."`
	Mode string `yaml:"mode" doc:"mention or auto." default:"the guild's default_channel_mode (Slack: mention)"`
}

type dmSpec struct {
	Enabled   *bool    `yaml:"enabled" doc:"Accept direct messages, from allowlisted users only." default:"false"`
	Allowlist []string `yaml:"allowlist" doc:"User ids that may DM the bot."`
	Blocklist []string `yaml:"blocklist" doc:"User ids that may never DM the bot."`
}

type cmdRegSpec struct {
	Scope   string `yaml:"scope" doc:"guild (instant, in every configured guild) or global." default:"guild"`
	GuildID string `yaml:"guild_id" doc:"Register only in this guild."`
}

type slackSpec struct {
	BotTokenEnv        string        `yaml:"bot_token_env" doc:"Variable in the agent's .env holding the bot token (xoxb-…). Empty or unset: not connected." default:"SLACK_BOT_TOKEN"`
	AppTokenEnv        string        `yaml:"app_token_env" doc:"Variable in the agent's .env holding the app-level token (xapp-…) for Socket Mode." default:"SLACK_APP_TOKEN"`
	SessionExpiryHours *int          `yaml:"session_expiry_hours" doc:"Hours of silence after which a session starts afresh." default:"24"`
	Channels           []channelSpec `yaml:"channels" doc:"Channels the app answers in."`
	DM                 dmSpec        `yaml:"dm" doc:"Direct messages."`
	AllowedUsers       []string      `yaml:"allowed_users" doc:"If set, only these user ids may talk to the app."`
	SlashCommand       string        `yaml:"slash_command" doc:"The app's slash command." default:"/<agent name>"`
}
