package web_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/console"
	"github.com/herdbot/herdbot/sched"
	"github.com/herdbot/herdbot/store"
	"github.com/herdbot/herdbot/web"
)

const secret = "sk-web-dashboard-secret-0123456789"

// dash is a dashboard in front of a real fleet (the real CLI against the
// fake model), a real SQLite store and a real scheduler, over HTTP.
type dash struct {
	*client
	t     *testing.T
	rig   *agentstest.Rig
	hub   *console.Hub
	sched *sched.Scheduler
	srv   *httptest.Server
}

type opts struct {
	webApprovers []string
	token        string
	listen       string
	model        claudetest.Responder
}

func newDash(t *testing.T, o opts) *dash {
	t.Helper()
	d := &dash{t: t, hub: console.New("alice", nil)}
	if o.model == nil {
		o.model = claudetest.Script(claudetest.Bash("touch allowed.txt", "create a file"), claudetest.Text("made the file"))
	}
	d.rig = agentstest.Start(t, agentstest.Options{
		Model:     o.model,
		Approvers: map[string][]string{web.Platform: o.webApprovers},
		Chats:     []agentstest.Chat{{Platform: bot.Console, Adapter: d.hub.For(agentstest.Agent)}},
		Secrets:   []string{secret},
		Stream:    agentstest.FastStream,
		LogLevel:  slogLevel,
		Spec: func(s *agents.AgentSpec) {
			s.Description = "the garden agent"
			s.Sandbox.Network.Allow = []string{"api.github.com"}
			s.Budget = agents.Budget{DailyUSD: 50}
		},
	})
	agentstest.WaitConsole(t, d.hub, agentstest.Agent)
	s, err := sched.New(sched.Config{Redact: d.rig.Redactor.String}, d.rig.Fleet, d.rig.Mux, d.rig.Store, d.rig.Log)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(context.Background(), []sched.Schedule{{Agent: agentstest.Agent, Name: "nightly", Type: "interval",
		Interval: 24 * time.Hour, Prompt: "say hi", Enabled: true, PostTo: console.Target}}); err != nil {
		t.Fatal(err)
	}
	d.sched = s
	if o.listen == "" {
		o.listen = "127.0.0.1:9090"
	}
	srv, err := web.New(web.Config{Fleet: d.rig.Fleet, Store: d.rig.Store, Redact: d.rig.Redactor.String,
		Schedules: s.List, Trigger: s.Trigger, Listen: o.listen, Token: o.token, LocalName: "tester",
		Summary: func(agent string, now time.Time) string { return "agent " + agent + " summary" },
		Native:  func(string) bool { return true }, // the rig's native backend
		Chats: func(agent string) []string {
			if _, ok := d.rig.Mux.Outbox(agent, bot.Console); ok {
				return []string{"console-connected"}
			}
			return nil
		},
		Log: d.rig.Log})
	if err != nil {
		t.Fatal(err)
	}
	d.srv = serve(t, srv)
	d.client = &client{t: t, base: d.srv.URL}
	t.Cleanup(srv.Wait)
	return d
}

// client is a browser of the dashboard: it keeps the session cookie and
// the last CSRF token a page showed.
type client struct {
	t      *testing.T
	base   string
	cookie *http.Cookie
	csrf   string
}

// do sends a request with the client's session cookie (kept like a
// browser keeps it) and returns the response with its body read.
func (d *client) do(method, path string, form url.Values, hdr ...string) (*http.Response, string) {
	d.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, d.base+path, body)
	if err != nil {
		d.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	if d.cookie != nil {
		req.AddCookie(d.cookie)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, ck := range resp.Cookies() {
		if ck.Name == "herdbot_session" {
			if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
				d.t.Errorf("session cookie %+v: want Secure, HttpOnly, SameSite=Strict", ck)
			}
			d.cookie = ck
			if ck.MaxAge < 0 {
				d.cookie = nil
			}
		}
	}
	if m := csrfRx.FindStringSubmatch(string(b)); m != nil {
		d.csrf = m[1]
	}
	return resp, string(b)
}

