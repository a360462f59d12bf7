package sched

import "time"

// NextRuns returns up to n nominal fire times of s strictly after after,
// ignoring Enabled and Jitter. It needs no Scheduler (herdbot validate and
// herdbot schedules use it). A nil Location means UTC; the Scheduler fills
// it with Config.Location first. Interval times assume runs take no time
// (the real next run is counted from the end of the previous one). A
// webhook or an invalid schedule has none.
func NextRuns(s Schedule, after time.Time, n int) []time.Time {
	if n <= 0 {
		return nil
	}
	var out []time.Time
	switch s.Type {
	case TypeInterval:
		if s.Interval < MinInterval {
			return nil
		}
		for i := 1; i <= n; i++ {
			out = append(out, after.Add(time.Duration(i)*s.Interval))
		}
	case TypeCron:
		c, err := parseCron(s.Cron, locOr(s.Location, time.UTC))
		if err != nil {
			return nil
		}
		t := after
		for range n {
			t = c.Next(t)
			if t.IsZero() {
				break
			}
			out = append(out, t)
		}
	case TypeAt:
		if s.At.After(after) {
			out = append(out, s.At)
		}
	}
	return out
}

func locOr(l, def *time.Location) *time.Location {
	if l != nil {
		return l
	}
	if def != nil {
		return def
	}
	return time.UTC
}
