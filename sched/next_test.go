package sched_test

import (
	"testing"
	"time"

	"github.com/herdbot/herdbot/sched"
)

func TestNextRuns(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	after := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name string
		s    sched.Schedule
		from time.Time
		want []time.Time
	}{
		{"interval", sched.Schedule{Type: sched.TypeInterval, Interval: 72 * time.Hour}, after,
			[]time.Time{after.Add(72 * time.Hour), after.Add(144 * time.Hour), after.Add(216 * time.Hour)}},
		{"cron 5 fields UTC default", sched.Schedule{Type: sched.TypeCron, Cron: "0 */6 * * *"}, after,
			[]time.Time{utc(2026, 11, 22, 12, 0), utc(2026, 11, 22, 18, 0), utc(2026, 11, 23, 0, 0)}},
		{"cron 6 fields", sched.Schedule{Type: sched.TypeCron, Cron: "30 0 11 * * *", Location: time.UTC}, after,
			[]time.Time{utc(2026, 11, 22, 11, 0).Add(30 * time.Second), utc(2026, 11, 23, 11, 0).Add(30 * time.Second), utc(2026, 11, 24, 11, 0).Add(30 * time.Second)}},
		{"cron descriptor in Tokyo", sched.Schedule{Type: sched.TypeCron, Cron: "@daily", Location: tokyo}, after,
			[]time.Time{utc(2026, 11, 22, 15, 0), utc(2026, 11, 23, 15, 0), utc(2026, 11, 24, 15, 0)}},
		// 1 Nov 2026: New York falls back; 01:30 happens twice and runs once.
		{"cron fall back runs once", sched.Schedule{Type: sched.TypeCron, Cron: "30 1 * * *", Location: ny}, utc(2026, 10, 31, 12, 0),
			[]time.Time{utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30), utc(2026, 11, 3, 6, 30)}},
		// 8 Mar 2026: New York springs forward; 02:30 does not exist that day.
		{"cron spring forward skips the missing hour", sched.Schedule{Type: sched.TypeCron, Cron: "30 2 * * *", Location: ny}, utc(2026, 3, 7, 12, 0),
			[]time.Time{utc(2026, 3, 9, 6, 30), utc(2026, 3, 10, 6, 30), utc(2026, 3, 11, 6, 30)}},
		{"at in the future", sched.Schedule{Type: sched.TypeAt, At: after.Add(time.Hour)}, after, []time.Time{after.Add(time.Hour)}},
		{"at in the past", sched.Schedule{Type: sched.TypeAt, At: after.Add(-time.Hour)}, after, nil},
		{"webhook", sched.Schedule{Type: sched.TypeWebhook}, after, nil},
		{"bad cron", sched.Schedule{Type: sched.TypeCron, Cron: "nope"}, after, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sched.NextRuns(tc.s, tc.from, 3)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if !got[i].Equal(tc.want[i]) {
					t.Fatalf("run %d = %s, want %s (all: %v)", i, got[i].UTC(), tc.want[i], got)
				}
			}
		})
	}
	if got := sched.NextRuns(sched.Schedule{Type: sched.TypeInterval, Interval: time.Hour}, after, 0); got != nil {
		t.Fatalf("n=0 gave %v", got)
	}
}
