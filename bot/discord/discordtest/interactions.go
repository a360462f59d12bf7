package discordtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Interaction is a slash command or button click the fake dispatched, and
// how the bot answered it.
type Interaction struct {
	srv       *Server
	ID        string
	Token     string
	Kind      int // 2 application command, 3 message component
	UserID    string
	ChannelID string
	MessageID string // the clicked message (components)

	bot        *Bot
	sentAt     time.Time
	ackedAt    time.Time
	ackType    int
	failed     bool
	originalID string // @original: the response, or the clicked message
	followups  []string
}

// InteractionState is a snapshot of how an interaction was answered.
type InteractionState struct {
	Acked       bool
	AckType     int           // callback type: 4, 5, 6, 7…
	AckLatency  time.Duration // from dispatch to callback
	Failed      bool          // not acknowledged within 3 s ("This interaction failed")
	OriginalID  string        // message id behind @original
	FollowupIDs []string
}

// State returns the interaction's current state. An interaction not
// acknowledged 3 s after dispatch counts as failed.
func (i *Interaction) State() InteractionState {
	i.srv.mu.Lock()
	defer i.srv.mu.Unlock()
	st := InteractionState{Acked: !i.ackedAt.IsZero(), AckType: i.ackType, Failed: i.failed,
		OriginalID: i.originalID, FollowupIDs: append([]string(nil), i.followups...)}
	if st.Acked {
		st.AckLatency = i.ackedAt.Sub(i.sentAt)
	} else if i.srv.now().Sub(i.sentAt) > InteractionDeadline {
		st.Failed = true
	}
	return st
}

// Command is an application command as registered.
type Command struct {
	ID          string
	Name        string
	Description string
	Options     []CommandOption
}

// CommandOption is one option of a command.
type CommandOption struct {
	Name     string `json:"name"`
	Type     int    `json:"type"`
	Required bool   `json:"required"`
}

// Commands returns the commands a bot registered, globally (guildID "") or
// for one guild.
func (s *Server) Commands(b *Bot, guildID string) []Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Command(nil), s.commands[cmdKey(b.AppID, guildID)]...)
}

func cmdKey(app, guild string) string {
	if guild == "" {
		return app
	}
	return app + "/" + guild
}

