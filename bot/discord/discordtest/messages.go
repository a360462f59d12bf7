package discordtest

import (
	"regexp"
	"slices"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Message is a message as the fake stores it.
type Message struct {
	ID          string
	ChannelID   string
	GuildID     string
	Author      User
	Content     string
	Rows        []Row // components: action rows of buttons
	Attachments []Attachment
	Ephemeral   bool   // only VisibleTo sees it
	VisibleTo   string // user id, for ephemeral messages
	Edits       int
	Reactions   []string // emoji added by bots
	Pings       []string // mentions that notified: "@everyone", "@here", "<@&role>", "<@user>"
	Loading     bool     // a deferred "thinking…" interaction response not yet edited
	Time        time.Time
}

// Row is an action row.
type Row struct {
	Buttons []Button
}

// Button is a button component.
type Button struct {
	Label    string
	Style    int
	CustomID string
	URL      string
	Disabled bool
}

// Attachment is an uploaded file.
type Attachment struct {
	ID          string
	Filename    string
	ContentType string
	Data        []byte
}

// Buttons returns all buttons of the message, row after row.
func (m Message) Buttons() []Button {
	var out []Button
	for _, r := range m.Rows {
		out = append(out, r.Buttons...)
	}
	return out
}

// Messages returns the messages in a channel (or thread), oldest first,
// without deleted ones (copies).
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages[channelID] {
		out = append(out, m.clone())
	}
	return out
}

// Message returns one message by id.
func (s *Server) Message(channelID, id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.findMessage(channelID, id); m != nil {
		return m.clone(), true
	}
	return Message{}, false
}

func (m *Message) clone() Message {
	c := *m
	c.Rows = append([]Row(nil), m.Rows...)
	for i := range c.Rows {
		c.Rows[i].Buttons = append([]Button(nil), c.Rows[i].Buttons...)
	}
	c.Attachments = append([]Attachment(nil), m.Attachments...)
	c.Reactions = append([]string(nil), m.Reactions...)
	c.Pings = append([]string(nil), m.Pings...)
	return c
}

// findMessage looks a message up. Callers hold s.mu.
func (s *Server) findMessage(channelID, id string) *Message {
	for _, m := range s.messages[channelID] {
		if m.ID == id {
			return m
		}
	}
	return nil
}

var mentionRE = regexp.MustCompile(`<@(!|&)?(\d+)>`)

// wire is the message as the API and gateway show it. Callers hold s.mu.
func (s *Server) wireMessage(m *Message) map[string]any {
	out := map[string]any{
		"id": m.ID, "channel_id": m.ChannelID, "content": m.Content,
		"author": m.Author.wire(), "timestamp": m.Time.UTC().Format(time.RFC3339Nano),
		"components": wireRows(m.Rows), "attachments": s.wireAttachments(m.ChannelID, m.Attachments), "embeds": []any{},
		"type": 0, "tts": false, "mention_everyone": slices.Contains(m.Pings, "@everyone") || slices.Contains(m.Pings, "@here"),
		"pinned": false,
	}
	if m.Ephemeral {
		out["flags"] = int(discordgo.MessageFlagsEphemeral)
	}
	mentions, roles := []map[string]any{}, []string{}
	for _, sm := range mentionRE.FindAllStringSubmatch(m.Content, -1) {
		if sm[1] == "&" {
			roles = append(roles, sm[2])
		} else if u := s.users[sm[2]]; u != nil {
			mentions = append(mentions, u.wire())
		}
	}
	out["mentions"], out["mention_roles"] = mentions, roles
	if m.GuildID != "" {
		out["guild_id"] = m.GuildID
		if g := s.guilds[m.GuildID]; g != nil {
			out["member"] = map[string]any{"roles": nzs(g.members[m.Author.ID]), "joined_at": "2026-11-22T00:00:00Z"}
		}
	}
	return out
}

func nzs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func wireRows(rows []Row) []map[string]any {
	out := []map[string]any{}
	for _, r := range rows {
		var bs []map[string]any
		for _, b := range r.Buttons {
			w := map[string]any{"type": 2, "style": b.Style, "label": b.Label, "disabled": b.Disabled}
			if b.CustomID != "" {
				w["custom_id"] = b.CustomID
			}
			if b.URL != "" {
				w["url"] = b.URL
			}
			bs = append(bs, w)
		}
		out = append(out, map[string]any{"type": 1, "components": bs})
	}
	return out
}

// wireAttachments is as's attachments[]. Callers hold s.mu.
func (s *Server) wireAttachments(channelID string, as []Attachment) []map[string]any {
	out := []map[string]any{}
	for _, a := range as {
		u := s.attachmentURL(channelID, a)
		w := map[string]any{"id": a.ID, "filename": a.Filename, "size": len(a.Data), "url": u, "proxy_url": u}
		if a.ContentType != "" {
			w["content_type"] = a.ContentType
		}
		out = append(out, w)
	}
	return out
}

// SendMessage posts a message as a user (a person) in a channel, thread or
// DM channel and dispatches MESSAGE_CREATE to the bots that can see it.
// Mentions are written as in Discord: <@userID>, <@&roleID>.
func (s *Server) SendMessage(userID, channelID, content string) Message {
	s.mu.Lock()
	u := s.users[userID]
	c := s.channels[channelID]
	m := &Message{ID: s.id(), ChannelID: channelID, GuildID: c.guild, Author: *u, Content: content, Time: time.Now()}
	s.messages[channelID] = append(s.messages[channelID], m)
	out := m.clone()
	s.mu.Unlock()
	s.dispatchMessage(m)
	return out
}

// PostAsBot stores a message authored by a bot, with any components (even
// ones the platform would reject, e.g. left over from an old version), and
// dispatches it like a message the bot sent.
func (s *Server) PostAsBot(b *Bot, channelID, content string, rows ...Row) Message {
	s.mu.Lock()
	c := s.channels[channelID]
	m := &Message{ID: s.id(), ChannelID: channelID, GuildID: c.guild, Author: b.User, Content: content, Rows: rows, Time: time.Now()}
	s.messages[channelID] = append(s.messages[channelID], m)
	out := m.clone()
	s.mu.Unlock()
	s.dispatchMessage(m)
	return out
}

// dispatchMessage sends MESSAGE_CREATE to every bot in the message's guild
// (including its author: bots see their own messages) or to the DM's bot.
func (s *Server) dispatchMessage(m *Message) {
	s.mu.Lock()
	if m.Ephemeral {
		s.notify()
		s.mu.Unlock()
		return
	}
	c := s.channels[m.ChannelID]
	var bots []*Bot
	need := intentGuildMessages
	if c.typ == discordgo.ChannelTypeDM {
		need = intentDirectMessages
		for _, b := range s.bots {
			if b.User.ID == c.dmBot {
				bots = append(bots, b)
			}
		}
	} else {
		bots = s.guildBots(c.guild)
	}
	d := s.wireMessage(m)
	s.notify()
	s.mu.Unlock()
	for _, b := range bots {
		b.dispatch("MESSAGE_CREATE", d, need)
	}
}
