package spec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cron is a parsed cron expression bound to a time zone.
//
// It reads herdctl's five fields (minute hour day-of-month month
// day-of-week), or six with seconds first, and the shorthands @yearly,
// @annually, @monthly, @weekly, @daily, @midnight and @hourly (any case).
// Each field takes *, numbers, a-b ranges, /step, comma lists, and month
// and weekday names (JAN, MON); day-of-month and day-of-week take ?;
// day-of-month takes L (the last day of the month); day-of-week takes 0-7
// (0 and 7 are Sunday), NL (the last weekday N of the month, 5L the last
// Friday) and N#K (the K-th weekday N, 1#2 the second Monday). When both
// day fields are restricted a day matching either fires, as in cron.
type Cron struct {
	expr     string
	loc      *time.Location
	seconds  bool
	sec, min uint64
	hour     uint64
	dom, mon uint64
	dow      uint64
	domAny   bool  // day-of-month is * or ?
	dowAny   bool  // day-of-week is * or ?
	lastDom  bool  // L in day-of-month
	lastDow  []int // NL: the last weekday N of the month
	nthDow   []nth // N#K: the K-th weekday N of the month
}

type nth struct{ wd, k int }

// shorthands are the @ names herdctl expands.
var shorthands = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

var monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
var dayNames = map[string]int{"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}

type fieldSpec struct {
	name     string
	min, max int
	names    map[string]int
}

var (
	fSec  = fieldSpec{"second", 0, 59, nil}
	fMin  = fieldSpec{"minute", 0, 59, nil}
	fHour = fieldSpec{"hour", 0, 23, nil}
	fDom  = fieldSpec{"day-of-month", 1, 31, nil}
	fMon  = fieldSpec{"month", 1, 12, monthNames}
	fDow  = fieldSpec{"day-of-week", 0, 7, dayNames}
)

// ParseCron parses expr for the time zone loc (nil: UTC). The error names
// the expression and what is wrong with it; an expression that never
// fires (0 0 30 2 *) is an error too.
func ParseCron(expr string, loc *time.Location) (*Cron, error) {
	if loc == nil {
		loc = time.UTC
	}
	c, err := parseCron(expr, loc)
	if err != nil {
		return nil, fmt.Errorf("cron %q: %w", expr, err)
	}
	return c, nil
}

func parseCron(expr string, loc *time.Location) (*Cron, error) {
	e := strings.TrimSpace(expr)
	if e == "" {
		return nil, errors.New("expression is empty; write 5 fields (minute hour day month weekday), e.g. \"0 9 * * 1-5\", or a shorthand such as @daily")
	}
	if strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ=") {
		return nil, errors.New("set the schedule's timezone instead of a TZ= prefix")
	}
	if strings.HasPrefix(e, "@") {
		low := strings.ToLower(strings.Fields(e)[0])
		switch {
		case low == "@every":
			return nil, errors.New("@every is not a cron expression; use an interval schedule (type: interval, interval: 5m)")
		case shorthands[low] == "" || len(strings.Fields(e)) != 1:
			return nil, errors.New("unknown shorthand; use @yearly, @monthly, @weekly, @daily or @hourly")
		}
		e = shorthands[low]
	}
	fields := strings.Fields(e)
	c := &Cron{expr: strings.TrimSpace(expr), loc: loc}
	switch len(fields) {
	case 5:
		c.sec = 1 // second 0
	case 6:
		c.seconds = true
		var err error
		if c.sec, err = parseField(fields[0], fSec); err != nil {
			return nil, err
		}
		fields = fields[1:]
	default:
		return nil, fmt.Errorf("want 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first; got %d", len(fields))
	}
	var err error
	if c.min, err = parseField(fields[0], fMin); err != nil {
		return nil, err
	}
	if c.hour, err = parseField(fields[1], fHour); err != nil {
		return nil, err
	}
	if err = c.parseDom(fields[2]); err != nil {
		return nil, err
	}
	if c.mon, err = parseField(fields[3], fMon); err != nil {
		return nil, err
	}
	if err = c.parseDow(fields[4]); err != nil {
		return nil, err
	}
	if c.Next(time.Now()).IsZero() {
		return nil, errors.New("never fires (no such date)")
	}
	return c, nil
}

func (c *Cron) parseDom(f string) error {
	c.domAny = strings.HasPrefix(f, "*") || f == "?"
	if f == "?" {
		f = "*"
	}
	var rest []string
	for _, item := range strings.Split(f, ",") {
		if strings.EqualFold(item, "L") {
			c.lastDom = true
			continue
		}
		rest = append(rest, item)
	}
	if len(rest) == 0 {
		return nil
	}
	bits, err := parseField(strings.Join(rest, ","), fDom)
	c.dom = bits
	return err
}

