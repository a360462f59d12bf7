package scripted

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// DemoCommand is the shell command the Demo model asks the Bash tool to run
// on its first turn. Writing a file needs approval in the default
// permission mode, so the first-run demo shows an approval card.
const DemoCommand = `echo "hello from the sandbox" > hello.txt && cat hello.txt`

// DemoReadOnlyCommand is DemoCommand for an agent whose workspace is
// read-only (workspace_mode: ro): the greeting goes to the container's own
// /tmp.
const DemoReadOnlyCommand = `echo "hello from the sandbox" > /tmp/hello.txt && cat /tmp/hello.txt`

// DemoReadOnlyHint in the system prompt tells the Demo model that the
// agent's workspace is read-only (herdbot's demo appends it for such
// agents), so it asks for DemoReadOnlyCommand.
const DemoReadOnlyHint = "[herdbot demo: this agent's workspace is read-only]"

// DemoLabel starts every text the Demo model writes, so nobody takes it for
// a real model.
const DemoLabel = "[demo model]"

// Demo is the scripted model of herdbot's first-run demo (no API key
// needed). Its answers depend only on the conversation it is sent, so it
// works across resumed sessions and concurrent conversations:
//
//   - the first turn of a conversation answers with a short text and a Bash
//     tool_use running DemoCommand (which needs approval);
//   - after the tool result it quotes the result (or says it was denied);
//   - any later message gets a friendly scripted reply that echoes it.
func Demo() Responder {
	return func(req *Request) Reply {
		for _, tr := range req.ToolResults() {
			if !isDemoToolUse(req, tr.ToolUseID) {
				continue
			}
			if tr.IsError {
				return Text(fmt.Sprintf("%s The command did not run:\n\n%s\n\nNo harm done. Send me another message and I'll answer with a scripted reply.",
					DemoLabel, indent(clip(tr.Content, 1000))))
			}
			where := "The file hello.txt is now in my workspace."
			if readOnly(req) {
				where = "The file is in my container's own /tmp: my workspace is read-only (workspace_mode: ro)."
			}
			return Text(fmt.Sprintf("%s Done! The sandbox ran the command and printed:\n\n    %s\n\n%s I'm a scripted demo model, not a real AI; configure a model API key to talk to Claude.",
				DemoLabel, strings.TrimSpace(tr.Content), where))
		}
		if !demoToolAsked(req) {
			if readOnly(req) {
				rep := Bash(DemoReadOnlyCommand, "Write a greeting to /tmp/hello.txt and show it")
				rep.Text = fmt.Sprintf("%s Hi! I'm herdbot's scripted demo model. To show how approvals work, I'll write a file in my sandbox (in /tmp: my workspace is read-only). Please approve the command.", DemoLabel)
				return rep
			}
			rep := Bash(DemoCommand, "Write a greeting to hello.txt and show it")
			rep.Text = fmt.Sprintf("%s Hi! I'm herdbot's scripted demo model. To show how approvals work, I'll write a file in my sandbox. Please approve the command.", DemoLabel)
			return rep
		}
		said := firstLine(req.Prompt())
		if said == "" {
			said = "(nothing)"
		}
		return Text(fmt.Sprintf("%s You said: %q. I'm a scripted demo model, so this is all I can do. Configure a model API key in herdbot.yaml to talk to Claude for real.",
			DemoLabel, said))
	}
}

// readOnly reports whether the system prompt carries DemoReadOnlyHint.
func readOnly(req *Request) bool { return strings.Contains(req.System, DemoReadOnlyHint) }

// clip cuts s to n bytes (at a rune boundary), marking the cut.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// indent indents every line of s by four spaces.
func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// demoToolAsked reports whether an earlier assistant turn ran DemoCommand.
func demoToolAsked(req *Request) bool {
	for _, m := range req.Messages {
		for _, b := range m.Content {
			if b.Type == "tool_use" && strings.Contains(string(b.Input), "hello from the sandbox") {
				return true
			}
		}
	}
	return false
}

// isDemoToolUse reports whether id names the demo's tool_use.
func isDemoToolUse(req *Request, id string) bool {
	for _, m := range req.Messages {
		for _, b := range m.Content {
			if b.Type == "tool_use" && b.ID == id {
				return strings.Contains(string(b.Input), "hello from the sandbox")
			}
		}
	}
	return false
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
