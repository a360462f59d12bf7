package sched

import (
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/herdbot/herdbot/sched/timing"
)

// cronSpec is a parsed cron expression bound to a time zone (see
// timing.ParseCron for the syntax). It is both the source of NextRuns and,
// through gocron.WithCronImplementation, the schedule gocron fires, so
// listed and fired times cannot disagree.
type cronSpec struct {
	*timing.Cron
}

var _ gocron.Cron = (*cronSpec)(nil)

func parseCron(expr string, loc *time.Location) (*cronSpec, error) {
	c, err := timing.ParseCron(expr, loc)
	if err != nil {
		return nil, err
	}
	return &cronSpec{c}, nil
}

// IsValid implements gocron.Cron; the spec was validated by parseCron.
func (c *cronSpec) IsValid(string, *time.Location, time.Time) error { return nil }

// minGap is the shortest gap between consecutive fire times after t.
func (c *cronSpec) minGap(t time.Time) time.Duration { return c.MinGap(t) }
