// Package metrics holds herdbot's Prometheus collectors in one place. A nil
// *Metrics is a no-op, so callers and tests can pass nil.
package metrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every series.
const Namespace = "herdbot"

// Metrics records herdbot's series:
//
//	herdbot_runs_total{agent,trigger,outcome}                counter
//	herdbot_run_duration_seconds{agent,trigger,outcome}      histogram
//	herdbot_approvals_total{agent,outcome}                   counter
//	herdbot_approval_latency_seconds{agent,outcome}          histogram
//	herdbot_queue_depth{agent}                               gauge
//	herdbot_schedule_lag_seconds{agent,schedule}             histogram
//	herdbot_egress_total{agent,decision,engine}              counter (allowed|denied)
//	herdbot_chat_connected{agent,platform}                   gauge (1 up, 0 down)
//	herdbot_disk_usage_bytes{agent}                          gauge (last measurement)
//	herdbot_disk_limit_bytes{agent}                          gauge
//	herdbot_disk_over_limit_total{agent,action}              counter (refused|stopped)
//	herdbot_budget_refusals_total{agent,period}              counter (daily|monthly|unknown)
//	herdbot_records_lost_total{record}                       counter (audit, card_refs, …)
type Metrics struct {
	runs            *prometheus.CounterVec
	runDuration     *prometheus.HistogramVec
	approvals       *prometheus.CounterVec
	approvalLatency *prometheus.HistogramVec
	queueDepth      *prometheus.GaugeVec
	scheduleLag     *prometheus.HistogramVec
	egress          *prometheus.CounterVec
	chatConnected   *prometheus.GaugeVec
	diskUsage       *prometheus.GaugeVec
	diskLimit       *prometheus.GaugeVec
	diskOver        *prometheus.CounterVec
	budgetRefused   *prometheus.CounterVec
	lost            *prometheus.CounterVec
}

// New creates the collectors and registers them with reg (nil: not
// registered). Collectors already registered with reg by an earlier New are
// reused, so two Metrics on one registry share series.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "runs_total",
			Help: "Agent runs by agent, trigger (chat, schedule, webhook, cli) and outcome (job status).",
		}, []string{"agent", "trigger", "outcome"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "run_duration_seconds",
			Help:    "Duration of agent runs.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600},
		}, []string{"agent", "trigger", "outcome"}),
		approvals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "approvals_total",
			Help: "Tool approval decisions by agent and outcome (allowed, allowed_session, denied, expired).",
		}, []string{"agent", "outcome"}),
		approvalLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "approval_latency_seconds",
			Help:    "Time from an approval request to its decision.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600},
		}, []string{"agent", "outcome"}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "queue_depth",
			Help: "Runs waiting for a slot under the agent's concurrency cap.",
		}, []string{"agent"}),
		scheduleLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "schedule_lag_seconds",
			Help:    "Delay from a scheduled run's due time to its start.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300},
		}, []string{"agent", "schedule"}),
		egress: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "egress_total",
			Help: "Egress proxy connections by agent, decision (allowed, denied) and the Docker engine its sidecar runs on (local, or a name from engines:).",
		}, []string{"agent", "decision", "engine"}),
		chatConnected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "chat_connected",
			Help: "1 when the agent's chat connection on the platform is up, else 0.",
		}, []string{"agent", "platform"}),
		diskUsage: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "disk_usage_bytes",
			Help: "Disk space the agent's writable places (rw workspace, HOME) took at the last measurement.",
		}, []string{"agent"}),
		diskLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "disk_limit_bytes",
			Help: "The agent's docker.disk_limit.",
		}, []string{"agent"}),
		diskOver: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "disk_over_limit_total",
			Help: "Runs refused before they started (refused) or stopped while running (stopped) because the agent was over its disk limit.",
		}, []string{"agent", "action"}),
		budgetRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "budget_refusals_total",
			Help: "Runs refused before they started because the agent had reached its budget: daily, monthly, or unknown (its spend could not be read).",
		}, []string{"agent", "period"}),
		lost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "records_lost_total",
			Help: "Records the store did not take and that are lost (audit rows, approval card refs, session resets); each is also logged as an error.",
		}, []string{"record"}),
	}
	if reg != nil {
		m.runs = register(reg, m.runs)
		m.runDuration = register(reg, m.runDuration)
		m.approvals = register(reg, m.approvals)
		m.approvalLatency = register(reg, m.approvalLatency)
		m.queueDepth = register(reg, m.queueDepth)
		m.scheduleLag = register(reg, m.scheduleLag)
		m.egress = register(reg, m.egress)
		m.chatConnected = register(reg, m.chatConnected)
		m.diskUsage = register(reg, m.diskUsage)
		m.diskLimit = register(reg, m.diskLimit)
		m.diskOver = register(reg, m.diskOver)
		m.budgetRefused = register(reg, m.budgetRefused)
		m.lost = register(reg, m.lost)
	}
	return m
}

