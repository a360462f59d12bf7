package claude

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/herdbot/herdbot/agents"
)

// DefaultDenyMessage is sent to the model when a deny has no message.
const DefaultDenyMessage = "The user denied this tool call."

// decisionResponse builds the can_use_tool answer for d.
//
// Allow always carries updatedInput (d.Input, else the request's input):
// older CLIs reject an allow without it. AllowSession adds
// updatedPermissions: d.Suggestions (else the request's
// permission_suggestions) with every destination forced to "session", so
// nothing is ever written to a settings file. "setMode" suggestions are
// left out: switching the session to acceptEdits would approve far more
// than the call the approver saw. Without usable suggestions it acts as an
// allow once.
func decisionResponse(req *agents.PermissionRequest, d agents.Decision) (map[string]any, error) {
	switch d.Behavior {
	case agents.Allow, agents.AllowSession:
		input := d.Input
		if len(input) == 0 {
			input = req.Input
		}
		if len(input) == 0 || string(input) == "null" {
			input = json.RawMessage(`{}`)
		}
		if !isObject(input) {
			return nil, errors.New("decision input is not a JSON object")
		}
		resp := map[string]any{"behavior": "allow", "updatedInput": input}
		if d.Behavior == agents.AllowSession {
			sugg := d.Suggestions
			if len(sugg) == 0 {
				sugg = req.Suggestions
			}
			perms, err := sessionPermissions(sugg)
			if err != nil {
				return nil, err
			}
			if len(perms) > 0 {
				resp["updatedPermissions"] = perms
			}
		}
		return resp, nil
	case agents.Deny:
		msg := d.Message
		if msg == "" {
			msg = DefaultDenyMessage
		}
		resp := map[string]any{"behavior": "deny", "message": msg}
		if d.Interrupt {
			resp["interrupt"] = true
		}
		return resp, nil
	default:
		return nil, fmt.Errorf("unknown decision behavior %q", d.Behavior)
	}
}

// sessionPermissions returns the permission updates in raw with each
// destination set to "session".
func sessionPermissions(raw json.RawMessage) ([]map[string]json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var updates []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &updates); err != nil {
		return nil, fmt.Errorf("permission suggestions: %w", err)
	}
	out := updates[:0]
	for _, u := range updates {
		if u == nil || string(u["type"]) == `"setMode"` {
			continue
		}
		u["destination"] = json.RawMessage(`"session"`)
		out = append(out, u)
	}
	return out, nil
}

func isObject(b json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil && m != nil
}
