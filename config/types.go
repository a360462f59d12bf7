package config

import "time"

// Default values applied by Load.
const (
	DefaultImage           = "herdbot-agent:2.1.332"
	DefaultListen          = "127.0.0.1:9090"
	DefaultModelBaseURL    = "https://api.anthropic.com"
	DefaultAPIKeyEnv       = "ANTHROPIC_API_KEY"
	DefaultOAuthTokenEnv   = "CLAUDE_CODE_OAUTH_TOKEN"
	DefaultStateDir        = ".herdbot"
	DefaultMemory          = 2 << 30
	DefaultDiskLimit       = 10 << 30
	DefaultPidsLimit       = 256
	DefaultMaxContainers   = 5
	DefaultMaxConcurrent   = 1
	DefaultQueueMax        = 10
	DefaultAgentQueueMax   = 50
	DefaultNoticeEvery     = time.Minute
	DefaultRunTimeout      = 30 * time.Minute
	DefaultApprovalTimeout = 10 * time.Minute
	DefaultSessionTimeout  = 24 * time.Hour
	DefaultSessionExpiry   = 24 // hours
)

// Fleet is a loaded, validated fleet: the fleet file and every agent file
// it names, with variables substituted and defaults applied.
type Fleet struct {
	Path        string         // absolute path of the fleet file
	Dir         string         // directory of the fleet file
	Name        string         // fleet.name; default the fleet directory's name
	Description string         // fleet.description
	StateDir    string         // absolute; default <Dir>/.herdbot
	Timezone    *time.Location // timezone; default time.Local
	// TimezoneSet: timezone is written in the fleet file (Timezone is
	// then not the default).
	TimezoneSet bool
	HTTP        HTTP  // herdbot's own HTTP server
	Web         Web   // the web dashboard on it
	Model       Model // model API and credentials
	// Engines are the Docker engines other than the local one, by name
	// (the fleet file's engines:).
	Engines map[string]Engine
	Agents  []*Agent // the fleet file's agents in order, then each sub-fleet's (depth first)
	// SubFleetFiles are the fleet files of herdctl's sub-fleets (fleets:),
	// absolute.
	SubFleetFiles []string
	// Warnings lists accepted-but-unsupported herdctl fields and other
	// things worth knowing, one sentence each, "file:line: field: text".
	Warnings []string
	// Env holds the fleet .env values. Never give them to an agent.
	Env map[string]string
	// EnvFile is the fleet .env path (it may not exist).
	EnvFile string
	// Homes are herdbot's home directories ($HOME and the account's), which
	// no workspace may be or contain (see WorkspaceRules).
	Homes []string

	read map[string]string // what the load read: path → digest or fileAbsent
}

// HTTP configures herdbot's own HTTP server.
type HTTP struct {
	Listen string // host:port; default 127.0.0.1:9090
}

// Web configures the web dashboard (herdctl's web:).
type Web struct {
	Enabled       bool          // default true
	SessionExpiry time.Duration // a sign-in's lifetime; default 12h
	ToolResults   bool          // show tool results; default true
}

// Engine is a Docker engine on another machine.
type Engine struct {
	Name string
	Host string // tcp://HOST:PORT, ssh://USER@HOST[:PORT] or unix:///path
	// TLS files, absolute; set for tcp:// engines.
	CA, Cert, Key string
	// SSH files, absolute, and the engine's socket there; set for ssh://
	// engines.
	SSHKey, KnownHosts, Socket string
}

// LocalEngine is the name docker.engine gives the local engine (the
// default).
const LocalEngine = "local"

// Model says where the model API is and holds its credentials, which the
// egress proxy adds to requests. APIKey and OAuthToken are secrets: never
// print or log them.
type Model struct {
	BaseURL       string // default https://api.anthropic.com
	APIKeyEnv     string // variable name; default ANTHROPIC_API_KEY
	OAuthTokenEnv string // variable name; default CLAUDE_CODE_OAUTH_TOKEN
	APIKey        string // resolved from the fleet .env, then the process environment
	OAuthToken    string // resolved likewise
}

