package claude

import (
	"encoding/json"
	"strings"
)

// wireLine is the union of the stdout message fields the driver reads.
// Everything else is ignored; key order does not matter.
type wireLine struct {
	Type      string `json:"type"`
	Subtype   string `json:"subtype"`
	SessionID string `json:"session_id"`

	// assistant, user
	Message json.RawMessage `json:"message"`
	// assistant: error code of a synthetic error message
	// ("authentication_failed", "rate_limit", …).
	Error json.RawMessage `json:"error"`

	// control_request, control_cancel_request, control_response
	RequestID string          `json:"request_id"`
	Request   json.RawMessage `json:"request"`
	Response  json.RawMessage `json:"response"`

	// stream_event
	Event json.RawMessage `json:"event"`

	// result
	IsError        bool            `json:"is_error"`
	Result         json.RawMessage `json:"result"`
	NumTurns       int             `json:"num_turns"`
	TotalCostUSD   float64         `json:"total_cost_usd"`
	DurationMS     int64           `json:"duration_ms"`
	Usage          json.RawMessage `json:"usage"`
	Errors         json.RawMessage `json:"errors"`
	TerminalReason string          `json:"terminal_reason"`
	APIErrorStatus int             `json:"api_error_status"`
}

type wireMessage struct {
	Model   string          `json:"model"`
	Content json.RawMessage `json:"content"`
}

type wireBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Thinking  string          `json:"thinking"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	IsError   bool            `json:"is_error"`
}

type wireRequest struct {
	Subtype        string          `json:"subtype"`
	ToolName       string          `json:"tool_name"`
	DisplayName    string          `json:"display_name"`
	Input          json.RawMessage `json:"input"`
	ToolUseID      string          `json:"tool_use_id"`
	Suggestions    json.RawMessage `json:"permission_suggestions"`
	DecisionReason string          `json:"decision_reason"`
	BlockedPath    string          `json:"blocked_path"`
}

type wireStreamEvent struct {
	Type  string `json:"type"`
	Delta struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"delta"`
}

// unmarshalTolerant decodes b into v. A field of an unexpected JSON type is
// skipped (the rest is still decoded); only malformed JSON is an error.
func unmarshalTolerant(b []byte, v any) error {
	err := json.Unmarshal(b, v)
	if _, ok := err.(*json.UnmarshalTypeError); ok {
		return nil
	}
	return err
}

// jsonString returns raw as a string if it is a JSON string, else "".
func jsonString(raw json.RawMessage) string {
	if len(raw) == 0 || raw[0] != '"' {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// jsonStrings returns the string elements of a JSON array.
func jsonStrings(raw json.RawMessage) []string {
	if len(raw) == 0 || raw[0] != '[' {
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var out []string
	for _, it := range items {
		if s := jsonString(it); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// blocks decodes message content: a string becomes one text block.
func blocks(raw json.RawMessage) []wireBlock {
	if len(raw) == 0 {
		return nil
	}
	if raw[0] == '"' {
		return []wireBlock{{Type: "text", Text: jsonString(raw)}}
	}
	var bs []wireBlock
	if unmarshalTolerant(raw, &bs) != nil {
		return nil
	}
	return bs
}

// flatten returns tool_result content as text: a string as is, text
// blocks joined by "\n", other blocks as "[type]".
func flatten(raw json.RawMessage) string {
	bs := blocks(raw)
	if len(bs) == 1 && bs[0].Type == "text" {
		return bs[0].Text
	}
	parts := make([]string, 0, len(bs))
	for _, b := range bs {
		if b.Type == "text" {
			parts = append(parts, b.Text)
		} else if b.Type != "" {
			parts = append(parts, "["+b.Type+"]")
		}
	}
	return strings.Join(parts, "\n")
}
