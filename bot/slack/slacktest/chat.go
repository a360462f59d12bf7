package slacktest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Message is a message in a channel: posted by a person through the test
// helpers (App == "") or by an app through chat.postMessage.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // "" for a top-level message
	User     string
	App      string // posting app's name; "" for people
	Text     string
	Blocks   []Block
	Edits    int      // chat.update calls applied
	Files    []string // file ids shared with it
	// Truncated: the text was longer than Slack keeps (Options.MaxText,
	// 40,000 characters) and was cut, as Slack cuts it.
	Truncated bool
}

// Sections returns the text of the message's section blocks, in order.
func (m Message) Sections() []string {
	var out []string
	for _, b := range m.Blocks {
		if b.Type == "section" && b.Text != nil {
			out = append(out, b.Text.Text)
		}
	}
	return out
}

// Buttons returns the buttons of the message's actions blocks.
func (m Message) Buttons() []Button { return buttons(m.Blocks) }

func buttons(blocks []Block) []Button {
	var out []Button
	for _, b := range blocks {
		if b.Type != "actions" {
			continue
		}
		for _, raw := range b.Elements {
			var el element
			if json.Unmarshal(raw, &el) == nil && el.Type == "button" {
				el.Button.BlockID = b.BlockID
				out = append(out, el.Button)
			}
		}
	}
	return out
}

// Ephemeral is a chat.postEphemeral message (or an ephemeral response_url
// reply), seen only by User.
type Ephemeral struct {
	Channel  string
	User     string
	ThreadTS string
	App      string
	Text     string
	Blocks   []Block
}

// Reaction is an emoji reaction an app put on a message.
type Reaction struct {
	Channel, TS, Name, App string
}

// messagesLocked returns the messages of channel (all when app is false,
// else only apps').
func (s *Server) messagesLocked(channel string, appsOnly bool) []Message {
	var out []Message
	for _, m := range s.messages {
		if m.Channel == channel && (!appsOnly || m.App != "") {
			out = append(out, *m)
		}
	}
	return out
}

// Messages returns the messages apps posted in channel, oldest first, as
// they are now (edits applied).
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messagesLocked(channel, true)
}

// Message returns the message channel/ts, or false.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.findLocked(channel, ts); m != nil {
		return *m, true
	}
	return Message{}, false
}

// Ephemerals returns the ephemeral messages shown in channel.
func (s *Server) Ephemerals(channel string) []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Ephemeral
	for _, e := range s.ephems {
		if e.Channel == channel {
			out = append(out, e)
		}
	}
	return out
}

// Reactions returns the reactions currently on channel/ts.
func (s *Server) Reactions(channel, ts string) []Reaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Reaction
	for _, r := range s.reacts {
		if r.Channel == channel && r.TS == ts {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) findLocked(channel, ts string) *Message {
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

// checkMessage validates text and blocks as chat.* methods do.
func (s *Server) checkMessage(text, rawBlocks string) ([]Block, string, []string) {
	blocks, err := parseBlocks(rawBlocks)
	if be, ok := errors.AsType[blockError](err); ok {
		if be.code != "" {
			return nil, be.code, []string{be.detail}
		}
		return nil, "invalid_blocks", []string{be.detail}
	}
	if text == "" && len(blocks) == 0 {
		return nil, "no_text", nil
	}
	return blocks, "", nil
}

// cut returns text as Slack keeps it: at most Options.MaxText characters.
func (s *Server) cut(text string) (string, bool) {
	if runes(text) <= s.opts.MaxText {
		return text, false
	}
	return string([]rune(text)[:s.opts.MaxText]), true
}

func rejectMessage(w http.ResponseWriter, code string, detail []string) {
	body := map[string]any{"ok": false, "error": code}
	if len(detail) > 0 {
		body["errors"] = detail
		body["response_metadata"] = map[string]any{"messages": prefix("[ERROR] ", detail)}
	}
	writeJSON(w, body)
}

func prefix(p string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = p + x
	}
	return out
}

func (s *Server) postMessage(w http.ResponseWriter, a *app, p url.Values) {
	ch := p.Get("channel")
	if ch == "" {
		slackErr(w, "channel_not_found")
		return
	}
	blocks, code, detail := s.checkMessage(p.Get("text"), p.Get("blocks"))
	if code != "" {
		rejectMessage(w, code, detail)
		return
	}
	text, cut := s.cut(p.Get("text"))
	s.mu.Lock()
	m := &Message{Channel: ch, TS: s.tsLocked(), ThreadTS: p.Get("thread_ts"), User: a.BotUserID, App: a.Name, Text: text, Blocks: blocks, Truncated: cut}
	s.messages = append(s.messages, m)
	s.notifyLocked()
	copyM := *m
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true, "channel": ch, "ts": copyM.TS, "message": map[string]any{
		"type": "message", "user": a.BotUserID, "bot_id": a.BotID, "text": copyM.Text, "ts": copyM.TS,
	}})
	s.echo(a, copyM)
}

