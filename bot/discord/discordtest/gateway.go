package discordtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Gateway intents the fake honours.
const (
	intentGuilds         = 1 << 0
	intentGuildMessages  = 1 << 9
	intentDirectMessages = 1 << 12
	intentMessageContent = 1 << 15
)

// maxReplay is how many past events a session keeps for RESUME.
const maxReplay = 1000

// Bot is a bot identity on the fake and its gateway session.
type Bot struct {
	srv   *Server
	User  User
	AppID string
	Token string // without the "Bot " prefix

	mu         sync.Mutex // guards the fields below and serialises writes
	conn       *websocket.Conn
	sessionID  string
	seq        int64
	past       []event // for RESUME
	intents    int
	ready      bool
	identifies int
	resumes    int
	idToken    string // the token as the last IDENTIFY sent it
	lose       int    // heartbeats to ignore, as if lost on the way
	hbClosed   int    // connections closed for a missed heartbeat
	noContent  bool   // Message Content intent not enabled in the portal
}

type event struct {
	seq  int64
	name string
	data json.RawMessage
}

// Ready reports whether the bot has a live gateway connection that got
// READY or RESUMED.
func (b *Bot) Ready() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ready && b.conn != nil
}

// Identifies is how many IDENTIFYs the bot sent; Resumes how many RESUMEs
// succeeded.
func (b *Bot) Identifies() int { b.mu.Lock(); defer b.mu.Unlock(); return b.identifies }

// Resumes is how many RESUMEs succeeded.
func (b *Bot) Resumes() int { b.mu.Lock(); defer b.mu.Unlock(); return b.resumes }

// Intents is what the last IDENTIFY asked for.
func (b *Bot) Intents() int { b.mu.Lock(); defer b.mu.Unlock(); return b.intents }

// IdentifyToken is the token field of the bot's last IDENTIFY, as sent.
func (b *Bot) IdentifyToken() string { b.mu.Lock(); defer b.mu.Unlock(); return b.idToken }

// LoseHeartbeats makes the fake ignore the bot's next n heartbeats, as if
// they were lost on the way: no ACK, and once a heartbeat is overdue the
// fake closes the connection, as Discord does ("If your app fails to send a
// heartbeat event in time, your connection will be closed and you will be
// forced to Resume").
func (b *Bot) LoseHeartbeats(n int) { b.mu.Lock(); defer b.mu.Unlock(); b.lose = n }

// HeartbeatClosures is how many of the bot's connections the fake closed
// because a heartbeat was overdue.
func (b *Bot) HeartbeatClosures() int { b.mu.Lock(); defer b.mu.Unlock(); return b.hbClosed }

// DenyMessageContent leaves the privileged Message Content intent switched
// off in the bot's Developer Portal settings: an IDENTIFY that asks for it
// is closed with 4014 (Disallowed intent(s)), and without it guild messages
// reach the bot with content, embeds, attachments and components emptied
// unless they mention it (DMs and its own messages keep them).
func (b *Bot) DenyMessageContent() { b.mu.Lock(); defer b.mu.Unlock(); b.noContent = true }

// Drop closes the bot's gateway connection without a close frame, as a
// network failure would. Events dispatched before the client resumes are
// replayed on RESUME.
func (b *Bot) Drop() { b.drop() }

func (b *Bot) drop() {
	b.mu.Lock()
	c := b.conn
	b.conn, b.ready = nil, false
	b.mu.Unlock()
	if c != nil {
		c.UnderlyingConn().Close()
	}
	b.srv.changed0()
}

// Reconnect sends op 7 (Reconnect): the client must close and resume.
func (b *Bot) Reconnect() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != nil {
		b.write(map[string]any{"op": 7, "d": nil})
	}
}

// changed0 notifies WaitFor callers.
func (s *Server) changed0() {
	s.mu.Lock()
	s.notify()
	s.mu.Unlock()
}

// write sends one frame; callers hold b.mu. A failed write drops the
// connection (the client will resume).
func (b *Bot) write(v any) {
	if b.conn == nil {
		return
	}
	b.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := b.conn.WriteJSON(v); err != nil {
		b.srv.log.Debug("gateway write", "bot", b.User.Name, "err", err)
		b.conn.UnderlyingConn().Close()
		b.conn, b.ready = nil, false
	}
}

