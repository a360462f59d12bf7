package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"
)

var agentSpecType = reflect.TypeOf(agentSpec{})

// agentRes resolves one agent: its merged spec plus where each field came from.
type agentRes struct {
	l        *loader
	a        *agentLoad
	f        *Fleet
	ovPrefix string         // "agents[i].overrides" in the agent's fleet file
	ov       map[string]any // the overrides block, interpolated
	defs     map[string]any // the defaults in effect for the agent
	out      *Agent
}

// newAgentRes returns the resolver of a, with its overrides and defaults.
func (l *loader) newAgentRes(a *agentLoad, f *Fleet) *agentRes {
	r := &agentRes{l: l, a: a, f: f, ovPrefix: fmt.Sprintf("agents[%d].overrides", a.index)}
	if a.level != nil {
		if refs, ok := a.level.raw["agents"].([]any); ok && a.index < len(refs) {
			r.ov = asMap(asMap(refs[a.index])["overrides"])
		}
		r.defs = a.level.defaults
	}
	return r
}

// fleetDoc is the fleet file that lists the agent.
func (r *agentRes) fleetDoc() *doc {
	if r.a.level != nil {
		return r.a.level.doc
	}
	return r.l.doc
}

// origin says where a merged agent field was written.
type origin struct {
	file  string
	line  int
	field string // the path as written in that file
	fleet bool   // written in the fleet file (trusted)
}

// loadAgent reads, checks and resolves one agent file.
func (l *loader) loadAgent(a *agentLoad, f *Fleet) *Agent {
	if err := checkOperatorFile(a.file, l.euid); err != nil {
		l.ps.add(a.file, 0, "", "%v", err)
		return nil
	}
	b, err := l.readFile(a.file)
	if err != nil {
		l.ps.add(a.file, 0, "", "%v", err)
		return nil
	}
	a.doc = parseYAML(a.file, b, &l.ps)
	if a.doc == nil {
		return nil
	}
	a.doc.warn = l.warn
	// The file as written, to see its docker settings before its
	// variables are resolved (which depends on them).
	quiet := &doc{file: a.doc.file, root: a.doc.root, pos: map[string]int{}, order: map[string][]string{}, probs: &problems{}}
	a.vars = l.newAgentVars(a, quiet.toMap(nil))
	a.doc.whereVar = a.vars.where
	a.raw = a.doc.toMap(func(p string) (lookupFunc, string) {
		line := a.doc.line(p)
		return func(name string) (string, bool) { return a.vars.lookup(p, line, name) }, ""
	})
	a.raw = l.fleetOnly(a.raw, a.doc)
	a.raw = hcWalk{l: l, d: a.doc}.object(hcAgentFile, a.raw, "", agentSpecType, false)
	var own agentSpec
	for _, fe := range decodeMap(a.raw, &own, true) {
		l.ps.add(a.file, a.doc.line(fe.Path), fe.Path, "%s", fe.Msg)
	}

	// The agent's layers, lowest first: the top fleet file's docker, the
	// defaults in effect for it, its own file, the fleet's overrides for
	// it. network is not merged: each layer may only narrow the one below
	// (network.go).
	r := l.newAgentRes(a, f)
	fleetDocker := map[string]any{}
	if d, ok := l.raw["docker"].(map[string]any); ok {
		fleetDocker["docker"] = d
	}
	k, err := merge(fleetDocker, r.defs, a.raw, r.ov)
	if err != nil {
		l.ps.add(a.file, 0, "", "%v", err)
		return nil
	}
	k.Delete("network")
	var spec agentSpec
	for _, fe := range decode(k, &spec, false) {
		r.errf(fe.Path, "%s", fe.Msg)
	}
	return r.resolve(&spec)
}

// origin finds where merged field p (or its nearest written ancestor) was
// written: the fleet's overrides for the agent first, then the agent file,
// then the defaults (this fleet file's, then its parents'), then the top
// fleet file's docker.
func (r *agentRes) origin(p string) origin {
	ld, ad, top := r.fleetDoc(), r.a.doc, r.l.doc
	var defs []fieldSource
	if r.a.level != nil {
		defs = r.a.level.defSources
	}
	for q := p; q != ""; q = parentPath(q) {
		if k := r.ovPrefix + "." + q; ld.has(k) {
			return origin{ld.file, ld.line(k), r.ovPrefix + "." + p, true}
		}
		if ad.has(q) {
			return origin{ad.file, ad.line(q), p, false}
		}
		for _, s := range defs {
			if k := s.prefix + "." + q; s.d.has(k) {
				return origin{s.d.file, s.d.line(k), s.prefix + "." + p, true}
			}
		}
		if (q == "docker" || strings.HasPrefix(q, "docker.")) && top.has(q) {
			return origin{top.file, top.line(q), p, true}
		}
	}
	return origin{r.a.file, 0, p, false}
}

