package spec_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/sched/spec"
)

func TestParseInterval(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"5m":    5 * time.Minute,
		"5 m":   5 * time.Minute, // herdctl allows blanks before the unit
		"5M":    5 * time.Minute, // and any case: M is minutes, as in herdctl
		"30s":   30 * time.Second,
		"12h":   12 * time.Hour,
		"2d":    48 * time.Hour,
		" 4h ":  4 * time.Hour,
		"1h30m": 90 * time.Minute, // Go durations
		"3d12h": 84 * time.Hour,
	} {
		got, err := spec.ParseInterval(in)
		if err != nil || got != want {
			t.Errorf("ParseInterval(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"":          "empty",
		"5":         "unit",
		"m":         "unit",
		"5.5m":      "decimals",
		"1.5h":      "decimals",
		"3w":        `unknown unit "w"`,
		"5 minutes": "unknown unit",
		"0m":        "greater than zero",
		"-5m":       "greater than zero",
		"0s":        "greater than zero",
		"1500ms":    `unknown unit "ms"`,
	} {
		_, err := spec.ParseInterval(in)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseInterval(%q) error %v; want one mentioning %q", in, err, msg)
		}
	}
}

func mustCron(t *testing.T, expr string, loc *time.Location) *spec.Cron {
	t.Helper()
	c, err := spec.ParseCron(expr, loc)
	if err != nil {
		t.Fatalf("ParseCron(%q): %v", expr, err)
	}
	return c
}

// nexts returns n fire times after from, formatted.
func nexts(c *spec.Cron, from time.Time, n int) []string {
	var out []string
	for range n {
		from = c.Next(from)
		out = append(out, from.Format("2006-01-02 Mon 15:04:05 MST"))
	}
	return out
}

func TestCronFireTimes(t *testing.T) {
	from := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC) // a Thursday
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{"0 9 * * 1-5", []string{"2026-01-16 Fri 09:00:00 UTC", "2026-01-19 Mon 09:00:00 UTC"}},
		{"*/20 * * * *", []string{"2026-01-15 Thu 10:40:00 UTC", "2026-01-15 Thu 11:00:00 UTC"}},
		{"0 9 L * *", []string{"2026-01-31 Sat 09:00:00 UTC", "2026-02-28 Sat 09:00:00 UTC"}},
		{"0 9 * * 1#2", []string{"2026-02-09 Mon 09:00:00 UTC", "2026-03-09 Mon 09:00:00 UTC"}},
		{"0 17 * * 5L", []string{"2026-01-30 Fri 17:00:00 UTC", "2026-02-27 Fri 17:00:00 UTC"}},
		{"30 8 * JAN-MAR MON-FRI", []string{"2026-01-16 Fri 08:30:00 UTC", "2026-01-19 Mon 08:30:00 UTC"}},
		{"0 0 * * 7", []string{"2026-01-18 Sun 00:00:00 UTC", "2026-01-25 Sun 00:00:00 UTC"}},
		{"0 0 ? * SUN", []string{"2026-01-18 Sun 00:00:00 UTC", "2026-01-25 Sun 00:00:00 UTC"}},
		{"@weekly", []string{"2026-01-18 Sun 00:00:00 UTC", "2026-01-25 Sun 00:00:00 UTC"}},
		{"@DAILY", []string{"2026-01-16 Fri 00:00:00 UTC", "2026-01-17 Sat 00:00:00 UTC"}},
		{"@hourly", []string{"2026-01-15 Thu 11:00:00 UTC", "2026-01-15 Thu 12:00:00 UTC"}},
		{"@yearly", []string{"2027-01-01 Fri 00:00:00 UTC", "2028-01-01 Sat 00:00:00 UTC"}},
		// Both day fields restricted: either matches (the 1st, or Mondays).
		{"0 12 1 * MON", []string{"2026-01-19 Mon 12:00:00 UTC", "2026-01-26 Mon 12:00:00 UTC", "2026-02-01 Sun 12:00:00 UTC"}},
		// Six fields: seconds first (herdbot's extension).
		{"15 */5 * * * *", []string{"2026-01-15 Thu 10:30:15 UTC", "2026-01-15 Thu 10:35:15 UTC"}},
		{"0 0 29 2 *", []string{"2028-02-29 Tue 00:00:00 UTC", "2032-02-29 Sun 00:00:00 UTC"}},
	} {
		got := nexts(mustCron(t, tc.expr, time.UTC), from, len(tc.want))
		if strings.Join(got, ", ") != strings.Join(tc.want, ", ") {
			t.Errorf("%q after %s:\n got  %s\n want %s", tc.expr, from, got, tc.want)
		}
	}
}

func TestCronErrors(t *testing.T) {
	for expr, msg := range map[string]string{
		"":                 "empty",
		"* * * *":          "want 5 fields",
		"* * * * * * *":    "got 7",
		"61 * * * *":       "minute 61 is out of range",
		"* 24 * * *":       "hour",
		"* * 0 * *":        "day-of-month",
		"* * * 13 *":       "month",
		"* * * * 8":        "day-of-week",
		"* * * FOO *":      "month name",
		"*/0 * * * *":      "step",
		"5-1 * * * *":      "backwards",
		"@every 5m":        "interval schedule",
		"@reboot":          "shorthand",
		"TZ=UTC 0 9 * * *": "timezone",
		"0 0 30 2 *":       "never fires",
		"0 9 * * L":        "weekday before it",
		"0 9 * * 1#6":      "1 to 5",
		"1,,2 * * * *":     "empty",
	} {
		_, err := spec.ParseCron(expr, time.UTC)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseCron(%q) error %v; want one mentioning %q", expr, err, msg)
		}
	}
}

