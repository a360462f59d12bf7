package web_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude"
	"github.com/herdbot/herdbot/agents/redact"
	"github.com/herdbot/herdbot/sandbox/native"
	"github.com/herdbot/herdbot/store"
	"github.com/herdbot/herdbot/web"
)

// serve serves srv over real loopback TCP, with the dashboard's
// ConnContext as herdbot's HTTP server has it.
func serve(t testing.TB, srv *web.Server) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(srv)
	ts.Config.ConnContext = srv.ConnContext
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// lightFleet is a real fleet without agents over a real SQLite store: for
// the tests of sign-in, sessions and paging, which run no agent.
func lightFleet(t testing.TB) (*agents.Fleet, *store.DB) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "herdbot.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f, err := agents.New(agents.Config{Fleet: "light", Store: db, Backend: native.New(log), Runtime: claude.New(claude.Config{}),
		Redactor: redact.New(secret), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return f, db
}

// clock is a fake clock the tests move.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// light is a dashboard over lightFleet on a fake clock.
type light struct {
	srv *web.Server
	ts  *httptest.Server
	db  *store.DB
	clk *clock
}

func newLight(t *testing.T, edit func(*web.Config)) *light {
	t.Helper()
	f, db := lightFleet(t)
	clk := &clock{now: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	cfg := web.Config{Fleet: f, Store: db, Redact: redact.New(secret).String, Listen: "127.0.0.1:9090", LocalName: "tester", Now: clk.Now}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &light{srv: srv, ts: serve(t, srv), db: db, clk: clk}
}

func (l *light) client(t *testing.T) *client { return &client{t: t, base: l.ts.URL} }

func (l *light) audit(t *testing.T, prefix string) []agents.AuditEntry {
	t.Helper()
	es, err := l.db.AuditLog(context.Background(), store.AuditFilter{ActionPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestLocalUserIsHerdbotsUIDOrRoot: without a login on loopback, a
// connection is the local user's only when the uid owning its client
// socket is herdbot's or root; any other uid, an unknown one, or a
// connection the server has no details of is refused (and audited). The
// uid is looked up once per connection.
func TestLocalUserIsHerdbotsUIDOrRoot(t *testing.T) {
	t.Run("this process, real lookup", func(t *testing.T) {
		l := newLight(t, nil)
		mustContain(t, "fleet page", l.client(t).get("/", http.StatusOK), "you are tester")
	})
	t.Run("no connection details", func(t *testing.T) {
		l := newLight(t, nil)
		ts := httptest.NewServer(l.srv) // no ConnContext
		defer ts.Close()
		c := &client{t: t, base: ts.URL}
		resp, body := c.do("GET", "/", nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "cannot tell which user") || c.cookie != nil {
			t.Fatalf("GET without connection details: %d %q, cookie %v; want a 403 and no session", resp.StatusCode, body, c.cookie)
		}
	})
	var lookups atomic.Int32
	uidIs := func(uid int, err error) func(*web.Config) {
		return func(c *web.Config) {
			c.PeerUID = func(local, remote netip.AddrPort) (int, error) {
				lookups.Add(1)
				if !remote.Addr().IsLoopback() || !local.Addr().IsLoopback() || local.Port() == remote.Port() {
					t.Errorf("PeerUID(%s, %s): want the server's and the client's loopback ends", local, remote)
				}
				return uid, err
			}
		}
	}
	t.Run("another uid", func(t *testing.T) {
		lookups.Store(0)
		l := newLight(t, uidIs(4242, nil))
		c := l.client(t)
		for range 3 { // one keep-alive connection: one lookup
			resp, body := c.do("GET", "/approvals", nil)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "uid 4242 is neither herdbot's") {
				t.Fatalf("GET as uid 4242: %d %q; want 403", resp.StatusCode, body)
			}
		}
		if n := lookups.Load(); n != 1 {
			t.Errorf("%d uid lookups for three requests on one connection; want 1", n)
		}
		es := l.audit(t, "web.refused")
		if len(es) == 0 || es[0].Actor != "web:peer" || !strings.Contains(es[0].Detail, "uid 4242") || !strings.Contains(es[0].Detail, "127.0.0.1:") {
			t.Fatalf("refusal audit %+v", es)
		}
		if l.srv.Sessions() != 0 {
			t.Errorf("%d sessions after refused requests", l.srv.Sessions())
		}
	})
	t.Run("uid unknown", func(t *testing.T) {
		l := newLight(t, uidIs(0, errors.New("no /proc here")))
		resp, body := l.client(t).do("GET", "/", nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "no /proc here") || !strings.Contains(body, "HERDBOT_WEB_PASSWORD_HASH") {
			t.Fatalf("GET with an unknown uid: %d %q; want 403 naming the login", resp.StatusCode, body)
		}
	})
	t.Run("root", func(t *testing.T) {
		l := newLight(t, uidIs(0, nil))
		l.client(t).get("/", http.StatusOK)
	})
	t.Run("in a container", func(t *testing.T) {
		l := newLight(t, func(c *web.Config) {
			c.Listen, c.Published = "0.0.0.0:9090", true
			uidIs(0, errors.New("not found"))(c)
		})
		resp, body := l.client(t).do("GET", "/", nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "runs in a container") {
			t.Fatalf("GET in a container without a login: %d %q; want 403", resp.StatusCode, body)
		}
	})
	t.Run("a login makes it moot", func(t *testing.T) {
		lookups.Store(0)
		l := newLight(t, func(c *web.Config) { c.Token = "web-login-token-0123456789abcdef"; uidIs(4242, nil)(c) })
		if resp, _ := l.client(t).do("GET", "/", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("GET with a login configured: %d; want the sign-in redirect", resp.StatusCode)
		}
		if lookups.Load() != 0 {
			t.Error("with a login configured, the uid was looked up")
		}
	})
}

// TestAnotherLocalUserIsRefused: a real HTTP client run as nobody (uid
// 65534) over loopback TCP gets a 403, while the same client run as this
// process's user gets the page. Needs root to run a process as another
// user (CI runs the tests as root).
func TestAnotherLocalUserIsRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another user (CI runs the tests as root)")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("needs bash (its /dev/tcp) for the client run as another user")
	}
	l := newLight(t, nil)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(l.ts.URL, "http://"))
	get := func(cred *syscall.Credential) string {
		t.Helper()
		cmd := exec.Command(bash, "-c", `exec 3<>/dev/tcp/127.0.0.1/`+port+` && printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 && cat <&3`)
		cmd.Dir = "/"
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("client: %v\n%s", err, out)
		}
		status, _, _ := strings.Cut(string(out), "\r\n")
		return status + "\n" + string(out)
	}
	const nobody = 65534
	if got := get(&syscall.Credential{Uid: nobody, Gid: nobody}); !strings.HasPrefix(got, "HTTP/1.0 403") ||
		!strings.Contains(got, fmt.Sprintf("uid %d is neither herdbot's (uid 0) nor root", nobody)) {
		t.Fatalf("client as nobody:\n%s", got)
	}
	if got := get(nil); !strings.HasPrefix(got, "HTTP/1.0 200") {
		t.Fatalf("client as root:\n%s", got)
	}
	if es := l.audit(t, "web.refused"); len(es) != 1 || !strings.Contains(es[0].Detail, "uid 65534") {
		t.Fatalf("refusal audit %+v", es)
	}
}

