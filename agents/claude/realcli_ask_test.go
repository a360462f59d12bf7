package claude_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
)

// askInput is an AskUserQuestion tool input as the model writes it.
var askInput = map[string]any{"questions": []any{map[string]any{
	"question": "Which soil should I use?", "header": "Soil", "multiSelect": false,
	"options": []any{
		map[string]any{"label": "Loam", "description": "rich and crumbly"},
		map[string]any{"label": "Sand", "description": "drains fast"},
	},
}}}

// TestRealCLI_AskUserQuestion records how the pinned CLI lets a host answer
// AskUserQuestion: it asks can_use_tool for it (in default mode), and an
// allow whose updatedInput adds answers {question text: label} is the
// tool's answer — the tool_result the model gets quotes it.
func TestRealCLI_AskUserQuestion(t *testing.T) {
	srv := claudetest.NewModelServer(t, claudetest.Script(
		claudetest.Tool("AskUserQuestion", askInput),
		claudetest.Text("Loam it is."),
	))
	r := newSession(t, srv).start(t, agents.RunOptions{})
	r.send("pick a soil with me")
	perm, _ := r.until(agents.EventPermission)
	p := perm.Permission
	if p.ToolName != "AskUserQuestion" {
		t.Fatalf("permission request %+v, want AskUserQuestion", p)
	}
	var in map[string]any
	if err := json.Unmarshal(p.Input, &in); err != nil {
		t.Fatal(err)
	}
	in["answers"] = map[string]string{"Which soil should I use?": "Loam"}
	upd, _ := json.Marshal(in)
	if err := r.conn.Decide(t.Context(), p.RequestID, agents.Decision{Verdict: agents.Allowed, Input: upd}); err != nil {
		t.Fatalf("Decide: %v", err)
	}
	res, evs := r.until(agents.EventResult)
	tr := ofKind(evs, agents.EventToolResult)
	if len(tr) != 1 || tr[0].ToolResult.IsError {
		t.Fatalf("tool results %+v", tr)
	}
	t.Logf("AskUserQuestion tool_result: %q", tr[0].ToolResult.Content)
	if !strings.Contains(tr[0].ToolResult.Content, "Loam") || !strings.Contains(tr[0].ToolResult.Content, "Which soil should I use?") {
		t.Errorf("tool result %q: want the question and the answer", tr[0].ToolResult.Content)
	}
	reqs := srv.MessageRequests()
	if len(reqs) != 2 || !strings.Contains(reqs[1].ToolResults()[0].Content, "Loam") {
		t.Errorf("the model did not get the answer")
	}
	if res.Err != nil {
		t.Errorf("result err %v", res.Err)
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestRealCLI_ExitPlanMode records how the pinned CLI lets a host approve
// or reject a plan: can_use_tool for ExitPlanMode (input plan); a deny's
// message is the tool's error result, an allow lets it leave plan mode.
func TestRealCLI_ExitPlanMode(t *testing.T) {
	srv := claudetest.NewModelServer(t, claudetest.Script(
		claudetest.Tool("ExitPlanMode", map[string]any{"plan": "1. dig\n2. plant"}),
		claudetest.Text("I'll keep planning."),
		claudetest.Tool("ExitPlanMode", map[string]any{"plan": "1. dig deeper\n2. plant"}),
		claudetest.Text("Planted."),
	))
	r := newSession(t, srv).start(t, agents.RunOptions{PermissionMode: "plan"})
	r.send("plan the bed")
	perm, _ := r.until(agents.EventPermission)
	// The CLI asks with an empty input: the plan is in the model's
	// tool_use (and, when the model wrote one, in its plan file).
	if perm.Permission.ToolName != "ExitPlanMode" || string(perm.Permission.Input) != "{}" {
		t.Fatalf("permission request %+v, want ExitPlanMode with input {}", perm.Permission)
	}
	if err := r.conn.Decide(t.Context(), perm.Permission.RequestID, agents.Decision{Verdict: agents.Denied, Message: "Keep planning: the person wants changes."}); err != nil {
		t.Fatal(err)
	}
	_, evs := r.until(agents.EventResult)
	tr := ofKind(evs, agents.EventToolResult)
	if len(tr) != 1 || !tr[0].ToolResult.IsError || !strings.Contains(tr[0].ToolResult.Content, "Keep planning") {
		t.Fatalf("tool results after deny %+v", tr)
	}
	t.Logf("ExitPlanMode deny tool_result: %q", tr[0].ToolResult.Content)
	r.send("ok, again")
	perm, _ = r.until(agents.EventPermission)
	if perm.Permission.ToolName != "ExitPlanMode" {
		t.Fatalf("permission request %+v", perm.Permission)
	}
	if err := r.conn.Decide(t.Context(), perm.Permission.RequestID, agents.Decision{Verdict: agents.Allowed}); err != nil {
		t.Fatal(err)
	}
	_, evs = r.until(agents.EventResult)
	tr = ofKind(evs, agents.EventToolResult)
	if len(tr) != 1 || tr[0].ToolResult.IsError {
		t.Fatalf("tool results after allow %+v", tr)
	}
	t.Logf("ExitPlanMode allow tool_result: %q", tr[0].ToolResult.Content)
	for _, e := range evs {
		if e.Kind == agents.EventSystem {
			t.Logf("system event: %s %s", e.Text, e.Raw)
		}
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestRealCLI_ExitPlanModeSendsThePlanFile: when the agent wrote its plan
// file (the CLI names it in plan mode: $CLAUDE_CONFIG_DIR/plans/<slug>.md)
// the CLI's can_use_tool for ExitPlanMode carries the file's text as
// input.plan, with planFilePath; the model's own tool_use input is not
// used.
func TestRealCLI_ExitPlanModeSendsThePlanFile(t *testing.T) {
	re := regexp.MustCompile(`/[^\s"'\x60]*/\.claude/plans/[^\s"'\x60]+\.md`)
	srv := claudetest.NewModelServer(t, func(r *claudetest.Request) claudetest.Reply {
		switch r.Turns() {
		case 0:
			path := re.FindString(r.System + "\n" + r.Transcript())
			return claudetest.Tool("Write", map[string]any{"file_path": path, "content": "# Plan\n1. dig\n2. plant\n"})
		case 1:
			return claudetest.Tool("ExitPlanMode", map[string]any{"plan": "not this one"})
		}
		return claudetest.Text("done")
	})
	r := newSession(t, srv).start(t, agents.RunOptions{PermissionMode: "plan"})
	r.send("plan the bed")
	perm, _ := r.until(agents.EventPermission)
	var in struct {
		Plan         string `json:"plan"`
		PlanFilePath string `json:"planFilePath"`
	}
	if err := json.Unmarshal(perm.Permission.Input, &in); err != nil || perm.Permission.ToolName != "ExitPlanMode" ||
		in.Plan != "# Plan\n1. dig\n2. plant\n" || !strings.HasSuffix(in.PlanFilePath, ".md") {
		t.Fatalf("permission request %s %s (%v): want the plan file's text", perm.Permission.ToolName, perm.Permission.Input, err)
	}
	if err := r.conn.Decide(t.Context(), perm.Permission.RequestID, agents.Decision{Verdict: agents.Allowed}); err != nil {
		t.Fatal(err)
	}
	res, evs := r.until(agents.EventResult)
	if tr := ofKind(evs, agents.EventToolResult); len(tr) != 1 || tr[0].ToolResult.IsError || res.Err != nil {
		t.Fatalf("tool results %+v, result err %v", tr, res.Err)
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
