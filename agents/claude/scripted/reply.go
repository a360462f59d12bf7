package scripted

import (
	"encoding/json"
	"net/http"
)

// Reply is what the fake model answers to one Messages API call: content
// blocks (thinking, then text, then tool uses) or, when Error is set, an
// HTTP error.
type Reply struct {
	Thinking string
	Text     string
	ToolUses []ToolUse
	// StopReason defaults to "tool_use" when there are ToolUses, else
	// "end_turn".
	StopReason string
	// InputTokens and OutputTokens are reported in usage; defaults are
	// rough counts of the request and the reply.
	InputTokens  int
	OutputTokens int
	// Error, when set, is returned instead of a message.
	Error *APIError
	// Hold, when set, stalls a streamed reply after its first text delta
	// until Hold is closed or the client goes away (interrupt tests).
	Hold <-chan struct{}
}

// ToolUse is a tool_use block. ID defaults to a fresh "toolu_…" id; Input
// is marshalled to JSON (a json.RawMessage is used as is).
type ToolUse struct {
	ID    string
	Name  string
	Input any
}

// APIError is an error answer of the Messages API.
type APIError struct {
	Status  int    // HTTP status, e.g. 401, 429, 500, 529
	Type    string // error.type; defaults from Status
	Message string // error.message; defaults from Status
	// RetryAfter is sent as the retry-after header (seconds) when > 0
	// for 429/529. The CLI honours it; keep it small in tests.
	RetryAfter int
}

// Text returns a Reply with one text block.
func Text(s string) Reply { return Reply{Text: s} }

// Tool returns a Reply asking for one tool call.
func Tool(name string, input any) Reply {
	return Reply{ToolUses: []ToolUse{{Name: name, Input: input}}}
}

// Bash returns a Reply asking the CLI's Bash tool to run command.
func Bash(command, description string) Reply {
	return Tool("Bash", map[string]string{"command": command, "description": description})
}

func (e *APIError) fill() {
	if e.Status == 0 {
		e.Status = http.StatusInternalServerError
	}
	if e.Type == "" {
		switch e.Status {
		case http.StatusBadRequest:
			e.Type = "invalid_request_error"
		case http.StatusUnauthorized:
			e.Type = "authentication_error"
		case http.StatusForbidden:
			e.Type = "permission_error"
		case http.StatusNotFound:
			e.Type = "not_found_error"
		case http.StatusTooManyRequests:
			e.Type = "rate_limit_error"
		case 529:
			e.Type = "overloaded_error"
		default:
			e.Type = "api_error"
		}
	}
	if e.Message == "" {
		switch e.Type {
		case "authentication_error":
			e.Message = "invalid x-api-key"
		case "rate_limit_error":
			e.Message = "Number of request tokens has exceeded your per-minute rate limit"
		case "overloaded_error":
			e.Message = "Overloaded"
		default:
			e.Message = "Internal server error"
		}
	}
}

// body is the Messages API error object.
func (e *APIError) body() []byte {
	b, _ := json.Marshal(map[string]any{
		"type":  "error",
		"error": map[string]string{"type": e.Type, "message": e.Message},
	})
	return b
}
