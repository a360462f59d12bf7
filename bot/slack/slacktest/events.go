package slacktest

import (
	"strconv"
	"strings"
	"time"
)

func itoa(n int) string { return strconv.Itoa(n) }

// Post is a message a person writes.
type Post struct {
	Channel  string
	User     string
	Text     string
	ThreadTS string   // reply in this thread
	Files    []Upload // shared with the message (subtype file_share)
}

// Sent tells what a person's message produced.
type Sent struct {
	TS string
	// Envelope is the envelope that matters for the app named in the call:
	// the app_mention for Mention, the message event for DM and Post.
	Envelope string
	// Messages maps app name → envelope id of the message event it got.
	Messages map[string]string
}

func channelType(ch string) string {
	switch {
	case strings.HasPrefix(ch, "D"):
		return "im"
	case strings.HasPrefix(ch, "G"):
		return "group"
	default:
		return "channel"
	}
}

// DMChannel is the id of the direct-message channel between user and app.
func DMChannel(app App, user string) string { return "D" + app.AppID + user }

func (s *Server) callback(a *app, ev map[string]any) map[string]any {
	s.mu.Lock()
	id := "Ev" + itoa(s.nextLocked())
	s.mu.Unlock()
	return map[string]any{
		"token": "verification-unused", "team_id": Team, "api_app_id": a.AppID, "type": "event_callback",
		"event_id": id, "event_time": time.Now().Unix(), "event_context": "ctx-" + id, "is_ext_shared_channel": false,
		"authorizations": []map[string]any{{"team_id": Team, "user_id": a.BotUserID, "is_bot": true}},
		"event":          ev,
	}
}

func messageEvent(m Message, botID string) map[string]any {
	ev := map[string]any{
		"type": "message", "channel": m.Channel, "user": m.User, "text": m.Text, "ts": m.TS, "event_ts": m.TS,
		"channel_type": channelType(m.Channel),
	}
	if m.ThreadTS != "" {
		ev["thread_ts"] = m.ThreadTS
	}
	if botID != "" {
		ev["bot_id"] = botID
	} else {
		ev["client_msg_id"] = "msg-" + m.TS
	}
	return ev
}

// Post stores a person's message and delivers it as a message event to the
// apps that see it: every app for a channel, the DM's app for a DM (see
// DMChannel). Sent.Envelope is the event delivered to app.
func (s *Server) Post(to App, p Post) Sent {
	s.tb.Helper()
	s.mu.Lock()
	a := s.appByName(to.Name)
	if a == nil {
		s.mu.Unlock()
		s.tb.Fatalf("slacktest: Post: unknown app %q", to.Name)
		return Sent{}
	}
	m := &Message{Channel: p.Channel, TS: s.tsLocked(), ThreadTS: p.ThreadTS, User: p.User, Text: p.Text}
	m.Files = s.shareLocked(p.Channel, p.User, p.Files)
	s.messages = append(s.messages, m)
	targets := s.audienceLocked(m.Channel, a)
	msg := *m
	s.mu.Unlock()

	sent := Sent{TS: msg.TS, Messages: map[string]string{}}
	files := s.fileObjects(msg.Files)
	for _, t := range targets {
		ev := messageEvent(msg, "")
		if len(files) > 0 {
			ev["subtype"], ev["files"], ev["upload"], ev["display_as_bot"] = "file_share", files, false, false
		}
		id := s.enqueue(t, "events_api", s.callback(t, ev))
		sent.Messages[t.Name] = id
	}
	sent.Envelope = sent.Messages[a.Name]
	return sent
}

// audienceLocked lists the apps that get message events for channel.
func (s *Server) audienceLocked(channel string, owner *app) []*app {
	if channelType(channel) == "im" {
		return []*app{owner}
	}
	return append([]*app(nil), s.apps...)
}

// Mention posts "<@bot> text" in channel (in thread when threadTS is set):
// app gets an app_mention event, and every app the message event.
func (s *Server) Mention(app App, channel, user, text, threadTS string) Sent {
	s.tb.Helper()
	return s.MentionWithFiles(app, channel, user, text, threadTS)
}

// MentionWithFiles is Mention with files shared with the message: the
// app_mention and the message event both list them, as Slack's do.
func (s *Server) MentionWithFiles(app App, channel, user, text, threadTS string, files ...Upload) Sent {
	s.tb.Helper()
	full := "<@" + app.BotUserID + "> " + text
	sent := s.Post(app, Post{Channel: channel, User: user, Text: full, ThreadTS: threadTS, Files: files})
	s.mu.Lock()
	a := s.appByName(app.Name)
	var ids []string
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == sent.TS {
			ids = m.Files
		}
	}
	s.mu.Unlock()
	ev := map[string]any{"type": "app_mention", "channel": channel, "user": user, "text": full, "ts": sent.TS, "event_ts": sent.TS}
	if fs := s.fileObjects(ids); len(fs) > 0 {
		ev["files"] = fs
	}
	if threadTS != "" {
		ev["thread_ts"] = threadTS
	}
	sent.Envelope = s.enqueue(a, "events_api", s.callback(a, ev))
	return sent
}

