// Package web is herdbot's dashboard: server-rendered pages (html/template)
// served by `herdbot start` on http.listen beside /healthz, /metrics and
// /hooks. Pages read through the same store and fleet APIs as the CLI's
// control socket; approvals decided here go through the fleet's broker
// (agents.Fleet.Decide) like `herdbot approve`.
//
// Identity (auth.go): with a login configured in the fleet .env (a bcrypt
// password hash, HERDBOT_WEB_PASSWORD_HASH, or a token, HERDBOT_WEB_TOKEN)
// everyone signs in, and whoever does is "operator". Without one, on a
// loopback listen address, the person at the browser is the local user
// ("local", as at the console) only when the connection comes from
// herdbot's own uid or root: the uid owning the client's socket, found in
// /proc/net/tcp (internal/peeruid), once per connection; a connection
// whose uid cannot be found is refused. A non-loopback address without a
// login is refused at start (CheckListen). Sessions are random ids in
// HttpOnly, Secure, SameSite=Strict cookies, capped in number and expired
// when idle and at an absolute lifetime; every POST carries the session's
// CSRF token; on loopback the Host header must be a loopback name (so a
// DNS-rebound site cannot drive the dashboard). No proxy header is read.
// Every string a page shows passes through the fleet's redactor, as chat
// messages do.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/internal/peeruid"
	"github.com/herdbot/herdbot/sched"
	"github.com/herdbot/herdbot/store"
)

// Platform is the approvers key of web approvers (approvers.web).
const Platform = bot.Web

// User ids in approvers.web.
const (
	LocalUser    = "local"    // the local user, on loopback without a login
	OperatorUser = "operator" // signed in with the password or the token
)

// The fleet .env variables holding the login: a bcrypt hash of the
// password (`herdbot web hash-password` makes one) and a token. Either
// or both may be set.
const (
	TokenEnv        = "HERDBOT_WEB_TOKEN"
	PasswordHashEnv = "HERDBOT_WEB_PASSWORD_HASH"
)

// Fleet is what the dashboard needs of the fleet; *agents.Fleet has it.
type Fleet interface {
	Agents() []agents.AgentSpec
	Waiting(agent string) int
	LiveProcesses(agent string) int
	// Spending is the agent's spend today and this month against its
	// budget, by the same days and months the budget check uses.
	Spending(ctx context.Context, agent string) (agents.Spending, error)
	IsApprover(agent, platform string, u bot.User) bool
	Decide(ctx context.Context, approvalID, choice, actor, reason string) (agents.Approval, error)
	Subscribe() (<-chan agents.JobEvent, func())
}

// Store is what the dashboard reads, and where it audits; *store.DB has it.
type Store interface {
	Audit(ctx context.Context, e agents.AuditEntry) error
	Jobs(ctx context.Context, f agents.JobFilter) ([]agents.Job, error)
	Job(ctx context.Context, id string) (agents.Job, error)
	Events(ctx context.Context, jobID string, afterSeq int) ([]agents.JobEvent, error)
	EventsPage(ctx context.Context, jobID string, p store.EventPage) ([]agents.JobEvent, error)
	Conversations(ctx context.Context, agent string) ([]agents.Conversation, error)
	Approvals(ctx context.Context, agent string, pendingOnly bool, limit int) ([]agents.Approval, error)
	Approval(ctx context.Context, id string) (agents.Approval, error)
	AuditLog(ctx context.Context, f store.AuditFilter) ([]agents.AuditEntry, error)
}