var csrfRx = regexp.MustCompile(`name="csrf" (?:value|content)="([0-9a-f]+)"`)

func (d *client) get(path string, want int) string {
	d.t.Helper()
	resp, body := d.do("GET", path, nil)
	if resp.StatusCode != want {
		d.t.Fatalf("GET %s: %d, want %d:\n%s", path, resp.StatusCode, want, body)
	}
	return body
}

// pending asks the agent for a tool from the console and waits for the
// approval to be stored.
func (d *dash) pending() agents.Approval {
	d.t.Helper()
	d.hub.Input(context.Background(), agentstest.Agent, "please create the file")
	deadline := time.Now().Add(60 * time.Second)
	for {
		as, err := d.rig.Store.Approvals(context.Background(), agentstest.Agent, true, 10)
		if err != nil {
			d.t.Fatal(err)
		}
		if len(as) > 0 {
			return as[0]
		}
		if time.Now().After(deadline) {
			d.t.Fatal("no pending approval after 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *dash) audit(prefix string) []agents.AuditEntry {
	d.t.Helper()
	es, err := d.rig.Store.AuditLog(context.Background(), store.AuditFilter{ActionPrefix: prefix})
	if err != nil {
		d.t.Fatal(err)
	}
	return es
}

func mustContain(t *testing.T, what, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Fatalf("%s lacks %q:\n%s", what, s, body)
		}
	}
}

// waitEvent waits until job id's stored transcript has an event of kind.
func (d *dash) waitEvent(id, kind string) {
	d.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs, err := d.rig.Store.Events(context.Background(), id, 0)
		if err != nil {
			d.t.Fatal(err)
		}
		for _, e := range evs {
			if e.Kind == kind {
				return
			}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("job %s has no %s event", id, kind)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitJob waits for job id to end.
func (d *dash) waitJob(id string) agents.Job {
	d.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		j, err := d.rig.Store.Job(context.Background(), id)
		if err == nil && j.Status.Final() {
			return j
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("job %s did not end: %+v %v", id, j, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// firstJob waits for the agent's first job and for it to end.
func (d *dash) firstJob() agents.Job {
	d.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		js, err := d.rig.Store.Jobs(context.Background(), agents.JobFilter{Agent: agentstest.Agent})
		if err != nil {
			d.t.Fatal(err)
		}
		if len(js) > 0 {
			return d.waitJob(js[0].ID)
		}
		if time.Now().After(deadline) {
			d.t.Fatal("no job started")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var slogLevel = func() slog.Level {
	if os.Getenv("WEBTEST_DEBUG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}()

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		addr      string
		login     bool
		published bool
		loopback  bool
		err       string
	}{
		{"127.0.0.1:9090", false, false, true, ""},
		{"localhost:9090", false, false, true, ""},
		{"[::1]:9090", false, false, true, ""},
		{"0.0.0.0:9090", false, false, false, "HERDBOT_WEB_TOKEN"},
		{":9090", false, false, false, "HERDBOT_WEB_PASSWORD_HASH"},
		{"[::]:9090", false, false, false, "HERDBOT_WEB_PASSWORD_HASH"},
		{"192.0.2.7:80", false, false, false, "not a loopback address"},
		{"0.0.0.0:9090", true, false, false, ""},
		{"0.0.0.0:9090", false, true, true, ""}, // in a container, published on the host's loopback
		{"nonsense", false, false, false, "http.listen"},
	} {
		lb, err := web.CheckListen(c.addr, c.login, c.published)
		if c.err == "" && (err != nil || lb != c.loopback) {
			t.Errorf("CheckListen(%q, login %v) = %v, %v; want %v, nil", c.addr, c.login, lb, err, c.loopback)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("CheckListen(%q, login %v) error %v; want one naming %q", c.addr, c.login, err, c.err)
		}
	}
	if _, err := web.New(web.Config{Fleet: nil}); err == nil {
		t.Error("New without a fleet must fail")
	}
	f, db := lightFleet(t)
	if _, err := web.New(web.Config{Fleet: f, Store: db, Redact: func(s string) string { return s }, Listen: "0.0.0.0:9090"}); err == nil ||
		!strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("New on 0.0.0.0 without a login: %v; want it refused", err)
	}
}

// TestPagesShowTheFleetRedacted opens every page after a chat run whose
// answer and audit carry a secret: each page renders, says what it
// should, and never shows the secret (it shows the redactor's mask, as
// chat does).
func TestPagesShowTheFleetRedacted(t *testing.T) {
	d := newDash(t, opts{webApprovers: []string{"local"},
		model: claudetest.Script(claudetest.Text("the key is " + secret))})
	d.hub.Input(context.Background(), agentstest.Agent, "what is the key?")
	j := d.firstJob()
	// An audit row and a pending-like approval row whose text holds the
	// secret as it is (the store is not the last line of defence).
	ctx := context.Background()
	if err := d.rig.Store.Audit(ctx, agents.AuditEntry{Agent: agentstest.Agent, Actor: "test", Action: "test.secret",
		Subject: "s", Detail: `{"token":"` + secret + `"}`}); err != nil {
		t.Fatal(err)
	}
	if err := d.rig.Store.Audit(ctx, agents.AuditEntry{Agent: agentstest.Agent, Actor: "agent:garden", Action: "egress.denied",
		Subject: "evil.example:443", Detail: `{"reason":"not allowed"}`}); err != nil {
		t.Fatal(err)
	}
	masked := d.rig.Redactor.String(secret)
	if masked == secret {
		t.Fatal("the redactor does not mask the secret")
	}
	pages := map[string][]string{
		"/": {agentstest.Agent, "the garden agent", "idle", "nightly at", "api.github.com",
			// spend as the budget check counts it: today's run, against the daily cap
			bot.USD(j.CostUSD) + " of $50.00"},
		"/agents/" + agentstest.Agent: {"agent garden summary", "api.github.com", "evil.example:443", "nightly", j.ID, "succeeded"},
		"/jobs/" + j.ID:               {"what is the key?", "the key is " + masked, "succeeded", "prompt"},
		"/approvals":                  {"Nothing waits for a decision"},
		"/audit?action=test.":         {"test.secret", masked},
		"/audit?agent=nobody":         {"Action prefix"},
		"/schedules":                  {"nightly", "interval", "Trigger now"},
	}
	for path, want := range pages {
		body := d.get(path, http.StatusOK)
		mustContain(t, path, body, want...)
		if strings.Contains(body, secret) {
			t.Errorf("%s shows the secret:\n%s", path, body)
		}
	}
	if body := d.get("/audit?action=test.", http.StatusOK); strings.Contains(body, "egress.denied") {
		t.Errorf("the audit filter did not filter:\n%s", body)
	}
	d.get("/agents/nobody", http.StatusNotFound)
	d.get("/jobs/NOSUCHJOB", http.StatusNotFound)
	d.get("/nowhere", http.StatusNotFound)
	// The live stream of an ended job replays it, redacted, and ends.
	resp, body := d.do("GET", "/jobs/"+j.ID+"/events", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	mustContain(t, "event stream", body, "event: ev", "event: end", "the key is "+strings.ReplaceAll(masked, `"`, `\"`))
	if strings.Contains(body, secret) {
		t.Errorf("the event stream shows the secret:\n%s", body)
	}
}

// TestApproveOnceFromTheWeb: a web approver's Allow once goes through
// the broker: the tool runs, the row says who, the audit says web:local.
// Without the CSRF token, or with another input's hash, nothing is
// decided.
func TestApproveOnceFromTheWeb(t *testing.T) {
	d := newDash(t, opts{webApprovers: []string{"local"}})
	a := d.pending()
	body := d.get("/approvals", http.StatusOK)
	mustContain(t, "approvals page", body, a.ID, a.InputHash, "touch allowed.txt", "Allow once", "Allow for this session", "Deny", "you are tester")
	if d.csrf == "" {
		t.Fatal("no CSRF token on the page")
	}
	// No CSRF token: refused and audited.
	resp, _ := d.do("POST", "/approvals/"+a.ID, url.Values{"choice": {"once"}, "hash": {a.InputHash}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST without CSRF: %d, want 403", resp.StatusCode)
	}
	resp, _ = d.do("POST", "/approvals/"+a.ID, url.Values{"choice": {"once"}, "hash": {a.InputHash}, "csrf": {strings.Repeat("0", 64)}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST with a wrong CSRF token: %d, want 403", resp.StatusCode)
	}
	if es := d.audit("web.refused"); len(es) != 2 || !strings.Contains(es[0].Detail, "CSRF") || es[0].Actor != "web:local" {
		t.Fatalf("refusals audited: %+v", es)
	}
	// Another hash than the stored input's: nothing decided.
	resp, _ = d.do("POST", "/approvals/"+a.ID, url.Values{"choice": {"once"}, "hash": {"beef"}, "csrf": {d.csrf}})
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("POST with another hash: %d, want 409", resp.StatusCode)
	}
	if row, _ := d.rig.Store.Approval(context.Background(), a.ID); row.Status != agents.Pending {
		t.Fatalf("approval decided by a refused request: %+v", row)
	}
	if _, err := os.Stat(filepath.Join(d.rig.Workspace, "allowed.txt")); err == nil {
		t.Fatal("the tool ran before approval")
	}
	resp, _ = d.do("POST", "/approvals/"+a.ID, url.Values{"choice": {"once"}, "hash": {a.InputHash}, "csrf": {d.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST allow once: %d, want 303", resp.StatusCode)
	}
	j := d.waitJob(a.JobID)
	if j.Status != agents.JobSucceeded {
		t.Fatalf("job %+v", j)
	}
	if _, err := os.Stat(filepath.Join(d.rig.Workspace, "allowed.txt")); err != nil {
		t.Fatalf("the approved tool did not run: %v", err)
	}
	row, err := d.rig.Store.Approval(context.Background(), a.ID)
	if err != nil || row.Status != agents.Allowed || row.DecidedBy != "web:local" {
		t.Fatalf("approval row %+v %v", row, err)
	}
	es := d.audit("approval.decided")
	if len(es) != 1 || es[0].Actor != "web:local" || es[0].Subject != a.ID {
		t.Fatalf("decision audit %+v", es)
	}
	body = d.get("/approvals", http.StatusOK)
	mustContain(t, "approvals page after", body, "Nothing waits", a.ID, "web:local")
	// Deciding again changes nothing and says so.
	resp, _ = d.do("POST", "/approvals/"+a.ID, url.Values{"choice": {"deny"}, "hash": {a.InputHash}, "csrf": {d.csrf}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "changed+nothing") {
		t.Fatalf("second decision: %d %s", resp.StatusCode, loc)
	}
	mustContain(t, "job page", d.get("/jobs/"+a.JobID, http.StatusOK), "approval_decided", "touch allowed.txt", "made the file")
}

// TestNonApproverCannotDecideOrTrigger: the local user is not a web
// approver when approvers.web lists only the operator: no buttons, a
// refused POST (audited), the approval still pending; no trigger either.
func TestNonApproverCannotDecideOrTrigger(t *testing.T) {
	d := newDash(t, opts{webApprovers: []string{"operator"}})
	a := d.pending()
	body := d.get("/approvals", http.StatusOK)
	mustContain(t, "approvals page", body, a.ID, "not a web approver")
	if strings.Contains(body, "Allow once") {
		t.Fatalf("a non-approver is shown the buttons:\n%s", body)
	}
	if strings.Contains(d.get("/schedules", http.StatusOK), "Trigger now") {
		t.Fatal("a non-approver is shown Trigger now")
	}
	resp, _ := d.do("POST", "/approvals/"+a.ID, url.Values{"choice": {"once"}, "hash": {a.InputHash}, "csrf": {d.csrf}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("non-approver POST: %d, want 403", resp.StatusCode)
	}
	if es := d.audit("approval.refused_not_approver"); len(es) != 1 || es[0].Actor != "web:local" || es[0].Subject != a.ID {
		t.Fatalf("refusal audit %+v", es)
	}
	resp, _ = d.do("POST", "/schedules/"+agentstest.Agent+"/nightly/trigger", url.Values{"csrf": {d.csrf}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("non-approver trigger: %d, want 403", resp.StatusCode)
	}
	if row, _ := d.rig.Store.Approval(context.Background(), a.ID); row.Status != agents.Pending {
		t.Fatalf("a non-approver decided: %+v", row)
	}
	if err := d.rig.Fleet.Cancel(a.JobID); err != nil {
		t.Fatal(err)
	}
	d.waitJob(a.JobID)
}

// TestTriggerScheduleFromTheWeb runs a schedule now through the
// scheduler, audited as the web user.
func TestTriggerScheduleFromTheWeb(t *testing.T) {
	d := newDash(t, opts{webApprovers: []string{"*"}, model: claudetest.Script(claudetest.Text("hi from the schedule"))})
	d.get("/schedules", http.StatusOK)
	resp, _ := d.do("POST", "/schedules/"+agentstest.Agent+"/nightly/trigger", url.Values{"csrf": {d.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("trigger: %d", resp.StatusCode)
	}
	if es := d.audit("web.trigger"); len(es) != 1 || es[0].Actor != "web:local" || es[0].Subject != "garden/nightly" {
		t.Fatalf("trigger audit %+v", es)
	}
	j := d.firstJob()
	if j.Schedule != "nightly" || j.Status != agents.JobSucceeded {
		t.Fatalf("triggered job %+v", j)
	}
}

// TestLoopbackRefusesForeignHostAndSessionlessPosts: a DNS-rebound page
// (any Host that is not a loopback name) gets nothing, and a POST
// without a session is refused.
func TestLoopbackRefusesForeignHostAndSessionlessPosts(t *testing.T) {
	d := newDash(t, opts{webApprovers: []string{"local"}})
	resp, _ := d.do("GET", "/", nil, "Host", "evil.example:9090")
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("foreign Host: %d, want 421", resp.StatusCode)
	}
	if d.cookie != nil {
		t.Fatal("a foreign Host was given a session")
	}
	// Proxy headers change nothing.
	resp, _ = d.do("GET", "/", nil, "Host", "evil.example", "X-Forwarded-Host", "127.0.0.1", "X-Forwarded-For", "127.0.0.1")
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("foreign Host with proxy headers: %d, want 421", resp.StatusCode)
	}
	resp, _ = d.do("POST", "/approvals/X", url.Values{"choice": {"once"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sessionless POST: %d, want 403", resp.StatusCode)
	}
	d.get("/", http.StatusOK)
	if d.cookie == nil {
		t.Fatal("no session cookie on loopback")
	}
}

// TestLoginWithToken: with a token (required off loopback), nothing is
// served before signing in; a wrong token is refused and audited; the
// right one gives the "operator" a session, and signing out ends it.
func TestLoginWithToken(t *testing.T) {
	const token = "web-login-token-0123456789abcdef"
	d := newDash(t, opts{webApprovers: []string{"operator"}, token: token, listen: "0.0.0.0:9090"})
	resp, _ := d.do("GET", "/", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("GET / before login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, p := range []string{"/jobs/X/events", "/approvals"} {
		if resp, _ := d.do("GET", p, nil); resp.StatusCode == http.StatusOK {
			t.Fatalf("GET %s before login: 200", p)
		}
	}
	if resp, _ := d.do("POST", "/approvals/X", url.Values{"choice": {"once"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST before login: %d", resp.StatusCode)
	}
	mustContain(t, "login page", d.get("/login", http.StatusOK), "Token (HERDBOT_WEB_TOKEN")
	if resp, _ := d.do("GET", "/static/style.css", nil); resp.StatusCode != http.StatusOK || d.cookie != nil {
		t.Fatalf("the sign-in page's style before signing in: %d, cookie %v", resp.StatusCode, d.cookie)
	}
	resp, _ = d.do("POST", "/login", url.Values{"password": {"wrong"}})
	if resp.StatusCode != http.StatusUnauthorized || d.cookie != nil {
		t.Fatalf("wrong token: %d, cookie %v", resp.StatusCode, d.cookie)
	}
	if es := d.audit("web.login_failed"); len(es) != 1 {
		t.Fatalf("failed login audit %+v", es)
	}
	resp, _ = d.do("POST", "/login", url.Values{"password": {token}})
	if resp.StatusCode != http.StatusSeeOther || d.cookie == nil {
		t.Fatalf("right token: %d, cookie %v", resp.StatusCode, d.cookie)
	}
	body := d.get("/", http.StatusOK)
	mustContain(t, "fleet page", body, "you are operator", "Sign out", agentstest.Agent)
	if strings.Contains(body, token) {
		t.Fatal("the page shows the token")
	}
	a := d.pending()
	mustContain(t, "approvals", d.get("/approvals", http.StatusOK), "Allow once")
	resp, _ = d.do("POST", "/approvals/"+a.ID, url.Values{"choice": {"deny"}, "hash": {a.InputHash}, "csrf": {d.csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("deny: %d", resp.StatusCode)
	}
	if row, _ := d.rig.Store.Approval(context.Background(), a.ID); row.Status != agents.Denied || row.DecidedBy != "web:operator" {
		t.Fatalf("approval %+v", row)
	}
	d.waitJob(a.JobID)
	old := d.cookie
	if resp, _ := d.do("POST", "/logout", url.Values{"csrf": {d.csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	d.cookie = old // a stolen cookie after sign-out
	if resp, _ := d.do("GET", "/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET / with the signed-out cookie: %d", resp.StatusCode)
	}
}

// TestJobPageFollowsTheRunLive opens the event stream of a job waiting
// for approval, decides it, and sees the tool's events and the end
// arrive on the stream.
func TestJobPageFollowsTheRunLive(t *testing.T) {
	d := newDash(t, opts{webApprovers: []string{"local"}})
	a := d.pending()
	d.waitEvent(a.JobID, "approval_requested")
	body := d.get("/jobs/"+a.JobID, http.StatusOK)
	mustContain(t, "live job page", body, `data-live="1"`, "/static/live.js", "approval_requested")
	req, _ := http.NewRequest("GET", d.srv.URL+"/jobs/"+a.JobID+"/events", nil)
	req.AddCookie(d.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var seen []string
	next := func(want string) {
		t.Helper()
		for sc.Scan() {
			seen = append(seen, sc.Text())
			if strings.Contains(sc.Text(), want) {
				return
			}
		}
		t.Fatalf("stream ended (%v) before %q; saw:\n%s", sc.Err(), want, strings.Join(seen, "\n"))
	}
	next("approval_requested") // the recorded events first
	if _, err := d.rig.Fleet.Decide(context.Background(), a.ID, bot.ChoiceOnce, "test", ""); err != nil {
		t.Fatal(err)
	}
	next("approval_decided")
	next("made the file")
	next("event: end")
	mustContain(t, "job page", d.get("/jobs/"+a.JobID, http.StatusOK), `data-live="0"`, "succeeded")
}

func TestStaticAssets(t *testing.T) {
	d := newDash(t, opts{})
	for _, p := range []string{"/static/live.js", "/static/style.css"} {
		resp, body := d.do("GET", p, nil)
		if resp.StatusCode != 200 || len(body) < 50 {
			t.Fatalf("GET %s: %d %d bytes", p, resp.StatusCode, len(body))
		}
	}
	resp, _ := d.do("GET", "/", nil)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("security headers: %v", resp.Header)
	}
}