// dispatch sends an op 0 event if the bot's intents include need (0: always).
func (b *Bot) dispatch(name string, d any, need int) {
	raw, _ := json.Marshal(d)
	b.mu.Lock()
	if b.sessionID == "" || (need != 0 && b.intents&need == 0) {
		b.mu.Unlock()
		return
	}
	if need == intentGuildMessages || need == intentDirectMessages {
		raw = b.redactContent(raw)
	}
	b.seq++
	ev := event{seq: b.seq, name: name, data: raw}
	b.past = append(b.past, ev)
	if len(b.past) > maxReplay {
		b.past = b.past[len(b.past)-maxReplay:]
	}
	if b.ready {
		b.write(frame(ev))
	}
	b.mu.Unlock()
}

// redactContent empties the user-input fields of a message (content,
// embeds, attachments, components, poll) as Discord does without the
// Message Content intent, except in DMs, messages that mention the bot and
// the bot's own messages. Callers hold b.mu.
func (b *Bot) redactContent(raw json.RawMessage) json.RawMessage {
	if b.intents&intentMessageContent != 0 {
		return raw
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	if _, guild := m["guild_id"]; !guild {
		return raw
	}
	if a, _ := m["author"].(map[string]any); a != nil && a["id"] == b.User.ID {
		return raw
	}
	if c, _ := m["content"].(string); strings.Contains(c, "<@"+b.User.ID+">") || strings.Contains(c, "<@!"+b.User.ID+">") {
		return raw
	}
	m["content"] = ""
	m["embeds"], m["attachments"], m["components"] = []any{}, []any{}, []any{}
	delete(m, "poll")
	out, _ := json.Marshal(m)
	return out
}

func frame(ev event) map[string]any {
	return map[string]any{"op": 0, "s": ev.seq, "t": ev.name, "d": ev.data}
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

type gatewayFrame struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer conn.Close()

	s.mu.Lock()
	hb := s.hb
	s.mu.Unlock()
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := conn.WriteJSON(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": hb.Milliseconds()}}); err != nil {
		return
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var f gatewayFrame
	if err := conn.ReadJSON(&f); err != nil {
		return
	}
	conn.SetReadDeadline(time.Time{})
	var b *Bot
	switch f.Op {
	case 2:
		b = s.identify(conn, f.D)
	case 6:
		b = s.resume(conn, f.D)
	default:
		closeWith(conn, 4003, "Not authenticated.")
	}
	if b == nil {
		return
	}
	s.changed0()
	// Heartbeats are due every interval; Discord allows some slack for the
	// network, then closes the connection (the client resumes).
	due := hb + hb/2
	conn.SetReadDeadline(time.Now().Add(due))
	for {
		var f gatewayFrame
		if err := conn.ReadJSON(&f); err != nil {
			b.mu.Lock()
			if b.conn == conn {
				b.conn, b.ready = nil, false
				if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
					b.hbClosed++
					s.log.Debug("gateway heartbeat overdue: closing", "bot", b.User.Name)
				}
			}
			b.mu.Unlock()
			conn.UnderlyingConn().Close()
			s.changed0()
			return
		}
		if f.Op == 1 {
			b.mu.Lock()
			if b.lose > 0 {
				b.lose-- // lost on the way: no ACK, and the deadline stays
			} else if b.conn == conn {
				conn.SetReadDeadline(time.Now().Add(due))
				b.write(map[string]any{"op": 11})
			}
			b.mu.Unlock()
		}
	}
}

func closeWith(conn *websocket.Conn, code int, text string) {
	conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
}

// botByToken finds the bot a REST Authorization header names: Discord wants
// "Bot <token>" there.
func (s *Server) botByToken(tok string) *Bot {
	raw, ok := strings.CutPrefix(tok, "Bot ")
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bots[raw]
}

// botByGatewayToken finds the bot an IDENTIFY or RESUME names. The spec's
// payloads carry the bare token ("token": "my_token"); Discord also takes
// it with the "Bot " prefix of the REST header (discordgo sends it so in
// RESUME). Anything else, a "Bearer " token say, is not a bot's.
func (s *Server) botByGatewayToken(tok string) *Bot {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.bots[tok]; b != nil {
		return b
	}
	if raw, ok := strings.CutPrefix(tok, "Bot "); ok {
		return s.bots[raw]
	}
	return nil
}

func (s *Server) identify(conn *websocket.Conn, d json.RawMessage) *Bot {
	var id struct {
		Token   string `json:"token"`
		Intents int    `json:"intents"`
	}
	if json.Unmarshal(d, &id) != nil {
		closeWith(conn, 4002, "Error while decoding payload.")
		return nil
	}
	b := s.botByGatewayToken(id.Token)
	if b == nil {
		closeWith(conn, 4004, "Authentication failed.")
		return nil
	}
	b.mu.Lock()
	denied := b.noContent && id.Intents&intentMessageContent != 0
	b.mu.Unlock()
	if denied {
		closeWith(conn, 4014, "Disallowed intent(s).")
		return nil
	}
	s.mu.Lock()
	sid := "sess-" + s.id()
	var guilds []map[string]any
	var creates []map[string]any
	for _, g := range s.guilds {
		if _, ok := g.members[b.User.ID]; ok {
			guilds = append(guilds, map[string]any{"id": g.id, "unavailable": true})
			creates = append(creates, s.guildCreate(g))
		}
	}
	s.mu.Unlock()
	if guilds == nil {
		guilds = []map[string]any{}
	}

	b.mu.Lock()
	if old := b.conn; old != nil {
		old.UnderlyingConn().Close()
	}
	b.conn, b.sessionID, b.seq, b.past, b.intents = conn, sid, 0, nil, id.Intents
	b.idToken = id.Token
	b.identifies++
	b.seq++
	ready := event{seq: b.seq, name: "READY"}
	ready.data, _ = json.Marshal(map[string]any{
		"v": 9, "session_id": sid, "resume_gateway_url": s.gatewayURL(),
		"user": b.User.wire(), "application": map[string]any{"id": b.AppID, "flags": 0},
		"guilds": guilds, "private_channels": []any{},
	})
	b.ready = true
	b.write(frame(ready))
	b.mu.Unlock()
	if id.Intents&intentGuilds != 0 {
		for _, g := range creates {
			b.dispatch("GUILD_CREATE", g, 0)
		}
	}
	return b
}

// guildCreate is the GUILD_CREATE payload for a bot. Callers hold s.mu.
func (s *Server) guildCreate(g *guild) map[string]any {
	var chans, threads, roles, members []map[string]any
	for _, c := range s.channels {
		if c.guild != g.id {
			continue
		}
		if c.parent != "" {
			threads = append(threads, c.wire())
		} else {
			chans = append(chans, c.wire())
		}
	}
	roles = append(roles, map[string]any{"id": g.id, "name": "@everyone", "permissions": "0"})
	for id, name := range g.roles {
		roles = append(roles, map[string]any{"id": id, "name": name, "permissions": "0"})
	}
	for uid, rs := range g.members {
		if u := s.users[uid]; u != nil && u.Bot {
			members = append(members, map[string]any{"user": u.wire(), "roles": rs, "joined_at": "2026-11-22T00:00:00Z"})
		}
	}
	return map[string]any{"id": g.id, "name": g.name, "unavailable": false, "channels": nz(chans),
		"threads": nz(threads), "roles": roles, "members": nz(members), "member_count": len(g.members)}
}

func nz(m []map[string]any) []map[string]any {
	if m == nil {
		return []map[string]any{}
	}
	return m
}

func (s *Server) resume(conn *websocket.Conn, d json.RawMessage) *Bot {
	var r struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	if json.Unmarshal(d, &r) != nil {
		closeWith(conn, 4002, "Error while decoding payload.")
		return nil
	}
	b := s.botByGatewayToken(r.Token)
	if b == nil {
		closeWith(conn, 4004, "Authentication failed.")
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.SessionID == "" || r.SessionID != b.sessionID {
		conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		conn.WriteJSON(map[string]any{"op": 9, "d": false})
		return nil
	}
	if old := b.conn; old != nil && old != conn {
		old.UnderlyingConn().Close()
	}
	b.conn = conn
	b.resumes++
	// As Discord does: missed events in order, then RESUMED.
	for _, ev := range b.past {
		if ev.seq > r.Seq {
			b.write(frame(ev))
		}
	}
	b.seq++
	resumed := event{seq: b.seq, name: "RESUMED", data: json.RawMessage(`{}`)}
	b.past = append(b.past, resumed)
	b.write(frame(resumed))
	b.ready = true
	return b
}

func (s *Server) gatewayURL() string {
	return "ws" + strings.TrimPrefix(s.ts.URL, "http") + "/gateway"
}
