package claude_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
)

func TestRealCLI_PlainText(t *testing.T) {
	srv := claudetest.NewModelServer(t, claudetest.Script(claudetest.Text("Hello from the fake model.")))
	r := newSession(t, srv).start(t, agents.RunOptions{})
	r.send("say hello")
	res, evs := r.until(agents.EventResult)

	inits := ofKind(evs, agents.EventInit)
	if len(inits) != 1 || inits[0].SessionID == "" {
		t.Fatalf("init events %v; all: %s", inits, kinds(evs))
	}
	texts := ofKind(evs, agents.EventText)
	if len(texts) != 1 || texts[0].Text != "Hello from the fake model." {
		t.Errorf("texts %+v", texts)
	}
	if res.Err != nil || res.Result.IsError || res.Result.Subtype != "success" {
		t.Errorf("result %+v err %v", res.Result, res.Err)
	}
	if res.Result.Text != "Hello from the fake model." || res.Result.Turns != 1 || res.Result.CostUSD <= 0 {
		t.Errorf("result text/turns/cost: %+v", res.Result)
	}
	if res.SessionID != inits[0].SessionID || r.conn.SessionID() != res.SessionID {
		t.Errorf("session ids: init %q result %q conn %q", inits[0].SessionID, res.SessionID, r.conn.SessionID())
	}
	if got := srv.MessageRequests(); len(got) != 1 || got[0].Prompt() != "say hello" {
		t.Errorf("model saw %d requests", len(got))
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestRealCLI_AllowedToolRunsWithoutAsking(t *testing.T) {
	srv := claudetest.NewModelServer(t, claudetest.Script(
		claudetest.Bash("touch made-by-agent.txt", "Create a file"),
		claudetest.Text("Created it."),
	))
	r := newSession(t, srv).start(t, agents.RunOptions{AllowedTools: []string{"Bash(touch:*)"}})
	r.send("create the file")
	res, evs := r.until(agents.EventResult)
	if p := ofKind(evs, agents.EventPermission); len(p) != 0 {
		t.Errorf("permission asked for a pre-allowed tool: %+v", p[0].Permission)
	}
	if tu := ofKind(evs, agents.EventToolUse); len(tu) != 1 || tu[0].Tool.Name != "Bash" {
		t.Errorf("tool uses: %s", kinds(evs))
	}
	if tr := ofKind(evs, agents.EventToolResult); len(tr) != 1 || tr[0].ToolResult.IsError {
		t.Errorf("tool results: %+v", tr)
	}
	if !exists(filepath.Join(r.ws, "made-by-agent.txt")) {
		t.Error("file not created")
	}
	if res.Err != nil || res.Result.Turns != 2 {
		t.Errorf("result %+v err %v", res.Result, res.Err)
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestRealCLI_PermissionAllow(t *testing.T) {
	srv := claudetest.NewModelServer(t, claudetest.Script(
		claudetest.Bash("touch approved.txt", "Create a file"),
		claudetest.Text("Created it."),
	))
	r := newSession(t, srv).start(t, agents.RunOptions{})
	r.send("create the file")
	perm, _ := r.until(agents.EventPermission)
	p := perm.Permission
	if p.ToolName != "Bash" || p.RequestID == "" || p.ToolUseID == "" || !strings.Contains(string(p.Input), "touch approved.txt") {
		t.Fatalf("permission request %+v", p)
	}
	if exists(filepath.Join(r.ws, "approved.txt")) {
		t.Fatal("tool ran before the decision")
	}
	if err := r.conn.Decide(t.Context(), p.RequestID, agents.Decision{Verdict: agents.Allowed}); err != nil {
		t.Fatalf("Decide: %v", err)
	}
	res, evs := r.until(agents.EventResult)
	if tr := ofKind(evs, agents.EventToolResult); len(tr) != 1 || tr[0].ToolResult.IsError || tr[0].ToolResult.ToolUseID != p.ToolUseID {
		t.Errorf("tool results %+v", tr)
	}
	if !exists(filepath.Join(r.ws, "approved.txt")) {
		t.Error("file not created after allow")
	}
	if res.Err != nil {
		t.Errorf("result err %v", res.Err)
	}
	// A second answer for the same request is refused.
	if err := r.conn.Decide(t.Context(), p.RequestID, agents.Decision{Verdict: agents.Allowed}); !errors.Is(err, claude.ErrUnknownRequest) {
		t.Errorf("second Decide: %v, want ErrUnknownRequest", err)
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestRealCLI_PermissionDeny(t *testing.T) {
	srv := claudetest.NewModelServer(t, claudetest.Script(
		claudetest.Bash("touch denied.txt", "Create a file"),
		claudetest.Text("OK, I did not create it."),
	))
	r := newSession(t, srv).start(t, agents.RunOptions{})
	r.send("create the file")
	perm, _ := r.until(agents.EventPermission)
	err := r.conn.Decide(t.Context(), perm.Permission.RequestID, agents.Decision{Verdict: agents.Denied, Message: "Denied by @alice in chat"})
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	res, evs := r.until(agents.EventResult)
	tr := ofKind(evs, agents.EventToolResult)
	if len(tr) != 1 || !tr[0].ToolResult.IsError || !strings.Contains(tr[0].ToolResult.Content, "Denied by @alice in chat") {
		t.Errorf("tool results %+v", tr)
	}
	if exists(filepath.Join(r.ws, "denied.txt")) {
		t.Error("file created despite deny")
	}
	// The agent went on and finished the turn.
	if res.Err != nil || res.Result.Text != "OK, I did not create it." {
		t.Errorf("result %+v err %v", res.Result, res.Err)
	}
	reqs := srv.MessageRequests()
	if len(reqs) != 2 || len(reqs[1].ToolResults()) != 1 || !reqs[1].ToolResults()[0].IsError {
		t.Errorf("model did not see the denial as an error tool result")
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestRealCLI_AllowKeepsNoRule: an allow never hands the CLI a permission
// rule (herdbot's "allow for this session" is its own exact check), so the
// CLI asks again for an identical call in the same process, and nothing is
// written to a settings file.
func TestRealCLI_AllowKeepsNoRule(t *testing.T) {
	srv := claudetest.NewModelServer(t, claudetest.Script(
		claudetest.Bash("touch session.txt", "Create a file"),
		claudetest.Text("first done"),
		claudetest.Bash("touch session.txt", "Create a file"),
		claudetest.Text("second done"),
	))
	r := newSession(t, srv).start(t, agents.RunOptions{})
	r.send("create the file")
	perm, _ := r.until(agents.EventPermission)
	if len(perm.Permission.Suggestions) == 0 {
		t.Fatalf("CLI sent no permission suggestions (the rule it would keep)")
	}
	if err := r.conn.Decide(t.Context(), perm.Permission.RequestID, agents.Decision{Verdict: agents.Allowed}); err != nil {
		t.Fatalf("Decide: %v", err)
	}
	if res, _ := r.until(agents.EventResult); res.Err != nil {
		t.Fatalf("turn 1: %v", res.Err)
	}
	r.send("do it again")
	var again agents.Event
	for again.Kind != agents.EventPermission {
		if again = r.next(); again.Kind == agents.EventResult {
			t.Fatal("the identical call ran without a can_use_tool: the CLI kept a rule")
		}
	}
	if again.Permission.ToolName != "Bash" || string(again.Permission.Input) != string(perm.Permission.Input) {
		t.Fatalf("second request %+v, want the identical Bash call asked again", again.Permission)
	}
	if err := r.conn.Decide(t.Context(), again.Permission.RequestID, agents.Decision{Verdict: agents.Allowed}); err != nil {
		t.Fatalf("Decide: %v", err)
	}
	res, evs := r.until(agents.EventResult)
	if tr := ofKind(evs, agents.EventToolResult); len(tr) != 1 || tr[0].ToolResult.IsError {
		t.Errorf("second call's result %+v", tr)
	}
	if res.Err != nil || res.Result.Text != "second done" {
		t.Errorf("turn 2 %+v %v", res.Result, res.Err)
	}
	for _, f := range []string{".claude/settings.local.json", ".claude/settings.json"} {
		if exists(filepath.Join(r.ws, f)) {
			t.Errorf("%s written in the workspace", f)
		}
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestRealCLI_Resume(t *testing.T) {
	srv := claudetest.NewModelServer(t, claudetest.Script(
		claudetest.Text("I will remember pineapple."),
		claudetest.Text("The word was pineapple."),
	))
	s := newSession(t, srv)
	r1 := s.start(t, agents.RunOptions{})
	r1.send("remember the word pineapple")
	res1, _ := r1.until(agents.EventResult)
	if err := r1.close(); err != nil {
		t.Fatalf("Close 1: %v", err)
	}
	id := res1.SessionID

	r2 := s.start(t, agents.RunOptions{Resume: id})
	r2.send("which word?")
	res2, _ := r2.until(agents.EventResult)
	if res2.Err != nil || res2.SessionID != id {
		t.Errorf("resumed result session %q (want %q), err %v", res2.SessionID, id, res2.Err)
	}
	reqs := srv.MessageRequests()
	last := reqs[len(reqs)-1]
	if got := last.Prompts(); len(got) != 2 || got[0] != "remember the word pineapple" || got[1] != "which word?" {
		t.Errorf("resumed request prompts %q, want both turns", got)
	}
	if !strings.Contains(last.Transcript(), "I will remember pineapple.") {
		t.Errorf("resumed request lacks the earlier answer")
	}
	if err := r2.close(); err != nil {
		t.Errorf("Close 2: %v", err)
	}
}

func TestRealCLI_InterruptPendingPermission(t *testing.T) {
	srv := claudetest.NewModelServer(t, claudetest.Script(
		claudetest.Bash("touch never.txt", "Create a file"),
		claudetest.Text("resumed fine"),
	))
	s := newSession(t, srv)
	r := s.start(t, agents.RunOptions{})
	r.send("create the file")
	perm, _ := r.until(agents.EventPermission)
	if err := r.conn.Interrupt(t.Context()); err != nil {
		t.Fatalf("Interrupt: %v", err)
	}
	res, evs := r.until(agents.EventResult)
	cancels := ofKind(evs, agents.EventPermissionCancel)
	if len(cancels) != 1 || cancels[0].Permission.RequestID != perm.Permission.RequestID {
		t.Errorf("cancel events %+v; all: %s", cancels, kinds(evs))
	}
	wantRunError(t, res.Err, agents.ErrInterrupted)
	if err := r.conn.Decide(t.Context(), perm.Permission.RequestID, agents.Decision{Verdict: agents.Allowed}); !errors.Is(err, claude.ErrUnknownRequest) {
		t.Errorf("Decide after cancel: %v, want ErrUnknownRequest", err)
	}
	if exists(filepath.Join(r.ws, "never.txt")) {
		t.Error("tool ran after interrupt")
	}
	if err := r.close(); err != nil {
		t.Errorf("Close after interrupt: %v", err)
	}

	r2 := s.start(t, agents.RunOptions{Resume: res.SessionID})
	r2.send("carry on")
	res2, _ := r2.until(agents.EventResult)
	if res2.Err != nil || res2.Result.Text != "resumed fine" || res2.SessionID != res.SessionID {
		t.Errorf("resume after interrupt: %+v %v", res2.Result, res2.Err)
	}
	if err := r2.close(); err != nil {
		t.Errorf("Close 2: %v", err)
	}
}

func TestRealCLI_Errors(t *testing.T) {
	t.Run("UnknownResumeID", func(t *testing.T) {
		srv := claudetest.NewModelServer(t, nil)
		r := newSession(t, srv).start(t, agents.RunOptions{Resume: "6f1b2c3d-0000-4000-8000-000000000001"})
		r.send("hello")
		res, _ := r.until(agents.EventResult)
		wantRunError(t, res.Err, agents.ErrSessionNotFound)
		re := wantRunError(t, r.close(), agents.ErrSessionNotFound)
		if re.ExitCode != 1 {
			t.Errorf("exit code %d, want 1", re.ExitCode)
		}
		if len(srv.MessageRequests()) != 0 {
			t.Errorf("model called for an unknown session")
		}
	})
	t.Run("UnknownResumeIDBeforeSend", func(t *testing.T) {
		// The CLI reports the unknown id at startup, before any user line.
		srv := claudetest.NewModelServer(t, nil)
		r := newSession(t, srv).start(t, agents.RunOptions{Resume: "6f1b2c3d-0000-4000-8000-000000000002"})
		res, _ := r.until(agents.EventResult)
		wantRunError(t, res.Err, agents.ErrSessionNotFound)
		_ = r.conn.Send(t.Context(), "too late") // may fail: the CLI is exiting
		wantRunError(t, r.close(), agents.ErrSessionNotFound)
	})
	t.Run("Unauthorized", func(t *testing.T) {
		srv := claudetest.NewModelServer(t, func(*claudetest.Request) claudetest.Reply { return claudetest.Fail(401) })
		r := newSession(t, srv).start(t, agents.RunOptions{})
		r.send("hello")
		res, evs := r.until(agents.EventResult)
		re := wantRunError(t, res.Err, agents.ErrAuth)
		if !strings.Contains(re.Message, "API key") {
			t.Errorf("message %q", re.Message)
		}
		if len(ofKind(evs, agents.EventText)) != 0 {
			t.Errorf("the CLI's synthetic error text was delivered as agent text")
		}
		wantRunError(t, r.close(), agents.ErrAuth)
	})
	t.Run("MaxTurns", func(t *testing.T) {
		srv := claudetest.NewModelServer(t, claudetest.Script(
			claudetest.Bash("touch a.txt", "one"),
			claudetest.Bash("touch b.txt", "two"),
		))
		r := newSession(t, srv).start(t, agents.RunOptions{MaxTurns: 1, AllowedTools: []string{"Bash(touch:*)"}})
		r.send("make files")
		res, _ := r.until(agents.EventResult)
		re := wantRunError(t, res.Err, agents.ErrMaxTurns)
		if !strings.Contains(re.Message, "maximum number of turns") {
			t.Errorf("message %q", re.Message)
		}
		wantRunError(t, r.close(), agents.ErrMaxTurns)
	})
	t.Run("ServerErrorNoRetries", func(t *testing.T) {
		srv := claudetest.NewModelServer(t, func(*claudetest.Request) claudetest.Reply { return claudetest.Fail(500) })
		r := newSession(t, srv, "CLAUDE_CODE_MAX_RETRIES=0").start(t, agents.RunOptions{})
		r.send("hello")
		res, _ := r.until(agents.EventResult)
		wantRunError(t, res.Err, agents.ErrAPI)
		wantRunError(t, r.close(), agents.ErrAPI)
	})
	t.Run("ServerErrorThenRetrySucceeds", func(t *testing.T) {
		srv := claudetest.NewModelServer(t, claudetest.Script(claudetest.Fail(500), claudetest.Text("recovered")))
		r := newSession(t, srv).start(t, agents.RunOptions{})
		r.send("hello")
		res, evs := r.until(agents.EventResult)
		if res.Err != nil || res.Result.Text != "recovered" {
			t.Errorf("result %+v err %v", res.Result, res.Err)
		}
		if n := len(srv.MessageRequests()); n != 2 {
			t.Errorf("%d model calls, want 2 (one retry)", n)
		}
		retries := 0
		for _, e := range ofKind(evs, agents.EventSystem) {
			if e.Text == "api_retry" {
				retries++
			}
		}
		if retries != 1 {
			t.Errorf("%d api_retry events, want 1: %s", retries, kinds(evs))
		}
		if err := r.close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	t.Run("BadFlag", func(t *testing.T) {
		srv := claudetest.NewModelServer(t, nil)
		r := newSession(t, srv).start(t, agents.RunOptions{PermissionMode: "bogus"})
		for range r.conn.Events() {
		}
		re := wantRunError(t, r.close(), agents.ErrCrashed)
		if re.ExitCode != 1 || !strings.Contains(re.Stderr, "bogus") {
			t.Errorf("exit %d stderr %q", re.ExitCode, re.Stderr)
		}
	})
}

func TestRealCLI_PartialMessages(t *testing.T) {
	srv := claudetest.NewModelServer(t, claudetest.Script(claudetest.Reply{Thinking: "Let me think.", Text: "Streaming words one by one for the chat."}))
	r := newSession(t, srv).start(t, agents.RunOptions{IncludePartial: true})
	r.send("stream please")
	res, evs := r.until(agents.EventResult)
	joined := ""
	for _, e := range ofKind(evs, agents.EventPartial) {
		joined += e.Text
	}
	if joined != "Streaming words one by one for the chat." {
		t.Errorf("partial deltas join to %q; events %s", joined, kinds(evs))
	}
	if th := ofKind(evs, agents.EventThinking); len(th) != 1 || th[0].Text != "Let me think." {
		t.Errorf("thinking events %+v", th)
	}
	if res.Err != nil {
		t.Errorf("result err %v", res.Err)
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestRealCLI_Demo runs the first-run demo model with the real CLI: an
// approval, the sandbox's output quoted back, then a scripted follow-up.
func TestRealCLI_Demo(t *testing.T) {
	srv := claudetest.NewModelServer(t, claudetest.Demo())
	r := newSession(t, srv).start(t, agents.RunOptions{})
	r.send("hi")
	perm, evs := r.until(agents.EventPermission)
	if texts := ofKind(evs, agents.EventText); len(texts) != 1 || !strings.HasPrefix(texts[0].Text, claudetest.DemoLabel) {
		t.Errorf("intro text %+v", texts)
	}
	if perm.Permission.ToolName != "Bash" || !strings.Contains(string(perm.Permission.Input), "hello.txt") {
		t.Fatalf("permission %+v", perm.Permission)
	}
	if err := r.conn.Decide(t.Context(), perm.Permission.RequestID, agents.Decision{Verdict: agents.Allowed}); err != nil {
		t.Fatal(err)
	}
	res, _ := r.until(agents.EventResult)
	if res.Err != nil || !strings.Contains(res.Result.Text, "hello from the sandbox") {
		t.Errorf("after approval: %+v %v", res.Result, res.Err)
	}
	if !exists(filepath.Join(r.ws, "hello.txt")) {
		t.Error("hello.txt not written")
	}
	r.send("what else can you do?")
	res, evs = r.until(agents.EventResult)
	if len(ofKind(evs, agents.EventPermission)) != 0 || !strings.Contains(res.Result.Text, "what else can you do?") {
		t.Errorf("follow-up: %+v; events %s", res.Result, kinds(evs))
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestRealCLI_HerdbotFlagsApply: with no setting sources and strict MCP
// config, herdbot's own flags still reach the CLI: the appended system
// prompt, the permission mode and a denied tool (the model is not offered
// Bash, and its Bash call is refused without a permission request).
func TestRealCLI_HerdbotFlagsApply(t *testing.T) {
	srv := claudetest.NewModelServer(t, claudetest.Script(
		claudetest.Bash("touch denied-by-flag.txt", "Create a file"),
		claudetest.Text("could not"),
	))
	r := newSession(t, srv).start(t, agents.RunOptions{
		PermissionMode: "acceptEdits", DisallowedTools: []string{"Bash"}, AppendSystemPrompt: "HERDBOT-APPENDED-PROMPT",
	})
	r.send("create the file")
	res, evs := r.until(agents.EventResult)
	if p := ofKind(evs, agents.EventPermission); len(p) != 0 {
		t.Errorf("permission asked for a denied tool: %+v", p[0].Permission)
	}
	if tr := ofKind(evs, agents.EventToolResult); len(tr) != 1 || !tr[0].ToolResult.IsError {
		t.Errorf("tool results %+v, want one error", tr)
	}
	if exists(filepath.Join(r.ws, "denied-by-flag.txt")) {
		t.Error("denied tool ran")
	}
	var init map[string]any
	if err := json.Unmarshal(ofKind(evs, agents.EventInit)[0].Raw, &init); err != nil {
		t.Fatal(err)
	}
	if init["permissionMode"] != "acceptEdits" {
		t.Errorf("init permissionMode %v", init["permissionMode"])
	}
	reqs := srv.MessageRequests()
	if len(reqs) == 0 || !strings.Contains(reqs[0].System, "HERDBOT-APPENDED-PROMPT") {
		t.Errorf("appended system prompt not sent to the model")
	}
	if len(reqs) > 0 && slices.Contains(reqs[0].Tools, "Bash") {
		t.Errorf("model offered the denied Bash tool: %v", reqs[0].Tools)
	}
	if res.Err != nil {
		t.Errorf("result err %v", res.Err)
	}
	if err := r.close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
