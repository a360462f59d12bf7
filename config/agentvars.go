package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/herdbot/herdbot/internal/pathguard"
)

// agentVars is where an agent file's variables come from.
//
// An agent file reads its own .env first. herdctl's agent files also read
// the one .env beside the fleet file; herdbot lets an agent file do that
// only when the agent cannot write the file: it runs in a container
// (docker.enabled, the default) in which every agent file name is the
// operator's file mounted read-only, with no dangerous_host_config and no
// writable volume over the file's directory. Each variable taken that way
// gives one warning naming where it came from. The model credentials
// (model_api.api_key_env, oauth_token_env) never go into an agent file.
//
// An agent that could write its own file (the native backend,
// docker.enabled: false) keeps the strict rule: its file reads only its
// own .env, so that the agent cannot make its file read the fleet's
// secrets into something it can see.
type agentVars struct {
	l        *loader
	a        *agentLoad
	readOnly bool   // the agent cannot write its file
	why      string // why it could, when !readOnly
	warned   map[string]bool
}

// newAgentVars decides whether a's file may read the fleet .env. own is
// the agent file as written (variables not yet resolved).
func (l *loader) newAgentVars(a *agentLoad, own map[string]any) *agentVars {
	v := &agentVars{l: l, a: a, warned: map[string]bool{}}
	// The docker settings that decide it come from the fleet file (the
	// agent file may only turn docker on, or off, which is refused).
	layers := []map[string]any{asMap(l.raw["docker"])}
	if a.level != nil {
		layers = append(layers, asMap(a.level.defaults["docker"]))
	}
	layers = append(layers, asMap(own["docker"]))
	var ov map[string]any
	if a.level != nil {
		if refs, ok := a.level.raw["agents"].([]any); ok && a.index < len(refs) {
			ov = asMap(asMap(asMap(refs[a.index])["overrides"])["docker"])
		}
	}
	layers = append(layers, ov)
	enabled := true
	var volumes []any
	for _, d := range layers {
		if b, ok := d["enabled"].(bool); ok {
			enabled = b
		}
		if vs, ok := d["volumes"].([]any); ok {
			volumes = vs
		}
	}
	switch {
	case !enabled:
		v.why = "this agent runs without Docker (docker.enabled: false), so it can write its own agent file"
	case ov["dangerous_host_config"] == true:
		v.why = "this agent's docker.dangerous_host_config lets its container reach host files"
	default:
		v.readOnly = true
		for _, e := range volumes {
			s, _ := e.(string)
			src, _, _ := strings.Cut(s, ":")
			if filepath.IsAbs(src) && !strings.HasSuffix(s, ":ro") && pathguard.Within(pathguard.Resolve(a.dir), pathguard.Resolve(src)) {
				v.readOnly, v.why = false, "the writable volume "+s+" puts this agent's directory in its container"
			}
		}
	}
	return v
}

// modelCredential reports whether name holds the model API credentials.
func (l *loader) modelCredential(name string) bool {
	m := asMap(l.raw["model_api"])
	for _, k := range []struct{ key, def string }{{"api_key_env", DefaultAPIKeyEnv}, {"oauth_token_env", DefaultOAuthTokenEnv}} {
		n, _ := m[k.key].(string)
		if defaultStr(n, k.def) == name {
			return true
		}
	}
	return false
}

// lookup finds name for the agent file field at p (line: where it is
// written), as described on agentVars.
func (v *agentVars) lookup(p string, line int, name string) (string, bool) {
	if val, ok := v.a.env[name]; ok {
		return val, true
	}
	if !v.readOnly {
		return "", false
	}
	if v.l.modelCredential(name) {
		v.l.ps.add(v.a.file, line, p, "%s is the model API credential, which herdbot never puts into an agent's configuration (the agent could show it); use another variable", name)
		return "", true
	}
	val, ok := v.l.env[name]
	from := "the fleet .env (" + v.l.envFile + ")"
	if !ok {
		val, ok = v.l.procEnv(name)
		from = "herdbot's environment"
	}
	if !ok {
		return "", false
	}
	// A field herdbot ignores needs the variable set (herdctl reads it),
	// but it is not worth a warning.
	if !v.warned[name] && !hcIgnoredAt(hcAgentFile, p) {
		v.warned[name] = true
		v.l.warnings = append(v.l.warnings, Problem{File: v.a.file, Line: line, Field: p, Message: fmt.Sprintf(
			"%s comes from %s, as in herdctl (the agent cannot change this file); to make it this agent's own, set it in %s (`herdbot migrate --write` copies it)",
			name, from, v.a.envFile)})
	}
	return val, true
}

// where says where the agent file's variables are read, for the error
// about one that is set nowhere.
func (v *agentVars) where(name string) string {
	if v.readOnly {
		return fmt.Sprintf("the agent file reads %s, then the fleet .env and herdbot's environment", v.a.envFile)
	}
	if _, inFleet := v.l.env[name]; inFleet {
		return fmt.Sprintf("it is in the fleet .env, but %s, so the file reads only its own %s: copy %s there; `herdbot migrate --write` does", v.why, v.a.envFile, name)
	}
	return fmt.Sprintf("%s, so the file reads only its own %s", v.why, v.a.envFile)
}
