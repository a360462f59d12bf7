package sched_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/sched"
)

// The webhook endpoint, sched.Webhooks, served as ops mounts it, in front
// of a real Scheduler whose Runner records (and can hold) the runs.

type hookRun struct{ agent, name, prompt string }

// hookRunner is the scheduler's Runner: it records each run; with block
// set, a run waits for its ctx to end or for release to be closed.
type hookRunner struct {
	block   bool
	release chan struct{}
	runs    chan hookRun
	ended   chan hookRun // runs that returned after their ctx ended
}

func (f *hookRunner) Run(ctx context.Context, req agents.RunRequest) (agents.RunResult, error) {
	r := hookRun{req.Agent, req.Schedule, req.Prompt}
	f.runs <- r
	if f.block {
		select {
		case <-ctx.Done():
			f.ended <- r
			return agents.RunResult{}, ctx.Err()
		case <-f.release:
		}
	}
	return agents.RunResult{Job: agents.Job{ID: "j-1", Status: agents.JobSucceeded}}, nil
}

// actions returns the audit rows of action.
func (m *memState) actions(action string) []agents.AuditEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []agents.AuditEntry
	for _, r := range m.audits {
		if r.Action == action {
			out = append(out, r)
		}
	}
	return out
}

const secret = "it's a secret to everybody"

func ghHook() sched.Schedule {
	return sched.Schedule{Agent: "garden", Name: "github", Type: sched.TypeWebhook, Enabled: true, Secret: secret,
		Prompt: "New issue: {{issue.title}} by {{sender.login}}", Fields: []string{"issue.title", "sender.login"}}
}

type server struct {
	t     *testing.T
	url   string
	clk   *clockwork.FakeClock
	sc    *sched.Scheduler
	hooks *hookRunner
	audit *memState
	stop  func() error
	// applyErr is what Apply said of the hooks.
	applyErr error
}

