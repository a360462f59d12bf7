package sched

import (
	"hash/fnv"
	"strconv"
	"time"

	"github.com/herdbot/herdbot/agents"
)

// maxMissed caps how many missed slots are handled one by one after a long
// downtime; the rest are summarised in one log line and one audit row.
const maxMissed = 100

// maxWalk bounds the cron fire times walked to count missed slots.
const maxWalk = 100_000

// jitterOffset is a stable pseudo-random delay in [0, jitter) for one slot
// of one schedule, in whole milliseconds.
func jitterOffset(key string, slot time.Time, jitter time.Duration) time.Duration {
	ms := uint64(jitter / time.Millisecond)
	if ms == 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, slot.UnixMilli(), 10))
	return time.Duration(h.Sum64()%ms) * time.Millisecond
}

// missedSlots returns the slots of s that fell due while nothing ran them:
// from the persisted NextRun (or, without one, after LastRun) up to and
// including now, at most maxMissed of them (the latest ones), and how many
// there were in all. A fresh state (both zero) missed nothing.
func missedSlots(s Schedule, st agents.ScheduleState, now time.Time) (slots []time.Time, total int) {
	add := func(t time.Time) {
		total++
		slots = append(slots, t)
		if len(slots) > maxMissed {
			slots = slots[1:]
		}
	}
	switch s.Type {
	case TypeCron:
		c, err := parseCron(s.Cron, locOr(s.Location, time.UTC))
		if err != nil {
			return nil, 0
		}
		var from time.Time // fires strictly after from
		switch {
		case !st.NextRun.IsZero():
			from = st.NextRun.Add(-time.Millisecond)
		case !st.LastRun.IsZero():
			from = st.LastRun
		default:
			return nil, 0
		}
		walked := 0
		for t := c.Next(from); !t.IsZero() && !t.After(now); t = c.Next(t) {
			add(t)
			if walked++; walked == maxWalk {
				// A frequent schedule down for long: count the rest
				// roughly, keep the latest slots exactly.
				last := t
				slots = nil
				for u := c.Next(now.Add(-24 * time.Hour)); !u.IsZero() && !u.After(now); u = c.Next(u) {
					if u.After(last) {
						slots = append(slots, u)
					}
				}
				total += len(slots)
				if len(slots) > maxMissed {
					slots = slots[len(slots)-maxMissed:]
				}
				break
			}
		}
	case TypeInterval:
		first := st.NextRun
		if first.IsZero() {
			if st.LastRun.IsZero() {
				return nil, 0
			}
			first = st.LastRun.Add(s.Interval)
		}
		if first.After(now) || s.Interval <= 0 {
			return nil, 0
		}
		total = int(now.Sub(first)/s.Interval) + 1
		for k := max(total-maxMissed, 0); k < total; k++ {
			slots = append(slots, first.Add(time.Duration(k)*s.Interval))
		}
	case TypeAt:
		if !s.At.After(now) && st.LastRun.Before(s.At) && (!st.NextRun.IsZero() || !st.LastRun.IsZero()) {
			add(s.At)
		}
	}
	return slots, total
}