// DM sends text from user to app in their direct-message channel.
func (s *Server) DM(app App, user, text string) Sent {
	s.tb.Helper()
	return s.Post(app, Post{Channel: DMChannel(app, user), User: user, Text: text})
}

// echo delivers an app's own post back as a message event with bot_id.
func (s *Server) echo(a *app, m Message) {
	if s.opts.NoEcho {
		return
	}
	s.mu.Lock()
	targets := s.audienceLocked(m.Channel, a)
	s.mu.Unlock()
	for _, t := range targets {
		s.enqueue(t, "events_api", s.callback(t, messageEvent(m, a.BotID)))
	}
}

type slashRecord struct {
	envelope, channel, user string
}

// Slash is a slash command invocation.
type Slash struct {
	Command string // "/garden"
	Text    string
	Channel string
	User    string
}

// Slash delivers a slash_commands envelope to app and returns its envelope
// id; the ack payload (WaitAck) is the immediate reply, later replies land
// in Responses.
func (s *Server) Slash(app App, c Slash) string {
	s.tb.Helper()
	s.mu.Lock()
	a := s.appByName(app.Name)
	if a == nil {
		s.mu.Unlock()
		s.tb.Fatalf("slacktest: Slash: unknown app %q", app.Name)
		return ""
	}
	n := s.nextLocked()
	env := "env-" + itoa(s.nextLocked())
	s.slashes = append(s.slashes, slashRecord{envelope: env, channel: c.Channel, user: c.User})
	s.mu.Unlock()
	payload := map[string]any{
		"token": "verification-unused", "team_id": Team, "team_domain": "herd", "channel_id": c.Channel,
		"channel_name": c.Channel, "user_id": c.User, "user_name": strings.ToLower(c.User), "command": c.Command,
		"text": c.Text, "api_app_id": a.AppID, "is_enterprise_install": "false",
		"response_url": s.hs.URL + "/response/" + env, "trigger_id": "trig-" + itoa(n),
	}
	return s.enqueueWithID(a, env, "slash_commands", payload)
}

// Click is a button click on a message.
type Click struct {
	Channel   string
	MessageTS string
	User      string
	ActionID  string
	// BlockID and Value are taken from the message's button with ActionID
	// when it has one (Click); ClickRaw sends them as given.
	BlockID string
	Value   string
	// Team is the clicker's workspace (default Team).
	Team string
}

// Click clicks the button with c.ActionID on message c.Channel/c.MessageTS
// as user c.User. The test fails if the message has no such button.
func (s *Server) Click(app App, c Click) string {
	s.tb.Helper()
	m, ok := s.Message(c.Channel, c.MessageTS)
	if !ok {
		s.tb.Fatalf("slacktest: Click: no message %s/%s", c.Channel, c.MessageTS)
		return ""
	}
	for _, b := range m.Buttons() {
		if b.ActionID == c.ActionID {
			c.BlockID, c.Value = b.BlockID, b.Value
			return s.ClickRaw(app, c)
		}
	}
	s.tb.Fatalf("slacktest: Click: message %s/%s has no button %q (has %v)", c.Channel, c.MessageTS, c.ActionID, m.Buttons())
	return ""
}

// ClickRaw delivers a block_actions envelope as given, whether or not the
// button exists (stale or forged clicks).
func (s *Server) ClickRaw(app App, c Click) string {
	s.tb.Helper()
	s.mu.Lock()
	a := s.appByName(app.Name)
	if a == nil {
		s.mu.Unlock()
		s.tb.Fatalf("slacktest: Click: unknown app %q", app.Name)
		return ""
	}
	n := s.nextLocked()
	msg := map[string]any{"type": "message", "ts": c.MessageTS, "text": ""}
	container := map[string]any{"type": "message", "message_ts": c.MessageTS, "channel_id": c.Channel, "is_ephemeral": false}
	if m := s.findLocked(c.Channel, c.MessageTS); m != nil {
		msg["text"], msg["user"] = m.Text, m.User
		if m.ThreadTS != "" {
			msg["thread_ts"], container["thread_ts"] = m.ThreadTS, m.ThreadTS
		}
	}
	s.mu.Unlock()
	team := c.Team
	if team == "" {
		team = Team
	}
	payload := map[string]any{
		"type": "block_actions", "api_app_id": a.AppID, "token": "verification-unused",
		"user":      map[string]any{"id": c.User, "username": strings.ToLower(c.User), "name": strings.ToLower(c.User), "team_id": team},
		"team":      map[string]any{"id": team, "domain": "herd"},
		"channel":   map[string]any{"id": c.Channel, "name": c.Channel},
		"container": container, "message": msg,
		"trigger_id":   "trig-" + itoa(n),
		"response_url": s.hs.URL + "/response/click-" + itoa(n),
		"actions": []map[string]any{{
			"type": "button", "action_id": c.ActionID, "block_id": c.BlockID, "value": c.Value,
			"action_ts": "1700000001." + itoa(n), "text": map[string]any{"type": "plain_text", "text": "button"},
		}},
	}
	return s.enqueue(a, "interactive", payload)
}
