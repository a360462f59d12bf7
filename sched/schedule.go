package sched

import (
	"errors"
	"fmt"
	"time"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/sched/spec"
)

// Schedule types.
const (
	TypeInterval = spec.TypeInterval // every Interval, measured from the end of the previous run
	TypeCron     = spec.TypeCron     // a 5- or 6-field cron expression in Location
	TypeAt       = spec.TypeAt       // once, at At
	TypeWebhook  = spec.TypeWebhook  // on a signed POST /hooks/AGENT/NAME
)

// Catch-up policies: what happens to slots missed while herdbot was down.
const (
	CatchUpSkip = spec.CatchUpSkip // default: each missed slot is logged and audited, none runs
	CatchUpOnce = spec.CatchUpOnce // one catch-up run now; the earlier missed slots are skipped
)

// MinInterval is the shortest interval a schedule may have.
const MinInterval = spec.MinInterval

// Schedule is one scheduled (or webhook-triggered) prompt of an agent.
// cmd/herdbot maps each configured schedule onto it (config.Schedule); the
// zero value of each optional field is its default.
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

// Spec is what spec.Check reads of s. config checks each configured
// schedule with spec.Check too, so `herdbot validate` and the scheduler
// cannot disagree.
func (s Schedule) Spec() spec.Schedule {
	return spec.Schedule{Agent: s.Agent, Name: s.Name, Type: s.Type, Interval: s.Interval, Cron: s.Cron,
		Location: s.Location, At: s.At, Jitter: s.Jitter, Prompt: s.Prompt, CatchUp: s.CatchUp, Secret: s.Secret, Fields: s.Fields}
}

// Key is "agent/name", the schedule's identity.
func (s Schedule) Key() string { return s.Agent + "/" + s.Name }

// ErrInvalid is wrapped by every Validate error.
var ErrInvalid = errors.New("invalid schedule")

// Validate checks s and returns an error naming the schedule and the field.
func Validate(s Schedule) error {
	if err := spec.Check(s.Spec(), time.Now()); err != nil {
		return fmt.Errorf("%w %s: %w", ErrInvalid, s.Key(), err)
	}
	return nil
}
