package scripted

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Request is one HTTP request the fake model server received. For a
// Messages API call (POST /v1/messages) the body is also decoded into the
// fields below it.
type Request struct {
	Method string
	Path   string
	Query  string // raw query, e.g. "beta=true"
	Header http.Header
	Body   []byte

	Model     string
	Stream    bool
	MaxTokens int
	System    string    // system prompt blocks joined by "\n"
	Tools     []string  // names of the tools offered to the model
	Messages  []Message // the conversation so far, oldest first
}

// Message is one message of a Messages API request. String content is
// normalised to a single text block.
type Message struct {
	Role    string
	Content []Block
}

// Block is one content block. Only the fields for its Type are set.
type Block struct {
	Type string // text, tool_use, tool_result, thinking, image, …

	Text string // text; thinking text for thinking blocks

	ID    string          // tool_use
	Name  string          // tool_use
	Input json.RawMessage // tool_use

	ToolUseID string // tool_result
	Content   string // tool_result, text parts joined by "\n"
	IsError   bool   // tool_result

	MediaType string // image: source.media_type
	Data      string // image: source.data (base64) for a base64 source
}

// IsMessages reports whether r is a Messages API call (not count_tokens or
// anything else).
func (r *Request) IsMessages() bool {
	return r.Method == http.MethodPost && strings.TrimSuffix(r.Path, "/") == "/v1/messages"
}

// LastUser returns the last user message (the zero Message if none).
func (r *Request) LastUser() Message {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i]
		}
	}
	return Message{}
}

// LastUserWithPrompt returns the last user message holding typed text
// (not only tool results): the prompt of the turn in progress.
func (r *Request) LastUserWithPrompt() Message {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if m := r.Messages[i]; m.Role == "user" && m.Prompt() != "" {
			return m
		}
	}
	return Message{}
}

// LastUserText returns the text blocks of the last user message joined by
// "\n". The CLI adds its own <system-reminder> blocks; they are included.
func (r *Request) LastUserText() string { return r.LastUser().Text() }

// Prompt returns what the user typed in the last user message: its text
// blocks without the <system-reminder> blocks the CLI adds, joined by "\n".
func (r *Request) Prompt() string { return r.LastUser().Prompt() }

// Prompts returns the typed text of every user message in the
// conversation, oldest first (messages holding only tool results or
// reminders are skipped). A resumed session's request holds the earlier
// prompts too.
func (r *Request) Prompts() []string {
	var out []string
	for _, m := range r.Messages {
		if m.Role != "user" {
			continue
		}
		if p := m.Prompt(); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Images returns the message's image blocks.
func (m Message) Images() []Block {
	var out []Block
	for _, b := range m.Content {
		if b.Type == "image" {
			out = append(out, b)
		}
	}
	return out
}

// ToolResults returns the tool_result blocks of the last user message.
func (r *Request) ToolResults() []Block {
	var out []Block
	for _, b := range r.LastUser().Content {
		if b.Type == "tool_result" {
			out = append(out, b)
		}
	}
	return out
}

// Turns counts the assistant messages already in the conversation.
func (r *Request) Turns() int {
	n := 0
	for _, m := range r.Messages {
		if m.Role == "assistant" {
			n++
		}
	}
	return n
}

// Transcript returns every text, tool input and tool result of the
// conversation joined by "\n", for "does the history contain X" checks.
func (r *Request) Transcript() string {
	var sb strings.Builder
	for _, m := range r.Messages {
		for _, b := range m.Content {
			switch b.Type {
			case "text", "thinking":
				sb.WriteString(b.Text)
			case "tool_use":
				sb.Write(b.Input)
			case "tool_result":
				sb.WriteString(b.Content)
			default:
				continue
			}
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

// Text joins the message's text blocks with "\n".
func (m Message) Text() string {
	var parts []string
	for _, b := range m.Content {
		if b.Type == "text" {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// Prompt joins the message's text blocks that are not CLI reminders.
func (m Message) Prompt() string {
	var parts []string
	for _, b := range m.Content {
		if b.Type == "text" && !strings.HasPrefix(strings.TrimSpace(b.Text), "<system-reminder>") {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// wireRequest is the subset of a Messages API body the fake reads.
type wireRequest struct {
	Model     string          `json:"model"`
	Stream    bool            `json:"stream"`
	MaxTokens int             `json:"max_tokens"`
	System    json.RawMessage `json:"system"`
	Tools     []struct {
		Name string `json:"name"`
	} `json:"tools"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
}

type wireBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Thinking  string          `json:"thinking"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	IsError   bool            `json:"is_error"`
	Source    struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
	} `json:"source"`
}

// decodeMessages fills r's Messages API fields from its body. A body that
// does not decode leaves them empty; the raw body is always kept.
func (r *Request) decodeMessages() error {
	var w wireRequest
	if err := json.Unmarshal(r.Body, &w); err != nil {
		return err
	}
	r.Model, r.Stream, r.MaxTokens = w.Model, w.Stream, w.MaxTokens
	r.System = flattenText(w.System)
	for _, t := range w.Tools {
		r.Tools = append(r.Tools, t.Name)
	}
	for _, m := range w.Messages {
		r.Messages = append(r.Messages, Message{Role: m.Role, Content: decodeBlocks(m.Content)})
	}
	return nil
}

func decodeBlocks(raw json.RawMessage) []Block {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []Block{{Type: "text", Text: s}}
	}
	var ws []wireBlock
	if json.Unmarshal(raw, &ws) != nil {
		return nil
	}
	out := make([]Block, 0, len(ws))
	for _, w := range ws {
		b := Block{Type: w.Type, Text: w.Text, ID: w.ID, Name: w.Name, Input: w.Input,
			ToolUseID: w.ToolUseID, IsError: w.IsError}
		if w.Type == "thinking" {
			b.Text = w.Thinking
		}
		if w.Type == "tool_result" {
			b.Content = flattenText(w.Content)
		}
		if w.Type == "image" {
			b.MediaType, b.Data = w.Source.MediaType, w.Source.Data
		}
		out = append(out, b)
	}
	return out
}

// flattenText turns a string or an array of text blocks into one string.
func flattenText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var ws []wireBlock
	if json.Unmarshal(raw, &ws) != nil {
		return ""
	}
	var parts []string
	for _, w := range ws {
		if w.Type == "text" {
			parts = append(parts, w.Text)
		}
	}
	return strings.Join(parts, "\n")
}
