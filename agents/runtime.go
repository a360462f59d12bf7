package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/herdbot/herdbot/sandbox"
)

// Runtime turns a sandboxed process into a typed event stream for one agent
// CLI. agents/claude implements it for Claude Code; other CLIs can follow.
type Runtime interface {
	// Command returns the argv that starts the CLI with opts. Values from
	// users are always passed in --flag=value form.
	Command(opts RunOptions) []string
	// Attach starts driving p. The returned Conn owns p: Close ends it.
	Attach(p sandbox.Process) Conn
}

// Conn is a live connection to one agent CLI process. It can carry many user
// turns (a warm process) until Close.
//
// Events is closed when the process's output ends. Every event is delivered
// in order. A PermissionRequest must be answered with Decide (or withdrawn by
// the CLI with an EventPermissionCancel).
type Conn interface {
	Events() <-chan Event
	// Send writes one user turn.
	Send(ctx context.Context, text string) error
	// Decide answers the permission request with the given request id.
	Decide(ctx context.Context, requestID string, d Decision) error
	// Interrupt asks the CLI to stop the current turn.
	Interrupt(ctx context.Context) error
	// Close ends the process: close stdin, wait with a deadline, then
	// SIGTERM, then SIGKILL. It returns a *RunError for an abnormal end.
	Close(ctx context.Context) error
}

// RunOptions are the CLI options for one process.
type RunOptions struct {
	Model              string
	PermissionMode     string
	MaxTurns           int
	Tools              []string // tool availability (--tools)
	AllowedTools       []string
	DisallowedTools    []string
	AppendSystemPrompt string
	SystemPrompt       string
	MCPConfig          string // JSON text for --mcp-config
	Resume             string // session id to resume
	IncludePartial     bool   // --include-partial-messages
}

// EventKind names what an Event carries.
type EventKind string

// Event kinds.
const (
	EventInit             EventKind = "init"
	EventText             EventKind = "text"
	EventThinking         EventKind = "thinking"
	EventToolUse          EventKind = "tool_use"
	EventToolResult       EventKind = "tool_result"
	EventResult           EventKind = "result"
	EventPartial          EventKind = "partial"
	EventPermission       EventKind = "permission_request"
	EventPermissionCancel EventKind = "permission_cancel"
	EventSystem           EventKind = "system"
	EventUnknown          EventKind = "unknown"
)

// Event is one typed item of the CLI's output.
type Event struct {
	Kind       EventKind
	SessionID  string
	Text       string             // text, thinking, partial delta, system subtype
	Tool       *ToolCall          // tool_use
	ToolResult *ToolResult        // tool_result
	Permission *PermissionRequest // permission_request, permission_cancel (RequestID only)
	Result     *Result            // result
	Raw        json.RawMessage    // the full line as received
	// Err is set on an EventResult that ends the turn abnormally (error
	// subtypes, API or auth errors): a *RunError matching a sentinel.
	Err error
}

// ToolCall is a tool_use block.
type ToolCall struct {
	ID    string
	Name  string
	Input json.RawMessage
}

// ToolResult is a tool_result block.
type ToolResult struct {
	ToolUseID string
	Content   string
	IsError   bool
}

// PermissionRequest is the CLI asking whether a tool may run.
type PermissionRequest struct {
	RequestID      string
	ToolName       string
	ToolUseID      string
	Input          json.RawMessage
	Suggestions    json.RawMessage // permission_suggestions: never passed back (rules built from agent text)
	DecisionReason string
	BlockedPath    string
}

// Result is the end of one turn.
type Result struct {
	Subtype    string // success, error_max_turns, error_during_execution, …
	IsError    bool
	Text       string
	CostUSD    float64
	Turns      int
	DurationMS int64
	Usage      json.RawMessage
	Errors     []string
}

// Decision answers a PermissionRequest.
type Decision struct {
	// Verdict is Allowed or AllowedSession (allow this call, with Input;
	// the CLI keeps no rule), or any other verdict (deny).
	Verdict   Verdict
	Message   string // reason shown to the model on deny
	Interrupt bool   // deny and stop the turn
	// Input is the tool input to run with (allow); the request's own input
	// when nil.
	Input json.RawMessage
}

// Run errors: a *RunError matches one of these with errors.Is.
var (
	ErrSessionNotFound = errors.New("session not found")
	ErrAuth            = errors.New("model API authentication failed")
	ErrAPI             = errors.New("model API error")
	ErrMaxTurns        = errors.New("max turns reached")
	ErrCrashed         = errors.New("agent process ended without a result")
	ErrTimeout         = errors.New("run timed out")
	ErrOutOfMemory     = errors.New("out of memory")
	ErrInterrupted     = errors.New("interrupted")
	// ErrEngineLost: the container engine stopped answering while the
	// process ran or started (sandbox.ErrEngineLost, the same sentinel).
	ErrEngineLost = sandbox.ErrEngineLost
)

// RunError is an abnormal end of an agent process or turn.
type RunError struct {
	Kind     error  // one of the Err* sentinels above
	ExitCode int    // process exit code, -1 if unknown or not exited
	Stderr   string // bounded tail of stderr, redacted by the caller
	Message  string // readable detail
}

func (e *RunError) Error() string {
	s := e.Kind.Error()
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.ExitCode > 0 {
		s += fmt.Sprintf(" (exit %d)", e.ExitCode)
	}
	return s
}

// Unwrap lets errors.Is match the Kind sentinel.
func (e *RunError) Unwrap() error { return e.Kind }
