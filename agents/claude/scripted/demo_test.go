package scripted_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents/claude/scripted"
)

func userText(s string) scripted.Message {
	return scripted.Message{Role: "user", Content: []scripted.Block{{Type: "text", Text: s}}}
}

func TestDemo_Conversation(t *testing.T) {
	demo := scripted.Demo()
	// Turn 1: asks to run the demo command.
	req := &scripted.Request{Messages: []scripted.Message{userText("<system-reminder>r</system-reminder>"), userText("hi")}}
	rep := demo(req)
	if len(rep.ToolUses) != 1 || rep.ToolUses[0].Name != "Bash" {
		t.Fatalf("first reply %+v, want a Bash tool use", rep)
	}
	in, _ := json.Marshal(rep.ToolUses[0].Input)
	if !strings.Contains(string(in), "hello from the sandbox") || !strings.HasPrefix(rep.Text, scripted.DemoLabel) {
		t.Errorf("first reply %+v", rep)
	}
	asked := scripted.Message{Role: "assistant", Content: []scripted.Block{{Type: "tool_use", ID: "toolu_d", Name: "Bash", Input: in}}}

	// After the tool ran: quotes its output.
	ran := scripted.Message{Role: "user", Content: []scripted.Block{{Type: "tool_result", ToolUseID: "toolu_d", Content: "hello from the sandbox"}}}
	rep = demo(&scripted.Request{Messages: []scripted.Message{userText("hi"), asked, ran}})
	if !strings.Contains(rep.Text, "hello from the sandbox") || len(rep.ToolUses) != 0 || !strings.HasPrefix(rep.Text, scripted.DemoLabel) {
		t.Errorf("after result %+v", rep)
	}

	// After a denial: says so.
	denied := scripted.Message{Role: "user", Content: []scripted.Block{{Type: "tool_result", ToolUseID: "toolu_d", Content: "Denied by @alice", IsError: true}}}
	rep = demo(&scripted.Request{Messages: []scripted.Message{userText("hi"), asked, denied}})
	if !strings.Contains(rep.Text, "did not run:\n\n    Denied by @alice") {
		t.Errorf("after denial %+v", rep)
	}

	// A failed tool shows its whole cause, not only its first line.
	failed := scripted.Message{Role: "user", Content: []scripted.Block{{Type: "tool_result", ToolUseID: "toolu_d",
		Content: "Exit code 1\n/bin/sh: hello.txt: Read-only file system", IsError: true}}}
	rep = demo(&scripted.Request{Messages: []scripted.Message{userText("hi"), asked, failed}})
	if !strings.Contains(rep.Text, "    Exit code 1\n    /bin/sh: hello.txt: Read-only file system") {
		t.Errorf("after a failure %+v", rep)
	}

	// A read-only workspace: the greeting goes to /tmp.
	rep = demo(&scripted.Request{System: "be helpful\n" + scripted.DemoReadOnlyHint, Messages: []scripted.Message{userText("hi")}})
	if len(rep.ToolUses) != 1 || !strings.Contains(fmt.Sprint(rep.ToolUses[0].Input), "/tmp/hello.txt") {
		t.Errorf("read-only first reply %+v", rep)
	}
	rep = demo(&scripted.Request{System: scripted.DemoReadOnlyHint, Messages: []scripted.Message{userText("hi"), asked, ran}})
	if !strings.Contains(rep.Text, "my workspace is read-only") {
		t.Errorf("read-only after result %+v", rep)
	}

	// A follow-up message: scripted echo, no second tool call.
	done := scripted.Message{Role: "assistant", Content: []scripted.Block{{Type: "text", Text: "Done!"}}}
	rep = demo(&scripted.Request{Messages: []scripted.Message{userText("hi"), asked, ran, done, userText("what's up?")}})
	if len(rep.ToolUses) != 0 || !strings.Contains(rep.Text, `"what's up?"`) {
		t.Errorf("follow-up %+v", rep)
	}
}
