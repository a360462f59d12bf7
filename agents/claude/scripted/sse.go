package scripted

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// message is a reply rendered into Messages API content blocks.
type message struct {
	id         string
	model      string
	blocks     []block
	stopReason string
	inTokens   int
	outTokens  int
}

type block struct {
	kind  string // text, thinking, tool_use
	text  string
	id    string
	name  string
	input json.RawMessage
}

// message turns rep into the content the server will send for req.
func (s *ModelServer) message(req *Request, rep Reply) message {
	m := message{
		id:         fmt.Sprintf("msg_scripted_%d", s.ids.Add(1)),
		model:      req.Model,
		stopReason: rep.StopReason,
		inTokens:   rep.InputTokens,
		outTokens:  rep.OutputTokens,
	}
	if m.model == "" {
		m.model = "claude-sonnet-4-6"
	}
	if rep.Thinking != "" {
		m.blocks = append(m.blocks, block{kind: "thinking", text: rep.Thinking})
	}
	if rep.Text != "" || (rep.Thinking == "" && len(rep.ToolUses) == 0) {
		m.blocks = append(m.blocks, block{kind: "text", text: rep.Text})
	}
	for _, tu := range rep.ToolUses {
		id := tu.ID
		if id == "" {
			id = fmt.Sprintf("toolu_scripted_%d", s.ids.Add(1))
		}
		m.blocks = append(m.blocks, block{kind: "tool_use", id: id, name: tu.Name, input: marshalInput(tu.Input)})
	}
	if m.stopReason == "" {
		m.stopReason = "end_turn"
		if len(rep.ToolUses) > 0 {
			m.stopReason = "tool_use"
		}
	}
	if m.inTokens == 0 {
		m.inTokens = estimateTokens(len(req.Body))
	}
	if m.outTokens == 0 {
		n := 0
		for _, b := range m.blocks {
			n += len(b.text) + len(b.input)
		}
		m.outTokens = estimateTokens(n)
	}
	return m
}

func marshalInput(v any) json.RawMessage {
	switch in := v.(type) {
	case nil:
		return json.RawMessage(`{}`)
	case json.RawMessage:
		return in
	}
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}

func (b block) full() map[string]any {
	switch b.kind {
	case "thinking":
		return map[string]any{"type": "thinking", "thinking": b.text, "signature": "scripted-signature"}
	case "tool_use":
		return map[string]any{"type": "tool_use", "id": b.id, "name": b.name, "input": b.input}
	default:
		return map[string]any{"type": "text", "text": b.text}
	}
}

func (b block) start() map[string]any {
	switch b.kind {
	case "thinking":
		return map[string]any{"type": "thinking", "thinking": "", "signature": ""}
	case "tool_use":
		return map[string]any{"type": "tool_use", "id": b.id, "name": b.name, "input": map[string]any{}}
	default:
		return map[string]any{"type": "text", "text": ""}
	}
}

func (m message) usage(out int) map[string]any {
	return map[string]any{
		"input_tokens": m.inTokens, "output_tokens": out,
		"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
	}
}

// json is the non-streaming response body.
func (m message) json() []byte {
	content := make([]any, 0, len(m.blocks))
	for _, b := range m.blocks {
		content = append(content, b.full())
	}
	out, _ := json.Marshal(map[string]any{
		"id": m.id, "type": "message", "role": "assistant", "model": m.model,
		"content": content, "stop_reason": m.stopReason, "stop_sequence": nil,
		"usage": m.usage(m.outTokens),
	})
	return out
}

// streamMessage writes m as the Messages API's server-sent events. When hold
// is set it stalls after the first text delta until hold is closed or ctx
// ends.
func streamMessage(ctx context.Context, w http.ResponseWriter, m message, hold <-chan struct{}) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	send := func(event string, data any) {
		b, _ := json.Marshal(data)
		_, _ = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
		if fl != nil {
			fl.Flush()
		}
	}
	send("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": m.id, "type": "message", "role": "assistant", "model": m.model,
		"content": []any{}, "stop_reason": nil, "stop_sequence": nil, "usage": m.usage(1),
	}})
	send("ping", map[string]any{"type": "ping"})
	held := hold == nil
	for i, b := range m.blocks {
		send("content_block_start", map[string]any{"type": "content_block_start", "index": i, "content_block": b.start()})
		switch b.kind {
		case "thinking":
			send("content_block_delta", delta(i, map[string]any{"type": "thinking_delta", "thinking": b.text}))
			send("content_block_delta", delta(i, map[string]any{"type": "signature_delta", "signature": "scripted-signature"}))
		case "tool_use":
			for _, part := range chunks(string(b.input), 3) {
				send("content_block_delta", delta(i, map[string]any{"type": "input_json_delta", "partial_json": part}))
			}
		default:
			for _, part := range chunks(b.text, 4) {
				send("content_block_delta", delta(i, map[string]any{"type": "text_delta", "text": part}))
				if !held {
					held = true
					select {
					case <-hold:
					case <-ctx.Done():
						return
					}
				}
			}
		}
		send("content_block_stop", map[string]any{"type": "content_block_stop", "index": i})
	}
	send("message_delta", map[string]any{
		"type":  "message_delta",
		"delta": map[string]any{"stop_reason": m.stopReason, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": m.outTokens},
	})
	send("message_stop", map[string]any{"type": "message_stop"})
}

func delta(i int, d map[string]any) map[string]any {
	return map[string]any{"type": "content_block_delta", "index": i, "delta": d}
}

// chunks splits s into at most n pieces on word boundaries (an empty s is
// one empty piece).
func chunks(s string, n int) []string {
	if len(s) == 0 || n <= 1 {
		return []string{s}
	}
	size := len(s)/n + 1
	var out []string
	for len(s) > size {
		cut := strings.IndexByte(s[size:], ' ')
		if cut < 0 {
			break
		}
		cut += size + 1
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return append(out, s)
}