const password = "correct horse battery staple"

func hashOf(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// TestPasswordLogin: with a bcrypt hash in the fleet .env, the password
// signs in as "operator" (also off loopback); a wrong one is refused and
// audited with the address it came from; a hash that is not bcrypt is a
// start error naming the variable.
func TestPasswordLogin(t *testing.T) {
	hash := hashOf(t, password)
	l := newLight(t, func(c *web.Config) { c.Listen, c.PasswordHash = "0.0.0.0:9090", hash })
	c := l.client(t)
	mustContain(t, "sign-in page", c.get("/login", http.StatusOK), "Password (HERDBOT_WEB_PASSWORD_HASH", `name="password"`)
	resp, body := c.do("POST", "/login", url.Values{"password": {"wrong"}})
	if resp.StatusCode != http.StatusUnauthorized || c.cookie != nil || !strings.Contains(body, "not the password") {
		t.Fatalf("wrong password: %d, cookie %v", resp.StatusCode, c.cookie)
	}
	// The token field of the sign-in page is the password's: the hash
	// itself is no password.
	if resp, _ := c.do("POST", "/login", url.Values{"password": {hash}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the hash as the password: %d", resp.StatusCode)
	}
	if es := l.audit(t, "web.login_failed"); len(es) != 2 || es[0].Actor != "web:unknown" || !strings.Contains(es[0].Detail, `"remote":"127.0.0.1:`) {
		t.Fatalf("failed sign-ins audited: %+v", es)
	}
	resp, _ = c.do("POST", "/login", url.Values{"password": {password}})
	if resp.StatusCode != http.StatusSeeOther || c.cookie == nil {
		t.Fatalf("right password: %d, cookie %v", resp.StatusCode, c.cookie)
	}
	mustContain(t, "fleet page", c.get("/", http.StatusOK), "you are operator", "Sign out")
	if es := l.audit(t, "web.login"); len(es) != 3 || es[0].Action != "web.login" || es[0].Actor != "web:operator" || !strings.Contains(es[0].Detail, `"with":"password"`) {
		t.Fatalf("sign-in audited: %+v", es)
	}

	// Both configured: either signs in.
	l = newLight(t, func(c *web.Config) { c.PasswordHash, c.Token = hash, "web-login-token-0123456789abcdef" })
	for _, secret := range []string{password, "web-login-token-0123456789abcdef"} {
		c := l.client(t)
		mustContain(t, "sign-in page", c.get("/login", http.StatusOK), "Password or token")
		if resp, _ := c.do("POST", "/login", url.Values{"password": {secret}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in with %q: %d", secret[:8], resp.StatusCode)
		}
	}

	f, db := lightFleet(t)
	for _, bad := range []string{"plain text", "$2y$12$short", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="} {
		_, err := web.New(web.Config{Fleet: f, Store: db, Redact: func(s string) string { return s }, Listen: "127.0.0.1:9090", PasswordHash: bad})
		if err == nil || !strings.Contains(err.Error(), "HERDBOT_WEB_PASSWORD_HASH") || strings.Contains(err.Error(), "'"+bad[:1]+"'") {
			t.Errorf("New with password hash %q: %v; want an error naming the variable, not the value", bad, err)
		}
	}
}

// TestLoginAttemptsAreLimited: five attempts from an address, then one
// every 12 s (on the injected clock): the sixth is a 429, even with the
// right password; one web.login_limited row is written per run of
// refusals.
func TestLoginAttemptsAreLimited(t *testing.T) {
	l := newLight(t, func(c *web.Config) { c.PasswordHash = hashOf(t, password) })
	c := l.client(t)
	for i := range 5 {
		if resp, _ := c.do("POST", "/login", url.Values{"password": {fmt.Sprint("guess", i)}}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	for range 3 {
		resp, body := c.do("POST", "/login", url.Values{"password": {password}})
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || c.cookie != nil || !strings.Contains(body, "Too many") {
			t.Fatalf("attempt over the limit: %d (Retry-After %q), cookie %v", resp.StatusCode, resp.Header.Get("Retry-After"), c.cookie)
		}
	}
	if es := l.audit(t, "web.login_limited"); len(es) != 1 || !strings.Contains(es[0].Detail, "127.0.0.1") {
		t.Fatalf("limited attempts audited: %+v", es)
	}
	if es := l.audit(t, "web.login_failed"); len(es) != 5 {
		t.Fatalf("%d failed sign-ins audited, want 5", len(es))
	}
	l.clk.Add(11 * time.Second)
	if resp, _ := c.do("POST", "/login", url.Values{"password": {password}}); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 11 s: %d, want 429", resp.StatusCode)
	}
	l.clk.Add(12 * time.Second)
	if resp, _ := c.do("POST", "/login", url.Values{"password": {password}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the wait: %d, want a sign-in", resp.StatusCode)
	}
}

// TestSessionLifetimes: a session ends after SessionIdle without a
// request and at SessionTTL after sign-in however busy (on the injected
// clock); the server forgets it.
func TestSessionLifetimes(t *testing.T) {
	const token = "web-login-token-0123456789abcdef"
	l := newLight(t, func(c *web.Config) { c.Token, c.SessionIdle, c.SessionTTL = token, time.Hour, 3*time.Hour })
	signIn := func() *client {
		t.Helper()
		c := l.client(t)
		if resp, _ := c.do("POST", "/login", url.Values{"password": {token}}); resp.StatusCode != http.StatusSeeOther || c.cookie == nil {
			t.Fatalf("sign in: %d", resp.StatusCode)
		}
		return c
	}
	signedIn := func(c *client) bool {
		t.Helper()
		resp, _ := c.do("GET", "/", nil)
		return resp.StatusCode == http.StatusOK
	}
	c := signIn()
	if c.cookie.MaxAge != 3*3600 {
		t.Errorf("cookie Max-Age %d, want the absolute lifetime %d", c.cookie.MaxAge, 3*3600)
	}
	l.clk.Add(59 * time.Minute)
	if !signedIn(c) {
		t.Fatal("signed out after 59 idle minutes")
	}
	l.clk.Add(time.Hour)
	if signedIn(c) {
		t.Fatal("still signed in after an idle hour")
	}
	// Busy, but past the absolute lifetime.
	c = signIn()
	for range 5 {
		l.clk.Add(35 * time.Minute)
		if !signedIn(c) {
			t.Fatal("a busy session ended before its lifetime")
		}
	}
	l.clk.Add(30 * time.Minute) // 3 h 25 min after sign-in
	if signedIn(c) {
		t.Fatal("still signed in past the absolute lifetime")
	}
	// Expired sessions are swept when a new one starts.
	l.clk.Add(2 * time.Hour)
	signIn()
	if n := l.srv.Sessions(); n != 1 {
		t.Fatalf("%d sessions held, want 1 (the expired ones swept)", n)
	}
}

// TestSessionsAreCapped: at MaxSessions the least recently used session
// goes when a new one starts.
func TestSessionsAreCapped(t *testing.T) {
	const token = "web-login-token-0123456789abcdef"
	l := newLight(t, func(c *web.Config) { c.Token, c.MaxSessions = token, 3 })
	var cs []*client
	for range 3 {
		c := l.client(t)
		if resp, _ := c.do("POST", "/login", url.Values{"password": {token}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in: %d", resp.StatusCode)
		}
		cs = append(cs, c)
		l.clk.Add(time.Second)
	}
	cs[0].get("/", http.StatusOK) // the first is now the most recently used
	l.clk.Add(time.Second)
	c4 := l.client(t)
	if resp, _ := c4.do("POST", "/login", url.Values{"password": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	if n := l.srv.Sessions(); n != 3 {
		t.Fatalf("%d sessions, want the cap 3", n)
	}
	for i, want := range []int{http.StatusOK, http.StatusSeeOther, http.StatusOK} {
		if resp, _ := cs[i].do("GET", "/", nil); resp.StatusCode != want {
			t.Errorf("session %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	c4.get("/", http.StatusOK)
}

// TestSignInRotatesAndSignOutEnds: signing in never keeps the session id
// the browser came with (a planted or an old one), and signing out ends
// the session on the server: its cookie is worth nothing after.
func TestSignInRotatesAndSignOutEnds(t *testing.T) {
	const token = "web-login-token-0123456789abcdef"
	l := newLight(t, func(c *web.Config) { c.Token = token })
	c := l.client(t)
	c.cookie = &http.Cookie{Name: "herdbot_session", Value: strings.Repeat("ab", 32)} // planted
	if resp, _ := c.do("POST", "/login", url.Values{"password": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	first := c.cookie.Value
	if first == strings.Repeat("ab", 32) {
		t.Fatal("sign-in kept the planted session id")
	}
	c.get("/", http.StatusOK)
	if resp, _ := c.do("POST", "/login", url.Values{"password": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in again: %d", resp.StatusCode)
	}
	second := c.cookie
	if second.Value == first {
		t.Fatal("signing in again kept the session id")
	}
	old := &client{t: t, base: l.ts.URL, cookie: &http.Cookie{Name: "herdbot_session", Value: first}}
	if resp, _ := old.do("GET", "/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the session before the new sign-in: %d, want it ended", resp.StatusCode)
	}
	c.get("/", http.StatusOK) // for the CSRF token
	if resp, _ := c.do("POST", "/logout", url.Values{"csrf": {c.csrf}}); resp.StatusCode != http.StatusSeeOther || c.cookie != nil {
		t.Fatalf("sign out: %d, cookie %v", resp.StatusCode, c.cookie)
	}
	if n := l.srv.Sessions(); n != 0 {
		t.Fatalf("%d sessions after signing out, want 0", n)
	}
	c.cookie = second // the cookie kept (stolen) after sign-out
	if resp, _ := c.do("GET", "/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the signed-out session: %d, want the sign-in redirect", resp.StatusCode)
	}
	if es := l.audit(t, "web.logout"); len(es) != 1 || es[0].Actor != "web:operator" {
		t.Fatalf("sign-out audit %+v", es)
	}
}

// TestJobPagePages: a long transcript is shown a page at a time, the
// newest first, with links to the earlier and later pages; only the
// newest page of a running job follows it live.
func TestJobPagePages(t *testing.T) {
	l := newLight(t, nil)
	ctx := context.Background()
	j := agents.Job{ID: "j-long", Agent: "garden", Trigger: agents.TriggerCLI, Prompt: "go", Status: agents.JobRunning, Started: l.clk.Now()}
	if err := l.db.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	var evs []agents.JobEvent
	for i := 1; i <= 1200; i++ {
		evs = append(evs, agents.JobEvent{JobID: j.ID, Seq: i, Time: l.clk.Now(), Kind: "text", Data: []byte(fmt.Sprintf(`{"text":"line %d"}`, i))})
	}
	if err := l.db.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	c := l.client(t)
	shown := func(body string) (first, last, n int) {
		t.Helper()
		for _, m := range seqRx.FindAllStringSubmatch(body, -1) {
			s, _ := strconv.Atoi(m[1])
			if n == 0 {
				first = s
			}
			last = s
			n++
		}
		return
	}
	for _, c2 := range []struct {
		path           string
		first, last    int
		earlier, later string // the links' queries; "" none
		live           bool
	}{
		{"/jobs/j-long", 701, 1200, "before=701", "", true},
		{"/jobs/j-long?before=701", 201, 700, "before=201", "after=700", false},
		{"/jobs/j-long?before=201", 1, 200, "", "after=200", false},
		{"/jobs/j-long?after=200", 201, 700, "before=201", "after=700", false},
		{"/jobs/j-long?after=700", 701, 1200, "before=701", "", true},
		{"/jobs/j-long?before=1101&limit=100", 1001, 1100, "before=1001&amp;limit=100", "after=1100&amp;limit=100", false},
		{"/jobs/j-long?limit=999999", 1, 1200, "", "", true}, // capped at 2000
	} {
		body := c.get(c2.path, http.StatusOK)
		first, last, n := shown(body)
		if first != c2.first || last != c2.last || n != last-first+1 {
			t.Errorf("%s shows %d events %d…%d; want %d…%d", c2.path, n, first, last, c2.first, c2.last)
		}
		for _, link := range []struct{ id, q string }{{"earlier", c2.earlier}, {"later", c2.later}} {
			has := strings.Contains(body, `id="`+link.id+`"`)
			if link.q == "" && has {
				t.Errorf("%s links to %s events", c2.path, link.id)
			}
			if link.q != "" && !strings.Contains(body, `id="`+link.id+`" href="/jobs/j-long?`+link.q+`"`) {
				t.Errorf("%s: no %s link to ?%s", c2.path, link.id, link.q)
			}
		}
		if live := strings.Contains(body, `data-live="1"`); live != c2.live {
			t.Errorf("%s live %v, want %v", c2.path, live, c2.live)
		}
		if c2.live && !strings.Contains(body, fmt.Sprintf(`data-after="%d"`, c2.last)) {
			t.Errorf("%s: the live stream does not start after the last event shown", c2.path)
		}
	}
	// The live stream of the newest page starts after its last event.
	if err := l.db.AppendEvents(ctx, []agents.JobEvent{{JobID: j.ID, Seq: 1201, Time: l.clk.Now(), Kind: "text", Data: []byte(`{"text":"line 1201"}`)}}); err != nil {
		t.Fatal(err)
	}
	j.Status, j.Finished = agents.JobSucceeded, l.clk.Now()
	if err := l.db.UpdateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	_, body := c.do("GET", "/jobs/j-long/events?after=1200", nil)
	if strings.Count(body, "event: ev") != 1 || !strings.Contains(body, "line 1201") || !strings.Contains(body, "event: end") {
		t.Fatalf("event stream after 1200:\n%s", body)
	}
}

var seqRx = regexp.MustCompile(`<li class="ev [^"]*" data-seq="(\d+)"`)
