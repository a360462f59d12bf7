package sched

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/robfig/cron/v3"
)

// cronParser reads 5 fields, or 6 with seconds first, and @daily-style
// descriptors.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// cronSpec is a parsed cron expression bound to a time zone. It is both the
// source of NextRuns and, through gocron.WithCronImplementation, the
// schedule gocron fires, so listed and fired times cannot disagree.
type cronSpec struct {
	expr string
	spec *cron.SpecSchedule
	loc  *time.Location
}

var _ gocron.Cron = (*cronSpec)(nil)

func parseCron(expr string, loc *time.Location) (*cronSpec, error) {
	e := strings.TrimSpace(expr)
	if e == "" {
		return nil, errors.New("cron: expression is empty")
	}
	if strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ=") {
		return nil, fmt.Errorf("cron %q: set the schedule's timezone instead of a TZ= prefix", expr)
	}
	if strings.HasPrefix(e, "@every") {
		return nil, fmt.Errorf("cron %q: use an interval schedule for @every", expr)
	}
	if n := len(strings.Fields(e)); !strings.HasPrefix(e, "@") && n != 5 && n != 6 {
		return nil, fmt.Errorf("cron %q: want 5 fields (or 6 with seconds first), got %d", expr, n)
	}
	parsed, err := cronParser.Parse(e)
	if err != nil {
		return nil, fmt.Errorf("cron %q: %w", expr, err)
	}
	spec, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("cron %q: unsupported expression", expr)
	}
	spec.Location = loc
	c := &cronSpec{expr: e, spec: spec, loc: loc}
	if c.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("cron %q: never fires", expr)
	}
	return c, nil
}

// Next returns the first fire time strictly after t, in the spec's zone. On
// a daylight-saving fall-back the repeated wall-clock time fires once.
func (c *cronSpec) Next(t time.Time) time.Time {
	t = t.In(c.loc)
	n := c.spec.Next(t)
	if n.IsZero() {
		return n
	}
	n = n.In(c.loc)
	if sameWallClock(t, n) {
		n = c.spec.Next(n).In(c.loc)
	}
	return n
}

// IsValid implements gocron.Cron; the spec was validated by parseCron.
func (c *cronSpec) IsValid(string, *time.Location, time.Time) error { return nil }

// minGap is the shortest gap between consecutive fire times over the next
// few runs after t, for validating jitter.
func (c *cronSpec) minGap(t time.Time) time.Duration {
	gap := time.Duration(1<<63 - 1)
	prev := c.Next(t)
	for range 8 {
		n := c.Next(prev)
		if n.IsZero() {
			break
		}
		gap = min(gap, n.Sub(prev))
		prev = n
	}
	return gap
}

func sameWallClock(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd &&
		a.Hour() == b.Hour() && a.Minute() == b.Minute() && a.Second() == b.Second()
}