// Agent is one resolved agent: its file merged over the fleet's defaults
// and under the fleet's overrides for it.
type Agent struct {
	Name             string
	Description      string
	Dir              string // directory of the agent file
	File             string // absolute path of the agent file
	EnvFile          string // the agent .env path (it may not exist)
	WorkingDirectory string // absolute; default Dir
	SystemPrompt     string
	DefaultPrompt    string
	Model            string // empty: the CLI's default
	// Models are the models /model may switch a conversation to; empty:
	// no switching. An agent file may only narrow the fleet file's list.
	Models []string
	// Budget caps the agent's spending; an agent file may only lower it.
	Budget          Budget
	MaxTurns        int    // 0: no limit
	PermissionMode  string // default "default"
	Tools           []string
	AllowedTools    []string
	DeniedTools     []string
	MCPServers      map[string]MCPServer
	Session         Session
	MaxConcurrent   int           // runs at once; default 1
	Queue           Queue         // per-conversation queue
	RunTimeout      time.Duration // default 30m
	ApprovalTimeout time.Duration // default 10m
	Approvers       Approvers
	Network         Network
	Docker          Docker
	Schedules       []Schedule // in file order
	Files           Files      // files sent with chat messages
	Chat            Chat
	// Env holds the agent's own .env values (secrets: never print them).
	Env map[string]string
}

// MCPServer is one MCP server an agent may use.
type MCPServer struct {
	Type    string // stdio, sse or http
	Command string
	Args    []string
	Env     map[string]string
	URL     string
	Headers map[string]string
}

// Budget caps an agent's spending, in US dollars (0: no cap). Days and
// months begin at midnight in Fleet.BudgetLocation.
type Budget struct {
	DailyUSD   float64
	MonthlyUSD float64
}

// Session configures chat sessions.
type Session struct {
	Timeout  time.Duration // idle time after which a session starts afresh; default 24h
	MaxTurns int           // 0: use Agent.MaxTurns
	Model    string        // empty: use Agent.Model
}

// Queue configures chat intake: what happens to a message that arrives
// while a run of the same conversation is going, and how much one person
// may send.
type Queue struct {
	Max         int           // waiting messages per conversation; default 10
	Mode        string        // "queue" (default) or "steer"
	AgentMax    int           // waiting messages across the agent's conversations; default 50
	PerUser     Rate          // messages per person; default DefaultPerUser; N < 0: no limit
	NoticeEvery time.Duration // at most one notice of each kind per person per this; default 1m
}

// Rate is a token bucket: N, refilled at N per Per. N < 0 means no limit.
type Rate struct {
	N   int
	Per time.Duration
}

// DefaultPerUser is queue.per_user's default.
var DefaultPerUser = Rate{N: 10, Per: time.Minute}

// Approvers lists who may decide tool approval requests, per platform.
type Approvers struct {
	Discord []string // user ids, or "role:ID"
	Slack   []string // user ids
	Console []string // console user names
	Web     []string // web dashboard users: "local", "operator" or "*"
}

// Network is an agent's egress policy.
type Network struct {
	Allow   []string // host names, exact or "*.domain"
	Private []string // fleet-level opt-in private destinations, "host:port" or "CIDR:port"
}

// Docker is an agent's container configuration: fleet docker, then
// defaults.docker, then the agent file's safe options, then the fleet's
// overrides for the agent.
type Docker struct {
	Enabled       bool              // false: the native backend (no isolation)
	Ephemeral     bool              // a fresh container per run; default true
	Memory        int64             // bytes; default 2 GiB
	CPUShares     int64             // 0: unset
	CPUPeriod     int64             // microseconds; 0: unset
	CPUQuota      int64             // microseconds; 0: unset
	MaxContainers int               // default 5
	WorkspaceMode string            // "rw" (default) or "ro"
	Tmpfs         map[string]string // path -> mount options
	PidsLimit     int64             // default 256
	Labels        map[string]string
	Image         string            // default herdbot-agent:2.1.332
	Network       string            // "bridge" (default: per-agent internal network + egress proxy), "none" or "host"
	User          string            // "uid:gid"; empty: the workspace owner
	Volumes       []string          // extra binds, host:container[:ro|rw]
	Runtime       string            // OCI runtime; empty: the engine default
	Engine        string            // a name in Fleet.Engines; empty: the local engine
	Env           map[string]string // the only variables the container receives, resolved
	HostConfig    map[string]any    // passthrough over the hardened host config
	Privileged    bool              // only with DangerousHostConfig
	CapAdd        []string          // only with DangerousHostConfig
	// DiskLimit is the most disk space, in bytes, that the agent's
	// writable places (a rw workspace and its HOME) may take; 0: no limit.
	// Default 10 GiB. An agent file may lower it, never raise it.
	DiskLimit int64
	// DangerousHostConfig is the per-agent fleet opt-in that lets
	// HostConfig, Network, Privileged and CapAdd remove hardening.
	DangerousHostConfig bool
}