func (s *Server) update(w http.ResponseWriter, a *app, p url.Values) {
	ch, ts := p.Get("channel"), p.Get("ts")
	blocks, code, detail := s.checkMessage(p.Get("text"), p.Get("blocks"))
	if code != "" {
		rejectMessage(w, code, detail)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.findLocked(ch, ts)
	switch {
	case m == nil:
		slackErr(w, "message_not_found")
		return
	case m.App != a.Name:
		slackErr(w, "cant_update_message")
		return
	}
	m.Text, m.Truncated = s.cut(p.Get("text"))
	m.Blocks = blocks
	m.Edits++
	s.notifyLocked()
	writeJSON(w, map[string]any{"ok": true, "channel": ch, "ts": ts, "text": m.Text})
}

func (s *Server) postEphemeral(w http.ResponseWriter, a *app, p url.Values) {
	ch, user := p.Get("channel"), p.Get("user")
	if ch == "" {
		slackErr(w, "channel_not_found")
		return
	}
	if user == "" {
		slackErr(w, "user_not_in_channel")
		return
	}
	blocks, code, detail := s.checkMessage(p.Get("text"), p.Get("blocks"))
	if code != "" {
		rejectMessage(w, code, detail)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ephems = append(s.ephems, Ephemeral{Channel: ch, User: user, ThreadTS: p.Get("thread_ts"), App: a.Name, Text: p.Get("text"), Blocks: blocks})
	s.notifyLocked()
	writeJSON(w, map[string]any{"ok": true, "message_ts": s.tsLocked()})
}

func (s *Server) react(w http.ResponseWriter, a *app, add bool, p url.Values) {
	ch, ts, name := p.Get("channel"), p.Get("timestamp"), p.Get("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.findLocked(ch, ts) == nil {
		slackErr(w, "message_not_found")
		return
	}
	if name == "" {
		slackErr(w, "invalid_name")
		return
	}
	r := Reaction{Channel: ch, TS: ts, Name: name, App: a.Name}
	idx := -1
	for i, x := range s.reacts {
		if x == r {
			idx = i
		}
	}
	switch {
	case add && idx >= 0:
		slackErr(w, "already_reacted")
		return
	case !add && idx < 0:
		slackErr(w, "no_reaction")
		return
	case add:
		s.reacts = append(s.reacts, r)
	default:
		s.reacts = append(s.reacts[:idx], s.reacts[idx+1:]...)
	}
	s.notifyLocked()
	writeJSON(w, map[string]any{"ok": true})
}

// Response is a reply posted to a slash command's response_url.
type Response struct {
	Command      string // envelope id of the slash command
	Channel      string
	User         string
	ResponseType string // "ephemeral" (default) or "in_channel"
	Text         string
	Blocks       []Block
}

// Responses returns the response_url replies received so far.
func (s *Server) Responses() []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Response(nil), s.resps...)
}

func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text         string          `json:"text"`
		Blocks       json.RawMessage `json:"blocks"`
		ResponseType string          `json:"response_type"`
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(b, &body); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	raw := strings.TrimSpace(string(body.Blocks))
	if raw == "null" {
		raw = ""
	}
	blocks, code, detail := s.checkMessage(body.Text, raw)
	if code != "" {
		rejectMessage(w, code, detail)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkMentionsLocked("response_url", "", "", string(b), false)
	id := r.PathValue("id")
	var cmd *slashRecord
	for i := range s.slashes {
		if s.slashes[i].envelope == id {
			cmd = &s.slashes[i]
		}
	}
	if cmd == nil {
		http.Error(w, "unknown response_url", http.StatusNotFound)
		return
	}
	rt := body.ResponseType
	if rt == "" {
		rt = "ephemeral"
	}
	s.resps = append(s.resps, Response{Command: id, Channel: cmd.channel, User: cmd.user, ResponseType: rt, Text: body.Text, Blocks: blocks})
	s.notifyLocked()
	writeJSON(w, map[string]any{"ok": true})
}
