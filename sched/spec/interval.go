// Package spec reads and checks schedules, for sched: when one fires
// (cron expressions: herdctl's five fields with L and #, herdbot's
// optional seconds field, @daily-style shorthands; intervals: herdctl's
// "5m", "5 m", "5M", and Go durations such as "1h30m" or "3d12h") and
// what it may hold (names, catch-up policy, a webhook's secret, fields and
// prompt template).
//
// It is sched's parser and checker, kept in a package of its own (no
// dependencies) so that config checks a fleet with exactly the code the
// scheduler runs: `herdbot validate` and `herdbot start` can never
// disagree about a schedule. Check is the one check of a whole schedule.
package spec

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MinInterval is the shortest interval a schedule may have.
const MinInterval = time.Second

// herdctlInterval is herdctl's interval form: a whole number, optional
// blanks, a unit letter (any case).
var herdctlInterval = regexp.MustCompile(`^(\d+)\s*([a-zA-Z]+)$`)

// ParseInterval reads an interval: herdctl's "{number}{unit}" with unit s,
// m, h or d in any case and blanks allowed before it ("5m", "5 m", "5M",
// "2d"), or a Go duration with whole days allowed in front ("1h30m",
// "3d12h"). Decimals, zero and negative intervals are refused, as herdctl
// refuses them.
func ParseInterval(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("interval is empty: write a number and a unit, e.g. 5m, 1h or 2d")
	}
	if m := herdctlInterval.FindStringSubmatch(t); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("interval %q: the number is too large", s)
		}
		var unit time.Duration
		switch strings.ToLower(m[2]) {
		case "s":
			unit = time.Second
		case "m":
			unit = time.Minute
		case "h":
			unit = time.Hour
		case "d":
			unit = 24 * time.Hour
		default:
			return 0, fmt.Errorf("interval %q: unknown unit %q; use s, m, h or d", s, m[2])
		}
		if n == 0 {
			return 0, fmt.Errorf("interval %q: must be greater than zero", s)
		}
		if n > int64(1<<62)/int64(unit) {
			return 0, fmt.Errorf("interval %q is too long", s)
		}
		return time.Duration(n) * unit, nil
	}
	if strings.Contains(t, ".") {
		return 0, fmt.Errorf("interval %q: decimals are not supported; use a whole number of a smaller unit (90s, not 1.5m)", s)
	}
	d, err := parseGoDays(t)
	if err != nil {
		return 0, fmt.Errorf("interval %q: use a number and a unit (s, m, h, d), e.g. 5m, 1h, 2d, or a combination such as 1h30m", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("interval %q: must be greater than zero", s)
	}
	return d, nil
}

// parseGoDays parses a Go duration with whole days allowed in front.
func parseGoDays(s string) (time.Duration, error) {
	var days int64
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 32)
		if err != nil || n < 0 {
			return 0, errors.New("bad day count")
		}
		days, s = n, s[i+1:]
		if s == "" {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 && days > 0 {
		return 0, errors.New("negative part")
	}
	return time.Duration(days)*24*time.Hour + d, nil
}
