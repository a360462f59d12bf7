// Package discordtest is an in-process fake Discord: a gateway (websocket)
// and the REST routes a bot uses, served by httptest on loopback, for tests
// that run the real discordgo client.
//
// It follows the platform's protocol and enforces its rules so that client
// bugs fail tests:
//   - Gateway: HELLO → IDENTIFY (the bare token as the spec shows, or with
//     the "Bot " prefix Discord also takes; 4004 otherwise) → READY (+
//     GUILD_CREATE), or RESUME → RESUMED with replay of missed events;
//     heartbeats ACKed and enforced (a connection whose heartbeat is overdue
//     is closed, LoseHeartbeats); op 7; 4014 for the Message Content intent
//     when DenyMessageContent, and without that intent content, embeds,
//     attachments and components emptied in guild messages that do not
//     mention the bot.
//   - REST: 2,000-character content, ≤ 5 buttons per row and ≤ 5 rows,
//     custom_id ≤ 100, embed limits, errors in the v8 shape ({"code",
//     "message", "errors": {field: {"_errors": [...]}}}), allowed_mentions
//     honoured (MentionRisks lists every request that could have pinged
//     @everyone, @here or a role), X-RateLimit-* headers on every response
//     (per-route buckets, DefaultBucket or AddBucket) and 429s with
//     retry_after and a whole-second Retry-After, injected 429s
//     (RateLimitNext), holds and outages (Hold, FailNext).
//   - Interactions: the 3 s deadline, one acknowledgement, follow-ups and
//     edits as webhooks (?wait=true returns the message), tokens that expire
//     after 15 minutes on Options.Now's clock (401, 50027).
//
// Several bots (tokens) share one fake, each its own identity. Every REST call
// is recorded.
//
// discordgo reads its endpoints from package globals: call Install once (from
// TestMain) and do not run tests against different fakes in parallel.
package discordtest

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// InteractionDeadline is how long Discord waits for an interaction callback
// before the user sees "This interaction failed".
const InteractionDeadline = 3 * time.Second

// Options configure a Server.
type Options struct {
	// HeartbeatInterval sent in HELLO; default 41.25 s as on Discord.
	HeartbeatInterval time.Duration
	// Log receives the fake's own diagnostics; nil discards them.
	Log *slog.Logger
	// Now is the clock for the interaction deadline; nil: time.Now.
	Now func() time.Time
}

// Server is a fake Discord. The zero value is not usable: call NewServer.
type Server struct {
	ts  *httptest.Server
	log *slog.Logger
	hb  time.Duration
	now func() time.Time

	mu           sync.Mutex
	changed      chan struct{}
	nextID       int64
	users        map[string]*User
	bots         map[string]*Bot // by token
	guilds       map[string]*guild
	channels     map[string]*channel
	messages     map[string][]*Message // by channel id
	interactions map[string]*Interaction
	byToken      map[string]*Interaction // interaction token → interaction
	commands     map[string][]Command    // "app" or "app/guild" → commands
	calls        []Call
	limits       []*rateLimit
	buckets      []*bucket
	routeBk      *bucket // DefaultBucket, per route key
	failures     []*failure
	holds        []*hold
	risks        []MentionRisk
	fetches      []Fetch
	closed       bool

	wg sync.WaitGroup // gateway connection handlers
}

