package sched

import (
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/sched/spec"
)

// cronSpec is a parsed cron expression bound to a time zone (see
// spec.ParseCron for the syntax). It is both the source of NextRuns and,
// through gocron.WithCronImplementation, the schedule gocron fires, so
// listed and fired times cannot disagree.
type cronSpec struct {
	*spec.Cron
}

var _ gocron.Cron = firing{}

// firing is the cronSpec as gocron sees it: the next fire time after both
// the time gocron asks about and now. gocron plans a job's next fire from
// the last time it planned, or from the job's start time when a fire's
// completion was handled before its rescheduling (two channels, either
// order). From a past start time that gives a fire time equal to now,
// which gocron arms at once, and again after that fire, for as long as
// the clock reads that instant: with a fake clock forever (511 busy fires
// of one slot in 6 ms, measured), with the real one a burst. A slot that
// is now is the one being fired; the next is after it.
type firing struct {
	*cronSpec
	clock clockwork.Clock
}

func (f firing) Next(t time.Time) time.Time {
	if now := f.clock.Now(); now.After(t) {
		t = now
	}
	return f.cronSpec.Next(t)
}

func parseCron(expr string, loc *time.Location) (*cronSpec, error) {
	c, err := spec.ParseCron(expr, loc)
	if err != nil {
		return nil, err
	}
	return &cronSpec{c}, nil
}

// IsValid implements gocron.Cron; the spec was validated by parseCron.
func (c *cronSpec) IsValid(string, *time.Location, time.Time) error { return nil }

// minGap is the shortest gap between consecutive fire times after t.
func (c *cronSpec) minGap(t time.Time) time.Duration { return c.MinGap(t) }