// start runs a scheduler with hooks applied (StopGrace grace, 1 min when
// 0) and serves its webhook endpoint with cfg.
func start(t *testing.T, cfg sched.WebhookConfig, grace time.Duration, hooks ...sched.Schedule) *server {
	t.Helper()
	fh := &hookRunner{runs: make(chan hookRun, 100), ended: make(chan hookRun, 100), release: make(chan struct{})}
	clk := clockwork.NewFakeClockAt(t0)
	st := newMemState()
	sc, err := sched.New(sched.Config{Clock: clk, StopGrace: grace,
		Redact: func(s string) string { return strings.ReplaceAll(s, "hunter2", "[REDACTED]") }},
		fh, nopPoster{}, st, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	applyErr := sc.Apply(t.Context(), hooks)
	mux := http.NewServeMux()
	mux.Handle(sched.WebhookPattern, sc.Webhooks(cfg))
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sc.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &server{t: t, url: hs.URL, clk: clk, sc: sc, hooks: fh, audit: st, stop: stop, applyErr: applyErr}
}

type req struct {
	method   string
	path     string
	body     []byte
	secret   string // "" = no signature header
	sig      string // overrides the computed signature
	ts       string // X-Herdbot-Timestamp
	signTS   string // timestamp used for signing (default ts)
	delivery string
}

func (s *server) do(r req) (*http.Response, string) {
	s.t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	if r.path == "" {
		r.path = "/hooks/garden/github"
	}
	hr, err := http.NewRequest(r.method, s.url+r.path, bytes.NewReader(r.body))
	if err != nil {
		s.t.Fatal(err)
	}
	if r.secret != "" {
		signTS := r.ts
		if r.signTS != "" {
			signTS = r.signTS
		}
		hr.Header.Set(sched.HeaderSignature, "sha256="+hex.EncodeToString(sched.Sign([]byte(r.secret), signTS, r.body)))
	}
	if r.sig != "" {
		hr.Header.Set(sched.HeaderSignature, r.sig)
	}
	if r.ts != "" {
		hr.Header.Set(sched.HeaderTimestamp, r.ts)
	}
	if r.delivery != "" {
		hr.Header.Set(sched.HeaderDelivery, r.delivery)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (s *server) nextRun() hookRun {
	s.t.Helper()
	select {
	case r := <-s.hooks.runs:
		return r
	case <-time.After(wait):
		s.t.Fatal("no run")
		return hookRun{}
	}
}

// stopAndCountRuns stops the scheduler (it waits for every run it started)
// and returns how many runs were left unread.
func (s *server) stopAndCountRuns() int {
	s.t.Helper()
	if err := s.stop(); err != nil {
		s.t.Fatalf("Run: %v", err)
	}
	n := 0
	for {
		select {
		case <-s.hooks.runs:
			n++
		default:
			return n
		}
	}
}

var payload = []byte(`{"action":"opened","issue":{"title":"Aphids on the roses, password hunter2"},"sender":{"login":"octocat"},"token":"ghp_x"}`)

func TestWebhookGoodSignatureRuns(t *testing.T) {
	s := start(t, sched.WebhookConfig{}, 0, ghHook())
	resp, body := s.do(req{body: payload, secret: secret, delivery: "d-1"})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d %s, want 202", resp.StatusCode, body)
	}
	r := s.nextRun()
	want := hookRun{"garden", "github", "New issue: Aphids on the roses, password [REDACTED] by octocat"}
	if r != want {
		t.Fatalf("run %+v, want %+v", r, want)
	}
	if rows := s.audit.actions("webhook.accepted"); len(rows) != 1 || rows[0].Subject != "garden/github" || !strings.Contains(rows[0].Detail, "d-1") {
		t.Fatalf("accepted rows %+v", rows)
	}

	// With a timestamp, the signature covers it.
	ts := strconv.FormatInt(t0.Unix()-60, 10)
	if resp, body := s.do(req{body: payload, secret: secret, ts: ts}); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("timestamped: status %d %s, want 202", resp.StatusCode, body)
	}
	s.nextRun()
}

func TestWebhookRefused(t *testing.T) {
	now := strconv.FormatInt(t0.Unix(), 10)
	old := strconv.FormatInt(t0.Add(-6*time.Minute).Unix(), 10)
	future := strconv.FormatInt(t0.Add(6*time.Minute).Unix(), 10)
	for _, tc := range []struct {
		name   string
		r      req
		status int
		reason string
	}{
		{"missing signature", req{body: payload}, 401, "missing signature"},
		{"bad signature", req{body: payload, secret: "wrong secret"}, 401, "bad signature"},
		{"malformed signature", req{body: payload, sig: "sha256=zz"}, 401, "malformed signature"},
		{"sha1 signature", req{body: payload, sig: "sha1=" + strings.Repeat("ab", 20)}, 401, "malformed signature"},
		{"tampered body", req{body: append(payload[:len(payload)-1:len(payload)-1], ' ', '}'), sig: "sha256=" + hex.EncodeToString(sched.Sign([]byte(secret), "", payload))}, 401, "bad signature"},
		{"old timestamp", req{body: payload, secret: secret, ts: old}, 401, "replay window"},
		{"future timestamp", req{body: payload, secret: secret, ts: future}, 401, "replay window"},
		{"timestamp swapped after signing", req{body: payload, secret: secret, ts: now, signTS: old}, 401, "bad signature"},
		{"malformed timestamp", req{body: payload, secret: secret, ts: "yesterday"}, 400, "malformed timestamp"},
		{"wrong method", req{method: http.MethodGet}, 405, "method GET"},
		{"unknown hook", req{path: "/hooks/garden/nope", body: payload, secret: secret}, 404, "unknown hook"},
		{"unknown agent", req{path: "/hooks/..%2Fetc/github", body: payload, secret: secret}, 404, "unknown hook"},
		{"oversize", req{body: bytes.Repeat([]byte("a"), sched.DefaultBodyLimit+1), secret: secret}, 413, "body over"},
		{"not JSON", req{body: []byte("hello"), secret: secret, delivery: "d-1"}, 400, "not JSON"},
		{"neither timestamp nor delivery id", req{body: payload, secret: secret}, 400, "neither X-Herdbot-Timestamp nor X-GitHub-Delivery"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, sched.WebhookConfig{}, 0, ghHook())
			resp, body := s.do(tc.r)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.reason) {
				t.Fatalf("got %d %s, want %d %q", resp.StatusCode, body, tc.status, tc.reason)
			}
			if tc.status == 405 && resp.Header.Get("Allow") != "POST" {
				t.Errorf("Allow %q", resp.Header.Get("Allow"))
			}
			rows := s.audit.actions("webhook.refused")
			if len(rows) != 1 || !strings.Contains(rows[0].Detail, tc.reason) {
				t.Fatalf("audit rows %+v, want one with %q", rows, tc.reason)
			}
			if strings.Contains(rows[0].Detail, "hunter2") || strings.Contains(rows[0].Detail, "sha256=") {
				t.Fatalf("audit row leaks the body or signature: %s", rows[0].Detail)
			}
			if n := s.stopAndCountRuns(); n != 0 {
				t.Fatalf("%d runs, want none", n)
			}
		})
	}
}