func (c *Cron) parseDow(f string) error {
	c.dowAny = strings.HasPrefix(f, "*") || f == "?"
	if f == "?" {
		f = "*"
	}
	var rest []string
	for _, item := range strings.Split(f, ",") {
		up := strings.ToUpper(item)
		switch {
		case strings.Contains(up, "#"):
			wd, k, _ := strings.Cut(up, "#")
			d, err := value(wd, fDow)
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(k)
			if err != nil || n < 1 || n > 5 {
				return fmt.Errorf("day-of-week %q: after # comes 1 to 5 (1#2 is the second Monday)", item)
			}
			c.nthDow = append(c.nthDow, nth{d % 7, n})
		case up == "L":
			return fmt.Errorf("day-of-week L: write the weekday before it (5L is the last Friday of the month)")
		case strings.HasSuffix(up, "L"):
			d, err := value(strings.TrimSuffix(up, "L"), fDow)
			if err != nil {
				return err
			}
			c.lastDow = append(c.lastDow, d%7)
		default:
			rest = append(rest, item)
		}
	}
	if len(rest) == 0 {
		return nil
	}
	bits, err := parseField(strings.Join(rest, ","), fDow)
	if bits&(1<<7) != 0 {
		bits |= 1 // 7 is Sunday
	}
	c.dow = bits &^ (1 << 7)
	return err
}

// parseField reads one field into a bit set.
func parseField(f string, spec fieldSpec) (uint64, error) {
	var bits uint64
	for _, item := range strings.Split(f, ",") {
		if item == "" {
			return 0, fmt.Errorf("%s %q: empty list item", spec.name, f)
		}
		rng, stepStr, hasStep := strings.Cut(item, "/")
		lo, hi := spec.min, spec.max
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if lo, err = value(a, spec); err != nil {
				return 0, err
			}
			if hi, err = value(b, spec); err != nil {
				return 0, err
			}
			if lo > hi {
				return 0, fmt.Errorf("%s %q: the range runs backwards", spec.name, item)
			}
		default:
			v, err := value(rng, spec)
			if err != nil {
				return 0, err
			}
			lo = v
			if !hasStep {
				hi = v
			}
		}
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("%s %q: the step after / must be a whole number above 0", spec.name, item)
			}
			step = n
		}
		for v := lo; v <= hi; v += step {
			bits |= 1 << uint(v)
		}
	}
	return bits, nil
}

// value reads a number or a name within spec's range.
func value(s string, spec fieldSpec) (int, error) {
	if spec.names != nil {
		if v, ok := spec.names[strings.ToUpper(s)]; ok {
			return v, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a number%s", spec.name, s, nameHint(spec))
	}
	if v < spec.min || v > spec.max {
		return 0, fmt.Errorf("%s %d is out of range: %s must be %d-%d", spec.name, v, spec.name, spec.min, spec.max)
	}
	return v, nil
}

func nameHint(spec fieldSpec) string {
	switch spec.name {
	case "month":
		return " or a month name (JAN-DEC)"
	case "day-of-week":
		return " or a weekday name (SUN-SAT)"
	}
	return ""
}

// String returns the expression as written.
func (c *Cron) String() string { return c.expr }

// Location returns the time zone the expression is read in.
func (c *Cron) Location() *time.Location { return c.loc }

// Next returns the first fire time strictly after t, in the expression's
// zone, or the zero time when there is none within five years. On a
// daylight-saving fall-back the repeated wall-clock time fires once.
func (c *Cron) Next(t time.Time) time.Time {
	t = t.In(c.loc)
	n := c.next(t)
	if n.IsZero() {
		return n
	}
	if sameWallClock(t, n) {
		n = c.next(n)
	}
	return n
}

func (c *Cron) next(t time.Time) time.Time {
	loc := c.loc
	if c.seconds {
		t = t.Truncate(time.Second).Add(time.Second)
	} else {
		t = t.Truncate(time.Minute).Add(time.Minute)
	}
	limit := t.Year() + 5
	for t.Year() <= limit {
		switch {
		case c.mon&(1<<uint(t.Month())) == 0:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
		case !c.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
		case c.hour&(1<<uint(t.Hour())) == 0:
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, loc).Add(time.Hour)
		case c.min&(1<<uint(t.Minute())) == 0:
			t = t.Truncate(time.Minute).Add(time.Minute)
		case c.sec&(1<<uint(t.Second())) == 0:
			t = t.Truncate(time.Second).Add(time.Second)
		default:
			return t
		}
	}
	return time.Time{}
}

// dayMatches applies cron's rule: with both day fields restricted, either
// one matching is enough; otherwise the restricted one decides.
func (c *Cron) dayMatches(t time.Time) bool {
	day, wd := t.Day(), int(t.Weekday())
	last := time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	dom := c.dom&(1<<uint(day)) != 0 || (c.lastDom && day == last)
	dow := c.dow&(1<<uint(wd)) != 0
	for _, l := range c.lastDow {
		dow = dow || (l == wd && day+7 > last)
	}
	for _, n := range c.nthDow {
		dow = dow || (n.wd == wd && (day-1)/7+1 == n.k)
	}
	switch {
	case c.domAny && c.dowAny:
		return true
	case c.domAny:
		return dow
	case c.dowAny:
		return dom
	}
	return dom || dow
}

// MinGap is the shortest gap between consecutive fire times over the next
// few runs after t, for checking jitter.
func (c *Cron) MinGap(t time.Time) time.Duration {
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