func (s *Server) putCommands(w http.ResponseWriter, q *request) int {
	app, g := q.r.PathValue("app"), q.r.PathValue("g")
	if app != q.bot.AppID {
		return apiError(w, http.StatusForbidden, 50001, "Missing Access")
	}
	var in []struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Options     []CommandOption `json:"options"`
	}
	if err := json.Unmarshal(q.body, &in); err != nil {
		return apiError(w, http.StatusBadRequest, 50035, "Invalid Form Body: "+err.Error())
	}
	if len(in) > 100 {
		return apiError(w, http.StatusBadRequest, 30032, "Maximum number of application commands reached (100)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g != "" {
		if gd := s.guilds[g]; gd == nil {
			return apiError(w, http.StatusNotFound, 10004, "Unknown Guild")
		} else if _, ok := gd.members[q.bot.User.ID]; !ok {
			return apiError(w, http.StatusForbidden, 50001, "Missing Access")
		}
	}
	var cmds []Command
	var out []map[string]any
	seen := map[string]bool{}
	for i, c := range in {
		if c.Name == "" || len(c.Name) > 32 || c.Description == "" || len(c.Description) > 100 || seen[c.Name] {
			return apiError(w, http.StatusBadRequest, 50035, fmt.Sprintf("Invalid Form Body: %d: name 1-32, description 1-100, names unique", i))
		}
		seen[c.Name] = true
		cmd := Command{ID: s.id(), Name: c.Name, Description: c.Description, Options: c.Options}
		cmds = append(cmds, cmd)
		out = append(out, map[string]any{"id": cmd.ID, "application_id": app, "name": c.Name,
			"description": c.Description, "options": c.Options, "type": 1, "version": cmd.ID})
	}
	s.commands[cmdKey(app, g)] = cmds
	s.notify()
	if out == nil {
		out = []map[string]any{}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getCommands(w http.ResponseWriter, q *request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, c := range s.commands[cmdKey(q.r.PathValue("app"), q.r.PathValue("g"))] {
		out = append(out, map[string]any{"id": c.ID, "name": c.Name, "description": c.Description, "options": c.Options, "type": 1})
	}
	return writeJSON(w, http.StatusOK, out)
}

// member is the interaction's member (guilds) or user (DMs). Callers hold s.mu.
func (s *Server) invoker(d map[string]any, c *channel, userID string) {
	u := s.users[userID]
	if c.guild == "" {
		d["user"] = u.wire()
		return
	}
	d["guild_id"] = c.guild
	d["member"] = map[string]any{"user": u.wire(), "roles": nzs(s.guilds[c.guild].members[userID]),
		"joined_at": "2026-11-22T00:00:00Z", "permissions": "0"}
}

// newInteraction registers an interaction. Callers hold s.mu.
func (s *Server) newInteraction(b *Bot, kind int, userID, channelID string) *Interaction {
	id := s.id()
	i := &Interaction{srv: s, ID: id, Token: "itok-" + id + "-" + s.id(), Kind: kind, UserID: userID, ChannelID: channelID, bot: b}
	s.interactions[i.ID] = i
	s.byToken[i.Token] = i
	return i
}

// ErrNoSuchButton is returned by Click when the message has no enabled
// button with that custom_id (a user cannot click what is not there).
var ErrNoSuchButton = errors.New("discordtest: no such button")

// Click makes a user click a button on a bot's message and dispatches
// INTERACTION_CREATE (type 3) to that bot.
func (s *Server) Click(userID, channelID, messageID, customID string) (*Interaction, error) {
	s.mu.Lock()
	m := s.findMessage(channelID, messageID)
	if m == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordtest: unknown message %s", messageID)
	}
	found := false
	for _, b := range m.Buttons() {
		found = found || (b.CustomID == customID && !b.Disabled)
	}
	var b *Bot
	for _, x := range s.bots {
		if x.User.ID == m.Author.ID {
			b = x
		}
	}
	if !found || b == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %q on message %s", ErrNoSuchButton, customID, messageID)
	}
	c := s.channels[channelID]
	i := s.newInteraction(b, 3, userID, channelID)
	i.MessageID = messageID
	d := map[string]any{"id": i.ID, "application_id": b.AppID, "type": 3, "token": i.Token, "version": 1,
		"channel_id": channelID, "message": s.wireMessage(m),
		"data": map[string]any{"custom_id": customID, "component_type": 2}}
	s.invoker(d, c, userID)
	i.sentAt = s.now()
	s.mu.Unlock()
	b.dispatch("INTERACTION_CREATE", d, 0)
	return i, nil
}

// SlashCommand makes a user run one of the bot's registered commands (in
// the channel's guild or globally) with string options, and dispatches
// INTERACTION_CREATE (type 2).
func (s *Server) SlashCommand(b *Bot, userID, channelID, name string, options map[string]string) (*Interaction, error) {
	s.mu.Lock()
	c := s.channels[channelID]
	if c == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordtest: unknown channel %s", channelID)
	}
	var cmd *Command
	for _, k := range []string{cmdKey(b.AppID, c.guild), b.AppID} {
		for _, x := range s.commands[k] {
			if x.Name == name && cmd == nil {
				cmd = &x
			}
		}
	}
	if cmd == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordtest: command /%s not registered for %s here", name, b.User.Name)
	}
	var opts []map[string]any
	names := make([]string, 0, len(options))
	for k := range options {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		opts = append(opts, map[string]any{"name": k, "type": 3, "value": options[k]})
	}
	i := s.newInteraction(b, 2, userID, channelID)
	d := map[string]any{"id": i.ID, "application_id": b.AppID, "type": 2, "token": i.Token, "version": 1,
		"channel_id": channelID, "data": map[string]any{"id": cmd.ID, "name": name, "type": 1, "options": opts}}
	s.invoker(d, c, userID)
	i.sentAt = s.now()
	s.mu.Unlock()
	b.dispatch("INTERACTION_CREATE", d, 0)
	return i, nil
}

