package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"time"
)

var fleetSpecType = reflect.TypeOf(fleetSpec{})

// checkDangerousFlag refuses the per-agent dangerous flag outside
// agents[].overrides of a fleet file.
func (l *loader) checkDangerousFlag(d *doc) {
	for _, p := range []string{"docker.dangerous_host_config", "defaults.docker.dangerous_host_config"} {
		if d.has(p) {
			l.ps.add(d.file, d.line(p), p, "dangerous_host_config is per agent: set it under agents[].overrides.docker for the agent that needs it")
		}
	}
}

// resolveFleet builds the Fleet from the fleet file's own fields.
func (l *loader) resolveFleet() *Fleet {
	s := &l.spec
	f := &Fleet{Path: l.file, Dir: l.dir, Env: l.env, EnvFile: l.envFile, Homes: l.homes}
	at := func(p string) int { return l.doc.line(p) }

	// version: hcWalk checked it is a whole number of at least 1, which is
	// all herdctl asks; every version reads alike.

	f.Name = s.Fleet.Name
	if f.Name == "" {
		f.Name = dockerName(filepath.Base(l.dir))
		if f.Name == "" {
			f.Name = "herdbot"
		}
	} else if n := dockerName(f.Name); n != f.Name {
		// herdctl takes any text; container and network names do not.
		if n == "" {
			l.ps.add(l.file, at("fleet.name"), "fleet.name", "%q has no letter or digit; container and network names need one", truncate(f.Name, 60))
		} else {
			l.warnings = append(l.warnings, Problem{File: l.file, Line: at("fleet.name"), Field: "fleet.name",
				Message: fmt.Sprintf("%q is %q in container and network names (letters, digits, ., _ and -, starting with a letter or digit)", truncate(f.Name, 60), n)})
		}
		f.Name = n
	}
	f.Description = s.Fleet.Description

	f.StateDir = s.StateDir
	if f.StateDir == "" {
		f.StateDir = DefaultStateDir
	}
	if sd, err := expandHome(f.StateDir, l.home); err != nil {
		l.ps.add(l.file, at("state_dir"), "state_dir", "%v", err)
	} else {
		f.StateDir = sd
	}
	if !filepath.IsAbs(f.StateDir) {
		f.StateDir = filepath.Join(l.dir, f.StateDir)
	}
	f.StateDir = filepath.Clean(f.StateDir)

	f.Timezone = time.Local
	if s.Timezone != "" {
		loc, err := loadLocation(s.Timezone)
		if err != nil {
			l.ps.add(l.file, at("timezone"), "timezone", "%v", err)
		} else {
			f.Timezone, f.TimezoneSet = loc, true
		}
	}

	f.HTTP.Listen = s.HTTP.Listen
	if f.HTTP.Listen == "" {
		f.HTTP.Listen = DefaultListen
	}
	if _, port, err := net.SplitHostPort(f.HTTP.Listen); err != nil || port == "" {
		l.ps.add(l.file, at("http.listen"), "http.listen", "%q is not host:port", f.HTTP.Listen)
	}

	f.Web = Web{Enabled: s.Web.Enabled == nil || *s.Web.Enabled, ToolResults: s.Web.ToolResults == nil || *s.Web.ToolResults,
		SessionExpiry: 12 * time.Hour}
	if s.Web.SessionExpiryHours > 0 {
		f.Web.SessionExpiry = time.Duration(s.Web.SessionExpiryHours) * time.Hour
	}

	m := &f.Model
	m.BaseURL = defaultStr(s.ModelAPI.BaseURL, DefaultModelBaseURL)
	if u, err := url.Parse(m.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		l.ps.add(l.file, at("model_api.base_url"), "model_api.base_url", "%q is not an http(s) URL", m.BaseURL)
	}
	m.APIKeyEnv = defaultStr(s.ModelAPI.APIKeyEnv, DefaultAPIKeyEnv)
	m.OAuthTokenEnv = defaultStr(s.ModelAPI.OAuthTokenEnv, DefaultOAuthTokenEnv)
	look := chain(mapLookup(l.env), l.procEnv)
	for _, v := range []struct {
		field, name string
		dst         *string
	}{{"model_api.api_key_env", m.APIKeyEnv, &m.APIKey}, {"model_api.oauth_token_env", m.OAuthTokenEnv, &m.OAuthToken}} {
		if !isVarName(v.name) {
			l.ps.add(l.file, at(v.field), v.field, "%q is not a variable name", v.name)
			continue
		}
		*v.dst, _ = look(v.name)
	}

	l.resolveEngines(f)

	if len(s.Agents) == 0 && len(s.Fleets) == 0 {
		l.warnings = append(l.warnings, Problem{File: l.file, Line: at("agents"), Field: "agents",
			Message: "the fleet has no agents: herdbot starts and runs nothing; list agents under agents: with a path"})
	}
	for i, r := range s.Agents {
		if r.Path == "" {
			p := fmt.Sprintf("agents[%d].path", i)
			l.ps.add(l.file, at(fmt.Sprintf("agents[%d]", i)), p, "required: the agent file or its directory")
		}
	}
	return f
}

// loadLocation loads an IANA time zone, refusing "Local" spelled out only
// when the system has no zone data.
func loadLocation(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: use an IANA name such as Europe/Berlin or UTC", truncate(name, 60))
	}
	return loc, nil
}

// dockerName makes s usable in container and network names: letters,
// digits, ., _ and -, starting with a letter or digit, at most 63
// characters. It is "" when s has no letter or digit.
func dockerName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() == 0:
		case r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := b.String()
	if len(out) > 63 {
		out = out[:63]
	}
	return strings.TrimRight(out, "-._")
}

func defaultStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
