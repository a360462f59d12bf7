package fakecli

import (
	"encoding/json"
	"fmt"
	"strings"
)

func (f *fake) init() {
	f.emit(map[string]any{"type": "system", "subtype": "init", "session_id": f.session, "cwd": ".",
		"model": "fake-model", "permissionMode": "default", "tools": []string{"Bash"}, "claude_code_version": "fakecli",
		"uuid": uuid()})
}

func (f *fake) assistantText(text string) {
	f.emit(map[string]any{"type": "assistant", "session_id": f.session, "uuid": uuid(), "parent_tool_use_id": nil,
		"message": map[string]any{"id": "msg_fake", "type": "message", "role": "assistant", "model": "fake-model",
			"content": []any{map[string]any{"type": "text", "text": text}}, "stop_reason": nil}})
}

func (f *fake) toolResult(id, content string, isError bool) {
	f.emit(map[string]any{"type": "user", "session_id": f.session, "uuid": uuid(), "parent_tool_use_id": nil,
		"message": map[string]any{"role": "user", "content": []any{map[string]any{
			"type": "tool_result", "tool_use_id": id, "content": content, "is_error": isError}}}})
}

func (f *fake) result(subtype string, isError bool, text string, turns int, errs []string) {
	f.cost += 0.0001
	f.lastError = isError
	m := map[string]any{"type": "result", "subtype": subtype, "is_error": isError, "num_turns": turns,
		"session_id": f.session, "total_cost_usd": f.cost, "duration_ms": 1, "uuid": uuid(),
		"usage": map[string]any{"input_tokens": 1, "output_tokens": 1}}
	if text != "" {
		m["result"] = text
	}
	if errs != nil {
		m["errors"] = errs
		m["terminal_reason"] = "aborted_tools"
	}
	f.emit(m)
}

// turn runs one user turn; exit reports that the process must exit now.
func (f *fake) turn(prompt string) (code int, exit bool) {
	f.turns++
	f.init()
	switch f.mode {
	case ModeCrash:
		f.assistantText("about to crash")
		fmt.Fprintln(f.stderr, "fakecli: simulated crash")
		return 3, true
	case ModeStall:
		f.assistantText("stalling")
		select {}
	case ModeGarbage:
		f.raw("this is not json")
		f.raw("{broken json")
		f.raw("[SandboxDebug] noise on stdout")
		f.raw("")
		f.assistantText("after garbage")
		f.result("success", false, "after garbage", 1, nil)
	case ModeBigLine:
		f.assistantText(strings.Repeat("0123456789abcdef", f.bigBytes/16+1)[:f.bigBytes])
		f.result("success", false, "big", 1, nil)
	case ModeUnknown:
		f.unknown()
	case ModePermission:
		f.permissionTurn()
	default:
		f.assistantText("echo: " + prompt)
		f.result("success", false, "echo: "+prompt, 1, nil)
	}
	return 0, false
}

func (f *fake) unknown() {
	f.raw(`{"type":"rate_limit_event","rate_limit_info":{"status":"allowed","resetsAt":1},"session_id":"` + f.session + `"}`)
	f.raw(`{"subtype":"thinking_tokens","tokens":12,"type":"system","session_id":"` + f.session + `"}`)
	f.raw(`{"type":"brand_new_kind","payload":{"nested":[1,2,3]}}`)
	// Shuffled keys, an unknown block type and unknown fields.
	f.raw(`{"uuid":"u1","brand_new_field":{"x":1},"message":{"content":[{"type":"server_tool_use","id":"srv_1","name":"web_search","input":{}},` +
		`{"future":true,"text":"tolerant text","type":"text"}],"role":"assistant","model":"fake-model"},"session_id":"` + f.session + `","type":"assistant"}`)
	_, ch := f.ask(map[string]any{"subtype": "hook_callback", "callback_id": "hook_0", "input": map[string]any{}})
	ans := <-ch
	f.assistantText("hook answered: " + behavior(ans))
	// A mistyped field must not lose the rest of the result.
	f.raw(`{"num_turns":"one","is_error":false,"result":"tolerant result","subtype":"success","total_cost_usd":0.5,"session_id":"` + f.session + `","type":"result","future_field":[]}`)
	f.lastError = false
}

func behavior(raw json.RawMessage) string {
	var r struct {
		Behavior string `json:"behavior"`
	}
	_ = json.Unmarshal(raw, &r)
	return r.Behavior
}

func (f *fake) permissionTurn() {
	toolID := "toolu_" + uuid()[:8]
	input := map[string]any{"command": "echo hi", "description": "Say hi"}
	f.emit(map[string]any{"type": "assistant", "session_id": f.session, "uuid": uuid(), "parent_tool_use_id": nil,
		"message": map[string]any{"id": "msg_fake", "type": "message", "role": "assistant", "model": "fake-model",
			"content": []any{map[string]any{"type": "tool_use", "id": toolID, "name": "Bash", "input": input}}}})
	reqID, ch := f.ask(map[string]any{"subtype": "can_use_tool", "tool_name": "Bash", "display_name": "Bash",
		"input": input, "tool_use_id": toolID,
		"permission_suggestions": []any{map[string]any{"type": "addRules", "rules": []any{map[string]any{"toolName": "Bash", "ruleContent": "echo hi"}},
			"behavior": "allow", "destination": "localSettings"}}})
	var ans json.RawMessage
	select {
	case ans = <-ch:
	case id := <-f.intr:
		f.amu.Lock()
		delete(f.answers, reqID)
		f.amu.Unlock()
		f.emit(map[string]any{"type": "control_cancel_request", "request_id": reqID})
		f.interruptReply(id)
		f.toolResult(toolID, "The user doesn't want to proceed with this tool use.", true)
		f.result("error_during_execution", true, "", 1, []string{"[ede_diagnostic] interrupted"})
		return
	}
	var r struct {
		Behavior  string `json:"behavior"`
		Message   string `json:"message"`
		Interrupt bool   `json:"interrupt"`
	}
	_ = json.Unmarshal(ans, &r)
	switch {
	case r.Behavior == "allow":
		f.toolResult(toolID, "hi", false)
	case r.Behavior == "deny" && r.Interrupt:
		f.toolResult(toolID, r.Message, true)
		f.result("error_during_execution", true, "", 1, []string{"[ede_diagnostic] interrupted"})
		return
	case r.Behavior == "deny":
		f.toolResult(toolID, r.Message, true)
	default:
		f.toolResult(toolID, "Tool permission request failed: "+r.Behavior, true)
	}
	f.assistantText("done")
	f.result("success", false, "done", 2, nil)
}