func TestWebhookOversizeWithoutContentLength(t *testing.T) {
	s := start(t, sched.WebhookConfig{BodyLimit: 64}, 0, ghHook())
	big := bytes.Repeat([]byte("x"), 65)
	hr, _ := http.NewRequest(http.MethodPost, s.url+"/hooks/garden/github", io.MultiReader(bytes.NewReader(big)))
	hr.ContentLength = -1 // chunked
	hr.Header.Set(sched.HeaderSignature, "sha256="+hex.EncodeToString(sched.Sign([]byte(secret), "", big)))
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	if n := s.stopAndCountRuns(); n != 0 {
		t.Fatalf("%d runs, want none", n)
	}
}

func TestWebhookReplay(t *testing.T) {
	s := start(t, sched.WebhookConfig{}, 0, ghHook())
	first := req{body: payload, secret: secret, delivery: "d-7"}
	if resp, _ := s.do(first); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first: %d", resp.StatusCode)
	}
	s.nextRun()
	if resp, body := s.do(first); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "replayed") {
		t.Fatalf("replay: %d %s, want 409", resp.StatusCode, body)
	}
	// The delivery id is not signed: changing it does not make the same
	// signed body new; removing it leaves nothing to tell a replay by.
	if resp, body := s.do(req{body: payload, secret: secret, delivery: "d-8"}); resp.StatusCode != http.StatusConflict {
		t.Fatalf("replay with another delivery id: %d %s, want 409", resp.StatusCode, body)
	}
	if resp, body := s.do(req{body: payload, secret: secret}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("replay without a delivery id: %d %s, want 400", resp.StatusCode, body)
	}
	// A timestamped request replayed without a delivery id.
	ts := strconv.FormatInt(t0.Unix(), 10)
	stamped := req{body: payload, secret: secret, ts: ts}
	if resp, _ := s.do(stamped); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("stamped: %d", resp.StatusCode)
	}
	s.nextRun()
	if resp, _ := s.do(stamped); resp.StatusCode != http.StatusConflict {
		t.Fatalf("stamped replay: %d, want 409", resp.StatusCode)
	}
	if rows := s.audit.actions("webhook.refused"); len(rows) != 4 {
		t.Fatalf("%d refused rows, want 4", len(rows))
	}
	// Delivery ids are forgotten after DeliveryTTL.
	s.clk.Advance(sched.DefaultDeliveryTTL + time.Second)
	if resp, _ := s.do(first); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("after TTL: %d, want 202", resp.StatusCode)
	}
	s.nextRun()
	if n := s.stopAndCountRuns(); n != 0 {
		t.Fatalf("%d extra runs", n)
	}
}

func TestWebhookFlood(t *testing.T) {
	s := start(t, sched.WebhookConfig{WebhookRate: sched.Rate{N: 2, Per: time.Minute}}, 0, ghHook())
	var codes []int
	body := func(i int) []byte { return fmt.Appendf(nil, `{"issue":{"title":"bug %d"}}`, i) }
	for i := range 5 {
		resp, _ := s.do(req{body: body(i), secret: secret, delivery: fmt.Sprint("flood-", i)})
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if want := []int{202, 202, 429, 429, 429}; fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Fatalf("codes %v, want %v", codes, want)
	}
	// A rate-limited delivery is not remembered: its redelivery can pass later.
	s.clk.Advance(30 * time.Second)
	if resp, _ := s.do(req{body: body(2), secret: secret, delivery: "flood-2"}); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("after refill: %d, want 202", resp.StatusCode)
	}
	if rows := s.audit.actions("webhook.refused"); len(rows) != 3 {
		t.Fatalf("%d refused rows, want 3", len(rows))
	}
	if n := s.stopAndCountRuns(); n != 3 {
		t.Fatalf("%d runs, want 3", n)
	}
}

