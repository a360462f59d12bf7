package scripted_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/agents/claude/scripted"
)

const msgBody = `{"model":"claude-test","stream":%s,"max_tokens":100,"system":[{"type":"text","text":"be brief"}],
"tools":[{"name":"Bash"}],
"messages":[{"role":"user","content":[{"type":"text","text":"<system-reminder>x</system-reminder>"},{"type":"text","text":"hi there"}]},
{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"ls"}}]},
{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"a.txt"}],"is_error":false}]}]}`

// always answers every call with r.
func always(r scripted.Reply) scripted.Responder {
	return func(*scripted.Request) scripted.Reply { return r }
}

// serve starts s on a loopback port until the test ends.
func serve(t *testing.T, r scripted.Responder) *scripted.ModelServer {
	t.Helper()
	s := scripted.New(r)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.URL = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return s
}

func post(t *testing.T, url, path, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

type sseEvent struct {
	name string
	data map[string]any
}

func readSSE(t *testing.T, r io.Reader) []sseEvent {
	t.Helper()
	var out []sseEvent
	sc := bufio.NewScanner(r)
	var name string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var d map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d); err != nil {
				t.Fatalf("data line %q: %v", line, err)
			}
			if d["type"] != name {
				t.Errorf("event %q has data type %v", name, d["type"])
			}
			out = append(out, sseEvent{name, d})
		}
	}
	return out
}

func TestModelServer_StreamsTextThenTool(t *testing.T) {
	s := serve(t, always(scripted.Reply{
		Thinking: "hmm",
		Text:     "Let me look at the files now.",
		ToolUses: []scripted.ToolUse{{ID: "toolu_x", Name: "Bash", Input: map[string]string{"command": "ls -la"}}},
	}))
	resp := post(t, s.URL, "/v1/messages?beta=true", strings.Replace(msgBody, "%s", "true", 1))
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	evs := readSSE(t, resp.Body)
	var names []string
	text, input := "", ""
	var stop any
	for _, e := range evs {
		names = append(names, e.name)
		if e.name == "content_block_delta" {
			d := e.data["delta"].(map[string]any)
			switch d["type"] {
			case "text_delta":
				text += d["text"].(string)
			case "input_json_delta":
				input += d["partial_json"].(string)
			}
		}
		if e.name == "message_delta" {
			stop = e.data["delta"].(map[string]any)["stop_reason"]
		}
	}
	if names[0] != "message_start" || names[len(names)-1] != "message_stop" {
		t.Errorf("event order %v", names)
	}
	if n := strings.Count(strings.Join(names, " "), "content_block_start"); n != 3 {
		t.Errorf("%d content blocks, want 3 (thinking, text, tool_use): %v", n, names)
	}
	if text != "Let me look at the files now." {
		t.Errorf("text deltas join to %q", text)
	}
	if input != `{"command":"ls -la"}` {
		t.Errorf("input deltas join to %q", input)
	}
	if stop != "tool_use" {
		t.Errorf("stop_reason %v, want tool_use", stop)
	}

	reqs := s.MessageRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests recorded", len(reqs))
	}
	r := reqs[0]
	if r.Query != "beta=true" || r.Model != "claude-test" || !r.Stream || r.System != "be brief" || r.Tools[0] != "Bash" {
		t.Errorf("request fields %+v", r)
	}
	if r.Prompt() != "" {
		t.Errorf("Prompt of a tool-result message = %q, want empty", r.Prompt())
	}
	if got := r.Prompts(); len(got) != 1 || got[0] != "hi there" {
		t.Errorf("Prompts = %q", got)
	}
	if tr := r.ToolResults(); len(tr) != 1 || tr[0].Content != "a.txt" || tr[0].ToolUseID != "toolu_1" {
		t.Errorf("ToolResults = %+v", tr)
	}
	if r.Turns() != 1 || !strings.Contains(r.Transcript(), `"ls"`) {
		t.Errorf("Turns %d, transcript %q", r.Turns(), r.Transcript())
	}
}