// Config configures a Server.
type Config struct {
	Fleet     Fleet
	Store     Store
	Schedules func(now time.Time) []sched.Info                                        // nil: no schedules
	Trigger   func(ctx context.Context, agent, name string) (agents.RunResult, error) // nil: no trigger
	// Native says an agent runs without a container; nil: all do not.
	Native func(agent string) bool
	// Chats names the chat platforms agent is connected to; nil: none.
	Chats func(agent string) []string
	// Summary writes what `herdbot validate` shows for an agent; nil: none.
	Summary func(agent string, now time.Time) string
	// Redact masks the fleet's secrets (the fleet's redactor); required.
	Redact func(string) string
	// Listen is the listen address (http.listen). Token and PasswordHash
	// are the login (the fleet .env's TokenEnv and PasswordHashEnv; ""
	// for none); PasswordHash is a bcrypt hash. See CheckListen.
	Listen       string
	Token        string
	PasswordHash string
	// Published says Listen is a container's own address that the host
	// publishes on its loopback only (deploy/docker-compose.yml sets
	// HERDBOT_IN_CONTAINER=1): then it counts as loopback, but the local
	// user cannot be told from other accounts there (the peer is the
	// container's gateway), so without a login every request is refused.
	Published bool
	// LocalName is the local user's login name, shown for "local".
	LocalName string
	// PeerUID finds the uid owning the client end of a loopback
	// connection (local and remote as the server sees them); nil: from
	// /proc/net/tcp and tcp6 (peeruid.Lookup).
	PeerUID func(local, remote netip.AddrPort) (int, error)
	// SessionTTL bounds a login session from its start (web.
	// session_expiry_hours); 0 means 12 hours. SessionIdle ends a session
	// unused that long; 0 means 1 hour. MaxSessions caps the sessions
	// held (the least recently used goes first); 0 means 1000.
	SessionTTL  time.Duration
	SessionIdle time.Duration
	MaxSessions int
	// ToolResults shows tool results in transcripts (herdctl's
	// web.tool_results); false hides their content.
	HideToolResults bool
	Log             *slog.Logger
	Now             func() time.Time
}

// CheckListen says whether addr is a loopback address (or published is
// set: a container's address published on the host's loopback), and
// refuses any other without a login (login: a token or a password hash
// is configured): the dashboard decides approvals.
func CheckListen(addr string, login, published bool) (loopback bool, err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("http.listen %q: %w", addr, err)
	}
	loopback = isLoopbackHost(host) || published
	if !loopback && !login {
		return false, fmt.Errorf("http.listen %s is not a loopback address and the web dashboard decides approvals: "+
			"set %s (a bcrypt hash: `herdbot web hash-password`) or %s (a long random token, e.g. `openssl rand -hex 32`) "+
			"in the fleet .env, or listen on 127.0.0.1", addr, PasswordHashEnv, TokenEnv)
	}
	return loopback, nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Server serves the dashboard.
type Server struct {
	cfg      Config
	loopback bool
	log      *slog.Logger
	mux      *http.ServeMux
	ownUID   int

	mu       sync.Mutex
	sessions map[string]*session
	attempts map[string]*attempt // login attempts per address
	// refusals bounds the web.refused audit rows (a refused client can
	// retry as fast as it likes); the log still has each.
	refusals *rate.Limiter

	// runs are the schedule runs triggered here: they belong to herdbot,
	// not to the request (Wait waits for them).
	runs   sync.WaitGroup
	runCtx context.Context
}

// Wait waits for the runs triggered from the dashboard.
func (s *Server) Wait() { s.runs.Wait() }

