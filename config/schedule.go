package config

import (
	"fmt"
	"sort"
	"time"
)

// scheduleOrder returns the schedule names in file order: the agent file's,
// then names only the overrides add, then names only defaults add.
func (r *agentRes) scheduleOrder(in map[string]scheduleSpec) []string {
	var names []string
	seen := map[string]bool{}
	for _, keys := range [][]string{
		r.a.doc.order["schedules"],
		r.l.doc.order[r.ovPrefix+".schedules"],
		r.l.doc.order["defaults.schedules"],
	} {
		for _, k := range keys {
			if _, ok := in[k]; ok && !seen[k] {
				seen[k] = true
				names = append(names, k)
			}
		}
	}
	var rest []string
	for k := range in {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(names, rest...)
}

func (r *agentRes) schedules(in map[string]scheduleSpec) []Schedule {
	var out []Schedule
	for _, name := range r.scheduleOrder(in) {
		if sc, ok := r.schedule(name, in[name]); ok {
			out = append(out, sc)
		}
	}
	return out
}

// schedule resolves one schedule; ok is false when it is skipped.
func (r *agentRes) schedule(name string, s scheduleSpec) (Schedule, bool) {
	p := "schedules." + name
	if err := validName(name); err != nil {
		r.errf(p, "%v", err)
	}
	sc := Schedule{
		Name:          name,
		Type:          s.Type,
		Prompt:        defaultStr(s.Prompt, r.out.DefaultPrompt),
		Enabled:       boolOr(s.Enabled, true),
		ResumeSession: boolOr(s.ResumeSession, false),
		CatchUp:       defaultStr(s.CatchUp, "skip"),
		Timezone:      r.f.Timezone,
		SecretEnv:     s.SecretEnv,
		Fields:        s.Fields,
	}
	cronExpr := s.Cron
	if s.Expression != "" {
		if s.Cron != "" {
			r.errf(p+".expression", "set cron or expression, not both")
		}
		cronExpr = s.Expression
	}
	if sc.Type == "" {
		switch {
		case cronExpr != "":
			sc.Type = "cron"
		case s.Interval != "":
			sc.Type = "interval"
		case s.At != "":
			sc.Type = "at"
		case s.SecretEnv != "":
			sc.Type = "webhook"
		default:
			r.errf(p+".type", "required: interval, cron, at or webhook")
			return sc, false
		}
	}
	if sc.Type == "chat" {
		r.warnf(p+".type", "schedule type chat is not supported; this schedule is skipped")
		return sc, false
	}
	if err := oneOf(sc.Type, ScheduleTypes); err != nil {
		r.errf(p+".type", "%v", err)
		return sc, false
	}
	if s.Timezone != "" {
		if loc, err := loadLocation(s.Timezone); err != nil {
			r.errf(p+".timezone", "%v", err)
		} else {
			sc.Timezone = loc
		}
	}
	// Fields of the other types are mistakes, not decoration.
	for _, f := range []struct {
		set   bool
		key   string
		owner string
	}{
		{s.Interval != "", "interval", "interval"},
		{s.Cron != "", "cron", "cron"},
		{s.Expression != "", "expression", "cron"},
		{s.At != "", "at", "at"},
		{s.SecretEnv != "", "secret_env", "webhook"},
		{len(s.Fields) > 0, "fields", "webhook"},
	} {
		if f.set && f.owner != sc.Type {
			r.errf(p+"."+f.key, "only for type %s, but this schedule is type %s", f.owner, sc.Type)
		}
	}
	switch sc.Type {
	case "interval":
		if s.Interval == "" {
			r.errf(p+".interval", "required for an interval schedule (e.g. 30m, 72h, 3d)")
		} else if d, err := positiveDuration(s.Interval, 0); err != nil {
			r.errf(p+".interval", "%v", err)
		} else {
			sc.Interval = d
		}
	case "cron":
		if cronExpr == "" {
			r.errf(p+".cron", "required for a cron schedule (e.g. \"0 7 * * 1-5\")")
		} else if _, err := validCron(cronExpr, sc.Timezone, time.Now()); err != nil {
			r.errf(p+".cron", "%v", err)
		} else {
			sc.Cron = cronExpr
		}
	case "at":
		if s.At == "" {
			r.errf(p+".at", "required for an at schedule (e.g. 2026-12-01 09:00)")
		} else if t, err := parseAt(s.At, sc.Timezone); err != nil {
			r.errf(p+".at", "%v", err)
		} else {
			sc.At = t
		}
	case "webhook":
		sp := p + ".secret_env"
		switch {
		case s.SecretEnv == "":
			r.errf(sp, "required for a webhook schedule: the agent .env variable holding the HMAC secret")
		case !isVarName(s.SecretEnv):
			r.errf(sp, "%q is not a variable name", s.SecretEnv)
		default:
			v, _ := r.lookupName(sp, s.SecretEnv)
			if v == "" {
				r.errf(sp, "variable %s is not set in %s; a webhook without a secret would let anyone start runs", s.SecretEnv, r.a.envFile)
			}
			sc.Secret = v
		}
		for i, f := range s.Fields {
			if f == "" {
				r.errf(fmt.Sprintf("%s.fields[%d]", p, i), "empty field name")
			}
		}
	}
	if s.Jitter != "" {
		if d, err := ParseDuration(s.Jitter); err != nil || d < 0 {
			r.errf(p+".jitter", "invalid jitter %q: use e.g. 5m", s.Jitter)
		} else {
			sc.Jitter = d
		}
	}
	if err := oneOf(sc.CatchUp, CatchUpModes); err != nil {
		r.errf(p+".catch_up", "%v", err)
	}
	if sc.Prompt == "" {
		r.errf(p+".prompt", "required (or set the agent's default_prompt)")
	}
	sc.PostTo = r.postTo(p+".post_to", s.PostTo)
	return sc, true
}

func (r *agentRes) postTo(p string, s postToSpec) PostTo {
	pt := PostTo{Platform: s.Platform, Channel: s.Channel, Thread: s.Thread}
	if pt.Platform == "" {
		if pt.Channel != "" || pt.Thread != "" {
			r.errf(p+".platform", "required: discord, slack or console")
		}
		return pt
	}
	if err := oneOf(pt.Platform, Platforms); err != nil {
		r.errf(p+".platform", "%v", err)
		return pt
	}
	chat := r.out.Chat
	switch pt.Platform {
	case "discord":
		if chat.Discord == nil {
			r.errf(p+".platform", "the agent has no chat.discord to post with")
		}
		if err := validSnowflake(pt.Channel); err != nil {
			r.errf(p+".channel", "%v", err)
		}
		if pt.Thread != "" {
			if err := validSnowflake(pt.Thread); err != nil {
				r.errf(p+".thread", "%v", err)
			}
		}
	case "slack":
		if chat.Slack == nil {
			r.errf(p+".platform", "the agent has no chat.slack to post with")
		}
		if err := validSlackChannel(pt.Channel); err != nil {
			r.errf(p+".channel", "%v", err)
		}
	case "console":
		if pt.Channel == "" {
			pt.Channel = "console"
		}
	}
	return pt
}
