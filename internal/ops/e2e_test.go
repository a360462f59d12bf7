package ops_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/internal/metrics"
	"github.com/herdbot/herdbot/internal/ops"
	"github.com/herdbot/herdbot/sched"
)

var _ ops.Hooks = (*sched.Scheduler)(nil)

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

// TestWebhookThroughScheduler: a signed delivery runs through the real
// scheduler's Runner and report path.
func TestWebhookThroughScheduler(t *testing.T) {
	runner := recRunner{reqs: make(chan agents.RunRequest, 10)}
	poster := recPoster{msgs: make(chan bot.Message, 10)}
	sc, err := sched.New(sched.Config{}, runner, poster, &nopState{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := ghHook()
	h.PostTo = bot.Target{Platform: bot.Slack, Space: "T1", Channel: "C1"}
	if err := sc.Apply(t.Context(), []sched.Schedule{h}); err != nil {
		t.Fatal(err)
	}
	s := start(t, ops.Config{Hooks: sc}, h)
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
}
