package config

import (
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/herdbot/herdbot/sched/spec"
)

// scheduleOrder returns the schedule names in file order: the agent file's,
// then names only the overrides add, then names only defaults add.
func (r *agentRes) scheduleOrder(in map[string]scheduleSpec) []string {
	var names []string
	seen := map[string]bool{}
	orders := [][]string{r.a.doc.order["schedules"], r.fleetDoc().order[r.ovPrefix+".schedules"]}
	if r.a.level != nil {
		for _, s := range r.a.level.defSources {
			orders = append(orders, s.d.order[s.prefix+".schedules"])
		}
	}
	for _, keys := range orders {
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

// DefaultSchedulePrompt is what a schedule without a prompt asks when the
// agent has no default_prompt either, as in herdctl.
const DefaultSchedulePrompt = "Execute your configured task"

// schedule resolves one schedule; ok is false when it is skipped. It is
// checked with the scheduler's own check (sched/spec), so what validates
// here is what the scheduler runs.
func (r *agentRes) schedule(name string, s scheduleSpec) (Schedule, bool) {
	p := "schedules." + name
	reported := len(r.l.ps.list) // problems found before: see check below
	sc := Schedule{
		Name:          name,
		Type:          s.Type,
		Prompt:        s.Prompt,
		Enabled:       boolOr(s.Enabled, true),
		ResumeSession: boolOr(s.ResumeSession, false),
		CatchUp:       defaultStr(s.CatchUp, "skip"),
		Timezone:      r.f.Timezone,
		SecretEnv:     s.SecretEnv,
		Fields:        s.Fields,
	}
	if sc.Prompt == "" {
		sc.Prompt = defaultStr(r.out.DefaultPrompt, DefaultSchedulePrompt)
	}
	cronExpr := s.Cron
	cronField := p + ".cron"
	if s.Expression != "" {
		if s.Cron != "" {
			r.errf(p+".expression", "set cron or expression, not both")
		}
		cronExpr, cronField = s.Expression, p+".expression"
	}
	switch sc.Type {
	case "":
		// Also reported by hcWalk for the agent file: the same problem.
		r.errf(p+".type", "required (%s)", hcSchedule.field("type").t.desc)
		return sc, false
	case "chat":
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
	timingField := ""
	switch sc.Type {
	case "interval":
		timingField = p + ".interval"
		if s.Interval == "" {
			r.errf(timingField, "required for an interval schedule (e.g. 30m, 12h, 2d)")
			return sc, false
		}
		d, err := spec.ParseInterval(s.Interval)
		if err != nil {
			r.errf(timingField, "%v", err)
			return sc, false
		}
		sc.Interval = d
	case "cron":
		timingField = cronField
		if cronExpr == "" {
			r.errf(p+".expression", "required for a cron schedule (e.g. \"0 7 * * 1-5\")")
			return sc, false
		}
		sc.Cron = cronExpr
	case "at":
		timingField = p + ".at"
		if s.At == "" {
			r.errf(timingField, "required for an at schedule (e.g. 2026-12-01 09:00)")
			return sc, false
		}
		t, err := parseAt(s.At, sc.Timezone)
		if err != nil {
			r.errf(timingField, "%v", err)
			return sc, false
		}
		sc.At = t
	case "webhook":
		sp := p + ".secret_env"
		switch {
		case s.SecretEnv == "":
			// herdctl's webhook schedules have no secret (and herdctl
			// never fires them): never serve one unauthenticated.
			r.warnf(p+".type", "a webhook schedule without secret_env is never served (anyone could start runs); set secret_env to a variable in the agent's .env holding the HMAC secret")
			return sc, false
		case !isVarName(s.SecretEnv):
			r.errf(sp, "%q is not a variable name", s.SecretEnv)
		default:
			v, _ := r.lookupName(sp, s.SecretEnv)
			if v == "" {
				r.errf(sp, "variable %s is not set in %s; a webhook without a secret would let anyone start runs", s.SecretEnv, r.a.envFile)
			}
			sc.Secret = v
		}
	}
	if s.Jitter != "" {
		if d, err := ParseDuration(s.Jitter); err != nil || d < 0 {
			r.errf(p+".jitter", "invalid jitter %q: use e.g. 5m", s.Jitter)
		} else {
			sc.Jitter = d
		}
	}
	r.check(sc, p, timingField, reported)
	if err := oneOf(sc.CatchUp, CatchUpModes); err != nil {
		r.errf(p+".catch_up", "%v", err)
	}
	sc.PostTo = r.postTo(p+".post_to", s.PostTo)
	return sc, true
}

// check runs the scheduler's check of sc (spec.Check, which `herdbot
// start` runs too) and reports what it finds at the field it names: p is
// the schedule's path, timingField the path its timing is written at. A
// field this file already reported a problem for since reported (the
// length of the problem list when sc's resolution began), in words of its
// own, is not reported twice.
func (r *agentRes) check(sc Schedule, p, timingField string, reported int) {
	err := spec.Check(spec.Schedule{Agent: r.out.Name, Name: sc.Name, Type: sc.Type, Interval: sc.Interval, Cron: sc.Cron,
		Location: sc.Timezone, At: sc.At, Jitter: sc.Jitter, Prompt: sc.Prompt, CatchUp: sc.CatchUp, Secret: sc.Secret,
		Fields: sc.Fields}, time.Now())
	if err == nil {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, err := range errs {
		var fe *spec.FieldError
		if !errors.As(err, &fe) {
			r.errf(p, "%v", err)
			continue
		}
		field := map[string]string{
			"agent": "name", "name": p, "interval": timingField, "cron": timingField, "at": timingField,
			"secret": p + ".secret_env",
		}[fe.Field]
		if field == "" {
			field = p + "." + fe.Field
		}
		if r.reportedAt(field, reported) || fe.Field == "agent" && r.nameReported() {
			continue // in words of its own
		}
		r.errf(field, "%v", err)
	}
}

// nameReported reports whether the agent file's name has a problem.
func (r *agentRes) nameReported() bool {
	for _, prob := range r.l.ps.list {
		if prob.File == r.a.file && prob.Field == "name" {
			return true
		}
	}
	return false
}

// reportedAt reports whether a problem at field (written in any file)
// was found since the problem list had from entries.
func (r *agentRes) reportedAt(field string, from int) bool {
	for _, prob := range r.l.ps.list[from:] {
		if prob.Field == field || strings.HasSuffix(prob.Field, "."+field) {
			return true
		}
	}
	return false
}

func (r *agentRes) postTo(p string, s postToSpec) PostTo {
	pt := PostTo(s)
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
