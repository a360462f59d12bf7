package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os/user"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
)

// Login attempts per address (an IPv4 address, or an IPv6 /64): a burst
// of loginBurst, then one every loginEvery. maxAttemptAddrs caps the
// addresses remembered (the least recently seen is forgotten first).
const (
	loginBurst      = 5
	loginEvery      = 12 * time.Second
	maxAttemptAddrs = 4096
)

// connPeer is a connection's two ends and, once asked, the uid owning
// the client's socket: found once per connection, when a request first
// needs it.
type connPeer struct {
	local, remote netip.AddrPort
	once          sync.Once
	uid           int
	err           error
}

type connKey struct{}

// ConnContext is the http.Server's ConnContext: it keeps each
// connection's ends, so that the uid behind a loopback connection is
// looked up once per connection rather than per request. Without it (or
// on a connection that is not TCP) no request is taken for the local
// user's.
func (s *Server) ConnContext(ctx context.Context, c net.Conn) context.Context {
	l, lok := c.LocalAddr().(*net.TCPAddr)
	r, rok := c.RemoteAddr().(*net.TCPAddr)
	if !lok || !rok {
		return ctx
	}
	return context.WithValue(ctx, connKey{}, &connPeer{local: l.AddrPort(), remote: r.AddrPort()})
}

// localUser says who the local user at the other end of r's connection
// is, or why it is refused: only herdbot's own uid and root are the
// local operator (the control socket's rule, internal/control), and a
// connection whose uid cannot be found is refused.
func (s *Server) localUser(r *http.Request) (bot.User, string) {
	p, _ := r.Context().Value(connKey{}).(*connPeer)
	if p == nil {
		return bot.User{}, "herdbot cannot tell which user this connection comes from (no connection details); sign-in needs " +
			PasswordHashEnv + " or " + TokenEnv + " in the fleet .env"
	}
	p.once.Do(func() { p.uid, p.err = s.cfg.PeerUID(p.local, p.remote) })
	if p.err != nil {
		why := fmt.Sprintf("herdbot cannot tell which local user connects from %s (%v)", p.remote, p.err)
		if s.cfg.Published {
			why = fmt.Sprintf("herdbot runs in a container and cannot tell which user connects from %s", p.remote)
		}
		return bot.User{}, why + "; without a login the dashboard serves only herdbot's own user and root: set " +
			PasswordHashEnv + " or " + TokenEnv + " in the fleet .env to sign in"
	}
	switch {
	case p.uid == s.ownUID:
		return bot.User{ID: LocalUser, Name: s.cfg.LocalName}, ""
	case p.uid == 0:
		name := "root"
		if u, err := user.LookupId("0"); err == nil {
			name = u.Username
		}
		return bot.User{ID: LocalUser, Name: name}, ""
	}
	return bot.User{}, fmt.Sprintf("uid %d is neither herdbot's (uid %d) nor root", p.uid, s.ownUID)
}

// session is a browser's sign-in (or, without a login, the local user's
// page session): its CSRF token and its lifetimes.
type session struct {
	user     bot.User
	csrf     string
	created  time.Time
	lastSeen time.Time
}

const cookieName = "herdbot_session"

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// live says ss has neither reached its absolute lifetime nor been idle
// too long at now.
func (s *Server) live(ss *session, now time.Time) bool {
	return now.Sub(ss.created) < s.cfg.SessionTTL && now.Sub(ss.lastSeen) < s.cfg.SessionIdle
}

// newSession starts a session for u under a new id and sets its cookie.
// Expired sessions are swept first; when MaxSessions are held, the least
// recently used goes.
func (s *Server) newSession(w http.ResponseWriter, u bot.User) *session {
	id := randomHex(32)
	now := s.cfg.Now()
	ss := &session{user: u, csrf: randomHex(32), created: now, lastSeen: now}
	s.mu.Lock()
	for k, v := range s.sessions {
		if !s.live(v, now) {
			delete(s.sessions, k)
		}
	}
	for len(s.sessions) >= s.cfg.MaxSessions {
		var oldest string
		for k, v := range s.sessions {
			if oldest == "" || v.lastSeen.Before(s.sessions[oldest].lastSeen) {
				oldest = k
			}
		}
		delete(s.sessions, oldest)
	}
	s.sessions[id] = ss
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(s.cfg.SessionTTL / time.Second)})
	return ss
}

// session returns r's live session (and marks it used), or nil.
func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[c.Value]
	if ss == nil {
		return nil
	}
	if !s.live(ss, now) {
		delete(s.sessions, c.Value)
		return nil
	}
	ss.lastSeen = now
	return ss
}

// endSession forgets r's session, if it has one.
func (s *Server) endSession(r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
}

