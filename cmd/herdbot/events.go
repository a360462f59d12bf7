package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
)

// eventLine renders one job event for a person (`job`, `logs`, `trigger
// --wait`): what was said, asked, decided and run, never raw protocol
// JSON. approveCmd, when set, is the approve command line of a pending
// approval (a format with one %s for "ID once|session|deny").
func eventLine(ev agents.JobEvent, approveCmd string) string {
	var d map[string]any
	_ = json.Unmarshal(ev.Data, &d)
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	text := ""
	switch ev.Kind {
	case "prompt":
		text = "prompt: " + oneLine(str(d, "text"), 120)
		if u := str(d, "user"); u != "" {
			text += " (from " + u + ")"
		}
	case "system":
		text = "system: " + firstOf(str(d, "subtype"), str(d, "event"))
	case "init":
		text = fmt.Sprintf("session %s started (cwd %s)", str(d, "session_id"), str(d, "cwd"))
	case "text", "tool_use", "tool_result":
		text = messageText(d)
	case "permission_request":
		req, _ := d["request"].(map[string]any)
		text = "asks to use " + str(req, "tool_name")
	case "approval_requested":
		id := str(d, "approval")
		text = fmt.Sprintf("🔐 approval %s for %s pending", id, str(d, "tool"))
		if approveCmd != "" {
			text += ": " + fmt.Sprintf(approveCmd, id+" once|session|deny")
		}
	case "approval_decided":
		text = fmt.Sprintf("approval %s %s by %s", str(d, "approval"), str(d, "status"), str(d, "by"))
		if r := str(d, "reason"); r != "" {
			text += " (" + r + ")"
		}
	case "approval":
		text = fmt.Sprintf("%s %s by %s", str(d, "tool"), str(d, "decision"), str(d, "by"))
		if r := str(d, "reason"); r != "" {
			text += " (" + oneLine(r, 100) + ")"
		}
	case "result":
		cost, _ := d["total_cost_usd"].(float64)
		turns, _ := d["num_turns"].(float64)
		text = fmt.Sprintf("result: %s · %s · %d turns", firstOf(str(d, "subtype"), str(d, "stop_reason"), "done"), bot.USD(cost), int(turns))
	case "error":
		text = "error: " + oneLine(str(d, "error"), 300)
	}
	if text == "" {
		text = oneLine(plainJSON(ev.Data), 160)
	}
	return fmt.Sprintf("%s %s #%d %-18s %s", ev.Time.Local().Format("15:04:05.000"), ev.JobID, ev.Seq, ev.Kind, text)
}

// messageText is the text, tool uses and tool results of a stream-json
// message, on one line.
func messageText(d map[string]any) string {
	msg, _ := d["message"].(map[string]any)
	blocks, _ := msg["content"].([]any)
	var parts []string
	for _, b := range blocks {
		m, _ := b.(map[string]any)
		switch m["type"] {
		case "text":
			t, _ := m["text"].(string)
			parts = append(parts, "💬 "+oneLine(t, 160))
		case "tool_use":
			name, _ := m["name"].(string)
			in, _ := json.Marshal(m["input"])
			parts = append(parts, "🔧 "+name+": "+oneLine(toolInputText(in), 120))
		case "tool_result":
			c := contentText(m["content"])
			if isErr, _ := m["is_error"].(bool); isErr {
				parts = append(parts, "✗ "+oneLine(c, 160))
			} else {
				parts = append(parts, "→ "+oneLine(c, 160))
			}
		}
	}
	return strings.Join(parts, " ")
}

// contentText is a tool result's content: a string or text blocks.
func contentText(c any) string {
	switch v := c.(type) {
	case string:
		return v
	case []any:
		var parts []string
		for _, b := range v {
			if m, ok := b.(map[string]any); ok {
				if t, ok := m["text"].(string); ok {
					parts = append(parts, t)
				}
			}
		}
		return strings.Join(parts, " ")
	}
	return ""
}

// toolInputText is a tool input as a person reads it: the command of a
// shell tool, else key=value pairs, never HTML-escaped JSON.
func toolInputText(raw json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return plainJSON(raw)
	}
	if c, ok := m["command"].(string); ok {
		return c
	}
	return plainJSON(raw)
}

// plainJSON re-encodes raw without HTML escapes (\u003e is >).
func plainJSON(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return string(raw)
	}
	return strings.TrimSpace(b.String())
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
