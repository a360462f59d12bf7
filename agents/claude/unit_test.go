package claude

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents"
)

func TestCommand(t *testing.T) {
	base := "claude -p --output-format stream-json --input-format stream-json --verbose --permission-prompt-tool stdio" +
		" --setting-sources= --strict-mcp-config"
	noBypass := ` --settings={"permissions":{"disableBypassPermissionsMode":"disable"}}`
	for _, tc := range []struct {
		name string
		opts agents.RunOptions
		want string
	}{
		{"defaults", agents.RunOptions{}, base + " --permission-mode=default" + noBypass},
		{"bypass chosen by the fleet", agents.RunOptions{PermissionMode: "bypassPermissions"}, base + " --permission-mode=bypassPermissions"},
		{"all", agents.RunOptions{
			Model: "sonnet", PermissionMode: "acceptEdits", MaxTurns: 3, Tools: []string{"Bash", "Read"},
			AllowedTools: []string{"Bash(git:*)", "Read"}, DisallowedTools: []string{"WebFetch"},
			SystemPrompt: "sys", AppendSystemPrompt: "extra", MCPConfig: `{"mcpServers":{}}`,
			IncludePartial: true, Resume: "0d6f2a4e-1111-4c3b-9a55-2f0c7b9e1a01",
		}, base + " --permission-mode=acceptEdits" + noBypass + " --model=sonnet --max-turns=3 --tools=Bash,Read" +
			" --allowedTools=Bash(git:*),Read --disallowedTools=WebFetch --system-prompt=sys --append-system-prompt=extra" +
			` --mcp-config={"mcpServers":{}} --include-partial-messages --resume=0d6f2a4e-1111-4c3b-9a55-2f0c7b9e1a01`},
		{"no tools", agents.RunOptions{Tools: []string{}}, base + " --permission-mode=default" + noBypass + " --tools="},
		{"hostile values stay values", agents.RunOptions{Resume: "--dangerously-skip-permissions", AppendSystemPrompt: "-x"},
			base + " --permission-mode=default" + noBypass + " --append-system-prompt=-x --resume=--dangerously-skip-permissions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(New(Config{}).Command(tc.opts), " ")
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	if got := New(Config{Binary: "/opt/claude"}).Command(agents.RunOptions{})[0]; got != "/opt/claude" {
		t.Errorf("binary %q", got)
	}
	for _, a := range New(Config{}).Command(agents.RunOptions{Resume: "--bypass", Model: "-m"}) {
		if a == "--bypass" || a == "-m" {
			t.Errorf("user value %q became its own argument", a)
		}
	}
}

func TestDecisionResponse(t *testing.T) {
	req := &agents.PermissionRequest{
		RequestID: "r1", ToolName: "Bash", Input: json.RawMessage(`{"command":"touch x"}`),
		Suggestions: json.RawMessage(`[{"type":"addRules","rules":[{"toolName":"Bash","ruleContent":"touch x"}],"behavior":"allow","destination":"localSettings"},` +
			`{"type":"addDirectories","directories":["/w"],"destination":"projectSettings"},{"type":"setMode","mode":"acceptEdits","destination":"session"}]`),
	}
	for _, tc := range []struct {
		name    string
		d       agents.Decision
		want    string
		wantErr string
	}{
		// The request's permission_suggestions are never passed back.
		{"allow keeps input", agents.Decision{Verdict: agents.Allowed}, `{"behavior":"allow","updatedInput":{"command":"touch x"}}`, ""},
		{"allow edited input", agents.Decision{Verdict: agents.Allowed, Input: json.RawMessage(`{"command":"touch y"}`)}, `{"behavior":"allow","updatedInput":{"command":"touch y"}}`, ""},
		{"deny default message", agents.Decision{Verdict: agents.Denied}, `{"behavior":"deny","message":"` + DefaultDenyMessage + `"}`, ""},
		{"deny interrupt", agents.Decision{Verdict: agents.Denied, Message: "no", Interrupt: true}, `{"behavior":"deny","interrupt":true,"message":"no"}`, ""},
		{"no verdict", agents.Decision{}, "", "needs a verdict"},
		{"pending is no verdict", agents.Decision{Verdict: agents.Pending}, "", "needs a verdict"},
		{"session allow", agents.Decision{Verdict: agents.AllowedSession}, `{"behavior":"allow","updatedInput":{"command":"touch x"}}`, ""},
		{"expired denies", agents.Decision{Verdict: agents.Expired, Message: "too late"}, `{"behavior":"deny","message":"too late"}`, ""},
		{"input not an object", agents.Decision{Verdict: agents.Allowed, Input: json.RawMessage(`[1]`)}, "", "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := decisionResponse(req, tc.d)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(resp)
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	// A request without input still answers with an object.
	resp, _ := decisionResponse(&agents.PermissionRequest{}, agents.Decision{Verdict: agents.Allowed})
	if got, _ := json.Marshal(resp); string(got) != `{"behavior":"allow","updatedInput":{}}` {
		t.Errorf("empty input: %s", got)
	}
}

func TestTurnError(t *testing.T) {
	for _, tc := range []struct {
		name     string
		r        agents.Result
		terminal string
		status   int
		apiError string
		want     error
		wantMsg  string
	}{
		{"success", agents.Result{Subtype: "success"}, "completed", 0, "", nil, ""},
		{"session", agents.Result{Subtype: "error_during_execution", IsError: true, Errors: []string{"No conversation found with session ID: x"}}, "", 0, "", agents.ErrSessionNotFound, "No conversation found"},
		{"max turns", agents.Result{Subtype: "error_max_turns", IsError: true, Errors: []string{"Reached maximum number of turns (1)"}}, "max_turns", 0, "", agents.ErrMaxTurns, "Reached maximum"},
		{"interrupt hides diagnostics", agents.Result{Subtype: "error_during_execution", IsError: true, Errors: []string{"[ede_diagnostic] x"}}, "aborted_tools", 0, "", agents.ErrInterrupted, "stopped"},
		{"auth by code", agents.Result{Subtype: "success", IsError: true, Text: "Invalid API key · Fix external API key"}, "api_error", 401, "authentication_failed", agents.ErrAuth, "Invalid API key"},
		{"auth by text (2.1.100)", agents.Result{Subtype: "success", IsError: true, Text: "Not logged in · Please run /login"}, "", 0, "", agents.ErrAuth, "Not logged in"},
		{"api 500", agents.Result{Subtype: "success", IsError: true, Text: "API Error: 500 Internal server error"}, "api_error", 500, "server_error", agents.ErrAPI, "API Error: 500"},
		{"api by text only", agents.Result{Subtype: "success", IsError: true, Text: "API Error: Connection refused"}, "", 0, "", agents.ErrAPI, "Connection refused"},
		{"rate limit", agents.Result{Subtype: "success", IsError: true, Text: "rate limited"}, "", 0, "rate_limit", agents.ErrAPI, "rate limited"},
		{"budget", agents.Result{Subtype: "error_max_budget_usd", IsError: true}, "", 0, "", ErrTurnFailed, "error_max_budget_usd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := turnError(&tc.r, tc.terminal, tc.status, tc.apiError)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var re *agents.RunError
			if !errors.As(err, &re) || !errors.Is(err, tc.want) || !strings.Contains(re.Message, tc.wantMsg) {
				t.Errorf("err = %v, want %v with %q", err, tc.want, tc.wantMsg)
			}
		})
	}
}

func TestDecode_Lines(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       string // summaries joined by " | "
		wantErr    bool
	}{
		{"blank", "   ", "", false},
		{"not json", "[SandboxDebug] hi", "", true},
		{"broken json", `{"type":"assistant",`, "", true},
		{"unknown type", `{"type":"brand_new","x":1}`, "unknown nosession", false},
		{"unknown system subtype", `{"type":"system","subtype":"future_thing","session_id":"s"}`, `system text="future_thing"`, false},
		{"shuffled keys, unknown fields", `{"session_id":"s","zzz":[1],"message":{"content":[{"text":"hi","type":"text","extra":1}]},"type":"assistant"}`, `text text="hi"`, false},
		{"mistyped field keeps the rest", `{"type":"result","subtype":"success","num_turns":"x","result":"ok","session_id":"s"}`, `result subtype=success is_error=false turns=0 cost>0=false text="ok" errors=[]`, false},
		{"result text not a string", `{"type":"result","subtype":"success","result":{"a":1},"session_id":"s"}`, `result subtype=success is_error=false turns=0 cost>0=false text="" errors=[]`, false},
		{"user string content", `{"type":"user","message":{"role":"user","content":"replayed"},"session_id":"s"}`, "unknown", false},
		{"tool result blocks", `{"type":"user","session_id":"s","message":{"content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"a"},{"type":"image"}]}]}}`, `tool_result is_error=false content="a\n[image]"`, false},
		{"two blocks", `{"type":"assistant","session_id":"s","message":{"content":[{"type":"thinking","thinking":"hm"},{"type":"tool_use","id":"t","name":"Read","input":{"p":1}}]}}`, `thinking text="hm" | tool_use tool=Read input={"p":1}`, false},
		{"unknown block only", `{"type":"assistant","session_id":"s","message":{"content":[{"type":"server_tool_use"}]}}`, "unknown", false},
		{"partial non-text delta", `{"type":"stream_event","session_id":"s","event":{"type":"content_block_delta","delta":{"type":"input_json_delta","partial_json":"{"}}}`, "", false},
		{"partial text delta", `{"type":"stream_event","session_id":"s","event":{"type":"content_block_delta","delta":{"type":"text_delta","text":"He"}}}`, `partial text="He"`, false},
		{"init without sandbox_enabled (2.1.330)", `{"type":"system","subtype":"init","session_id":"s","tools":["Bash"]}`, "init", false},
		{"init sandbox_enabled false (2.1.332)", `{"type":"system","subtype":"init","session_id":"s","sandbox_enabled":false}`, "init sandbox_enabled=false", false},
		{"init sandbox_enabled unknown", `{"type":"system","subtype":"init","session_id":"s","sandbox_enabled":"unknown"}`, `init sandbox_enabled="unknown"`, false},
		{"init sandbox_enabled of another type", `{"type":"system","subtype":"init","session_id":"s","sandbox_enabled":{"bash":true}}`, `init sandbox_enabled={"bash":true}`, false},
		{"hook request unsupported", `{"type":"control_request","request_id":"h1","request":{"subtype":"hook_callback"}}`, "unknown nosession", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d decoder
			out, err := d.decode([]byte(tc.line))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			var got []string
			for _, ev := range out.events {
				got = append(got, summary(ev))
			}
			if strings.Join(got, " | ") != tc.want {
				t.Errorf("got  %s\nwant %s", strings.Join(got, " | "), tc.want)
			}
			if tc.name == "hook request unsupported" && out.unsupported != "h1" {
				t.Errorf("unsupported = %q", out.unsupported)
			}
		})
	}
}

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{max: 8}
	_, _ = tb.Write([]byte("abc"))
	if tb.String() != "abc" {
		t.Errorf("%q", tb.String())
	}
	_, _ = tb.Write([]byte("defghij"))
	if tb.String() != "…cdefghij" {
		t.Errorf("%q", tb.String())
	}
	_, _ = tb.Write([]byte(strings.Repeat("x", 100) + "12345678"))
	if tb.String() != "…12345678" {
		t.Errorf("%q", tb.String())
	}
}
