// Package slacktest is an in-process fake of Slack for tests: Socket Mode
// (apps.connections.open, a websocket with hello, pings, disconnect and
// envelopes acked or redelivered) and the Web API methods herdbot uses, with
// Slack's limits enforced the way Slack applies them: Block Kit limits
// (invalid_blocks; markdown blocks 12,000 characters in all,
// msg_blocks_too_long), text cut at 40,000 characters, chat.postMessage
// (per channel) and chat.update (per app) rate limits answered 429 with
// Retry-After and {"ok":false,"error":"ratelimited"}, uploads checked against
// their declared length, and any message that would ping @here, @channel,
// @everyone or a user group failing the test (MassMentions). The real
// slack-go client connects to it through slack.OptionAPIURL(s.APIURL()).
//
// Several apps (one per agent) can share one Server; each has its own bot and
// app tokens. Everything the clients do is recorded for assertions, and test
// helpers (Mention, DM, Slash, Click, WaitFor) drive the inbound side.
package slacktest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// Options tune a Server. Zero values take the defaults.
type Options struct {
	// AckDeadline is how long an envelope may stay unacked before it is
	// redelivered with retry_attempt+1 (Slack: 3 s). Default 3 s.
	AckDeadline time.Duration
	// MaxRetries is how many redeliveries an envelope gets (Slack: 3).
	MaxRetries int
	// PingInterval is how often the server sends websocket pings. Default
	// 100 ms (slack-go drops a socket that has not been pinged for 30 s).
	PingInterval time.Duration
	// MaxText is where message `text` is cut: Slack truncates text past
	// 40,000 characters (the default), keeping the call ok. A cut message
	// is marked Truncated.
	MaxText int
	// PostLimit and UpdateLimit are the chat.postMessage (per channel) and
	// chat.update (per app) rate limits; calls over them are answered 429
	// with Retry-After and {"ok":false,"error":"ratelimited"}. Zero values
	// take the package's PostLimit and UpdateLimit (Slack's documented
	// rates); Every < 0 turns one off.
	PostLimit, UpdateLimit Limit
	// NoEcho turns off echoing: by default a bot's own posts come back to
	// the apps as message events (with bot_id), as Slack does for channels
	// an app listens to.
	NoEcho bool
	// WaitTimeout bounds WaitFor and WaitAck. Default 10 s.
	WaitTimeout time.Duration
	// AllowMassMentions: by default the test fails at cleanup if any
	// message would have pinged @here, @channel, @everyone or a user group
	// (see MassMentions); set it in a test that sends them on purpose.
	AllowMassMentions bool
}

// Team is the fake workspace id.
const Team = "T0HERD"

// Server is the fake Slack. Create it with New; it closes itself when the
// test ends.
type Server struct {
	tb   testing.TB
	opts Options
	hs   *httptest.Server

	mu        sync.Mutex
	closed    bool
	changed   chan struct{} // closed and replaced on every state change
	seq       int           // ids, timestamps
	apps      []*app
	calls     []Call
	messages  []*Message
	ephems    []Ephemeral
	resps     []Response
	slashes   []slashRecord
	files     map[string]*File
	fileOrder []string
	downloads []Download
	reacts    []Reaction
	fail      map[string][]failure // method → queued injected failures
	limits    map[string]*rate.Limiter
	limited   map[string]int // method → calls answered 429
	mass      []MassMention
	wg        sync.WaitGroup // websocket handlers, redelivery callbacks
}

// New starts a fake Slack on a loopback port. It is closed by tb.Cleanup.
func New(tb testing.TB, o Options) *Server {
	tb.Helper()
	if o.AckDeadline <= 0 {
		o.AckDeadline = 3 * time.Second
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 3
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 100 * time.Millisecond
	}
	if o.MaxText <= 0 {
		o.MaxText = 40000
	}
	if o.PostLimit == (Limit{}) {
		o.PostLimit = PostLimit
	}
	if o.UpdateLimit == (Limit{}) {
		o.UpdateLimit = UpdateLimit
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = 10 * time.Second
	}
	s := &Server{tb: tb, opts: o, changed: make(chan struct{}), files: map[string]*File{}, fail: map[string][]failure{},
		limits: map[string]*rate.Limiter{}, limited: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("/ws/{app}", s.serveSocket)
	mux.HandleFunc("/upload/{file}", s.serveUpload)
	mux.HandleFunc("GET /files-pri/{file}/", s.serveFile)
	mux.HandleFunc("GET /signin", s.serveSignin)
	mux.HandleFunc("/response/{id}", s.serveResponseURL)
	s.hs = httptest.NewServer(mux)
	tb.Cleanup(func() {
		s.Close()
		if o.AllowMassMentions {
			return
		}
		for _, m := range s.MassMentions() {
			tb.Errorf("slacktest: %s in %s would ping %s: agent text must never", m.Method, m.Channel, m.Mention)
		}
	})
	return s
}

// APIURL is the Web API base for slack.OptionAPIURL, with its trailing slash.
func (s *Server) APIURL() string { return s.hs.URL + "/api/" }

// Close drops every socket, stops redeliveries and shuts the server down.
// It is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	var conns []*wsConn
	for _, a := range s.apps {
		conns = append(conns, a.conns...)
		for _, e := range a.envs {
			if e.timer != nil {
				e.timer.Stop()
			}
		}
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.kill()
	}
	s.wg.Wait()
	s.hs.Close()
}

// App is one Slack app (one agent's bot) on the fake.
type App struct {
	Name      string
	AppID     string
	BotToken  string // xoxb-…
	AppToken  string // xapp-…
	BotUserID string
	BotID     string
}

// AddApp registers an app named name and returns its tokens and ids.
func (s *Server) AddApp(name string) App {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.apps) + 1
	up := strings.ToUpper(name)
	a := &app{App: App{
		Name:      name,
		AppID:     fmt.Sprintf("A%02d%s", n, up),
		BotToken:  fmt.Sprintf("xoxb-%d-fake-%s", n, name),
		AppToken:  fmt.Sprintf("xapp-1-A%02d-fake-%s", n, name),
		BotUserID: fmt.Sprintf("U%02dBOT%s", n, up),
		BotID:     fmt.Sprintf("B%02d%s", n, up),
	}, envs: map[string]*envelope{}}
	s.apps = append(s.apps, a)
	return a.App
}

// nextLocked returns the next sequence number. s.mu must be held.
func (s *Server) nextLocked() int {
	s.seq++
	return s.seq
}

// tsLocked returns a fresh Slack message timestamp.
func (s *Server) tsLocked() string {
	return fmt.Sprintf("1700000000.%06d", s.nextLocked())
}

// notifyLocked wakes WaitFor callers. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) appByName(name string) *app {
	for _, a := range s.apps {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func (s *Server) appByBotToken(tok string) *app {
	for _, a := range s.apps {
		if tok != "" && a.BotToken == tok {
			return a
		}
	}
	return nil
}

func (s *Server) appByAppToken(tok string) *app {
	for _, a := range s.apps {
		if tok != "" && a.AppToken == tok {
			return a
		}
	}
	return nil
}

// WaitFor waits until cond (called without locks held) returns true, or
// fails the test after Options.WaitTimeout naming what. Must be called from
// the test goroutine.
func (s *Server) WaitFor(what string, cond func() bool) {
	s.tb.Helper()
	deadline := time.NewTimer(s.opts.WaitTimeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			s.tb.Fatalf("slacktest: timed out after %v waiting for %s", s.opts.WaitTimeout, what)
			return
		}
	}
}