func TestRefusedAuditRowsAreCapped(t *testing.T) {
	s := start(t, sched.WebhookConfig{AuditRate: sched.Rate{N: 2, Per: time.Minute}}, 0, ghHook())
	for range 5 {
		s.do(req{body: payload})
	}
	if rows := s.audit.actions("webhook.refused"); len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	s.clk.Advance(time.Minute)
	s.do(req{body: payload})
	rows := s.audit.actions("webhook.refused")
	if len(rows) != 3 || !strings.Contains(rows[2].Detail, `"unaudited_before":"3"`) {
		t.Fatalf("rows %+v, want a third saying 3 went unaudited", rows)
	}
}

// TestShutdownGivesWebhookRunsTheirGrace: on shutdown a webhook run is not
// cancelled (the fleet gives it the grace every run gets); Run waits for
// it, and cancels it only StopGrace later.
func TestShutdownGivesWebhookRunsTheirGrace(t *testing.T) {
	s := start(t, sched.WebhookConfig{}, time.Minute, ghHook())
	s.hooks.block = true
	if resp, _ := s.do(req{body: payload, secret: secret, delivery: "grace-1"}); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	s.nextRun()
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	// Run is waiting for the run once it has armed its backstop timer.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.clk.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.hooks.ended:
		t.Fatal("the webhook run was cancelled at shutdown")
	case <-stopped:
		t.Fatal("Run returned while the webhook run was going")
	default:
	}
	s.clk.Advance(time.Minute)
	select {
	case <-s.hooks.ended: // cancelled by the backstop
	case <-time.After(20 * time.Second):
		t.Fatal("the webhook run was not cancelled after StopGrace")
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

// TestShutdownWaitsForAWebhookRunThatEnds: a webhook run that ends within
// the grace ends as it would have; Run returns after it.
func TestShutdownWaitsForAWebhookRunThatEnds(t *testing.T) {
	s := start(t, sched.WebhookConfig{}, 0, ghHook())
	s.hooks.block = true
	if resp, _ := s.do(req{body: payload, secret: secret, delivery: "d-1"}); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	s.nextRun()
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.clk.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	close(s.hooks.release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.hooks.ended:
		t.Fatal("the webhook run was cancelled")
	default:
	}
}

func TestTooManyRunsGoing(t *testing.T) {
	s := start(t, sched.WebhookConfig{MaxInFlight: 1}, 0, ghHook())
	s.hooks.block = true
	t.Cleanup(func() { close(s.hooks.release) }) // before the server's own cleanup stops it
	s.do(req{body: payload, secret: secret, delivery: "a"})
	s.nextRun()
	b := req{body: []byte(`{"other":1}`), secret: secret, delivery: "b"}
	if resp, _ := s.do(b); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	// It did not run, so it is not remembered: its retry is not a replay.
	if resp, body := s.do(b); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("retry: %d %s, want 503 again (not a replay)", resp.StatusCode, body)
	}
}

// A hook without a secret could be signed by anyone: the scheduler does
// not take it, and the endpoint answers it as unknown.
func TestWebhookWithoutSecretRefused(t *testing.T) {
	h := ghHook()
	h.Secret = ""
	s := start(t, sched.WebhookConfig{}, 0, h)
	if s.applyErr == nil || !strings.Contains(s.applyErr.Error(), "secret is required") {
		t.Fatalf("Apply = %v, want the hook refused for its missing secret", s.applyErr)
	}
	if resp, _ := s.do(req{body: payload, sig: "sha256=" + hex.EncodeToString(sched.Sign(nil, "", payload))}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d, want 404", resp.StatusCode)
	}
	if n := s.stopAndCountRuns(); n != 0 {
		t.Fatalf("%d runs, want none", n)
	}
}
