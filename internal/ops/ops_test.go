package ops_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/internal/metrics"
	"github.com/herdbot/herdbot/internal/ops"
	"github.com/herdbot/herdbot/sched"
)

const wait = 20 * time.Second // guard against a hung test only

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

type server struct {
	t    *testing.T
	url  string
	stop func() error
}

func start(t *testing.T, cfg ops.Config) *server {
	t.Helper()
	if cfg.Redact == nil {
		cfg.Redact = func(s string) string { return strings.ReplaceAll(s, "hunter2", "[REDACTED]") }
	}
	srv := ops.New(cfg, slog.New(slog.NewTextHandler(t.Output(), nil)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
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
	return &server{t: t, url: "http://" + ln.Addr().String(), stop: stop}
}

type req struct {
	method   string
	path     string
	body     []byte
	secret   string
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
		hr.Header.Set(sched.HeaderSignature, "sha256="+hex.EncodeToString(sched.Sign([]byte(r.secret), "", r.body)))
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

const secret = "it's a secret to everybody"

var payload = []byte(`{"action":"opened","issue":{"title":"Aphids on the roses, password hunter2"},"sender":{"login":"octocat"},"token":"ghp_x"}`)

func ghHook() sched.Schedule {
	return sched.Schedule{Agent: "garden", Name: "github", Type: sched.TypeWebhook, Enabled: true, Secret: secret,
		Prompt: "New issue: {{issue.title}} by {{sender.login}}", Fields: []string{"issue.title", "sender.login"}}
}

func TestHealthz(t *testing.T) {
	okCheck := func(context.Context) error { return nil }
	s := start(t, ops.Config{Checks: []ops.Check{
		{Name: "store", Func: okCheck}, {Name: "engine", Func: okCheck}, {Name: "chat:garden:discord", Func: okCheck},
	}})
	resp, body := s.do(req{method: http.MethodGet, path: "/healthz"})
	if resp.StatusCode != 200 || !strings.Contains(body, `"status":"ok"`) || !strings.Contains(body, `{"name":"chat:garden:discord","ok":true}`) {
		t.Fatalf("healthy: %d %s", resp.StatusCode, body)
	}

	s2 := start(t, ops.Config{Checks: []ops.Check{
		{Name: "store", Func: okCheck},
		{Name: "engine", Func: func(context.Context) error { return errors.New("docker: dial unix: password hunter2") }},
		{Name: "chat:garden:slack", Func: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
	}, CheckTimeout: 10 * time.Millisecond})
	resp, body = s2.do(req{method: http.MethodGet, path: "/healthz"})
	if resp.StatusCode != 503 || !strings.Contains(body, `"status":"unhealthy"`) ||
		!strings.Contains(body, `"name":"engine","ok":false,"error":"docker: dial unix: password [REDACTED]"`) ||
		!strings.Contains(body, `"name":"chat:garden:slack","ok":false,"error":"context deadline exceeded"`) ||
		!strings.Contains(body, `{"name":"store","ok":true}`) {
		t.Fatalf("unhealthy: %d %s", resp.StatusCode, body)
	}
	if resp, _ := s2.do(req{method: http.MethodPost, path: "/healthz"}); resp.StatusCode != 405 {
		t.Fatalf("POST /healthz: %d", resp.StatusCode)
	}
}

// TestHealthzPartial: a Partial check (a remote engine) that fails makes
// the status "degraded" and keeps 200; a failing whole-service check still
// makes it 503. An Info check's text is the result's detail.
func TestHealthzPartial(t *testing.T) {
	version := func(context.Context) (string, error) { return "20.10.24", nil }
	down := func(context.Context) (string, error) {
		return "", errors.New("engine box2 at tcp://box2:2376: connection refused")
	}
	s := start(t, ops.Config{Checks: []ops.Check{
		{Name: "store", Func: func(context.Context) error { return nil }},
		{Name: "engine", Info: version},
		{Name: "engine:box2", Info: down, Partial: true},
	}})
	resp, body := s.do(req{method: http.MethodGet, path: "/healthz"})
	if resp.StatusCode != 200 || !strings.Contains(body, `"status":"degraded"`) ||
		!strings.Contains(body, `{"name":"engine","ok":true,"detail":"20.10.24"}`) ||
		!strings.Contains(body, `{"name":"engine:box2","ok":false,"error":"engine box2 at tcp://box2:2376: connection refused"}`) {
		t.Fatalf("degraded: %d %s", resp.StatusCode, body)
	}
	s2 := start(t, ops.Config{Checks: []ops.Check{
		{Name: "engine", Info: func(context.Context) (string, error) { return "", errors.New("down") }},
		{Name: "engine:box2", Info: down, Partial: true},
	}})
	if resp, body := s2.do(req{method: http.MethodGet, path: "/healthz"}); resp.StatusCode != 503 || !strings.Contains(body, `"status":"unhealthy"`) {
		t.Fatalf("local engine down too: %d %s", resp.StatusCode, body)
	}
}

type recRunner struct{ reqs chan agents.RunRequest }

func (r recRunner) Run(_ context.Context, req agents.RunRequest) (agents.RunResult, error) {
	r.reqs <- req
	return agents.RunResult{Job: agents.Job{ID: "job-77", Status: agents.JobSucceeded, CostUSD: 0.5,
		Started: t0, Finished: t0.Add(3 * time.Second)}, Text: "Spray neem oil."}, nil
}

type recPoster struct{ msgs chan bot.Message }

func (p recPoster) Post(_ context.Context, _ string, _ bot.Target, m bot.Message) error {
	p.msgs <- m
	return nil
}

// nopState keeps nothing; every slot is claimable.
type nopState struct{}

func (n *nopState) ScheduleState(context.Context, string, string) (agents.ScheduleState, error) {
	return agents.ScheduleState{}, agents.ErrNotFound
}
func (n *nopState) PutScheduleState(context.Context, agents.ScheduleState) error   { return nil }
func (n *nopState) ScheduleStates(context.Context) ([]agents.ScheduleState, error) { return nil, nil }
func (n *nopState) ClaimSlot(context.Context, string, string, time.Time) (bool, error) {
	return true, nil
}
func (n *nopState) Audit(context.Context, agents.AuditEntry) error { return nil }

// TestWebhookThroughScheduler: ops mounts the scheduler's webhook
// endpoint; a signed delivery runs through the real scheduler's Runner and
// report path.
func TestWebhookThroughScheduler(t *testing.T) {
	runner := recRunner{reqs: make(chan agents.RunRequest, 10)}
	poster := recPoster{msgs: make(chan bot.Message, 10)}
	sc, err := sched.New(sched.Config{Redact: func(s string) string { return strings.ReplaceAll(s, "hunter2", "[REDACTED]") }},
		runner, poster, &nopState{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := ghHook()
	h.PostTo = bot.Target{Platform: bot.Slack, Space: "T1", Channel: "C1"}
	if err := sc.Apply(t.Context(), []sched.Schedule{h}); err != nil {
		t.Fatal(err)
	}
	s := start(t, ops.Config{Hooks: sc.Webhooks(sched.WebhookConfig{})})
	if resp, body := s.do(req{body: payload, secret: secret, delivery: "x"}); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d %s", resp.StatusCode, body)
	}
	var got agents.RunRequest
	select {
	case got = <-runner.reqs:
	case <-time.After(wait):
		t.Fatal("no run")
	}
	want := agents.RunRequest{Agent: "garden", Prompt: "New issue: Aphids on the roses, password [REDACTED] by octocat",
		Trigger: agents.TriggerWebhook, Schedule: "github", Target: h.PostTo, Silent: true}
	if got != want {
		t.Fatalf("request %+v, want %+v", got, want)
	}
	var m bot.Message
	select {
	case m = <-poster.msgs:
	case <-time.After(wait):
		t.Fatal("no report")
	}
	if !strings.Contains(m.Text, "**github**") || !strings.Contains(m.Text, "job `job-77`") || !strings.Contains(m.Text, "Spray neem oil.") {
		t.Fatalf("report %q", m.Text)
	}
	// A disabled webhook is unknown.
	h.Enabled = false
	if err := sc.Apply(t.Context(), []sched.Schedule{h}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := s.do(req{body: payload, secret: secret, delivery: "y"}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("disabled hook: %d, want 404", resp.StatusCode)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.ScheduleLag("garden", "weather", 3*time.Millisecond)
	m.RunFinished("garden", "schedule", "succeeded", time.Minute)
	m.ChatConnected("garden", "discord", true)
	s := start(t, ops.Config{Gatherer: reg})
	resp, body := s.do(req{method: http.MethodGet, path: "/metrics"})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, w := range []string{
		`herdbot_schedule_lag_seconds_count{agent="garden",schedule="weather"} 1`,
		`herdbot_runs_total{agent="garden",outcome="succeeded",trigger="schedule"} 1`,
		`herdbot_run_duration_seconds_bucket{agent="garden",outcome="succeeded",trigger="schedule",le="60"} 1`,
		`herdbot_chat_connected{agent="garden",platform="discord"} 1`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
	s2 := start(t, ops.Config{})
	if resp, _ := s2.do(req{method: http.MethodGet, path: "/metrics"}); resp.StatusCode != 404 {
		t.Fatalf("no gatherer: /metrics %d, want 404", resp.StatusCode)
	}
	if resp, _ := s2.do(req{body: payload, secret: secret, delivery: "z"}); resp.StatusCode != 404 {
		t.Fatalf("no hooks: /hooks %d, want 404", resp.StatusCode)
	}
}
