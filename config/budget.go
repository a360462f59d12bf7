package config

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// budget resolves budget.daily_usd and budget.monthly_usd (0: no cap).
// The agent can edit its own file, so a cap written there may only lower
// what the fleet file gives the agent (agents[].overrides, else defaults):
// never raise it, and never remove it. A cap written in the fleet file is
// taken as it is.
func (r *agentRes) budget(s budgetSpec) Budget {
	return Budget{
		DailyUSD:   r.budgetCap("daily_usd", s.DailyUSD),
		MonthlyUSD: r.budgetCap("monthly_usd", s.MonthlyUSD),
	}
}

func (r *agentRes) budgetCap(key string, v *float64) float64 {
	p := "budget." + key
	if v == nil {
		return 0
	}
	if !(*v > 0) || math.IsInf(*v, 0) {
		r.errf(p, "must be more than 0 (US dollars), got %v; leave it out for no cap", *v)
		return 0
	}
	if r.origin(p).fleet {
		return *v
	}
	fleet, where, ok := r.fleetBudget(key)
	if ok && *v > fleet {
		r.errf(p, "$%v is above the fleet's cap of $%v (%s); an agent file may only lower it: raise it in the fleet file under agents[].overrides.budget", *v, fleet, where)
		return fleet
	}
	return *v
}

// fleetBudget is the cap the fleet file gives the agent for key: its
// overrides, else the defaults in effect for it (ok false: none).
func (r *agentRes) fleetBudget(key string) (cap float64, where string, ok bool) {
	srcs := []fieldSource{{r.fleetDoc(), r.ovPrefix, ""}}
	maps := []map[string]any{r.ov}
	if r.a.level != nil {
		for _, s := range r.a.level.defSources {
			srcs, maps = append(srcs, s), append(maps, r.defs)
		}
	} else {
		srcs, maps = append(srcs, fieldSource{r.l.doc, "defaults", r.l.dir}), append(maps, r.defs)
	}
	for i, s := range srcs {
		p := s.prefix + ".budget." + key
		if !s.d.has(p) {
			continue
		}
		raw := asMap(maps[i]["budget"])[key]
		var f float64
		switch n := raw.(type) {
		case int:
			f = float64(n)
		case int64:
			f = float64(n)
		case float64:
			f = n
		case string:
			v, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
			if err != nil {
				return 0, "", false
			}
			f = v
		default:
			return 0, "", false // the fleet file's own error says why
		}
		return f, p + " in " + filepath.Base(s.d.file), true
	}
	return 0, "", false
}

// models resolves models: the fleet's list (overrides, else defaults), or
// the agent file's, which may only name models on the fleet's list.
func (r *agentRes) models(in []string) []string {
	const p = "models"
	for i, m := range in {
		if strings.TrimSpace(m) == "" || strings.ContainsAny(m, " \t\n\r") || strings.HasPrefix(m, "-") {
			r.errf(fmt.Sprintf("%s[%d]", p, i), "%q is not a model name or alias", truncate(m, 60))
		}
	}
	if r.origin(p).fleet || len(in) == 0 {
		return in
	}
	var fleet []string
	if v, ok := r.ov["models"]; ok {
		fleet = stringList(v)
	} else if v, ok := r.defs["models"]; ok {
		fleet = stringList(v)
	}
	out := make([]string, 0, len(in))
	for i, m := range in {
		if !slices.Contains(fleet, m) {
			allowed := "none"
			if len(fleet) > 0 {
				allowed = strings.Join(fleet, ", ")
			}
			q := fmt.Sprintf("%s[%d]", p, i)
			r.l.ps.add(r.a.doc.file, r.a.doc.line(q), q, "%s is not on the fleet's list of models (%s); an agent file can only narrow it: add it in the fleet file under agents[].overrides.models or defaults.models", m, allowed)
			continue
		}
		out = append(out, m)
	}
	return out
}

func stringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
