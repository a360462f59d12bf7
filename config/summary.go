package config

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/go-units"
)

// NextRunsFunc returns up to n fire times of an agent's schedule after
// now; the scheduler provides it (sched.NextRuns), so validate shows what
// will really happen.
type NextRunsFunc func(a *Agent, s Schedule, now time.Time, n int) []time.Time

// Summary writes what `herdbot validate` shows: the fleet, each agent's
// sandbox, egress, approvers, chat platforms and channels, schedules with
// their next three fire times after now (from next), and the warnings. It
// names the variables that hold secrets and says whether they are set; it
// never prints a secret value.
func Summary(f *Fleet, w io.Writer, now time.Time, next NextRunsFunc) error {
	p := &printer{w: w, next: next}
	p.line("fleet %s (%s)", f.Name, f.Path)
	if f.Description != "" {
		p.line("  %s", oneLine(f.Description))
	}
	p.line("  state dir: %s", f.StateDir)
	p.line("  http:      %s", f.HTTP.Listen)
	p.line("  timezone:  %s", f.Timezone)
	cred := "none set: agents cannot reach the model"
	switch {
	case f.Model.APIKey != "":
		cred = f.Model.APIKeyEnv + " is set"
	case f.Model.OAuthToken != "":
		cred = f.Model.OAuthTokenEnv + " is set"
	}
	p.line("  model api: %s (credentials: %s)", f.Model.BaseURL, cred)
	p.line("  agents:    %d", len(f.Agents))
	for _, a := range f.Agents {
		p.line("")
		summarizeAgent(p, f, a, now)
	}
	if len(f.Warnings) > 0 {
		p.line("")
		p.line("warnings:")
		for _, wr := range f.Warnings {
			p.line("  - %s", wr)
		}
	}
	return p.err
}

type printer struct {
	w    io.Writer
	err  error
	next NextRunsFunc
}

// nextRuns is the next three fire times of an enabled schedule, if the
// caller gave a way to compute them.
func (p *printer) nextRuns(a *Agent, s Schedule, now time.Time) []time.Time {
	if p.next == nil || !s.Enabled {
		return nil
	}
	return p.next(a, s, now, 3)
}

func (p *printer) line(format string, args ...any) {
	if p.err != nil {
		return
	}
	_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
}

