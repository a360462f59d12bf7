// Package claude drives the Claude Code CLI in headless stream-json mode: it
// builds the command line, reads the CLI's NDJSON output as typed
// agents.Events, and speaks the control protocol (permission prompts,
// interrupt). It runs over any sandbox.Process, so the same driver works in
// a Docker container or as a local child.
//
// The wire protocol is the one observed on the real CLI 2.1.100, 2.1.330
// and 2.1.332 (claude-stream-json.md in the shared reference notes;
// recorded 2.1.332 transcripts are in testdata/). Every unknown message type, subtype or
// field is tolerated; lines that are not JSON are logged (size only) and
// skipped; lines have no length limit.
//
// Per-turn errors: each EventResult whose turn failed carries a
// *agents.RunError in Event.Err (ErrSessionNotFound, ErrAuth, ErrAPI,
// ErrMaxTurns, ErrInterrupted, or ErrTurnFailed for other error results).
// Close reports how the process ended.
package claude

import (
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/sandbox"
)

// Defaults for Config.
const (
	DefaultBinary       = "claude"
	DefaultCloseTimeout = 5 * time.Second
	DefaultKillTimeout  = 5 * time.Second
	DefaultStderrTail   = 8 << 10
)

// BypassPermissions is the permission mode in which the CLI asks for
// nothing. Only the fleet file can choose it; in every other mode Command
// turns it off for the session (noBypassSettings).
const BypassPermissions = "bypassPermissions"

// noBypassSettings is the --settings JSON that disables bypassPermissions
// mode: no mode switch later in the session (a control request, a plan
// approval, a subagent definition) can turn approvals off.
const noBypassSettings = `{"permissions":{"disableBypassPermissionsMode":"disable"}}`

// Config configures a Runtime. The zero value is usable.
type Config struct {
	// Binary is the CLI program, Command's argv[0] (default "claude").
	Binary string
	// Log receives driver diagnostics (nil discards). Line contents are
	// never logged, only their size: they can hold secrets.
	Log *slog.Logger
	// CloseTimeout is how long Close waits for the process to exit after
	// closing its stdin before sending SIGTERM; KillTimeout how long after
	// SIGTERM before SIGKILL.
	CloseTimeout time.Duration
	KillTimeout  time.Duration
	// StderrTail is how many bytes of the end of stderr are kept for
	// errors (default 8 KiB). Stderr is always drained in full.
	StderrTail int
}

// Runtime is the Claude Code implementation of agents.Runtime.
type Runtime struct {
	cfg Config
	log *slog.Logger
}

var _ agents.Runtime = (*Runtime)(nil)

// New returns a Runtime for cfg, with defaults filled in.
func New(cfg Config) *Runtime {
	if cfg.Binary == "" {
		cfg.Binary = DefaultBinary
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = DefaultCloseTimeout
	}
	if cfg.KillTimeout <= 0 {
		cfg.KillTimeout = DefaultKillTimeout
	}
	if cfg.StderrTail <= 0 {
		cfg.StderrTail = DefaultStderrTail
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runtime{cfg: cfg, log: log.With("component", "agents.claude")}
}

// Command returns the argv for one CLI process:
//
//	claude -p --output-format stream-json --input-format stream-json --verbose
//	  --permission-prompt-tool stdio --setting-sources= --strict-mcp-config
//	  --permission-mode=<mode> [--settings=<no bypass>] [--model=…]
//	  [--max-turns=…] [--tools=…] [--allowedTools=…] [--disallowedTools=…]
//	  [--system-prompt=…] [--append-system-prompt=…] [--mcp-config=…]
//	  [--include-partial-messages] [--resume=…]
//
// The CLI takes its configuration from this command line and the agent
// image's managed settings only, never from a file the agent can write
// (its workspace, its HOME, /tmp): the empty --setting-sources= drops the
// user, project and local settings files (permission rules, hooks, env,
// apiKeyHelper, defaultMode, subagents, skills, commands, CLAUDE.md), and
// --strict-mcp-config drops every MCP server but those of --mcp-config
// (~/.claude.json's mcpServers and projects, .mcp.json). Unless the mode is
// bypassPermissions (which only the fleet file can choose), --settings
// turns bypassPermissions mode off for the whole session.
//
// Every value is passed in --flag=value form, so a value starting with "-"
// cannot be taken for another flag. The permission mode defaults to
// "default"; tool lists are joined with ",".
func (r *Runtime) Command(opts agents.RunOptions) []string {
	argv := []string{r.cfg.Binary,
		"-p",
		"--output-format", "stream-json",
		"--input-format", "stream-json",
		"--verbose",
		"--permission-prompt-tool", "stdio",
		"--setting-sources=",
		"--strict-mcp-config",
	}
	mode := opts.PermissionMode
	if mode == "" {
		mode = "default"
	}
	argv = append(argv, "--permission-mode="+mode)
	if mode != BypassPermissions {
		argv = append(argv, "--settings="+noBypassSettings)
	}
	add := func(flag, v string) {
		if v != "" {
			argv = append(argv, flag+"="+v)
		}
	}
	add("--model", opts.Model)
	if opts.MaxTurns > 0 {
		add("--max-turns", strconv.Itoa(opts.MaxTurns))
	}
	if opts.Tools != nil {
		// An empty, non-nil list means "no tools" (--tools=).
		argv = append(argv, "--tools="+strings.Join(opts.Tools, ","))
	}
	add("--allowedTools", strings.Join(opts.AllowedTools, ","))
	add("--disallowedTools", strings.Join(opts.DisallowedTools, ","))
	add("--system-prompt", opts.SystemPrompt)
	add("--append-system-prompt", opts.AppendSystemPrompt)
	add("--mcp-config", opts.MCPConfig)
	if opts.IncludePartial {
		argv = append(argv, "--include-partial-messages")
	}
	add("--resume", opts.Resume)
	return argv
}

// Attach starts driving p: it reads p's stdout and stderr until they end.
// The returned Conn owns p; Close ends it.
func (r *Runtime) Attach(p sandbox.Process) agents.Conn {
	return attach(r, p)
}
