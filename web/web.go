// Package web is herdbot's dashboard: server-rendered pages (html/template)
// served by `herdbot start` on http.listen beside /healthz, /metrics and
// /hooks. Pages read through the same store and fleet APIs as the CLI's
// control socket; approvals decided here go through the fleet's broker
// (agents.Fleet.Decide) like `herdbot approve`.
//
// Identity: on a loopback listen address without a login, the person at
// the browser is the local user ("local", as at the console); with a login
// token (from the fleet .env), whoever signs in is "operator". A
// non-loopback address without a login is refused (CheckListen). Sessions
// are random ids in HttpOnly, Secure, SameSite=Strict cookies; every POST
// carries the session's CSRF token; on loopback the Host header must be a
// loopback name (so a DNS-rebound site cannot drive the dashboard). No
// proxy header is read. Every string a page shows passes through the
// fleet's redactor, as chat messages do.
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/sched"
	"github.com/herdbot/herdbot/store"
)

// Platform is the approvers key of web approvers (approvers.web).
const Platform = bot.Web

// User ids in approvers.web.
const (
	LocalUser    = "local"    // the local user, on loopback without a login
	OperatorUser = "operator" // signed in with the login token
)

// TokenEnv is the fleet .env variable holding the login token.
const TokenEnv = "HERDBOT_WEB_TOKEN"

// Fleet is what the dashboard needs of the fleet; *agents.Fleet has it.
type Fleet interface {
	Agents() []agents.AgentSpec
	Waiting(agent string) int
	LiveProcesses(agent string) int
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
	// Listen is the listen address (http.listen); Token the login token
	// ("" for none). See CheckListen.
	Listen string
	Token  string
	// Published says Listen is a container's own address that the host
	// publishes on its loopback only (deploy/docker-compose.yml sets
	// HERDBOT_IN_CONTAINER=1): then it counts as loopback.
	Published bool
	// LocalName is the local user's login name, shown for "local".
	LocalName string
	// SessionTTL bounds a login session; 0 means 12 hours.
	SessionTTL time.Duration
	// ToolResults shows tool results in transcripts (herdctl's
	// web.tool_results); false hides their content.
	HideToolResults bool
	Log             *slog.Logger
	Now             func() time.Time
}

// CheckListen says whether addr is a loopback address (or published is
// set: a container's address published on the host's loopback), and
// refuses any other without a login token: the dashboard decides
// approvals.
func CheckListen(addr, token string, published bool) (loopback bool, err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("http.listen %q: %w", addr, err)
	}
	loopback = isLoopbackHost(host) || published
	if !loopback && token == "" {
		return false, fmt.Errorf("http.listen %s is not a loopback address and the web dashboard decides approvals: "+
			"set %s in the fleet .env (a long random token, e.g. `openssl rand -hex 32`), or listen on 127.0.0.1", addr, TokenEnv)
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

	mu       sync.Mutex
	sessions map[string]*session

	// runs are the schedule runs triggered here: they belong to herdbot,
	// not to the request (Wait waits for them).
	runs   sync.WaitGroup
	runCtx context.Context
}

// Wait waits for the runs triggered from the dashboard.
func (s *Server) Wait() { s.runs.Wait() }

type session struct {
	user    bot.User
	csrf    string
	expires time.Time
}

// New checks cfg (CheckListen) and returns the dashboard.
func New(cfg Config) (*Server, error) {
	if cfg.Fleet == nil || cfg.Store == nil || cfg.Redact == nil {
		return nil, errors.New("web: Fleet, Store and Redact are required")
	}
	lb, err := CheckListen(cfg.Listen, cfg.Token, cfg.Published)
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
	if cfg.LocalName == "" {
		cfg.LocalName = LocalUser
	}
	s := &Server{cfg: cfg, loopback: lb, log: cfg.Log, sessions: map[string]*session{}, runCtx: context.Background()}
	s.routes()
	return s, nil
}

const cookieName = "herdbot_session"

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// newSession starts a session for u and sets its cookie.
func (s *Server) newSession(w http.ResponseWriter, u bot.User) *session {
	id := randomHex(32)
	ss := &session{user: u, csrf: randomHex(32), expires: s.cfg.Now().Add(s.cfg.SessionTTL)}
	s.mu.Lock()
	now := s.cfg.Now()
	for k, v := range s.sessions { // forget expired ones
		if now.After(v.expires) {
			delete(s.sessions, k)
		}
	}
	s.sessions[id] = ss
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(s.cfg.SessionTTL / time.Second)})
	return ss
}

// session returns r's session, or nil.
func (s *Server) session(r *http.Request) (string, *session) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[c.Value]
	if ss == nil {
		return "", nil
	}
	if s.cfg.Now().After(ss.expires) {
		delete(s.sessions, c.Value)
		return "", nil
	}
	return c.Value, ss
}

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
		_, ss := s.session(r)
		if r.URL.Path == "/login" || (r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/static/")) {
			// The sign-in page and its style and script: nothing of the
			// fleet's.
			next.ServeHTTP(w, r)
			return
		}
		if ss == nil {
			if s.cfg.Token != "" {
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
			ss = s.newSession(w, bot.User{ID: LocalUser, Name: s.cfg.LocalName})
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := r.ParseForm(); err != nil {
				http.Error(w, "bad form", http.StatusBadRequest)
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(ss.csrf)) != 1 {
				s.refuse(w, r, "web:"+ss.user.ID, "missing or wrong CSRF token", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ss)))
	})
}

// refuse answers code and audits the refusal.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, actor, why string, code int) {
	s.log.Warn("web request refused", "actor", actor, "why", why, "request", r.Method+" "+r.URL.Path)
	s.audit(r.Context(), agents.AuditEntry{Actor: actor, Action: "web.refused", Subject: r.Method + " " + r.URL.Path,
		Detail: fmt.Sprintf(`{"reason":%q}`, why)})
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

// login handles GET and POST /login.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Token == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if r.Method == http.MethodGet {
		s.render(w, r, "login", "Sign in", map[string]any{"Error": ""})
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("token")), []byte(s.cfg.Token)) != 1 {
		s.audit(r.Context(), agents.AuditEntry{Actor: "web:unknown", Action: "web.login_failed", Subject: "login"})
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, r, "login", "Sign in", map[string]any{"Error": "That token is not the one in the fleet .env."})
		return
	}
	if id, _ := s.session(r); id != "" {
		s.mu.Lock()
		delete(s.sessions, id)
		s.mu.Unlock()
	}
	s.newSession(w, bot.User{ID: OperatorUser, Name: OperatorUser})
	s.audit(r.Context(), agents.AuditEntry{Actor: "web:" + OperatorUser, Action: "web.login", Subject: "login"})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if id, _ := s.session(r); id != "" {
		s.mu.Lock()
		delete(s.sessions, id)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