// written reports whether merged field p itself (not only an ancestor)
// is written in the agent file, its overrides or the defaults.
func (r *agentRes) written(p string) bool {
	if r.a.doc.has(p) || r.fleetDoc().has(r.ovPrefix+"."+p) {
		return true
	}
	if r.a.level != nil {
		for _, s := range r.a.level.defSources {
			if s.d.has(s.prefix + "." + p) {
				return true
			}
		}
	}
	return false
}

// errf adds a problem at merged field p.
func (r *agentRes) errf(p, format string, args ...any) {
	o := r.origin(p)
	r.l.ps.add(o.file, o.line, o.field, format, args...)
}

// warnf adds a warning at merged field p.
func (r *agentRes) warnf(p, format string, args ...any) {
	o := r.origin(p)
	r.l.warnings = append(r.l.warnings, Problem{File: o.file, Line: o.line, Field: o.field, Message: fmt.Sprintf(format, args...)})
}

// lookupName finds the value of a variable named in field p, following
// trust: a name written in the fleet file is looked up in the agent's
// .env, then the fleet .env, then the process environment; one written in
// the agent file as its ${VAR}s are (see agentVars).
func (r *agentRes) lookupName(p, name string) (string, bool) {
	if o := r.origin(p); o.fleet || r.a.vars == nil {
		return chain(mapLookup(r.a.env), mapLookup(r.l.env), r.l.procEnv)(name)
	} else {
		return r.a.vars.lookup(o.field, o.line, name)
	}
}

// resolve builds the Agent.
func (r *agentRes) resolve(s *agentSpec) *Agent {
	ag := &Agent{
		Name:          s.Name,
		Description:   s.Description,
		Dir:           r.a.dir,
		File:          r.a.file,
		EnvFile:       r.a.envFile,
		SystemPrompt:  s.SystemPrompt,
		DefaultPrompt: s.DefaultPrompt,
		Model:         s.Model,
		Env:           r.a.env,
	}
	r.out = ag
	// hcWalk checked the name (required, letters, digits, _ and -).
	if validName(ag.Name) == nil && r.a.level != nil && len(r.a.level.names) > 0 {
		// herdctl's qualified name: an agent of a sub-fleet is
		// <fleet>.<name>, so two sub-fleets may each have an "engineer".
		ag.Name = strings.Join(r.a.level.names, ".") + "." + ag.Name
	}
	ag.WorkingDirectory = r.workingDir(s.WorkingDirectory)
	ag.MaxTurns = r.positive("max_turns", s.MaxTurns, 0)
	ag.PermissionMode = defaultStr(s.PermissionMode, "default")
	if ag.PermissionMode == "delegate" {
		r.warnf("permission_mode", "delegate is a herdctl mode the Claude Code CLI does not have; this agent runs with permission mode default (tools not pre-approved are asked for in chat)")
		ag.PermissionMode = "default"
	} else if ag.PermissionMode == "bypassPermissions" && !r.origin("permission_mode").fleet {
		// An agent can edit its own file: it may not skip every approval.
		r.errf("permission_mode", "bypassPermissions may only be set in the fleet file (defaults or agents[].overrides), not in the agent file the agent can edit; run `herdbot migrate` to move it to agents[].overrides")
	} else if err := oneOf(ag.PermissionMode, PermissionModes); err != nil {
		r.errf("permission_mode", "%v", err)
	}
	ag.Tools = r.toolList("tools", s.Tools)
	ag.AllowedTools = r.toolList("allowed_tools", s.AllowedTools)
	ag.DeniedTools = r.toolList("denied_tools", s.DeniedTools)
	ag.MCPServers = r.mcpServers(s.MCPServers)

	ag.Session.Timeout = r.duration("session.timeout", s.Session.Timeout, DefaultSessionTimeout)
	ag.Session.MaxTurns = r.positive("session.max_turns", s.Session.MaxTurns, 0)
	ag.Session.Model = s.Session.Model
	ag.MaxConcurrent = r.positive("instances.max_concurrent", s.Instances.MaxConcurrent, DefaultMaxConcurrent)
	ag.Queue.Max = r.nonNegative("queue.max", s.Queue.Max, DefaultQueueMax)
	ag.Queue.Mode = defaultStr(s.Queue.Mode, "queue")
	if err := oneOf(ag.Queue.Mode, QueueModes); err != nil {
		r.errf("queue.mode", "%v", err)
	}
	ag.Queue.AgentMax = r.positive("queue.agent_max", s.Queue.AgentMax, DefaultAgentQueueMax)
	ag.Queue.PerUser = DefaultPerUser
	if s.Queue.PerUser != "" {
		rate, err := ParseRate(s.Queue.PerUser)
		if err != nil {
			r.errf("queue.per_user", "%v", err)
		} else {
			ag.Queue.PerUser = rate
		}
	}
	ag.Queue.NoticeEvery = r.duration("queue.notice_every", s.Queue.NoticeEvery, DefaultNoticeEvery)
	ag.RunTimeout = r.duration("run_timeout", s.RunTimeout, DefaultRunTimeout)
	ag.ApprovalTimeout = r.duration("approval_timeout", s.ApprovalTimeout, DefaultApprovalTimeout)
	ag.Budget = r.budget(s.Budget)
	ag.Models = r.models(s.Models)
	ag.Approvers = r.approvers(s.Approvers)
	ag.Network = r.network()
	ag.Files = r.files(&s.Files)
	ag.Docker = r.docker(&s.Docker)
	ag.Chat = r.chat(&s.Chat)
	ag.Schedules = r.schedules(s.Schedules)

	switch s.Runtime {
	case "", "cli":
	case "sdk":
		r.warnf("runtime", "runtime sdk is not supported; herdbot always runs the Claude Code CLI")
	default:
		r.errf("runtime", "%q is not cli (or herdctl's sdk)", s.Runtime)
	}
	return ag
}

