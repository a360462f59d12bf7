package main

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/internal/testenv"
)

// TestStartRefusesAnOpenDashboardWithoutALogin: on a non-loopback
// http.listen without HERDBOT_WEB_TOKEN, herdbot start refuses to start
// and says what to set; with web.enabled: false it starts.
func TestStartRefusesAnOpenDashboardWithoutALogin(t *testing.T) {
	claude := testenv.RequireClaude(t)
	dir := t.TempDir()
	fleet := filepath.Join(dir, "herdbot.yaml")
	base := "version: 1\nfleet:\n  name: e2e-web\nhttp:\n  listen: 0.0.0.0:0\nagents:\n  - path: agents/garden\n    overrides:\n      docker:\n        enabled: false\n"
	write(t, fleet, base)
	write(t, filepath.Join(dir, "agents", "garden", "agent.yaml"), "name: garden\n")
	_, stderr, code := cli2(t, fleet, "start", "--claude", claude)
	if code == 0 || !strings.Contains(stderr, "HERDBOT_WEB_TOKEN") || !strings.Contains(stderr, "HERDBOT_WEB_PASSWORD_HASH") ||
		!strings.Contains(stderr, "not a loopback address") {
		t.Fatalf("start on 0.0.0.0 without a login: exit %d, stderr:\n%s", code, stderr)
	}
	write(t, fleet, base+"web:\n  enabled: false\n")
	s := startService(t, fleet)
	s.expectLog(t, `dashboard="off (web.enabled: false)"`)
}

var dashURL = regexp.MustCompile(`dashboard=(http://127\.0\.0\.1:\d+/)`)

// TestStartServesTheDashboard: herdbot start serves the dashboard on
// http.listen; with HERDBOT_WEB_TOKEN in the fleet .env it asks for it.
func TestStartServesTheDashboard(t *testing.T) {
	dir := t.TempDir()
	fleet := filepath.Join(dir, "herdbot.yaml")
	write(t, fleet, "version: 1\nfleet:\n  name: e2e-web\nhttp:\n  listen: 127.0.0.1:0\nagents:\n  - path: agents/garden\n    overrides:\n      docker:\n        enabled: false\n")
	write(t, filepath.Join(dir, "agents", "garden", "agent.yaml"), "name: garden\n")
	write(t, filepath.Join(dir, ".env"), "HERDBOT_WEB_TOKEN=dashboard-token-0123456789abcdef\n")
	if err := os.Chmod(filepath.Join(dir, ".env"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startService(t, fleet)
	s.expectLog(t, "dashboard=http://")
	m := dashURL.FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no dashboard URL in the log:\n%s", s.stderr.String())
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("GET / with a token configured: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Signed in, the fleet page shows the agent as the running herdbot
	// has it: native, on the console.
	body := signInAndGet(t, m[1], "dashboard-token-0123456789abcdef")
	for _, want := range []string{"garden", "native (no isolation)", "console", "you are operator"} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("fleet page lacks %q:\n%s", want, body)
		}
	}
	resp, err = c.Get(m[1] + "healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz beside the dashboard: %d", resp.StatusCode)
	}
}

// TestHashPasswordSignsIn: the line `herdbot web hash-password` prints,
// put in the fleet .env, is a login: herdbot starts on a non-loopback
// http.listen, a wrong password is refused, and the password signs in as
// the operator.
func TestHashPasswordSignsIn(t *testing.T) {
	const pw = "a long and secret passphrase"
	var out, errb strings.Builder
	if err := run(t.Context(), []string{"web", "hash-password", "--cost", "10"}, strings.NewReader(pw+"\n"), &out, &errb); err != nil {
		t.Fatalf("web hash-password: %v\n%s", err, errb.String())
	}
	line := strings.TrimSpace(out.String())
	if !regexp.MustCompile(`^HERDBOT_WEB_PASSWORD_HASH='\$2a\$10\$[./A-Za-z0-9]{53}'$`).MatchString(line) || strings.Contains(line, pw) {
		t.Fatalf("web hash-password printed %q", line)
	}
	if err := run(t.Context(), []string{"web", "hash-password"}, strings.NewReader(""), &out, &errb); err == nil {
		t.Fatal("web hash-password of an empty password: no error")
	}
	dir := t.TempDir()
	fleet := filepath.Join(dir, "herdbot.yaml")
	write(t, fleet, "version: 1\nfleet:\n  name: e2e-web-pw\nhttp:\n  listen: 0.0.0.0:0\nagents:\n  - path: agents/garden\n    overrides:\n      docker:\n        enabled: false\n")
	write(t, filepath.Join(dir, "agents", "garden", "agent.yaml"), "name: garden\n")
	write(t, filepath.Join(dir, ".env"), line+"\n")
	if err := os.Chmod(filepath.Join(dir, ".env"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startService(t, fleet)
	s.expectLog(t, "dashboard=http://")
	m := regexp.MustCompile(`dashboard=http://\S+:(\d+)/`).FindStringSubmatch(s.stderr.String())
	if m == nil {
		t.Fatalf("no dashboard address in the log:\n%s", s.stderr.String())
	}
	base := "http://127.0.0.1:" + m[1] + "/"
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(base+"login", url.Values{"password": {"not it"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	if body := signInAndGet(t, base, pw); !strings.Contains(body, "you are operator") {
		t.Fatalf("fleet page after signing in:\n%s", body)
	}
}

// signInAndGet signs in to the dashboard at base with secret and returns
// the fleet page it then shows.
func signInAndGet(t *testing.T, base, secret string) string {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(base+"login", url.Values{"password": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) == 0 {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", base, nil)
	req.AddCookie(resp.Cookies()[0])
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("fleet page after signing in: %d\n%s", resp.StatusCode, body)
	}
	return string(body)
}
