package config

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"

	"github.com/herdbot/herdbot/sched/spec"
)

var (
	nameRe      = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]*$`)
	snowflakeRe = regexp.MustCompile(`^[0-9]{1,20}$`)
	slackChanRe = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)
	slackUserRe = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	hostRe      = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	slashRe     = regexp.MustCompile(`^/[a-z0-9_-]{1,31}$`)
	tmpfsOptRe  = regexp.MustCompile(`^[a-z0-9=,_-]*$`)
)

// Allowed values of enumerated fields.
var (
	PermissionModes = []string{"default", "acceptEdits", "plan", "bypassPermissions", "dontAsk", "auto"}
	ChannelModes    = []string{"mention", "auto"}
	QueueModes      = []string{"queue", "steer"}
	ScheduleTypes   = []string{spec.TypeInterval, spec.TypeCron, spec.TypeAt, spec.TypeWebhook}
	CatchUpModes    = []string{spec.CatchUpSkip, spec.CatchUpOnce}
	Platforms       = []string{"discord", "slack", "console"}
	WorkspaceModes  = []string{"rw", "ro"}
	NetworkModes    = []string{"bridge", "none", "host"}
	MCPTypes        = []string{"stdio", "sse", "http"}
)

func oneOf(v string, allowed []string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
}

// validName checks an agent, schedule or fleet name.
func validName(s string) error {
	if !nameRe.MatchString(s) {
		return fmt.Errorf("%q is not a valid name: use letters, digits, _ and -, starting with a letter or digit", truncate(s, 60))
	}
	if len(s) > 63 {
		return fmt.Errorf("%q is longer than 63 characters", truncate(s, 60))
	}
	return nil
}

// herdctlTimeout is herdctl's session timeout form: a number, decimals
// allowed, and one unit s, m, h, d or w.
var herdctlTimeout = regexp.MustCompile(`^(\d+(?:\.\d+)?)(s|m|h|d|w)$`)

// ParseDuration parses herdctl's timeouts ("30m", "1.5h", "1w") and Go
// durations ("90m", "1h30m") with whole days allowed in front ("3d",
// "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if m := herdctlTimeout.FindStringSubmatch(s); m != nil {
		n, err := strconv.ParseFloat(m[1], 64)
		unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
		if err != nil || n*float64(unit) > float64(1<<62) {
			return 0, fmt.Errorf("invalid duration %q: too long", truncate(s, 40))
		}
		return time.Duration(n * float64(unit)), nil
	}
	var days int64
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 32)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q: use e.g. 30m, 72h or 3d", truncate(s, 40))
		}
		days = n
		s = s[i+1:]
		if s == "" {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: use e.g. 30m, 72h, 3d or 1w", truncate(s, 40))
	}
	return time.Duration(days)*24*time.Hour + d, nil
}

// positiveDuration parses s (empty: def) and requires it to be > 0.
// ParseRate reads a rate "N/duration" (10/1m, 100/1d; "N/s", "N/m", "N/h"
// for one second, minute, hour) or "off" (no limit: N = -1).
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return Rate{N: -1}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || count < 1 {
		return Rate{}, fmt.Errorf("rate %q: want N/duration with N 1 or more (e.g. 10/1m), or off", s)
	}
	per = strings.TrimSpace(per)
	if per == "s" || per == "m" || per == "h" {
		per = "1" + per
	}
	d, err := ParseDuration(per)
	if err != nil || d <= 0 {
		return Rate{}, fmt.Errorf("rate %q: bad duration %q", s, per)
	}
	return Rate{N: count, Per: d}, nil
}

func positiveDuration(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %q must be greater than zero", s)
	}
	return d, nil
}

func validSnowflake(s string) error {
	if !snowflakeRe.MatchString(s) {
		return fmt.Errorf("%q is not a Discord id (digits only)", truncate(s, 40))
	}
	return nil
}

func validDiscordUser(s string) error {
	if id, ok := strings.CutPrefix(s, "role:"); ok {
		return validSnowflake(id)
	}
	if err := validSnowflake(s); err != nil {
		return fmt.Errorf("%q is not a Discord user id (digits) or role:ID", truncate(s, 40))
	}
	return nil
}

func validSlackChannel(s string) error {
	if !slackChanRe.MatchString(s) {
		return fmt.Errorf("%q is not a Slack channel id (C…, G… or D…, upper-case letters and digits)", truncate(s, 40))
	}
	return nil
}

func validSlackUser(s string) error {
	if !slackUserRe.MatchString(s) {
		return fmt.Errorf("%q is not a Slack user id (U… or W…, upper-case letters and digits)", truncate(s, 40))
	}
	return nil
}

// validHostPattern checks an allowlist entry: a host name or *.domain.
func validHostPattern(s string) error {
	if net.ParseIP(s) != nil {
		return fmt.Errorf("%q is an IP address; the allowlist takes host names (private addresses go in network.private)", s)
	}
	if !hostRe.MatchString(s) || len(s) > 253 || s == "*" {
		return fmt.Errorf("%q is not a host name or *.domain pattern (lower case)", truncate(s, 60))
	}
	return nil
}

// covers reports whether allow-list pattern p (fleet) covers q (agent).
func covers(p, q string) bool {
	if p == q {
		return true
	}
	suffix, ok := strings.CutPrefix(p, "*")
	if !ok {
		return false
	}
	// "*.example.com" covers "a.example.com", "*.a.example.com".
	q = strings.TrimPrefix(q, "*")
	return strings.HasSuffix(q, suffix) && len(q) > len(suffix)
}

// validPrivate checks a network.private entry: host:port or CIDR:port.
func validPrivate(s string) error {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return fmt.Errorf("%q is not host:port or CIDR:port", truncate(s, 60))
	}
	host, port := s[:i], s[i+1:]
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%q: port must be 1-65535", truncate(s, 60))
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.Contains(host, "/") {
		if _, _, err := net.ParseCIDR(host); err != nil {
			return fmt.Errorf("%q: invalid CIDR %q", truncate(s, 60), host)
		}
		return nil
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	if !hostRe.MatchString(host) || strings.HasPrefix(host, "*") {
		return fmt.Errorf("%q: %q is not a host name, IP address or CIDR", truncate(s, 60), host)
	}
	return nil
}

// parseMemory parses a docker-style size ("512m", "2g") into bytes.
func parseMemory(s string) (int64, error) {
	n, err := units.RAMInBytes(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return 0, fmt.Errorf("invalid memory size %q: use e.g. 512m or 2g", truncate(s, 40))
	}
	if n < 6<<20 {
		return 0, fmt.Errorf("memory %q is below Docker's minimum of 6m", s)
	}
	return n, nil
}

// validTmpfsPath checks an extra tmpfs mount point.
func validTmpfsPath(p, opts string) error {
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "/" {
		return fmt.Errorf("tmpfs path %q must be an absolute, clean path other than /", truncate(p, 60))
	}
	for _, bad := range []string{"/proc", "/sys", "/dev", "/workspace", "/etc"} {
		if p == bad || strings.HasPrefix(p, bad+"/") {
			return fmt.Errorf("tmpfs path %q may not be under %s", p, bad)
		}
	}
	if !tmpfsOptRe.MatchString(opts) {
		return fmt.Errorf("tmpfs options %q: only lower-case letters, digits, =, , _ and - are allowed", truncate(opts, 60))
	}
	return nil
}

// validVolume checks host:container[:ro|rw].
func validVolume(v string) error {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !strings.HasPrefix(parts[1], "/") {
		return fmt.Errorf("%q is not host:container[:ro|rw] with an absolute container path", truncate(v, 80))
	}
	if len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw" {
		return fmt.Errorf("%q: mode must be ro or rw", truncate(v, 80))
	}
	return nil
}

// parseAt parses a one-off schedule time in loc.
func parseAt(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q: use RFC 3339 (2026-12-01T09:00:00+01:00) or 2026-12-01 09:00", truncate(s, 40))
}
