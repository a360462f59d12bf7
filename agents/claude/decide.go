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
// older CLIs reject an allow without it. It never carries
// updatedPermissions: a permission rule the CLI would keep for the session
// is built from the agent's own text (a prefix or glob of its command), so
// it would cover more than the call the approver saw. "Allow for this
// session" is herdbot's check (agents: the session's grants), and the CLI
// asks again for every call.
func decisionResponse(req *agents.PermissionRequest, d agents.Decision) (map[string]any, error) {
	switch {
	case d.Verdict.Allows():
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
		return map[string]any{"behavior": "allow", "updatedInput": input}, nil
	case d.Verdict != agents.Pending && d.Verdict != "":
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
		return nil, fmt.Errorf("a decision needs a verdict, got %q", d.Verdict)
	}
}

func isObject(b json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil && m != nil
}
