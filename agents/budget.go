package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/herdbot/herdbot/bot"
)

// Budgets. An agent's spend is the sum of the cost (the CLI's
// total_cost_usd) of its jobs that started in the current day or calendar
// month, which begin at midnight in Config.Location. A run that would
// start while the agent's spend has reached a cap is refused: it is
// recorded as a failed job whose error says why, told in chat (a chat
// message's conversation; a schedule's report carries the job's error to
// its channel), audited (budget.refused) and counted
// (Metrics.BudgetRefused). A running turn that crosses a cap finishes;
// the next run is refused. Two runs that start at the same time under a
// cap may both run: the cap bounds what starts, not what a run costs.

// ErrOverBudget matches a *BudgetError.
var ErrOverBudget = errors.New("budget reached")

// Budget caps an agent's spending, in US dollars (0: no cap).
type Budget struct {
	DailyUSD   float64
	MonthlyUSD float64
}

// Set reports whether b caps anything.
func (b Budget) Set() bool { return b.DailyUSD > 0 || b.MonthlyUSD > 0 }

// Spending is an agent's spend in the current day and month, and its caps.
type Spending struct {
	Today, Month         float64 // US dollars
	Budget               Budget
	DayStart, MonthStart time.Time
	NextDay, NextMonth   time.Time // when they begin again
}

// Periods returns the starts of the day and the calendar month now is in,
// and of the next ones, in loc (nil: UTC).
func Periods(now time.Time, loc *time.Location) (day, nextDay, month, nextMonth time.Time) {
	if loc == nil {
		loc = time.UTC
	}
	t := now.In(loc)
	day = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	nextDay = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
	month = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	nextMonth = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
	return day, nextDay, month, nextMonth
}

// Spending returns agent's spend today and this month, and its budget.
func (f *Fleet) Spending(ctx context.Context, agent string) (Spending, error) {
	a, err := f.agent(agent)
	if err != nil {
		return Spending{}, err
	}
	return f.spending(ctx, a)
}

// SetLocation changes where budget days and months begin (a reload of a
// changed timezone); nil: UTC.
func (f *Fleet) SetLocation(loc *time.Location) {
	f.mu.Lock()
	f.loc = loc
	f.mu.Unlock()
}

func (f *Fleet) spending(ctx context.Context, a *agentState) (Spending, error) {
	s := Spending{Budget: a.spec.Budget}
	f.mu.Lock()
	loc := f.loc
	f.mu.Unlock()
	s.DayStart, s.NextDay, s.MonthStart, s.NextMonth = Periods(f.now(), loc)
	var err error
	if s.Month, err = f.spend.Spend(ctx, SpendQuery{Agent: a.spec.Name, Since: s.MonthStart}); err != nil {
		return s, err
	}
	if s.Today, err = f.spend.Spend(ctx, SpendQuery{Agent: a.spec.Name, Since: s.DayStart}); err != nil {
		return s, err
	}
	return s, nil
}

// BudgetError says why a run was refused: the agent's spend reached a cap
// (Period daily or monthly), or could not be read (Err).
type BudgetError struct {
	Agent  string
	Period string // "daily", "monthly"; "unknown" with Err
	Spent  float64
	Limit  float64
	Resets time.Time // when the period begins again
	Err    error
}

func (e *BudgetError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("refused because %s's spend could not be read (%v); herdbot does not start a run of an agent with a budget when it cannot tell what it spent", e.Agent, e.Err)
	}
	what := "today"
	if e.Period == "monthly" {
		what = "this month"
	}
	return fmt.Sprintf("refused because %s has spent %s %s, its %s budget is %s; it resets %s: raise budget.%s_usd in the fleet file to run sooner",
		e.Agent, bot.USD(e.Spent), what, e.Period, bot.USD(e.Limit), e.Resets.Format("2006-01-02 15:04 MST"), e.Period)
}

// Unwrap lets errors.Is match ErrOverBudget.
func (e *BudgetError) Unwrap() error { return ErrOverBudget }

// wrap returns the error of a run that e refused, so that errors.Is(err,
// ErrOverBudget) holds for the caller.
func (e *BudgetError) wrap(j Job, err error) error {
	if e == nil || err == nil {
		return err
	}
	return fmt.Errorf("job %s %s: %w", j.ID, j.Status, e)
}

func (e *BudgetError) chatText() string {
	return "🛑 Not run: " + e.Error()[len("refused because "):] + "."
}

// checkBudget returns a *BudgetError when agent a may not start a run now.
func (f *Fleet) checkBudget(ctx context.Context, a *agentState) *BudgetError {
	b := a.spec.Budget
	if !b.Set() {
		return nil
	}
	s, err := f.spending(ctx, a)
	switch {
	case err != nil:
		return &BudgetError{Agent: a.spec.Name, Period: "unknown", Err: err}
	case b.DailyUSD > 0 && s.Today >= b.DailyUSD:
		return &BudgetError{Agent: a.spec.Name, Period: "daily", Spent: s.Today, Limit: b.DailyUSD, Resets: s.NextDay}
	case b.MonthlyUSD > 0 && s.Month >= b.MonthlyUSD:
		return &BudgetError{Agent: a.spec.Name, Period: "monthly", Spent: s.Month, Limit: b.MonthlyUSD, Resets: s.NextMonth}
	}
	return nil
}

// refuseOverBudget records that rs was refused by be: metric and audit
// row (the caller records the job's end, then tells chat).
func (f *Fleet) refuseOverBudget(ctx context.Context, rs *runState, be *BudgetError) {
	if f.cfg.Metrics != nil {
		f.cfg.Metrics.BudgetRefused(rs.a.spec.Name, be.Period)
	}
	detail, _ := json.Marshal(map[string]any{"period": be.Period, "spent_usd": bot.RoundUSD(be.Spent),
		"limit_usd": be.Limit, "trigger": rs.p.trigger, "schedule": rs.p.schedule, "conversation": rs.job.Conversation,
		"user": rs.p.user.ID})
	f.audit(ctx, AuditEntry{Time: f.now(), Agent: rs.a.spec.Name, Actor: "herdbot", Action: "budget.refused",
		Subject: rs.job.ID, Detail: f.red.String(string(detail))})
	f.log.Info("run refused: budget reached", "agent", rs.a.spec.Name, "job", rs.job.ID, "trigger", rs.p.trigger,
		"period", be.Period, "spent_usd", bot.RoundUSD(be.Spent), "limit_usd", be.Limit)
}
