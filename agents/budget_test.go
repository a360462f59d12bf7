package agents_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/internal/metrics"
	"github.com/herdbot/herdbot/store"
)

// costly is a turn that echoes the prompt and costs usd.
func costly(usd float64) func(t *agentstest.Turn) (agents.Result, error) {
	return func(t *agentstest.Turn) (agents.Result, error) {
		res, err := agentstest.Echo(t)
		res.CostUSD = usd
		return res, err
	}
}

// budgetWorld runs a scripted agent whose turns cost usd each, with budget
// b, on a fake clock at start, and a metrics registry.
func budgetWorld(t *testing.T, usd float64, b agents.Budget, start time.Time, loc *time.Location) (*world, *clockwork.FakeClock, *prometheus.Registry) {
	t.Helper()
	clk := clockwork.NewFakeClockAt(start)
	reg := prometheus.NewRegistry()
	w := startWorld(t, agentstest.Options{Runtime: &agentstest.Runtime{TurnFunc: costly(usd)}, Clock: clk, Location: loc,
		Metrics: metrics.New(reg), Spec: func(s *agents.AgentSpec) { s.Budget = b }})
	return w, clk, reg
}

func refusals(t *testing.T, reg *prometheus.Registry, period string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "herdbot_budget_refusals_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["agent"] == agentName && labels["period"] == period {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestBudgetDailyCapRefusesTheNextRunUntilTomorrow: runs start while the
// day's spend is under the cap; the turn that crosses it finishes; the
// next message is refused with a chat reply, a failed job saying why, an
// audit row and a metric; the next day (on the fleet's clock) runs again.
func TestBudgetDailyCapRefusesTheNextRunUntilTomorrow(t *testing.T) {
	w, clk, reg := budgetWorld(t, 0.6, agents.Budget{DailyUSD: 1}, time.Date(2026, 3, 10, 22, 0, 0, 0, time.UTC), nil)
	w.say("one")
	w.expect(`^echo: one$`)
	w.waitJobs(1)
	w.say("two") // $0.60 spent: under the cap, so it runs, and crosses it
	w.expect(`^echo: two$`)
	w.waitJobs(2)
	w.say("three")
	w.expect(`^🛑 Not run: garden has spent \$1\.20 today, its daily budget is \$1\.00; it resets 2026-03-11 00:00 UTC: raise budget\.daily_usd in the fleet file`)
	js := w.waitJobs(3)
	refused := js[0]
	if refused.Status != agents.JobFailed || !strings.HasPrefix(refused.Error, "refused because garden has spent $1.20 today") || refused.CostUSD != 0 {
		t.Fatalf("refused run's job: %+v", refused)
	}
	if js[1].Status != agents.JobSucceeded || js[1].CostUSD != 0.6 {
		t.Fatalf("the run that crossed the cap must finish: %+v", js[1])
	}
	rows, err := w.store.AuditLog(context.Background(), store.AuditFilter{Agent: agentName, ActionPrefix: "budget.refused"})
	if err != nil || len(rows) != 1 || rows[0].Subject != refused.ID {
		t.Fatalf("audit rows %+v, %v; want one budget.refused for %s", rows, err, refused.ID)
	}
	var detail map[string]any
	if err := json.Unmarshal([]byte(rows[0].Detail), &detail); err != nil || detail["period"] != "daily" || detail["trigger"] != "chat" ||
		detail["spent_usd"] != 1.2 || detail["limit_usd"] != 1.0 || detail["user"] != "alice" {
		t.Fatalf("audit detail %q: %v", rows[0].Detail, err)
	}
	if n := refusals(t, reg, "daily"); n != 1 {
		t.Fatalf("herdbot_budget_refusals_total{period=daily} = %v, want 1", n)
	}

	w.say("/status")
	w.expect(`Spend: \$1\.20 today of \$1\.00 · \$1\.20 this month \(no cap\)`)

	clk.Advance(2 * time.Hour) // 2026-03-11 00:00 UTC: a new day
	w.say("four")
	w.expect(`^echo: four$`)
	if js := w.waitJobs(4); js[0].Status != agents.JobSucceeded {
		t.Fatalf("the next day's run: %+v", js[0])
	}
}

// TestBudgetMonthlyCapRefusesScheduledRuns: a silent run (a schedule's,
// a webhook's) over the monthly cap returns ErrOverBudget with its job
// recorded as failed (the scheduler reports that to the schedule's
// channel); a new day does not lift a monthly cap, a new month does.
// Months begin in the fleet's location.
func TestBudgetMonthlyCapRefusesScheduledRuns(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-03-31 20:00 UTC is 22:00 in Berlin (CEST, UTC+2).
	w, clk, reg := budgetWorld(t, 2, agents.Budget{DailyUSD: 10, MonthlyUSD: 1.5}, time.Date(2026, 3, 31, 20, 0, 0, 0, time.UTC), berlin)
	run := func() (agents.RunResult, error) {
		return w.fleet.Run(context.Background(), agents.RunRequest{Agent: agentName, Prompt: "report", Trigger: agents.TriggerSchedule,
			Schedule: "nightly", Silent: true})
	}
	if res, err := run(); err != nil || res.Job.CostUSD != 2 {
		t.Fatalf("first scheduled run: %+v, %v", res.Job, err)
	}
	res, err := run()
	var be *agents.BudgetError
	if !errors.Is(err, agents.ErrOverBudget) || !errors.As(err, &be) || be.Period != "monthly" || be.Spent != 2 || be.Limit != 1.5 {
		t.Fatalf("second scheduled run: err %v, want the monthly cap", err)
	}
	if want := time.Date(2026, 4, 1, 0, 0, 0, 0, berlin); !be.Resets.Equal(want) {
		t.Fatalf("resets %v, want %v", be.Resets, want)
	}
	if res.Job.Status != agents.JobFailed || res.Job.Schedule != "nightly" || !strings.Contains(res.Job.Error, "its monthly budget is $1.50") {
		t.Fatalf("refused scheduled job: %+v", res.Job)
	}
	if n := refusals(t, reg, "monthly"); n != 1 {
		t.Fatalf("monthly refusals %v, want 1", n)
	}
	clk.Advance(90 * time.Minute) // 2026-03-31 23:30 Berlin: still March
	if _, err := run(); !errors.Is(err, agents.ErrOverBudget) {
		t.Fatalf("still March in Berlin: err %v, want refused", err)
	}
	clk.Advance(time.Hour) // 2026-04-01 00:30 Berlin (22:30 UTC, March in UTC)
	if res, err := run(); err != nil || res.Job.Status != agents.JobSucceeded {
		t.Fatalf("April in Berlin: %+v, %v; want it to run", res.Job, err)
	}
}

// TestBudgetNoCapNoRefusal: without a budget nothing is refused however
// much runs cost.
func TestBudgetNoCapNoRefusal(t *testing.T) {
	w, _, reg := budgetWorld(t, 1000, agents.Budget{}, time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC), nil)
	for range 3 {
		if _, err := w.fleet.Run(context.Background(), agents.RunRequest{Agent: agentName, Prompt: "go"}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := w.fleet.Spending(context.Background(), agentName)
	if err != nil || s.Today != 3000 || s.Month != 3000 || s.Budget.Set() {
		t.Fatalf("spending %+v, %v", s, err)
	}
	if n := refusals(t, reg, "daily") + refusals(t, reg, "monthly"); n != 0 {
		t.Fatalf("%v refusals without a budget", n)
	}
}

// TestBudgetPeriods: days and months begin at midnight in the location,
// across a daylight saving change and a year's end.
func TestBudgetPeriods(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		now                            time.Time
		loc                            *time.Location
		day, nextDay, month, nextMonth time.Time
	}{
		{time.Date(2026, 3, 29, 12, 0, 0, 0, berlin), berlin, // the day clocks go forward: 23 hours long
			time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), time.Date(2026, 3, 30, 0, 0, 0, 0, berlin),
			time.Date(2026, 3, 1, 0, 0, 0, 0, berlin), time.Date(2026, 4, 1, 0, 0, 0, 0, berlin)},
		{time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), nil,
			time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), berlin, // already 2027 in Berlin
			time.Date(2027, 1, 1, 0, 0, 0, 0, berlin), time.Date(2027, 1, 2, 0, 0, 0, 0, berlin),
			time.Date(2027, 1, 1, 0, 0, 0, 0, berlin), time.Date(2027, 2, 1, 0, 0, 0, 0, berlin)},
	} {
		day, nextDay, month, nextMonth := agents.Periods(tc.now, tc.loc)
		if !day.Equal(tc.day) || !nextDay.Equal(tc.nextDay) || !month.Equal(tc.month) || !nextMonth.Equal(tc.nextMonth) {
			t.Errorf("Periods(%v, %v) = %v %v %v %v", tc.now, tc.loc, day, nextDay, month, nextMonth)
		}
	}
	if d, n, _, _ := agents.Periods(time.Date(2026, 3, 29, 12, 0, 0, 0, berlin), berlin); n.Sub(d) != 23*time.Hour {
		t.Errorf("the spring-forward day lasts %v, want 23h", n.Sub(d))
	}
}

// TestBudgetSetLocation: a reload that changes the fleet's timezone moves
// where the next day begins.
func TestBudgetSetLocation(t *testing.T) {
	// A run at 22:30 UTC on 10 March (23:30 in Berlin), then at 23:15
	// UTC: the same day in UTC, the next in Berlin.
	w, clk, _ := budgetWorld(t, 0.6, agents.Budget{DailyUSD: 0.5}, time.Date(2026, 3, 10, 22, 30, 0, 0, time.UTC), nil)
	if _, err := w.fleet.Run(context.Background(), agents.RunRequest{Agent: agentName, Prompt: "go"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(45 * time.Minute)
	if _, err := w.fleet.Run(context.Background(), agents.RunRequest{Agent: agentName, Prompt: "go"}); !errors.Is(err, agents.ErrOverBudget) {
		t.Fatalf("over the daily cap in UTC: err %v", err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	w.fleet.SetLocation(berlin)
	if _, err := w.fleet.Run(context.Background(), agents.RunRequest{Agent: agentName, Prompt: "go"}); err != nil {
		t.Fatalf("a new day in Berlin: %v", err)
	}
}