func TestModelServer_NonStreaming(t *testing.T) {
	s := serve(t, nil)
	resp := post(t, s.URL, "/v1/messages", strings.Replace(msgBody, "%s", "false", 1))
	var m struct {
		Type       string `json:"type"`
		StopReason string `json:"stop_reason"`
		Content    []struct{ Type, Text string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.Type != "message" || m.StopReason != "end_turn" || len(m.Content) != 1 || m.Content[0].Text != "ok" {
		t.Errorf("message %+v", m)
	}
}

func TestModelServer_Errors(t *testing.T) {
	for _, tc := range []struct {
		status   int
		wantType string
	}{
		{401, "authentication_error"},
		{429, "rate_limit_error"},
		{500, "api_error"},
		{529, "overloaded_error"},
	} {
		s := serve(t, always(scripted.Reply{Error: &scripted.APIError{Status: tc.status, RetryAfter: 1}}))
		resp := post(t, s.URL, "/v1/messages?beta=true", strings.Replace(msgBody, "%s", "true", 1))
		var e struct {
			Type  string
			Error struct{ Type, Message string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status || e.Type != "error" || e.Error.Type != tc.wantType || e.Error.Message == "" {
			t.Errorf("status %d: got %d %+v", tc.status, resp.StatusCode, e)
		}
		if tc.status == 429 && resp.Header.Get("retry-after") != "1" {
			t.Errorf("429 without retry-after")
		}
	}
}

func TestModelServer_BadBodyAndOtherPaths(t *testing.T) {
	s := serve(t, nil)
	if resp := post(t, s.URL, "/v1/messages", "{not json"); resp.StatusCode != 400 {
		t.Errorf("bad body: status %d", resp.StatusCode)
	}
	resp := post(t, s.URL, "/v1/messages/count_tokens", strings.Replace(msgBody, "%s", "false", 1))
	var ct struct {
		InputTokens int `json:"input_tokens"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ct); err != nil || ct.InputTokens <= 0 {
		t.Errorf("count_tokens: %+v %v", ct, err)
	}
	req, _ := http.NewRequest(http.MethodHead, s.URL+"/", nil)
	hr, err := http.DefaultClient.Do(req)
	if err != nil || hr.StatusCode != 200 {
		t.Errorf("HEAD /: %v %v", hr, err)
	}
	hr.Body.Close()
	if got := len(s.Requests()); got != 3 {
		t.Errorf("recorded %d requests, want 3", got)
	}
	if got := len(s.MessageRequests()); got != 1 {
		t.Errorf("recorded %d message requests, want 1", got)
	}
}

func TestServe_OnGivenListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := scripted.New(scripted.Demo(), scripted.WithoutRecording())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	for range 3 {
		resp := post(t, "http://"+ln.Addr().String(), "/v1/messages", `{"stream":false,"messages":[{"role":"user","content":"hello"}]}`)
		if resp.StatusCode != 200 {
			t.Errorf("status %d", resp.StatusCode)
		}
	}
	// herdbot's --demo model runs for days: it keeps no requests.
	if n := len(s.Requests()); n != 0 {
		t.Errorf("a server made WithoutRecording kept %d requests", n)
	}
	if s.URL != "http://"+ln.Addr().String() {
		t.Errorf("URL %q", s.URL)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestHold_StallsUntilReleased(t *testing.T) {
	hold := make(chan struct{})
	s := serve(t, always(scripted.Reply{Text: "one two three four five", Hold: hold}))
	resp := post(t, s.URL, "/v1/messages", strings.Replace(msgBody, "%s", "true", 1))
	br := bufio.NewReader(resp.Body)
	// Read until the first text delta arrives; the stream then stalls.
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(line, "text_delta") {
			break
		}
	}
	close(hold)
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "message_stop") {
		t.Errorf("stream did not finish after release: %q", rest)
	}
}