// Schedule is one of an agent's schedules.
type Schedule struct {
	Name          string
	Type          string         // "interval", "cron", "at" or "webhook"
	Interval      time.Duration  // interval
	Cron          string         // cron: 5 or 6 fields (seconds first) or a descriptor
	Timezone      *time.Location // cron and at; default the fleet's
	At            time.Time      // at
	Jitter        time.Duration  // random delay before each run
	Prompt        string         // default the agent's DefaultPrompt
	Enabled       bool           // default true
	PostTo        PostTo         // zero: the report is only stored
	ResumeSession bool
	CatchUp       string   // "skip" (default) or "once"
	SecretEnv     string   // webhook: variable name in the agent .env
	Secret        string   // webhook: HMAC secret (never print it)
	Fields        []string // webhook: payload fields for the prompt
}

// PostTo is where a schedule's report goes.
type PostTo struct {
	Platform string // "discord", "slack" or "console"; empty: not posted
	Channel  string
	Thread   string
}

// Chat holds an agent's chat connections; nil means not configured.
type Chat struct {
	Discord *Discord
	Slack   *Slack
}

// Discord is an agent's Discord bot. Token empty means configured but not
// connected (the variable is not set); that is not an error.
type Discord struct {
	BotTokenEnv        string
	Token              string // secret
	Guilds             []Guild
	DM                 DM
	AllowedUsers       []string
	AllowedRoles       []string
	SessionExpiryHours int    // default 24
	CommandScope       string // "guild" (default) or "global"
	CommandGuildID     string // command_registration.guild_id
}

// Guild is a Discord server the bot answers in.
type Guild struct {
	ID                 string
	DefaultChannelMode string // "mention" (default) or "auto"
	Channels           []Channel
}

// Channel is a channel an agent answers in.
type Channel struct {
	ID   string
	Name string
	Mode string // "mention" or "auto"
}

// DM configures direct messages. DMs are denied unless Enabled, and then
// accepted only from Allowlist (and never from Blocklist).
type DM struct {
	Enabled   bool
	Allowlist []string
	Blocklist []string
}

// Slack is an agent's Slack app (Socket Mode). Empty tokens mean not
// connected.
type Slack struct {
	BotTokenEnv        string
	AppTokenEnv        string
	BotToken           string // secret
	AppToken           string // secret
	Channels           []Channel
	DM                 DM
	AllowedUsers       []string
	SlashCommand       string // default "/" + lower-case agent name
	SessionExpiryHours int    // default 24
}

// Connected reports whether the bot has a token.
func (d *Discord) Connected() bool { return d != nil && d.Token != "" }

// Connected reports whether the app has both tokens.
func (s *Slack) Connected() bool { return s != nil && s.BotToken != "" && s.AppToken != "" }

// Agent returns the agent named name, or nil.
func (f *Fleet) Agent(name string) *Agent {
	for _, a := range f.Agents {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// BudgetLocation is where budget days and months begin: the fleet's
// timezone when the fleet file sets one, else UTC (not the host's local
// time, so that moving herdbot to another machine does not move them).
func (f *Fleet) BudgetLocation() *time.Location {
	if f.TimezoneSet && f.Timezone != nil {
		return f.Timezone
	}
	return time.UTC
}