// register registers c, or returns the collector already registered under
// the same description. Our descriptions are fixed and valid, so any other
// error cannot happen; c then stays unregistered and still works.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	return c
}

// RunFinished counts a finished run and observes its duration.
func (m *Metrics) RunFinished(agent, trigger, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(agent, trigger, outcome).Inc()
	m.runDuration.WithLabelValues(agent, trigger, outcome).Observe(d.Seconds())
}

// ApprovalDecided counts an approval decision and observes its latency.
func (m *Metrics) ApprovalDecided(agent, outcome string, latency time.Duration) {
	if m == nil {
		return
	}
	m.approvals.WithLabelValues(agent, outcome).Inc()
	m.approvalLatency.WithLabelValues(agent, outcome).Observe(latency.Seconds())
}

// QueueDepth sets how many runs of agent wait for a slot.
func (m *Metrics) QueueDepth(agent string, n int) {
	if m == nil {
		return
	}
	m.queueDepth.WithLabelValues(agent).Set(float64(n))
}

// ScheduleLag observes how late a scheduled run started.
func (m *Metrics) ScheduleLag(agent, schedule string, lag time.Duration) {
	if m == nil {
		return
	}
	m.scheduleLag.WithLabelValues(agent, schedule).Observe(lag.Seconds())
}

// Egress counts an egress connection allowed or denied.
func (m *Metrics) Egress(engine, agent string, allowed bool) {
	if m == nil {
		return
	}
	d := "denied"
	if allowed {
		d = "allowed"
	}
	m.egress.WithLabelValues(agent, d, engine).Inc()
}

// ChatConnected sets whether agent's chat connection on platform is up.
func (m *Metrics) ChatConnected(agent, platform string, up bool) {
	if m == nil {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	m.chatConnected.WithLabelValues(agent, platform).Set(v)
}

// DiskUsage sets the agent's measured disk use and its limit.
func (m *Metrics) DiskUsage(agent string, used, limit int64) {
	if m == nil {
		return
	}
	m.diskUsage.WithLabelValues(agent).Set(float64(used))
	m.diskLimit.WithLabelValues(agent).Set(float64(limit))
}

// DiskOverLimit counts a run refused or stopped over the disk limit.
func (m *Metrics) DiskOverLimit(agent, action string) {
	if m == nil {
		return
	}
	m.diskOver.WithLabelValues(agent, action).Inc()
}

// BudgetRefused counts a run refused because the agent had reached its
// budget for period (daily, monthly; unknown: its spend could not be
// read).
func (m *Metrics) BudgetRefused(agent, period string) {
	if m == nil {
		return
	}
	m.budgetRefused.WithLabelValues(agent, period).Inc()
}

// RecordLost counts a record the store did not take (what: audit,
// card_refs, …).
func (m *Metrics) RecordLost(record string) {
	if m == nil {
		return
	}
	m.lost.WithLabelValues(record).Inc()
}
