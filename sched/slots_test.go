package sched

import (
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
)

func TestJitterOffsetStableAndInRange(t *testing.T) {
	slot := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	seen := map[time.Duration]bool{}
	for i := range 50 {
		s := slot.Add(time.Duration(i) * time.Hour)
		off := jitterOffset("garden/weather", s, 10*time.Minute)
		if off < 0 || off >= 10*time.Minute {
			t.Fatalf("offset %s out of range", off)
		}
		if off != jitterOffset("garden/weather", s, 10*time.Minute) {
			t.Fatal("offset not stable")
		}
		seen[off] = true
	}
	if len(seen) < 40 {
		t.Fatalf("only %d distinct offsets in 50 slots", len(seen))
	}
	if jitterOffset("a/b", slot, 0) != 0 || jitterOffset("a/b", slot, time.Microsecond) != 0 {
		t.Fatal("no jitter must give no offset")
	}
}

func TestMissedSlots(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	now := t0.Add(150 * time.Minute)
	hourly := Schedule{Type: TypeCron, Cron: "0 * * * *", Location: time.UTC}
	minutely := Schedule{Type: TypeCron, Cron: "* * * * * *", Location: time.UTC}
	iv := Schedule{Type: TypeInterval, Interval: time.Hour}
	at := Schedule{Type: TypeAt, At: t0}
	for _, tc := range []struct {
		name  string
		s     Schedule
		st    agents.ScheduleState
		now   time.Time
		total int
		last  time.Time
	}{
		{"fresh", hourly, agents.ScheduleState{}, now, 0, time.Time{}},
		{"cron 3", hourly, agents.ScheduleState{NextRun: t0}, now, 3, t0.Add(2 * time.Hour)},
		{"cron not yet due", hourly, agents.ScheduleState{NextRun: now.Add(time.Minute)}, now, 0, time.Time{}},
		{"interval 3", iv, agents.ScheduleState{NextRun: t0}, now, 3, t0.Add(2 * time.Hour)},
		{"interval capped", iv, agents.ScheduleState{NextRun: t0.AddDate(-1, 0, 0)}, now, 8763, t0.Add(2 * time.Hour)},
		{"at missed", at, agents.ScheduleState{NextRun: t0}, now, 1, t0},
		{"at ran", at, agents.ScheduleState{LastRun: t0}, now, 0, time.Time{}},
		{"every second for two days", minutely, agents.ScheduleState{NextRun: now.Add(-48 * time.Hour)}, now, 172801, now},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slots, total := missedSlots(tc.s, tc.st, tc.now)
			if tc.name == "every second for two days" {
				if total < maxWalk || len(slots) != maxMissed || !slots[len(slots)-1].Equal(tc.last) {
					t.Fatalf("total %d, %d slots, last %v", total, len(slots), slots[len(slots)-1])
				}
				return
			}
			if total != tc.total || len(slots) != min(total, maxMissed) {
				t.Fatalf("total %d (%d slots), want %d", total, len(slots), tc.total)
			}
			if total > 0 && !slots[len(slots)-1].Equal(tc.last) {
				t.Fatalf("last slot %s, want %s", slots[len(slots)-1], tc.last)
			}
		})
	}
}