// New checks cfg (CheckListen, the password hash) and returns the
// dashboard.
func New(cfg Config) (*Server, error) {
	if cfg.Fleet == nil || cfg.Store == nil || cfg.Redact == nil {
		return nil, errors.New("web: Fleet, Store and Redact are required")
	}
	if cfg.PasswordHash != "" {
		if err := CheckPasswordHash(cfg.PasswordHash); err != nil {
			return nil, err
		}
	}
	lb, err := CheckListen(cfg.Listen, cfg.Token != "" || cfg.PasswordHash != "", cfg.Published)
	if err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = time.Hour
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 1000
	}
	if cfg.LocalName == "" {
		cfg.LocalName = LocalUser
	}
	if cfg.PeerUID == nil {
		cfg.PeerUID = func(local, remote netip.AddrPort) (int, error) { return peeruid.Lookup(peeruid.ProcNet, local, remote) }
	}
	s := &Server{cfg: cfg, loopback: lb, log: cfg.Log, ownUID: os.Getuid(), sessions: map[string]*session{},
		attempts: map[string]*attempt{}, refusals: rate.NewLimiter(rate.Every(time.Second), 20), runCtx: context.Background()}
	if lb && !s.hasLogin() && cfg.Published {
		s.log.Warn("the dashboard runs in a container without a login: it cannot tell which local user connects, so it refuses every request; " +
			"set " + PasswordHashEnv + " or " + TokenEnv + " in the fleet .env to use it")
	}
	s.routes()
	return s, nil
}

// hasLogin says a password hash or a token is configured: then everyone
// signs in.
func (s *Server) hasLogin() bool { return s.cfg.Token != "" || s.cfg.PasswordHash != "" }

type ctxKey struct{}

func sessionOf(r *http.Request) *session {
	ss, _ := r.Context().Value(ctxKey{}).(*session)
	return ss
}

// guard applies the identity and safety rules to every request.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'")
		h.Set("Cache-Control", "no-store")
		if s.loopback {
			host, _, err := net.SplitHostPort(r.Host)
			if err != nil {
				host = r.Host
			}
			if !isLoopbackHost(strings.Trim(host, "[]")) {
				http.Error(w, "herdbot's dashboard on a loopback address answers only to a loopback host name (127.0.0.1, localhost)", http.StatusMisdirectedRequest)
				return
			}
		}
		var local bot.User
		if !s.hasLogin() {
			// No login: only the local operator, told by the uid that
			// owns the client's socket.
			u, why := s.localUser(r)
			if why != "" {
				s.refuse(w, r, "web:peer", why, http.StatusForbidden)
				return
			}
			local = u
		}
		ss := s.session(r)
		if r.URL.Path == "/login" || (r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/static/")) {
			// The sign-in page and its style and script: nothing of the
			// fleet's.
			next.ServeHTTP(w, r)
			return
		}
		if ss == nil {
			if s.hasLogin() {
				if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/events") {
					http.Redirect(w, r, "/login", http.StatusSeeOther)
					return
				}
				http.Error(w, "sign in first", http.StatusUnauthorized)
				return
			}
			if r.Method != http.MethodGet {
				// A state change needs the CSRF token of a session this
				// browser was given by a page.
				s.refuse(w, r, "web:"+LocalUser, "no session", http.StatusForbidden)
				return
			}
			ss = s.newSession(w, local)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := r.ParseForm(); err != nil {
				http.Error(w, "bad form", http.StatusBadRequest)
				return
			}
			if !equalSecret(r.PostForm.Get("csrf"), ss.csrf) {
				s.refuse(w, r, "web:"+ss.user.ID, "missing or wrong CSRF token", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ss)))
	})
}

// refuse answers code and audits the refusal (at most about one row a
// second; each is logged).
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, actor, why string, code int) {
	s.log.Warn("web request refused", "actor", actor, "why", why, "request", r.Method+" "+r.URL.Path, "remote", r.RemoteAddr)
	if s.refusals.AllowN(s.cfg.Now(), 1) {
		s.audit(r.Context(), agents.AuditEntry{Actor: actor, Action: "web.refused", Subject: r.Method + " " + r.URL.Path,
			Detail: jsonDetail("reason", why, "remote", r.RemoteAddr)})
	}
	http.Error(w, "refused: "+why, code)
}

func (s *Server) audit(ctx context.Context, e agents.AuditEntry) {
	e.Time = s.cfg.Now()
	if err := s.cfg.Store.Audit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Warn("audit web request", "action", e.Action, "err", err)
	}
}

// ServeHTTP serves the dashboard.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.guard(s.mux).ServeHTTP(w, r) }
