package sched_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/sched"
)

func TestValidate(t *testing.T) {
	ok := every("garden", "weather", time.Hour)
	hook := sched.Schedule{Agent: "garden", Name: "gh", Type: sched.TypeWebhook, Prompt: "PR {{pull_request.title}}",
		Secret: "s3cret", Fields: []string{"pull_request.title"}, Enabled: true}
	for _, tc := range []struct {
		name   string
		mutate func(*sched.Schedule)
		base   sched.Schedule
		err    string // "" = valid
	}{
		{"interval ok", nil, ok, ""},
		{"webhook ok", nil, hook, ""},
		{"cron 5 ok", func(s *sched.Schedule) { s.Type, s.Cron = sched.TypeCron, "*/5 * * * *" }, ok, ""},
		{"cron 6 ok", func(s *sched.Schedule) { s.Type, s.Cron = sched.TypeCron, "0 */5 * * * *" }, ok, ""},
		{"at ok", func(s *sched.Schedule) { s.Type, s.At = sched.TypeAt, t0 }, ok, ""},
		{"bad agent", func(s *sched.Schedule) { s.Agent = "../etc" }, ok, "agent"},
		{"empty name", func(s *sched.Schedule) { s.Name = "" }, ok, "name"},
		{"empty prompt", func(s *sched.Schedule) { s.Prompt = "  " }, ok, "prompt"},
		{"bad type", func(s *sched.Schedule) { s.Type = "daily" }, ok, "type"},
		{"short interval", func(s *sched.Schedule) { s.Interval = time.Millisecond }, ok, "interval"},
		{"jitter too long", func(s *sched.Schedule) { s.Jitter = time.Hour }, ok, "jitter"},
		{"negative jitter", func(s *sched.Schedule) { s.Jitter = -time.Second }, ok, "jitter"},
		{"bad catch_up", func(s *sched.Schedule) { s.CatchUp = "all" }, ok, "catch_up"},
		{"cron 4 fields", func(s *sched.Schedule) { s.Type, s.Cron = sched.TypeCron, "* * * *" }, ok, "5 fields"},
		{"cron bad field", func(s *sched.Schedule) { s.Type, s.Cron = sched.TypeCron, "61 * * * *" }, ok, "cron"},
		{"cron TZ prefix", func(s *sched.Schedule) { s.Type, s.Cron = sched.TypeCron, "TZ=UTC * * * * *" }, ok, "timezone"},
		{"cron @every", func(s *sched.Schedule) { s.Type, s.Cron = sched.TypeCron, "@every 1h" }, ok, "interval"},
		{"cron jitter over gap", func(s *sched.Schedule) { s.Type, s.Cron, s.Jitter = sched.TypeCron, "* * * * *", time.Minute }, ok, "jitter"},
		{"at zero", func(s *sched.Schedule) { s.Type = sched.TypeAt }, ok, "at"},
		{"secret on interval", func(s *sched.Schedule) { s.Secret = "x" }, ok, "webhooks only"},
		{"webhook no secret", func(s *sched.Schedule) { s.Secret = "" }, hook, "secret"},
		{"webhook unlisted field", func(s *sched.Schedule) { s.Prompt = "{{sender.login}}" }, hook, "not listed"},
		{"webhook bad field", func(s *sched.Schedule) { s.Fields = []string{"a..b"} }, hook, "field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.base
			s.Fields = append([]string(nil), s.Fields...)
			if tc.mutate != nil {
				tc.mutate(&s)
			}
			err := sched.Validate(s)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.err != "" && err == nil:
				t.Fatalf("no error, want one about %q", tc.err)
			case tc.err != "" && (!strings.Contains(err.Error(), tc.err) || !errors.Is(err, sched.ErrInvalid)):
				t.Fatalf("error %q, want ErrInvalid mentioning %q", err, tc.err)
			}
		})
	}
}