// TestCronDaylightSaving: a wall-clock time that happens twice fires once;
// one that does not happen is skipped that day.
func TestCronDaylightSaving(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no zone data:", err)
	}
	c := mustCron(t, "30 2 * * *", berlin)
	// 2026-10-25: 02:30 happens twice (CEST, then CET).
	from := time.Date(2026, 10, 24, 12, 0, 0, 0, berlin)
	got := nexts(c, from, 2)
	if got[0] != "2026-10-25 Sun 02:30:00 CEST" || got[1] != "2026-10-26 Mon 02:30:00 CET" {
		t.Errorf("fall back: %v", got)
	}
	// 2026-03-29: 02:30 does not happen.
	from = time.Date(2026, 3, 28, 12, 0, 0, 0, berlin)
	got = nexts(c, from, 1)
	if got[0] != "2026-03-30 Mon 02:30:00 CEST" {
		t.Errorf("spring forward: %v", got)
	}
}

func TestCheck(t *testing.T) {
	now := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)
	ok := func(typ string) spec.Schedule {
		return spec.Schedule{Agent: "garden", Name: "daily", Type: typ, Prompt: "p", Interval: time.Hour, Cron: "0 9 * * *", At: now,
			Secret: map[bool]string{true: "s"}[typ == spec.TypeWebhook]}
	}
	for _, tc := range []struct {
		name  string
		edit  func(*spec.Schedule)
		field string // "" = no error
		err   string
	}{
		{"interval", func(s *spec.Schedule) { *s = ok(spec.TypeInterval); s.Jitter = time.Minute }, "", ""},
		{"interval too short", func(s *spec.Schedule) { *s = ok(spec.TypeInterval); s.Interval = time.Millisecond }, "interval", "at least"},
		{"jitter over the interval", func(s *spec.Schedule) { *s = ok(spec.TypeInterval); s.Jitter = time.Hour }, "jitter", "jitter"},
		{"jitter negative", func(s *spec.Schedule) { *s = ok(spec.TypeInterval); s.Jitter = -time.Second }, "jitter", "negative"},
		{"cron L", func(s *spec.Schedule) { *s = ok(spec.TypeCron); s.Cron = "0 9 L * *" }, "", ""},
		{"cron @every", func(s *spec.Schedule) { *s = ok(spec.TypeCron); s.Cron = "@every 5m" }, "cron", "interval schedule"},
		{"cron jitter over the gap", func(s *spec.Schedule) { *s = ok(spec.TypeCron); s.Cron = "* * * * *"; s.Jitter = time.Minute }, "jitter", "gap"},
		{"at without a time", func(s *spec.Schedule) { *s = ok(spec.TypeAt); s.At = time.Time{} }, "at", "at"},
		{"at", func(s *spec.Schedule) { *s = ok(spec.TypeAt) }, "", ""},
		{"webhook", func(s *spec.Schedule) {
			*s = ok(spec.TypeWebhook)
			s.Fields = []string{"pr.title"}
			s.Prompt = "{{ pr.title }}"
		}, "", ""},
		{"webhook without a secret", func(s *spec.Schedule) { *s = ok(spec.TypeWebhook); s.Secret = "" }, "secret", "secret is required"},
		{"webhook field", func(s *spec.Schedule) { *s = ok(spec.TypeWebhook); s.Fields = []string{"a..b"} }, "fields", "dotted names"},
		{"webhook template field not listed", func(s *spec.Schedule) { *s = ok(spec.TypeWebhook); s.Prompt = "{{x}}" }, "prompt", "not listed in fields"},
		{"fields of a cron", func(s *spec.Schedule) { *s = ok(spec.TypeCron); s.Fields = []string{"x"} }, "fields", "webhooks only"},
		{"secret of an interval", func(s *spec.Schedule) { *s = ok(spec.TypeInterval); s.Secret = "s" }, "secret", "webhooks only"},
		{"agent name", func(s *spec.Schedule) { *s = ok(spec.TypeAt); s.Agent = strings.Repeat("a", 65) }, "agent", "max 64"},
		{"qualified agent name", func(s *spec.Schedule) { *s = ok(spec.TypeAt); s.Agent = "fleet.garden" }, "", ""},
		{"schedule name", func(s *spec.Schedule) { *s = ok(spec.TypeAt); s.Name = "a b" }, "name", "want letters"},
		{"prompt", func(s *spec.Schedule) { *s = ok(spec.TypeAt); s.Prompt = " " }, "prompt", "empty"},
		{"catch-up", func(s *spec.Schedule) { *s = ok(spec.TypeAt); s.CatchUp = "all" }, "catch_up", "want"},
		{"type", func(s *spec.Schedule) { *s = ok("hourly") }, "type", "want interval"},
	} {
		var s spec.Schedule
		tc.edit(&s)
		err := spec.Check(s, now)
		var fe *spec.FieldError
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v; want no error", tc.name, err)
			}
			continue
		}
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v (%+v); want %q in field %s", tc.name, err, fe, tc.err, tc.field)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	got := spec.Placeholders("{{a.b}} and {{ c }} and {{a.b}} but not {x} or {{bad key}}")
	if want := []string{"a.b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
