package spec

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
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

// Schedule is what Check reads of a schedule.
type Schedule struct {
	Agent    string
	Name     string
	Type     string         // TypeInterval, TypeCron, TypeAt, TypeWebhook
	Interval time.Duration  // TypeInterval
	Cron     string         // TypeCron
	Location *time.Location // TypeCron; nil means UTC
	At       time.Time      // TypeAt
	Jitter   time.Duration  // random delay before each run
	Prompt   string         // for webhooks a template of the payload's Fields
	CatchUp  string         // "" (CatchUpSkip), CatchUpSkip or CatchUpOnce
	Secret   string         // TypeWebhook
	Fields   []string       // TypeWebhook
}

// FieldError is what Check finds wrong, and the field it is in: agent,
// name, type, prompt, catch_up, interval, cron, at, jitter, secret or
// fields (the names of the configuration's fields).
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// nameRE is what agent and schedule names may be: they appear in URL
// paths (/hooks/AGENT/NAME), metric labels and audit rows.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ValidName reports whether s may be an agent's or a schedule's name.
func ValidName(s string) bool { return nameRE.MatchString(s) }

var (
	placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}`)
	fieldRE       = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
)

// Placeholders returns the field paths a prompt template uses, in order of
// first use: "{{ pull_request.title }}" gives "pull_request.title".
func Placeholders(tmpl string) []string {
	var out []string
	for _, m := range placeholderRE.FindAllStringSubmatch(tmpl, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// ExpandPlaceholders replaces each placeholder of tmpl, in one pass, with
// value(path).
func ExpandPlaceholders(tmpl string, value func(path string) string) string {
	return placeholderRE.ReplaceAllStringFunc(tmpl, func(m string) string {
		return value(placeholderRE.FindStringSubmatch(m)[1])
	})
}

// Check reports everything wrong with s, each a *FieldError (joined with
// errors.Join when there are several), or nil: names, prompt, catch-up
// policy, its timing (an interval shorter than MinInterval, a cron
// expression that does not parse or never fires, a missing at time, a
// jitter that is negative or not shorter than the time between two runs)
// and, for a webhook, its secret, fields and template. now is when a cron
// expression's gaps are measured from.
func Check(s Schedule, now time.Time) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	if !nameRE.MatchString(s.Agent) {
		bad("agent", "agent %q: want letters, digits, '_', '.', '-' (max 64)", s.Agent)
	}
	if !nameRE.MatchString(s.Name) {
		bad("name", "name %q: want letters, digits, '_', '.', '-' (max 64)", s.Name)
	}
	if strings.TrimSpace(s.Prompt) == "" {
		bad("prompt", "prompt is empty")
	}
	switch s.CatchUp {
	case "", CatchUpSkip, CatchUpOnce:
	default:
		bad("catch_up", "catch_up %q: want %q or %q", s.CatchUp, CatchUpSkip, CatchUpOnce)
	}
	if err := checkTiming(s, now); err != nil {
		errs = append(errs, err)
	}
	switch s.Type {
	case TypeInterval, TypeCron, TypeAt:
		if s.Secret != "" {
			bad("secret", "secret and fields are for webhooks only")
		}
		if len(s.Fields) > 0 {
			bad("fields", "secret and fields are for webhooks only")
		}
	case TypeWebhook:
		if s.Secret == "" {
			bad("secret", "secret is required for a webhook")
		}
		for _, f := range s.Fields {
			if !fieldRE.MatchString(f) {
				bad("fields", "field %q: want dotted names (letters, digits, '_', '-')", f)
			}
		}
		for _, p := range Placeholders(s.Prompt) {
			if !slices.Contains(s.Fields, p) {
				bad("prompt", "prompt uses {{%s}}, which is not listed in fields", p)
			}
		}
	default:
		bad("type", "type %q: want %s, %s, %s or %s", s.Type, TypeInterval, TypeCron, TypeAt, TypeWebhook)
	}
	return errors.Join(errs...)
}

// checkTiming checks when s fires.
func checkTiming(s Schedule, now time.Time) error {
	if s.Jitter < 0 {
		return &FieldError{"jitter", fmt.Errorf("jitter %s is negative", s.Jitter)}
	}
	switch s.Type {
	case TypeInterval:
		if s.Interval < MinInterval {
			return &FieldError{"interval", fmt.Errorf("interval %s: must be at least %s", s.Interval, MinInterval)}
		}
		if s.Jitter >= s.Interval {
			return &FieldError{"jitter", fmt.Errorf("jitter %s: must be shorter than the interval %s", s.Jitter, s.Interval)}
		}
	case TypeCron:
		loc := s.Location
		if loc == nil {
			loc = time.UTC
		}
		c, err := ParseCron(s.Cron, loc)
		if err != nil {
			return &FieldError{"cron", err}
		}
		if s.Jitter > 0 {
			if gap := c.MinGap(now); s.Jitter >= gap {
				return &FieldError{"jitter", fmt.Errorf("jitter %s: must be shorter than the gap between runs (%s)", s.Jitter, gap)}
			}
		}
	case TypeAt:
		if s.At.IsZero() {
			return &FieldError{"at", errors.New("at: time is required")}
		}
	}
	return nil
}