// NewServer starts a fake Discord on loopback.
func NewServer(opts Options) *Server {
	s := &Server{
		log:          opts.Log,
		now:          opts.Now,
		hb:           opts.HeartbeatInterval,
		changed:      make(chan struct{}),
		nextID:       1_300_000_000_000_000_000,
		users:        map[string]*User{},
		bots:         map[string]*Bot{},
		guilds:       map[string]*guild{},
		channels:     map[string]*channel{},
		messages:     map[string][]*Message{},
		interactions: map[string]*Interaction{},
		byToken:      map[string]*Interaction{},
		commands:     map[string][]Command{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.hb <= 0 {
		s.hb = 41250 * time.Millisecond
	}
	s.ts = httptest.NewServer(s.routes())
	return s
}

// SetHeartbeatInterval changes the heartbeat_interval that HELLO announces
// (and the fake enforces) on connections opened from now on, and returns a
// function that restores the previous one. A test of missed heartbeats sets
// a short one so that it does not wait the 41.25 s Discord uses.
func (s *Server) SetHeartbeatInterval(d time.Duration) (restore func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.hb
	s.hb = d
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hb = old
	}
}

// APIURL is the REST base, like https://discord.com/api/v9/.
func (s *Server) APIURL() string { return s.ts.URL + "/api/v" + discordgo.APIVersion + "/" }

// Close drops every gateway connection and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	bots := s.botList()
	s.mu.Unlock()
	for _, b := range bots {
		b.drop()
	}
	s.ts.CloseClientConnections()
	s.ts.Close()
	s.wg.Wait()
}

// Install points discordgo's endpoint variables at the fake and returns a
// function that restores them. The variables are process globals: call it
// from TestMain, or from a test that runs alone.
func (s *Server) Install() (restore func()) {
	saved := []string{discordgo.EndpointAPI, discordgo.EndpointGateway, discordgo.EndpointGatewayBot,
		discordgo.EndpointChannels, discordgo.EndpointWebhooks, discordgo.EndpointApplications,
		discordgo.EndpointUsers, discordgo.EndpointGuilds}
	api := s.APIURL()
	discordgo.EndpointAPI = api
	discordgo.EndpointGateway = api + "gateway"
	discordgo.EndpointGatewayBot = api + "gateway/bot"
	discordgo.EndpointChannels = api + "channels/"
	discordgo.EndpointWebhooks = api + "webhooks/"
	discordgo.EndpointApplications = api + "applications"
	discordgo.EndpointUsers = api + "users/"
	discordgo.EndpointGuilds = api + "guilds/"
	return func() {
		discordgo.EndpointAPI, discordgo.EndpointGateway, discordgo.EndpointGatewayBot,
			discordgo.EndpointChannels, discordgo.EndpointWebhooks, discordgo.EndpointApplications,
			discordgo.EndpointUsers, discordgo.EndpointGuilds = saved[0], saved[1], saved[2], saved[3], saved[4], saved[5], saved[6], saved[7]
	}
}

// id returns a fresh snowflake-shaped id. Callers hold s.mu.
func (s *Server) id() string {
	s.nextID++
	return strconv.FormatInt(s.nextID, 10)
}

// notify wakes WaitFor callers. Callers hold s.mu.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitFor waits until cond returns true (it is checked after every change
// the fake sees) or timeout passes; it reports whether cond became true.
func (s *Server) WaitFor(timeout time.Duration, cond func() bool) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return true
		}
		select {
		case <-ch:
		case <-timer.C:
			return cond()
		}
	}
}

// User is a Discord user (a person or a bot).
type User struct {
	ID   string
	Name string
	Bot  bool
}

func (u *User) wire() map[string]any {
	return map[string]any{"id": u.ID, "username": u.Name, "global_name": u.Name, "discriminator": "0", "bot": u.Bot}
}

// AddUser creates a person.
func (s *Server) AddUser(name string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &User{ID: s.id(), Name: name}
	s.users[u.ID] = u
	return *u
}

// AddBot creates a bot user and its application (same id, as Discord does
// for bots) and returns its identity. The token has Discord's shape: its
// first segment is the base64 of the bot's id.
func (s *Server) AddBot(name string) *Bot {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &User{ID: s.id(), Name: name, Bot: true}
	s.users[u.ID] = u
	tok := base64.RawStdEncoding.EncodeToString([]byte(u.ID)) + ".Gx" + s.id()[10:] + ".fake-" + s.id()
	b := &Bot{srv: s, User: *u, AppID: u.ID, Token: tok}
	s.bots[tok] = b
	return b
}