func (s *Server) callback(w http.ResponseWriter, q *request) int {
	var body struct {
		Type int             `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(q.body, &body); err != nil {
		return apiError(w, http.StatusBadRequest, 50035, "Invalid Form Body")
	}
	data, berr := parseMessageBody(body.Data)
	if berr == nil {
		berr = data.validate(false, len(q.files))
	}
	if berr != nil {
		return berr.write(w, http.StatusBadRequest)
	}
	s.mu.Lock()
	i := s.interactions[q.r.PathValue("id")]
	if i == nil || i.Token != q.r.PathValue("token") {
		s.mu.Unlock()
		return apiError(w, http.StatusNotFound, 10062, "Unknown interaction")
	}
	q.bot = i.bot
	if !i.ackedAt.IsZero() {
		s.mu.Unlock()
		return apiError(w, http.StatusBadRequest, 40060, "Interaction has already been acknowledged.")
	}
	if i.srv.now().Sub(i.sentAt) > InteractionDeadline {
		i.failed = true
		s.notify()
		s.mu.Unlock()
		return apiError(w, http.StatusNotFound, 10062, "Unknown interaction")
	}
	var created *Message
	switch body.Type {
	case int(discordgo.InteractionResponseChannelMessageWithSource), int(discordgo.InteractionResponseDeferredChannelMessageWithSource):
		c := s.channels[i.ChannelID]
		m := &Message{ID: s.id(), ChannelID: i.ChannelID, GuildID: c.guild, Author: i.bot.User, Time: time.Now()}
		if data.Flags&int(discordgo.MessageFlagsEphemeral) != 0 {
			m.Ephemeral, m.VisibleTo = true, i.UserID
		}
		if body.Type == int(discordgo.InteractionResponseDeferredChannelMessageWithSource) {
			m.Loading = true
		} else {
			if (data.Content == nil || *data.Content == "") && data.Components == nil && len(q.files) == 0 {
				s.mu.Unlock()
				return apiError(w, http.StatusBadRequest, 50006, "Cannot send an empty message")
			}
			data.apply(m)
			s.addFiles(m, q.files)
		}
		s.messages[i.ChannelID] = append(s.messages[i.ChannelID], m)
		i.originalID = m.ID
		created = m
	case int(discordgo.InteractionResponseDeferredMessageUpdate), int(discordgo.InteractionResponseUpdateMessage):
		if i.Kind != 3 {
			s.mu.Unlock()
			return apiError(w, http.StatusBadRequest, 40004, "Interaction response type only valid for components")
		}
		i.originalID = i.MessageID
		if body.Type == int(discordgo.InteractionResponseUpdateMessage) {
			if m := s.findMessage(i.ChannelID, i.MessageID); m != nil {
				data.apply(m)
				m.Edits++
			}
		}
	default:
		s.mu.Unlock()
		return apiError(w, http.StatusBadRequest, 50035, fmt.Sprintf("Invalid Form Body: type %d not supported by the fake", body.Type))
	}
	i.ackedAt, i.ackType = s.now(), body.Type
	s.notify()
	s.mu.Unlock()
	if created != nil && !created.Loading {
		s.dispatchMessage(created)
	}
	return noContent(w)
}

// InteractionTokenLifetime is how long an interaction token stays valid for
// editing the response and sending follow-ups (Discord: 15 minutes, on
// Options.Now's clock).
const InteractionTokenLifetime = 15 * time.Minute

// errTokenExpired is Discord's answer to an expired interaction token:
// 401 with code 50027.
var errTokenExpired = &bodyError{code: 50027, msg: "Invalid Webhook Token"}

// webhookStatus is the HTTP status of a webhook lookup error.
func webhookStatus(e *bodyError) int {
	if e == errTokenExpired {
		return http.StatusUnauthorized
	}
	return http.StatusNotFound
}

// webhookInteraction finds the interaction behind a webhook token; it must
// be acknowledged already, and its token not expired. Callers hold s.mu.
func (s *Server) webhookInteraction(q *request) (*Interaction, *bodyError) {
	i := s.byToken[q.r.PathValue("token")]
	if i == nil || i.bot.AppID != q.r.PathValue("app") {
		return nil, &bodyError{code: 10015, msg: "Unknown Webhook"}
	}
	if i.ackedAt.IsZero() {
		return nil, &bodyError{code: 10015, msg: "Unknown Webhook"} // Discord: no response to follow up yet
	}
	if s.now().Sub(i.sentAt) > InteractionTokenLifetime {
		return nil, errTokenExpired
	}
	q.bot = i.bot
	return i, nil
}

func (s *Server) followup(w http.ResponseWriter, q *request) int {
	data, berr := parseMessageBody(q.body)
	if berr == nil {
		berr = data.validate(true, len(q.files))
	}
	if berr != nil {
		return berr.write(w, http.StatusBadRequest)
	}
	s.mu.Lock()
	i, berr := s.webhookInteraction(q)
	if berr != nil {
		s.mu.Unlock()
		return berr.write(w, webhookStatus(berr))
	}
	c := s.channels[i.ChannelID]
	m := &Message{ID: s.id(), ChannelID: i.ChannelID, GuildID: c.guild, Author: i.bot.User, Time: time.Now()}
	if data.Flags&int(discordgo.MessageFlagsEphemeral) != 0 {
		m.Ephemeral, m.VisibleTo = true, i.UserID
	}
	data.apply(m)
	s.addFiles(m, q.files)
	s.messages[i.ChannelID] = append(s.messages[i.ChannelID], m)
	i.followups = append(i.followups, m.ID)
	out := s.wireMessage(m)
	s.mu.Unlock()
	s.dispatchMessage(m)
	if q.r.URL.Query().Get("wait") == "true" {
		return writeJSON(w, http.StatusOK, out)
	}
	return noContent(w)
}

// webhookMessage resolves @original or a follow-up id. Callers hold s.mu.
func (s *Server) webhookMessage(i *Interaction, id string) *Message {
	if id == "@original" {
		id = i.originalID
	}
	return s.findMessage(i.ChannelID, id)
}

func (s *Server) webhookEdit(w http.ResponseWriter, q *request) int {
	data, berr := parseMessageBody(q.body)
	if berr == nil {
		berr = data.validate(false, len(q.files))
	}
	if berr != nil {
		return berr.write(w, http.StatusBadRequest)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, berr := s.webhookInteraction(q)
	if berr != nil {
		return berr.write(w, webhookStatus(berr))
	}
	m := s.webhookMessage(i, q.r.PathValue("id"))
	if m == nil || m.Author.ID != i.bot.User.ID {
		return apiError(w, http.StatusNotFound, 10008, "Unknown Message")
	}
	data.apply(m)
	s.addFiles(m, q.files)
	m.Edits++
	s.notify()
	return writeJSON(w, http.StatusOK, s.wireMessage(m))
}

func (s *Server) webhookDelete(w http.ResponseWriter, q *request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, berr := s.webhookInteraction(q)
	if berr != nil {
		return berr.write(w, webhookStatus(berr))
	}
	m := s.webhookMessage(i, q.r.PathValue("id"))
	if m == nil {
		return apiError(w, http.StatusNotFound, 10008, "Unknown Message")
	}
	ms := s.messages[m.ChannelID]
	for k := range ms {
		if ms[k] == m {
			s.messages[m.ChannelID] = append(ms[:k], ms[k+1:]...)
			break
		}
	}
	s.notify()
	return noContent(w)
}
