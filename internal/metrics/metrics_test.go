package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/herdbot/herdbot/internal/metrics"
)

func TestSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.RunFinished("garden", "schedule", "succeeded", 90*time.Second)
	m.RunFinished("garden", "schedule", "succeeded", 30*time.Second)
	m.RunFinished("garden", "chat", "failed", time.Second)
	m.ApprovalDecided("garden", "denied", 12*time.Second)
	m.QueueDepth("garden", 3)
	m.ScheduleLag("garden", "weather", 20*time.Millisecond)
	m.Egress("local", "garden", true)
	m.Egress("box2", "garden", false)
	m.Egress("box2", "garden", false)
	m.ChatConnected("garden", "discord", true)
	m.ChatConnected("garden", "slack", false)
	m.DiskUsage("garden", 9<<20, 8<<20)
	m.DiskOverLimit("garden", "refused")
	m.DiskOverLimit("garden", "refused")
	m.DiskOverLimit("garden", "stopped")
	m.BudgetRefused("garden", "daily")
	m.BudgetRefused("garden", "daily")
	m.BudgetRefused("homelab", "monthly")

	want := `
# HELP herdbot_runs_total Agent runs by agent, trigger (chat, schedule, webhook, cli) and outcome (job status).
# TYPE herdbot_runs_total counter
herdbot_runs_total{agent="garden",outcome="failed",trigger="chat"} 1
herdbot_runs_total{agent="garden",outcome="succeeded",trigger="schedule"} 2
# HELP herdbot_approvals_total Tool approval decisions by agent and outcome (allowed, allowed_session, denied, expired).
# TYPE herdbot_approvals_total counter
herdbot_approvals_total{agent="garden",outcome="denied"} 1
# HELP herdbot_queue_depth Runs waiting for a slot under the agent's concurrency cap.
# TYPE herdbot_queue_depth gauge
herdbot_queue_depth{agent="garden"} 3
# HELP herdbot_egress_total Egress proxy connections by agent, decision (allowed, denied) and the Docker engine its sidecar runs on (local, or a name from engines:).
# TYPE herdbot_egress_total counter
herdbot_egress_total{agent="garden",decision="allowed",engine="local"} 1
herdbot_egress_total{agent="garden",decision="denied",engine="box2"} 2
# HELP herdbot_chat_connected 1 when the agent's chat connection on the platform is up, else 0.
# TYPE herdbot_chat_connected gauge
herdbot_chat_connected{agent="garden",platform="discord"} 1
herdbot_chat_connected{agent="garden",platform="slack"} 0
# HELP herdbot_disk_usage_bytes Disk space the agent's writable places (rw workspace, HOME) took at the last measurement.
# TYPE herdbot_disk_usage_bytes gauge
herdbot_disk_usage_bytes{agent="garden"} 9.437184e+06
# HELP herdbot_disk_limit_bytes The agent's docker.disk_limit.
# TYPE herdbot_disk_limit_bytes gauge
herdbot_disk_limit_bytes{agent="garden"} 8.388608e+06
# HELP herdbot_disk_over_limit_total Runs refused before they started (refused) or stopped while running (stopped) because the agent was over its disk limit.
# TYPE herdbot_disk_over_limit_total counter
herdbot_disk_over_limit_total{action="refused",agent="garden"} 2
herdbot_disk_over_limit_total{action="stopped",agent="garden"} 1
# HELP herdbot_budget_refusals_total Runs refused before they started because the agent had reached its budget: daily, monthly, or unknown (its spend could not be read).
# TYPE herdbot_budget_refusals_total counter
herdbot_budget_refusals_total{agent="garden",period="daily"} 2
herdbot_budget_refusals_total{agent="homelab",period="monthly"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"herdbot_runs_total", "herdbot_approvals_total", "herdbot_queue_depth", "herdbot_egress_total", "herdbot_chat_connected",
		"herdbot_disk_usage_bytes", "herdbot_disk_limit_bytes", "herdbot_disk_over_limit_total", "herdbot_budget_refusals_total"); err != nil {
		t.Fatal(err)
	}
	// Histograms: count and sum.
	for name, wantCount := range map[string]int{
		"herdbot_run_duration_seconds":     3,
		"herdbot_approval_latency_seconds": 1,
		"herdbot_schedule_lag_seconds":     1,
	} {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var got uint64
		for _, mf := range mfs {
			if mf.GetName() == name {
				for _, mt := range mf.GetMetric() {
					got += mt.GetHistogram().GetSampleCount()
				}
			}
		}
		if got != uint64(wantCount) {
			t.Errorf("%s: %d samples, want %d", name, got, wantCount)
		}
	}
}

// A nil *Metrics must not panic on any method.
func TestNilIsNoOp(t *testing.T) {
	var m *metrics.Metrics
	m.RunFinished("a", "chat", "succeeded", time.Second)
	m.ApprovalDecided("a", "allowed", time.Second)
	m.QueueDepth("a", 1)
	m.ScheduleLag("a", "s", time.Second)
	m.Egress("local", "a", true)
	m.ChatConnected("a", "discord", true)
	m.DiskUsage("a", 1, 2)
	m.DiskOverLimit("a", "refused")
}

func TestTwoOnOneRegistryShareSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, b := metrics.New(reg), metrics.New(reg)
	a.Egress("local", "garden", true)
	b.Egress("local", "garden", true)
	want := `
# HELP herdbot_egress_total Egress proxy connections by agent, decision (allowed, denied) and the Docker engine its sidecar runs on (local, or a name from engines:).
# TYPE herdbot_egress_total counter
herdbot_egress_total{agent="garden",decision="allowed",engine="local"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "herdbot_egress_total"); err != nil {
		t.Fatal(err)
	}
	metrics.New(nil).Egress("local", "x", true) // unregistered works too
}
