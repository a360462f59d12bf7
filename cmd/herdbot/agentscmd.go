package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/internal/control"
)

// agentRow is one line of `herdbot agents`.
type agentRow struct {
	Name          string    `json:"name"`
	Description   string    `json:"description,omitempty"`
	Model         string    `json:"model,omitempty"`
	TodayUSD      float64   `json:"today_usd"`
	MonthUSD      float64   `json:"month_usd"`
	DailyCapUSD   float64   `json:"daily_budget_usd,omitempty"`
	MonthlyCapUSD float64   `json:"monthly_budget_usd,omitempty"`
	DayStart      time.Time `json:"day_start"`
	MonthStart    time.Time `json:"month_start"`
}

// cmdAgents lists the fleet's agents with their spend today and this
// month against their budgets.
func cmdAgents(ctx context.Context, e stdio, args []string) error {
	fs := newFlags("agents", e, true)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	s, err := openSession(ctx, e, fs)
	if err != nil {
		return err
	}
	defer s.close()
	if s.cfg == nil {
		return fmt.Errorf("agents needs the fleet file, which does not load: run `herdbot validate`")
	}
	agent := first(pos)
	if agent != "" && s.cfg.Agent(agent) == nil {
		return unknownAgent(s.cfg, agent)
	}
	day, _, month, _ := agents.Periods(time.Now(), s.cfg.BudgetLocation())
	var rows []agentRow
	for _, a := range s.cfg.Agents {
		if agent != "" && a.Name != agent {
			continue
		}
		r := agentRow{Name: a.Name, Description: a.Description, Model: a.Model, DailyCapUSD: a.Budget.DailyUSD,
			MonthlyCapUSD: a.Budget.MonthlyUSD, DayStart: day, MonthStart: month}
		if a.Session.Model != "" {
			r.Model = a.Session.Model
		}
		if r.TodayUSD, err = s.rd.Spend(ctx, agents.SpendQuery{Agent: a.Name, Since: day}); err != nil {
			return err
		}
		if r.MonthUSD, err = s.rd.Spend(ctx, agents.SpendQuery{Agent: a.Name, Since: month}); err != nil {
			return err
		}
		rows = append(rows, r)
	}
	if !fs.json && len(rows) > 0 {
		fmt.Fprintf(e.stderr, "(days and months begin at midnight %s)\n", day.Location())
	}
	return list(e, fs, rows, "No agents in "+s.cfg.Path+".",
		"AGENT\tMODEL\tTODAY\tDAILY BUDGET\tMONTH\tMONTHLY BUDGET", func(r agentRow) []string {
			return []string{r.Name, firstOf(r.Model, "default"), bot.USD(r.TodayUSD), capText(r.TodayUSD, r.DailyCapUSD),
				bot.USD(r.MonthUSD), capText(r.MonthUSD, r.MonthlyCapUSD)}
		})
}

// capText is a budget cap and how much of it is used, or "none".
func capText(spent, limit float64) string {
	if limit <= 0 {
		return "none"
	}
	s := fmt.Sprintf("%s (%d%%)", bot.USD(limit), int(100*spent/limit))
	if spent >= limit {
		s += " reached"
	}
	return s
}

func (r apiReader) Spend(ctx context.Context, q agents.SpendQuery) (float64, error) {
	v := url.Values{"agent": {q.Agent}, "since": {strconv.FormatInt(q.Since.UnixMilli(), 10)}}
	var sp control.Spend
	return sp.USD, r.c.Call(ctx, "GET", "/v1/spend?"+v.Encode(), nil, &sp)
}

func (r dbReader) Spend(ctx context.Context, q agents.SpendQuery) (float64, error) {
	return r.db.Spend(ctx, q)
}
