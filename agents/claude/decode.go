package claude

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/herdbot/herdbot/agents"
)

// errNotJSON marks a stdout line that is not a JSON object.
var errNotJSON = errors.New("not a JSON object")

// decoded is what one stdout line means to the connection.
type decoded struct {
	events []agents.Event
	// unsupported is the id of a control request from the CLI that the
	// driver cannot answer; the connection replies with an error so the
	// CLI does not wait for ever.
	unsupported string
	// response is the id of a control_response to one of our requests.
	response string
}

// decoder turns stdout lines into events. It keeps the little state the
// protocol needs across lines: the session id and the error code of the
// turn's last synthetic error message. It is not safe for concurrent use.
type decoder struct {
	sessionID string
	apiError  string
}

// decode parses one line (without its newline). Blank lines yield nothing.
// A line that is not a JSON object returns errNotJSON; unknown types yield
// an EventUnknown.
func (d *decoder) decode(line []byte) (decoded, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return decoded{}, nil
	}
	if line[0] != '{' {
		return decoded{}, errNotJSON
	}
	var w wireLine
	if err := unmarshalTolerant(line, &w); err != nil {
		return decoded{}, errNotJSON
	}
	if w.SessionID != "" {
		d.sessionID = w.SessionID
	}
	raw := json.RawMessage(line)
	ev := func(k agents.EventKind) agents.Event {
		return agents.Event{Kind: k, SessionID: d.sessionID, Raw: raw}
	}
	var out decoded
	switch w.Type {
	case "system":
		if w.Subtype == "init" {
			d.apiError = ""
			out.events = append(out.events, ev(agents.EventInit))
			break
		}
		e := ev(agents.EventSystem)
		e.Text = w.Subtype
		out.events = append(out.events, e)
	case "assistant":
		out.events = d.assistant(&w, ev)
	case "user":
		out.events = d.user(&w, ev)
	case "result":
		out.events = append(out.events, d.result(&w, ev))
	case "stream_event":
		var se wireStreamEvent
		if unmarshalTolerant(w.Event, &se) == nil && se.Type == "content_block_delta" && se.Delta.Type == "text_delta" {
			e := ev(agents.EventPartial)
			e.Text = se.Delta.Text
			out.events = append(out.events, e)
		}
	case "control_request":
		var req wireRequest
		_ = unmarshalTolerant(w.Request, &req)
		if req.Subtype != "can_use_tool" {
			out.unsupported = w.RequestID
			out.events = append(out.events, ev(agents.EventUnknown))
			break
		}
		e := ev(agents.EventPermission)
		e.Permission = &agents.PermissionRequest{
			RequestID:      w.RequestID,
			ToolName:       req.ToolName,
			ToolUseID:      req.ToolUseID,
			Input:          req.Input,
			Suggestions:    req.Suggestions,
			DecisionReason: req.DecisionReason,
			BlockedPath:    req.BlockedPath,
		}
		out.events = append(out.events, e)
	case "control_cancel_request":
		e := ev(agents.EventPermissionCancel)
		e.Permission = &agents.PermissionRequest{RequestID: w.RequestID}
		out.events = append(out.events, e)
	case "control_response":
		var resp struct {
			RequestID string `json:"request_id"`
		}
		_ = unmarshalTolerant(w.Response, &resp)
		out.response = resp.RequestID
	default:
		out.events = append(out.events, ev(agents.EventUnknown))
	}
	return out, nil
}

// assistant yields one event per content block. A synthetic error message
// (auth or API failure) yields one EventSystem "api_error" instead of text:
// its text is not the agent speaking; the turn's result carries the error.
func (d *decoder) assistant(w *wireLine, ev func(agents.EventKind) agents.Event) []agents.Event {
	if code := jsonString(w.Error); code != "" {
		d.apiError = code
		e := ev(agents.EventSystem)
		e.Text = "api_error"
		return []agents.Event{e}
	}
	var m wireMessage
	_ = unmarshalTolerant(w.Message, &m)
	var out []agents.Event
	for _, b := range blocks(m.Content) {
		switch b.Type {
		case "text":
			e := ev(agents.EventText)
			e.Text = b.Text
			out = append(out, e)
		case "thinking":
			e := ev(agents.EventThinking)
			e.Text = b.Thinking
			out = append(out, e)
		case "tool_use":
			e := ev(agents.EventToolUse)
			e.Tool = &agents.ToolCall{ID: b.ID, Name: b.Name, Input: b.Input}
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		out = append(out, ev(agents.EventUnknown))
	}
	return out
}

// user yields the tool results of a user line; other user lines (interrupt
// notes, replays) are EventUnknown.
func (d *decoder) user(w *wireLine, ev func(agents.EventKind) agents.Event) []agents.Event {
	var m wireMessage
	_ = unmarshalTolerant(w.Message, &m)
	var out []agents.Event
	for _, b := range blocks(m.Content) {
		if b.Type != "tool_result" {
			continue
		}
		e := ev(agents.EventToolResult)
		e.ToolResult = &agents.ToolResult{ToolUseID: b.ToolUseID, Content: flatten(b.Content), IsError: b.IsError}
		out = append(out, e)
	}
	if len(out) == 0 {
		out = append(out, ev(agents.EventUnknown))
	}
	return out
}

func (d *decoder) result(w *wireLine, ev func(agents.EventKind) agents.Event) agents.Event {
	r := &agents.Result{
		Subtype:    w.Subtype,
		IsError:    w.IsError,
		Text:       jsonString(w.Result),
		CostUSD:    w.TotalCostUSD,
		Turns:      w.NumTurns,
		DurationMS: w.DurationMS,
		Usage:      w.Usage,
		Errors:     jsonStrings(w.Errors),
	}
	e := ev(agents.EventResult)
	e.Result = r
	if err := turnError(r, w.TerminalReason, w.APIErrorStatus, d.apiError); err != nil {
		e.Err = err
	}
	d.apiError = ""
	return e
}