// Sessions is how many sessions the dashboard holds (for tests and
// metrics).
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// equalSecret compares a and b in time that depends on neither: both are
// hashed first, so not even the length leaks.
func equalSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// jsonDetail is an audit row's detail: {"k":"v",...}.
func jsonDetail(kv ...string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// attempt is the login rate of one address.
type attempt struct {
	lim      *rate.Limiter
	lastSeen time.Time
	noted    bool // a web.login_limited row was written since the last allowed attempt
}

// attemptKey is the address login attempts are counted by: the remote
// IP, an IPv6 one by its /64 (one host's share of addresses).
func attemptKey(remoteAddr string) string {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// allowAttempt says whether the address may try to sign in now, and
// whether its refusal should be audited (the first one of a run).
func (s *Server) allowAttempt(key string, now time.Time) (ok, audit bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.attempts[key]
	if a == nil {
		if len(s.attempts) >= maxAttemptAddrs {
			var oldest string
			for k, v := range s.attempts {
				if oldest == "" || v.lastSeen.Before(s.attempts[oldest].lastSeen) {
					oldest = k
				}
			}
			delete(s.attempts, oldest)
		}
		a = &attempt{lim: rate.NewLimiter(rate.Every(loginEvery), loginBurst)}
		s.attempts[key] = a
	}
	a.lastSeen = now
	if a.lim.AllowN(now, 1) {
		a.noted = false
		return true, false
	}
	audit = !a.noted
	a.noted = true
	return false, audit
}

// CheckPasswordHash says whether h is a bcrypt hash the dashboard can
// check a password against. The error names the variable, never h.
func CheckPasswordHash(h string) error {
	if _, err := bcrypt.Cost([]byte(h)); err != nil {
		// bcrypt's error quotes a character of h: a password put there
		// by mistake must not show.
		return fmt.Errorf("%s in the fleet .env is not a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters; make one with `herdbot web hash-password`)", PasswordHashEnv)
	}
	return nil
}

// HashPassword returns the bcrypt hash of password for PasswordHashEnv,
// at bcrypt's default cost (10) or cost when higher.
func HashPassword(password string, cost int) (string, error) {
	if password == "" {
		return "", errors.New("the password is empty")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), max(cost, bcrypt.DefaultCost))
	if err != nil {
		return "", fmt.Errorf("hash the password: %w", err)
	}
	return string(h), nil
}

// checkLogin says whether secret is the configured password or token,
// and which.
func (s *Server) checkLogin(secret string) (string, bool) {
	if s.cfg.PasswordHash != "" && bcrypt.CompareHashAndPassword([]byte(s.cfg.PasswordHash), []byte(secret)) == nil {
		return "password", true
	}
	if s.cfg.Token != "" && equalSecret(secret, s.cfg.Token) {
		return "token", true
	}
	return "", false
}

// loginPrompt names what the sign-in page asks for.
func (s *Server) loginPrompt() string {
	switch {
	case s.cfg.PasswordHash != "" && s.cfg.Token != "":
		return "Password or token (" + PasswordHashEnv + ", " + TokenEnv + " in the fleet .env)"
	case s.cfg.PasswordHash != "":
		return "Password (" + PasswordHashEnv + " in the fleet .env)"
	}
	return "Token (" + TokenEnv + " in the fleet .env)"
}

// login handles GET and POST /login: the password or the token signs in
// as "operator", under a new session id (any session the browser had is
// ended). Attempts are limited per address, and failures audited.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.hasLogin() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	page := func(code int, msg string) {
		w.WriteHeader(code)
		s.render(w, r, "login", "Sign in", map[string]any{"Error": msg, "Prompt": s.loginPrompt()})
	}
	if r.Method != http.MethodPost {
		page(http.StatusOK, "")
		return
	}
	now := s.cfg.Now()
	ok, note := s.allowAttempt(attemptKey(r.RemoteAddr), now)
	if !ok {
		if note {
			s.audit(r.Context(), agents.AuditEntry{Actor: "web:unknown", Action: "web.login_limited", Subject: "login",
				Detail: jsonDetail("remote", r.RemoteAddr)})
		}
		s.log.Warn("web sign-in attempts limited", "remote", r.RemoteAddr)
		w.Header().Set("Retry-After", strconv.Itoa(int(loginEvery/time.Second)))
		page(http.StatusTooManyRequests, "Too many sign-in attempts from your address; wait a little and try again.")
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	how, ok := s.checkLogin(r.PostForm.Get("password"))
	if !ok {
		s.audit(r.Context(), agents.AuditEntry{Actor: "web:unknown", Action: "web.login_failed", Subject: "login",
			Detail: jsonDetail("remote", r.RemoteAddr)})
		s.log.Warn("web sign-in failed", "remote", r.RemoteAddr)
		page(http.StatusUnauthorized, "That is not the password or token of the fleet .env.")
		return
	}
	s.endSession(r) // a new id at sign-in: a session id planted before it is worth nothing
	s.newSession(w, bot.User{ID: OperatorUser, Name: OperatorUser})
	s.audit(r.Context(), agents.AuditEntry{Actor: "web:" + OperatorUser, Action: "web.login", Subject: "login",
		Detail: jsonDetail("remote", r.RemoteAddr, "with", how)})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session on the server (its id is worth nothing after)
// and clears the cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.endSession(r)
	if ss := sessionOf(r); ss != nil {
		s.audit(r.Context(), agents.AuditEntry{Actor: "web:" + ss.user.ID, Action: "web.logout", Subject: "login",
			Detail: jsonDetail("remote", r.RemoteAddr)})
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