func summarizeAgent(p *printer, f *Fleet, a *Agent, now time.Time) {
	title := "agent " + a.Name
	if a.Description != "" {
		title += ": " + oneLine(a.Description)
	}
	p.line("%s", title)
	p.line("  file:      %s", a.File)
	p.line("  workspace: %s", a.WorkingDirectory)
	d := a.Docker
	if d.Enabled {
		extra := ""
		if d.DangerousHostConfig {
			extra = ", DANGEROUS host config allowed"
		}
		life := "ephemeral"
		if !d.Ephemeral {
			life = "reused"
		}
		disk := "no disk limit"
		if d.DiskLimit > 0 {
			disk = "disk " + sizeText(d.DiskLimit)
		}
		p.line("  sandbox:   docker (image %s, network %s, workspace %s, memory %s, %s, pids %d, %s%s)",
			d.Image, d.Network, d.WorkspaceMode, units.BytesSize(float64(d.Memory)), disk, d.PidsLimit, life, extra)
	} else {
		p.line("  sandbox:   native (NO isolation: development only)")
	}
	egress := "none"
	if len(a.Network.Allow) > 0 {
		egress = strings.Join(a.Network.Allow, ", ")
	}
	p.line("  egress:    %s (plus the model API)", egress)
	if len(a.Network.Private) > 0 {
		p.line("  private:   %s", strings.Join(a.Network.Private, ", "))
	}
	if len(d.Env) > 0 {
		p.line("  container env: %s", strings.Join(sortedKeys(d.Env), ", "))
	}
	p.line("  model:     %s, permission mode %s, max turns %s", defaultStr(a.Model, "CLI default"), a.PermissionMode, turns(a.MaxTurns))
	if len(a.Models) > 0 {
		p.line("  /model:    %s", strings.Join(a.Models, ", "))
	}
	if b := a.Budget; b.DailyUSD > 0 || b.MonthlyUSD > 0 {
		capText := func(v float64, per string) string {
			if v <= 0 {
				return "no " + per + " cap"
			}
			return fmt.Sprintf("$%.2f %s", v, per)
		}
		p.line("  budget:    %s, %s (days begin at midnight %s)", capText(b.DailyUSD, "a day"), capText(b.MonthlyUSD, "a month"), f.BudgetLocation())
	}
	var appr []string
	if len(a.Approvers.Discord) > 0 {
		appr = append(appr, "discord "+strings.Join(a.Approvers.Discord, ", "))
	}
	if len(a.Approvers.Slack) > 0 {
		appr = append(appr, "slack "+strings.Join(a.Approvers.Slack, ", "))
	}
	if len(a.Approvers.Console) > 0 {
		appr = append(appr, "console "+strings.Join(a.Approvers.Console, ", "))
	}
	if len(a.Approvers.Web) > 0 {
		appr = append(appr, "web "+strings.Join(a.Approvers.Web, ", "))
	}
	if len(appr) == 0 {
		appr = []string{"nobody (tool requests outside allowed_tools are denied)"}
	}
	p.line("  approvers: %s", strings.Join(appr, "; "))

	if a.Chat.Discord == nil && a.Chat.Slack == nil {
		p.line("  chat:      none (console only)")
	}
	if dc := a.Chat.Discord; dc != nil {
		p.line("  discord:   %s", connState(dc.Connected(), dc.BotTokenEnv))
		for _, g := range dc.Guilds {
			p.line("    guild %s (default %s)", g.ID, g.DefaultChannelMode)
			for _, c := range g.Channels {
				p.line("      channel %s %s (%s)", c.ID, c.Name, c.Mode)
			}
		}
		p.line("    dm: %s", dmState(dc.DM))
	}
	if sl := a.Chat.Slack; sl != nil {
		env := sl.BotTokenEnv
		if sl.BotToken != "" {
			env = sl.AppTokenEnv
		}
		p.line("  slack:     %s, command %s", connState(sl.Connected(), env), sl.SlashCommand)
		for _, c := range sl.Channels {
			p.line("    channel %s %s (%s)", c.ID, c.Name, c.Mode)
		}
		p.line("    dm: %s", dmState(sl.DM))
	}
	if len(a.Schedules) == 0 {
		p.line("  schedules: none")
		return
	}
	p.line("  schedules:")
	for _, s := range a.Schedules {
		state := ""
		if !s.Enabled {
			state = " (disabled)"
		}
		post := "not posted"
		if s.PostTo.Platform != "" {
			post = "posts to " + s.PostTo.Platform
			if s.PostTo.Channel != "" {
				post += " " + s.PostTo.Channel
			}
		}
		p.line("    %s: %s%s, %s", s.Name, describeSchedule(s), state, post)
		if next := p.nextRuns(a, s, now); len(next) > 0 {
			parts := make([]string, len(next))
			for i, t := range next {
				parts[i] = t.Format("2006-01-02 15:04 MST")
			}
			p.line("      next: %s", strings.Join(parts, ", "))
		}
	}
}

func describeSchedule(s Schedule) string {
	switch s.Type {
	case "interval":
		return "every " + FormatDuration(s.Interval)
	case "cron":
		return fmt.Sprintf("cron %q (%s)", s.Cron, s.Timezone)
	case "at":
		return "once at " + s.At.Format("2006-01-02 15:04 MST")
	case "webhook":
		return "on webhook (HMAC secret from " + s.SecretEnv + ")"
	}
	return s.Type
}

// FormatDuration writes whole days as "3d" and the rest as Go does.
func FormatDuration(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func connState(ok bool, env string) string {
	if ok {
		return "token set (" + env + "); connects when herdbot starts"
	}
	return "not connected (" + env + " is not set in the agent's .env)"
}

func dmState(d DM) string {
	if !d.Enabled {
		return "off"
	}
	return fmt.Sprintf("on for %d allowlisted user(s)", len(d.Allowlist))
}

func turns(n int) string {
	if n == 0 {
		return "unlimited"
	}
	return fmt.Sprint(n)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return truncate(s, 100)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}

// AgentSummary writes the part of Summary about agent name (what
// `herdbot validate` shows for it), for the web dashboard's agent page.
func AgentSummary(f *Fleet, name string, w io.Writer, now time.Time, next NextRunsFunc) error {
	for _, a := range f.Agents {
		if a.Name == name {
			p := &printer{w: w, next: next}
			summarizeAgent(p, f, a, now)
			return p.err
		}
	}
	return fmt.Errorf("no agent %q", name)
}