// workingDir resolves working_directory: a path or herdctl's {root: path}.
func (r *agentRes) workingDir(v any) string {
	const p = "working_directory"
	var dir string
	switch w := v.(type) {
	case nil:
		return r.a.dir
	case string:
		dir = w
	case map[string]any:
		// herdctl's {root: path}; hcWalk checked it and dropped the rest.
		dir, _ = w["root"].(string)
		if dir == "" {
			return r.a.dir
		}
	default:
		r.errf(p, "expected a path or {root: path}, got %s", describeNode(v))
		return r.a.dir
	}
	if dir == "" {
		return r.a.dir
	}
	dir, err := expandHome(dir, r.l.home)
	if err != nil {
		r.errf(p, "%v", err)
		return r.a.dir
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(r.relBase(p), dir)
	}
	dir = filepath.Clean(dir)
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		r.errf(p, "%s: %v", dir, unwrapPathErr(err))
	case !st.IsDir():
		r.errf(p, "%s is not a directory", dir)
	}
	return dir
}

// relBase is the directory a relative path in merged field p is relative
// to: the agent file's, or for one from defaults, the fleet file's that
// wrote it (as herdctl resolves defaults.working_directory).
func (r *agentRes) relBase(p string) string {
	o := r.origin(p)
	if o.fleet && r.a.level != nil {
		for _, s := range r.a.level.defSources {
			if strings.HasPrefix(o.field, s.prefix+".") && s.d.file == o.file {
				return s.dir
			}
		}
	}
	return r.a.dir
}

func (r *agentRes) duration(p, s string, def time.Duration) time.Duration {
	d, err := positiveDuration(s, def)
	if err != nil {
		r.errf(p, "%v", err)
		return def
	}
	return d
}

func (r *agentRes) nonNegative(p string, v *int, def int) int {
	if v == nil {
		return def
	}
	if *v < 0 {
		r.errf(p, "must be 0 or more, got %d", *v)
		return def
	}
	return *v
}

func (r *agentRes) positive(p string, v *int, def int) int {
	if v == nil {
		return def
	}
	if *v < 1 {
		r.errf(p, "must be 1 or more, got %d", *v)
		return def
	}
	return *v
}

func (r *agentRes) toolList(p string, in []string) []string {
	for i, t := range in {
		if strings.TrimSpace(t) == "" {
			r.errf(fmt.Sprintf("%s[%d]", p, i), "empty tool name")
		}
	}
	return in
}

func (r *agentRes) mcpServers(in map[string]mcpSpec) map[string]MCPServer {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]MCPServer, len(in))
	for name, s := range in {
		p := "mcp_servers." + name
		if err := validName(name); err != nil {
			r.errf(p, "%v", err)
		}
		m := MCPServer(s)
		if m.Type == "" {
			m.Type = "stdio"
			if m.Command == "" && m.URL != "" {
				m.Type = "http"
			}
		}
		if err := oneOf(m.Type, MCPTypes); err != nil {
			r.errf(p+".type", "%v", err)
		}
		switch {
		case m.Type == "stdio" && m.Command == "":
			r.errf(p+".command", "required for a stdio server")
		case m.Type != "stdio" && m.URL == "":
			r.errf(p+".url", "required for an %s server", m.Type)
		}
		for k := range m.Env {
			if !isVarName(k) {
				r.errf(p+".env."+k, "%q is not a variable name", k)
			}
		}
		out[name] = m
	}
	return out
}

func (r *agentRes) approvers(s approversSpec) Approvers {
	for i, id := range s.Discord {
		if err := validDiscordUser(id); err != nil {
			r.errf(fmt.Sprintf("approvers.discord[%d]", i), "%v", err)
		}
	}
	for i, id := range s.Slack {
		if err := validSlackUser(id); err != nil {
			r.errf(fmt.Sprintf("approvers.slack[%d]", i), "%v", err)
		}
	}
	for i, n := range s.Console {
		if strings.TrimSpace(n) == "" {
			r.errf(fmt.Sprintf("approvers.console[%d]", i), "empty user name")
		}
	}
	for i, n := range s.Web {
		if n != "local" && n != "operator" && n != "*" {
			r.errf(fmt.Sprintf("approvers.web[%d]", i), "%q is not local, operator or *", n)
		}
	}
	return Approvers(s)
}