// AddGuild creates a guild (server) and returns its id.
func (s *Server) AddGuild(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &guild{id: s.id(), name: name, members: map[string][]string{}, roles: map[string]string{}}
	s.guilds[g.id] = g
	return g.id
}

// AddRole creates a role in a guild and returns its id.
func (s *Server) AddRole(guildID, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.id()
	s.guilds[guildID].roles[id] = name
	return id
}

// AddMember puts a user (or a bot, by its user id) in a guild with roles.
// A bot that joins gets GUILD_CREATE on its next IDENTIFY.
func (s *Server) AddMember(guildID, userID string, roles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guilds[guildID].members[userID] = append([]string(nil), roles...)
}

// AddChannel creates a text channel in a guild and returns its id.
func (s *Server) AddChannel(guildID, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &channel{id: s.id(), guild: guildID, name: name, typ: discordgo.ChannelTypeGuildText}
	s.channels[c.id] = c
	return c.id
}

// AddThread creates a public thread under a text channel, dispatches
// THREAD_CREATE to the guild's bots and returns the thread id.
func (s *Server) AddThread(parentID, name string) string {
	s.mu.Lock()
	p := s.channels[parentID]
	c := &channel{id: s.id(), guild: p.guild, name: name, typ: discordgo.ChannelTypeGuildPublicThread, parent: parentID}
	s.channels[c.id] = c
	bots := s.guildBots(p.guild)
	d := c.wire()
	d["newly_created"] = true
	s.notify()
	s.mu.Unlock()
	for _, b := range bots {
		b.dispatch("THREAD_CREATE", d, intentGuilds)
	}
	return c.id
}

// OpenDM returns the DM channel between a bot and a user, creating it.
func (s *Server) OpenDM(b *Bot, userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.openDM(b.User.ID, userID)
}

func (s *Server) openDM(botID, userID string) string {
	for _, c := range s.channels {
		if c.typ == discordgo.ChannelTypeDM && c.dmBot == botID && c.dmUser == userID {
			return c.id
		}
	}
	c := &channel{id: s.id(), typ: discordgo.ChannelTypeDM, dmBot: botID, dmUser: userID}
	s.channels[c.id] = c
	return c.id
}

type guild struct {
	id, name string
	members  map[string][]string // user id → role ids
	roles    map[string]string   // role id → name
}

type channel struct {
	id, guild, name string
	typ             discordgo.ChannelType
	parent          string
	dmBot, dmUser   string
}

func (c *channel) wire() map[string]any {
	m := map[string]any{"id": c.id, "type": int(c.typ), "name": c.name}
	if c.guild != "" {
		m["guild_id"] = c.guild
	}
	if c.parent != "" {
		m["parent_id"] = c.parent
		m["thread_metadata"] = map[string]any{"archived": false, "auto_archive_duration": 1440, "locked": false}
	}
	return m
}

// guildBots lists the bots that are members of a guild. Callers hold s.mu.
func (s *Server) guildBots(guildID string) []*Bot {
	var out []*Bot
	for _, b := range s.bots {
		if _, ok := s.guilds[guildID].members[b.User.ID]; ok {
			out = append(out, b)
		}
	}
	return out
}

// botList returns all bots. Callers hold s.mu.
func (s *Server) botList() []*Bot {
	out := make([]*Bot, 0, len(s.bots))
	for _, b := range s.bots {
		out = append(out, b)
	}
	return out
}

// Call is one recorded REST request.
type Call struct {
	Time   time.Time
	Bot    string // the calling bot's user name; "" for webhook/interaction routes
	Method string
	Path   string // without the /api/v9 prefix, e.g. /channels/1/messages
	Status int
	Body   string // JSON body (payload_json for multipart)
}

// Calls returns every REST call so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsTo returns the calls with this method whose path matches pattern
// (path.Match syntax, e.g. "/channels/*/messages").
func (s *Server) CallsTo(method, pattern string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Method == method && matchPath(pattern, c.Path) {
			out = append(out, c)
		}
	}
	return out
}

var _ http.Handler = (*http.ServeMux)(nil)
