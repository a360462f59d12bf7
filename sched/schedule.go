package sched

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/sched/timing"
)

// Schedule types.
const (
	TypeInterval = "interval" // every Interval, measured from the end of the previous run
	TypeCron     = "cron"     // a 5- or 6-field cron expression in Location
	TypeAt       = "at"       // once, at At
	TypeWebhook  = "webhook"  // on a signed POST /hooks/AGENT/NAME
)

// Catch-up policies: what happens to slots missed while herdbot was down.
const (
	CatchUpSkip = "skip" // default: each missed slot is logged and audited, none runs
	CatchUpOnce = "once" // one catch-up run now; the earlier missed slots are skipped
)

// MinInterval is the shortest interval a schedule may have.
const MinInterval = timing.MinInterval

// Schedule is one scheduled (or webhook-triggered) prompt of an agent. The
// lead maps the agent file's schedules onto it; the zero value of each
// optional field is its default.
type Schedule struct {
	Agent string
	Name  string
	Type  string // TypeInterval, TypeCron, TypeAt, TypeWebhook

	Interval time.Duration  // TypeInterval
	Cron     string         // TypeCron: 5 fields, or 6 with seconds first
	Location *time.Location // TypeCron time zone; nil = Config.Location
	At       time.Time      // TypeAt
	// Jitter delays each run by a stable pseudo-random offset in
	// [0, Jitter), derived from the agent, name and slot, to spread load.
	Jitter time.Duration

	Prompt  string // for webhooks a template: {{field.path}} takes a payload field listed in Fields
	Enabled bool
	// PostTo is where the report goes and where approval cards appear; the
	// zero Target posts nothing (and approvals are denied at once).
	PostTo        bot.Target
	ResumeSession bool
	CatchUp       string // CatchUpSkip (default) or CatchUpOnce

	// Webhook only.
	Secret string   // HMAC-SHA256 key of X-Hub-Signature-256
	Fields []string // payload fields the prompt template may use
}

// timingOf is what timing.Check needs of s. config checks a configured
// schedule's timing with the same function, so `herdbot validate` and the
// scheduler cannot disagree.
func timingOf(s Schedule) timing.Timing {
	return timing.Timing{Type: s.Type, Interval: s.Interval, Cron: s.Cron, Location: s.Location, At: s.At, Jitter: s.Jitter}
}

// Key is "agent/name", the schedule's identity.
func (s Schedule) Key() string { return s.Agent + "/" + s.Name }

// nameRE is what agent and schedule names may contain: they appear in URL
// paths (/hooks/AGENT/NAME), metric labels and audit rows.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ErrInvalid is wrapped by every Validate error.
var ErrInvalid = errors.New("invalid schedule")

// Validate checks s and returns an error naming the schedule and the field.
func Validate(s Schedule) error {
	if err := validate(s); err != nil {
		return fmt.Errorf("%w %s: %w", ErrInvalid, s.Key(), err)
	}
	return nil
}

func validate(s Schedule) error {
	if !nameRE.MatchString(s.Agent) {
		return fmt.Errorf("agent %q: want letters, digits, '_', '.', '-' (max 64)", s.Agent)
	}
	if !nameRE.MatchString(s.Name) {
		return fmt.Errorf("name %q: want letters, digits, '_', '.', '-' (max 64)", s.Name)
	}
	if strings.TrimSpace(s.Prompt) == "" {
		return errors.New("prompt is empty")
	}
	switch s.CatchUp {
	case "", CatchUpSkip, CatchUpOnce:
	default:
		return fmt.Errorf("catch_up %q: want %q or %q", s.CatchUp, CatchUpSkip, CatchUpOnce)
	}
	if err := timing.Check(timingOf(s), time.Now()); err != nil {
		return err
	}
	switch s.Type {
	case TypeInterval, TypeCron, TypeAt:
	case TypeWebhook:
		if s.Secret == "" {
			return errors.New("secret is required for a webhook")
		}
		for _, f := range s.Fields {
			if !fieldRE.MatchString(f) {
				return fmt.Errorf("field %q: want dotted names (letters, digits, '_', '-')", f)
			}
		}
		for _, p := range Placeholders(s.Prompt) {
			if !slices.Contains(s.Fields, p) {
				return fmt.Errorf("prompt uses {{%s}}, which is not listed in fields", p)
			}
		}
	default:
		return fmt.Errorf("type %q: want %s, %s, %s or %s", s.Type, TypeInterval, TypeCron, TypeAt, TypeWebhook)
	}
	if s.Type != TypeWebhook && (s.Secret != "" || len(s.Fields) > 0) {
		return errors.New("secret and fields are for webhooks only")
	}
	return nil
}
