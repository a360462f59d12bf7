package config

import (
	"fmt"
	"math"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// This file is herdctl's configuration schema (edspencer/herdctl,
// packages/core/src/config/schema.ts and the loader's handling of renamed
// fields), written down field by field with what herdbot does with each
// field. Load checks every file against it before decoding herdbot's own
// schema (schema.go):
//
//   - herdctl's value rules (types, ranges, formats, required fields) are
//     checked for every herdctl field, also for those herdbot does not act
//     on, so that a fleet herdctl refuses is refused here too, naming the
//     field;
//   - a field herdbot does not act on is accepted with one warning saying
//     what herdbot does instead, and dropped;
//   - a key herdctl does not know either is an error in herdctl's strict
//     objects (the top level of the fleet and agent files, fleet and
//     docker) and, in its other objects, which herdctl silently drops, a
//     warning (or an error when it looks like a misspelt known key);
//   - keys herdbot adds (approvers, network, post_to…) are left to
//     herdbot's schema.
//
// WriteHerdctlFields turns the table into the field list of
// docs/migrating-from-herdctl.md.

// hcKind is the kind of value a herdctl field holds.
type hcKind int

const (
	hcObject hcKind = iota
	hcString
	hcPosInt // z.number().int().positive()
	hcBool
	hcEnum
	hcArray
	hcRecord    // z.record(z.string(), elem)
	hcAny       // anything (z.unknown(), z.custom())
	hcPathOrDir // a path, or an object (working_directory)
	hcHook      // a hook: an object chosen by its type
)

// hcUse is what herdbot does with a herdctl field.
type hcUse int

const (
	hcSame    hcUse = iota // a herdbot field with herdctl's meaning
	hcDiffers              // a herdbot field; note says how it differs
	hcIgnored              // accepted with one warning (note), then dropped
	hcAlias                // herdctl's old name for aliasOf: renamed, with a warning
)

// hcType is a node of herdctl's schema.
type hcType struct {
	kind      hcKind
	strict    bool      // object: unknown keys are refused (zod .strict())
	fields    []hcField // object
	elem      *hcType   // array, record; hcPathOrDir: the object form
	enum      []string  // hcEnum: herdctl's values
	extra     []string  // hcEnum: values herdbot adds
	rule      func(any) string
	ruleDoc   string             // the rule, for the docs
	variants  map[string]*hcType // hcHook: by type
	desc      string             // what the type is, for the docs ("text", …)
	overrides bool               // agents[].overrides or fleets[].overrides: the docs point to the file's own table
}

// hcField is one key of an herdctl object.
type hcField struct {
	key      string
	t        *hcType
	required bool
	use      hcUse
	note     string // hcIgnored: the warning; hcDiffers: how herdbot differs; hcAlias: unused
	aliasOf  string // hcAlias: the key it is renamed to
	what     string // required: what to write, for the error ("" : the type)
}

func (t *hcType) field(key string) *hcField {
	for i := range t.fields {
		if t.fields[i].key == key {
			return &t.fields[i]
		}
	}
	return nil
}

// Building blocks.
func hcStrRule(doc string, rule func(string) string) *hcType {
	return &hcType{kind: hcString, desc: "text", ruleDoc: doc, rule: func(v any) string { return rule(v.(string)) }}
}

var (
	tText     = &hcType{kind: hcString, desc: "text"}
	tNonEmpty = hcStrRule("not empty", func(s string) string {
		if s == "" {
			return "must not be empty"
		}
		return ""
	})
	tPosInt  = &hcType{kind: hcPosInt, desc: "whole number ≥ 1"}
	tBool    = &hcType{kind: hcBool, desc: "true or false"}
	tAny     = &hcType{kind: hcAny, desc: "any value"}
	tTexts   = &hcType{kind: hcArray, elem: tText, desc: "list of text"}
	tTextMap = &hcType{kind: hcRecord, elem: tText, desc: "map of text"}
)

func hcEnumOf(values []string, extra ...string) *hcType {
	return &hcType{kind: hcEnum, enum: values, extra: extra, desc: "one of " + strings.Join(append(append([]string{}, values...), extra...), ", ")}
}

func hcObj(strict bool, fields ...hcField) *hcType {
	return &hcType{kind: hcObject, strict: strict, fields: fields, desc: "mapping"}
}

func hcList(elem *hcType) *hcType { return &hcType{kind: hcArray, elem: elem, desc: "list"} }
func hcMap(elem *hcType) *hcType  { return &hcType{kind: hcRecord, elem: elem, desc: "map"} }

// f is a field herdbot supports with herdctl's meaning.
func f(key string, t *hcType) hcField { return hcField{key: key, t: t} }

// req is a required field herdbot supports with herdctl's meaning.
func req(key string, t *hcType) hcField { return hcField{key: key, t: t, required: true} }

// differs is a field herdbot supports differently.
func differs(key string, t *hcType, note string) hcField {
	return hcField{key: key, t: t, use: hcDiffers, note: note}
}

// ignored is a field herdbot accepts with a warning and drops.
func ignored(key string, t *hcType, note string) hcField {
	return hcField{key: key, t: t, use: hcIgnored, note: note}
}

// alias is herdctl's old name of another field.
func alias(key, of string) hcField { return hcField{key: key, use: hcAlias, aliasOf: of} }

var (
	agentNamePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]*$`)
	memoryPattern    = regexp.MustCompile(`(?i)^\d+(?:\.\d+)?\s*[kmgtb]?$`)
	userPattern      = regexp.MustCompile(`^\d+(?::\d+)?$`)
	portPattern      = regexp.MustCompile(`^\d+(?::\d+)?$`)
)

// herdctl's value rules.
var (
	tAgentName = hcStrRule("letters, digits, _ and -, starting with a letter or digit", func(s string) string {
		if !agentNamePattern.MatchString(s) {
			return fmt.Sprintf("%q is not a valid name: use letters, digits, _ and -, starting with a letter or digit (no dots)", truncate(s, 60))
		}
		return ""
	})
	tMemory = hcStrRule(`a number and an optional unit k, m, g, t or b ("2g", "512m")`, func(s string) string {
		if !memoryPattern.MatchString(s) {
			return fmt.Sprintf("invalid memory size %q: use e.g. 512m or 2g", truncate(s, 40))
		}
		return ""
	})
	tUser = hcStrRule(`"UID" or "UID:GID", digits`, func(s string) string {
		if !userPattern.MatchString(s) {
			return fmt.Sprintf("invalid user %q: use \"UID\" or \"UID:GID\" in digits, e.g. \"1000:1000\"", truncate(s, 40))
		}
		return ""
	})
	tVolumes = &hcType{kind: hcArray, desc: "list of text", ruleDoc: "host:container or host:container:ro|rw", elem: hcStrRule("", func(s string) string {
		parts := strings.Split(s, ":")
		if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw") {
			return fmt.Sprintf("%q is not host:container or host:container:ro|rw", truncate(s, 80))
		}
		return ""
	})}
	tPorts = &hcType{kind: hcArray, desc: "list of text", ruleDoc: `"hostPort:containerPort" or "containerPort"`, elem: hcStrRule("", func(s string) string {
		if !portPattern.MatchString(s) {
			return fmt.Sprintf("%q is not \"hostPort:containerPort\" or \"containerPort\"", truncate(s, 40))
		}
		return ""
	})}
	tTmpfs = &hcType{kind: hcArray, desc: "list of text", ruleDoc: `"/path" or "/path:options"`, elem: hcStrRule("", func(s string) string {
		if p, _, _ := strings.Cut(s, ":"); !strings.HasPrefix(p, "/") {
			return fmt.Sprintf("%q is not \"/path\" or \"/path:options\"", truncate(s, 60))
		}
		return ""
	})}
	tURL = hcStrRule("a URL", func(s string) string {
		if u, err := url.Parse(s); err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Sprintf("%q is not a URL", truncate(s, 60))
		}
		return ""
	})
	tToolResultMax = &hcType{kind: hcPosInt, desc: "whole number 1-1000", rule: func(v any) string {
		if n, _ := v.(int64); n > 1000 {
			return fmt.Sprintf("must be at most 1000, got %d", n)
		}
		return ""
	}}
)

// herdctl's objects.
var (
	hcWorkSource = hcObj(false,
		req("type", hcEnumOf([]string{"github"})),
		f("repo", tText), f("labels", hcObj(false, f("ready", tText), f("in_progress", tText))),
		f("exclude_labels", tTexts), f("cleanup_on_failure", tBool), f("cleanup_in_progress", tBool),
		f("auth", hcObj(false, f("token_env", tText))),
	)
	hcInstances = hcObj(false, f("max_concurrent", tPosInt))
	hcSession   = hcObj(false,
		f("max_turns", tPosInt),
		differs("timeout", tText, `herdctl's "30m", "1h", "1w" (s, m, h, d, w, decimals allowed), and Go durations such as 1h30m`),
		f("model", tText),
	)
	hcWorkingDirObject = hcObj(false,
		req("root", tText),
		ignored("auto_clone", tBool, "working_directory.auto_clone is not supported: herdbot does not clone repositories; clone it into the working directory yourself"),
		ignored("clone_depth", tPosInt, "working_directory.clone_depth is not supported: herdbot does not clone repositories"),
		ignored("default_branch", tText, "working_directory.default_branch is not supported: herdbot does not clone repositories"),
	)
	hcAgentWD = &hcType{kind: hcPathOrDir, elem: hcWorkingDirObject, desc: "a path, or a mapping with root"}

	dockerSafe = []hcField{
		differs("enabled", tBool, "herdbot's default is true: every agent runs in a hardened container unless the fleet file turns it off; herdctl's default is false"),
		f("ephemeral", tBool),
		f("memory", tMemory),
		f("cpu_shares", tPosInt),
		f("max_containers", tPosInt),
		f("workspace_mode", hcEnumOf([]string{"rw", "ro"})),
		f("tmpfs", tTmpfs),
		f("pids_limit", tPosInt),
		f("labels", tTextMap),
		f("cpu_period", tPosInt),
		f("cpu_quota", tPosInt),
	}
	hcAgentDocker = hcObj(true, dockerSafe...)
	hcFleetDocker = hcObj(true, append(append([]hcField{}, dockerSafe...),
		differs("image", tText, "an image with herdbot's CLI setup, built locally (default herdbot-agent, see deploy/); herdctl's images are not"),
		differs("network", hcEnumOf([]string{"none", "bridge", "host"}), "bridge is the agent's own internal network behind the egress proxy, which reaches only network.allow; host needs docker.dangerous_host_config"),
		differs("user", tUser, "default: the workspace owner; 0 (root) needs docker.dangerous_host_config"),
		f("volumes", tVolumes),
		f("env", tTextMap),
		ignored("ports", tPorts, "docker.ports is not supported: agent containers sit on an internal network and publish nothing"),
		alias("base_image", "image"),
		differs("host_config", tAny, "keys that undo the hardening (Privileged, CapAdd, NetworkMode, Binds…) need docker.dangerous_host_config"),
	)...)

	hcDM = hcObj(false,
		differs("enabled", tBool, "default false: DMs are refused unless enabled is true, and then accepted only from allowlist; herdctl turns DMs on when dm: is present"),
		ignored("mode", hcEnumOf([]string{"mention", "auto"}), "dm.mode is not supported: a DM from an allowlisted user always gets an answer"),
		f("allowlist", tTexts),
		f("blocklist", tTexts),
	)
	hcChatOutput = []hcField{
		f("tool_results", tBool), f("tool_result_max_length", tToolResultMax), f("system_status", tBool), f("errors", tBool),
	}
	hcDiscordChannel = hcObj(false,
		req("id", tText), f("name", tText), f("mode", hcEnumOf([]string{"mention", "auto"})),
		ignored("context_messages", tPosInt, "channels[].context_messages is not supported: a new session is not primed with channel history"),
	)
	hcSlackChannel = hcDiscordChannel
	hcGuild        = hcObj(false,
		req("id", tText),
		f("channels", hcList(hcDiscordChannel)),
		ignored("dm", hcDM, "chat.discord.guilds[].dm is not supported: DMs are not tied to a guild; set chat.discord.dm"),
	)
	hcDiscord = hcObj(false,
		req("bot_token_env", tText),
		f("session_expiry_hours", tPosInt),
		ignored("log_level", hcEnumOf([]string{"minimal", "standard", "verbose"}), "chat.discord.log_level is not supported: herdbot has one log level"),
		ignored("output", hcObj(false, append(append([]hcField{}, hcChatOutput...), f("result_summary", tBool))...), "chat.discord.output is not supported: herdbot streams the answer and its tool calls into one message edited in place"),
		ignored("presence", hcObj(false, f("activity_type", hcEnumOf([]string{"playing", "watching", "listening", "competing"})), f("activity_message", tText)), "chat.discord.presence is not supported"),
		req("guilds", hcList(hcGuild)),
		f("dm", hcDM),
		ignored("skills", tAny, "chat.discord.skills is not supported"),
		ignored("voice", tAny, "chat.discord.voice is not supported"),
		ignored("attachments", tAny, "chat.discord.attachments is not supported"),
	)
	hcSlack = hcObj(false,
		differs("bot_token_env", tText, "default SLACK_BOT_TOKEN, as in herdctl, read from the agent's .env"),
		differs("app_token_env", tText, "default SLACK_APP_TOKEN, as in herdctl, read from the agent's .env"),
		f("session_expiry_hours", tPosInt),
		ignored("log_level", hcEnumOf([]string{"minimal", "standard", "verbose"}), "chat.slack.log_level is not supported: herdbot has one log level"),
		req("channels", hcList(hcSlackChannel)),
		f("dm", hcDM),
		ignored("output", hcObj(false, hcChatOutput...), "chat.slack.output is not supported: herdbot streams the answer into one message edited in place"),
	)
	hcAgentChat = hcObj(false, f("discord", hcDiscord), f("slack", hcSlack))

	hookBase = []hcField{
		f("name", tText), f("continue_on_error", tBool),
		f("on_events", hcList(hcEnumOf([]string{"completed", "failed", "timeout", "cancelled"}))),
		f("when", tText),
	}
	hcHookType = &hcType{kind: hcHook, desc: "a hook (shell, webhook, discord or slack)", variants: map[string]*hcType{
		"shell":   hcObj(false, append(append([]hcField{}, hookBase...), req("command", tNonEmpty), f("timeout", tPosInt))...),
		"webhook": hcObj(false, append(append([]hcField{}, hookBase...), req("url", tURL), f("method", hcEnumOf([]string{"POST", "PUT"})), f("headers", tTextMap), f("timeout", tPosInt))...),
		"discord": hcObj(false, append(append([]hcField{}, hookBase...), req("channel_id", tNonEmpty), req("bot_token_env", tNonEmpty))...),
		"slack":   hcObj(false, append(append([]hcField{}, hookBase...), req("channel_id", tNonEmpty), f("bot_token_env", tNonEmpty))...),
	}}
	hcHooks = hcObj(false, f("after_run", hcList(hcHookType)), f("on_error", hcList(hcHookType)))

	hcSchedule = hcObj(false,
		hcField{key: "type", t: hcEnumOf([]string{"interval", "cron", "webhook", "chat"}, "at"), required: true, use: hcDiffers,
			note: "webhook schedules run on a signed POST /hooks/AGENT/NAME when secret_env is set (without it they are never served, with a warning); chat schedules are skipped with a warning; herdbot adds at"},
		differs("interval", tText, `checked when the fleet loads, with the scheduler's own parser: herdctl's "5m", "5 m", "5M", "2d", and Go durations such as 1h30m`),
		differs("expression", tText, "checked when the fleet loads, with the scheduler's own parser: 5 fields with L, # and names, or 6 with seconds first; @daily and the other shorthands (not @every)"),
		differs("prompt", tText, `default: the agent's default_prompt, else "Execute your configured task", as in herdctl`),
		ignored("work_source", hcWorkSource, "schedules.*.work_source is not supported"),
		ignored("outputToFile", tBool, "schedules.*.outputToFile is not supported: every run's output is in the job history (herdbot job ID)"),
		f("enabled", tBool),
		differs("resume_session", tBool, "default false: each run starts a fresh session; herdctl's default is true"),
	)
	hcMCP = hcObj(false,
		f("command", tText), f("args", tTexts), f("env", tTextMap), f("url", tText),
		ignored("timeout", tPosInt, "mcp_servers.*.timeout is not supported: the CLI's own MCP timeouts apply"),
		ignored("alwaysLoad", tBool, "mcp_servers.*.alwaysLoad is not supported"),
	)
	hcIdentity = hcObj(false, f("name", tText), f("role", tText), f("personality", tText))

	permissionModes = []string{"default", "acceptEdits", "bypassPermissions", "plan", "delegate", "dontAsk"}

	// agentCommon are the fields of an agent file that defaults and
	// overrides share.
	hcAgentFile = hcObj(true,
		hcField{key: "name", t: tAgentName, required: true, what: "the agent's name (letters, digits, _ and -)", use: hcDiffers, note: "an agent of a sub-fleet is named <fleet>.<name>, as herdctl's qualified name"},
		f("description", tText),
		differs("working_directory", hcAgentWD, "must exist, and may not hold or lie in herdbot's files, another agent's files or a system directory; default: the agent file's directory"),
		alias("workspace", "working_directory"),
		ignored("repo", tText, "repo is not supported: clone the repository into the working directory yourself"),
		ignored("identity", hcIdentity, "identity is not supported: put the persona in system_prompt"),
		f("system_prompt", tText),
		f("default_prompt", tText),
		ignored("work_source", hcWorkSource, "work_source (GitHub issue queues) is not supported"),
		f("schedules", hcMap(hcSchedule)),
		f("session", hcSession),
		f("mcp_servers", hcMap(hcMCP)),
		f("chat", hcAgentChat),
		ignored("hooks", hcHooks, "hooks are not supported: a schedule's report is posted to chat with schedules.*.post_to"),
		f("docker", hcAgentDocker),
		f("instances", hcInstances),
		f("model", tText),
		f("max_turns", tPosInt),
		differs("permission_mode", hcEnumOf(permissionModes, "auto"), "delegate, which the Claude Code CLI does not have, runs as default (with a warning); bypassPermissions only from the fleet file; herdbot adds auto"),
		f("allowed_tools", tTexts),
		f("denied_tools", tTexts),
		ignored("metadata_file", tText, "metadata_file is not supported"),
		ignored("setting_sources", hcList(hcEnumOf([]string{"user", "project", "local"})), "setting_sources is not supported: herdbot runs the CLI with no setting sources (no settings files, CLAUDE.md or .mcp.json from the workspace or HOME), only its managed settings"),
		differs("runtime", hcEnumOf([]string{"sdk", "cli"}), "herdbot always runs the Claude Code CLI; sdk is accepted with a warning"),
		ignored("plugins", tAny, "plugins are not supported"),
	)
	hcDefaults = hcObj(false,
		differs("docker", hcFleetDocker, "every docker option; dangerous_host_config only under agents[].overrides"),
		ignored("work_source", hcWorkSource, "defaults.work_source is not supported"),
		f("instances", hcInstances),
		differs("working_directory", hcAgentWD, "relative to the fleet file, as in herdctl; every agent's workspace must still be its own"),
		alias("workspace", "working_directory"),
		f("session", hcSession),
		f("model", tText),
		f("max_turns", tPosInt),
		f("permission_mode", hcEnumOf(permissionModes, "auto")),
		f("allowed_tools", tTexts),
		f("denied_tools", tTexts),
	)
	hcWeb = hcObj(false,
		f("enabled", tBool),
		ignored("port", tPosInt, "web.port is not supported: the dashboard is served on http.listen"),
		ignored("host", tText, "web.host is not supported: the dashboard is served on http.listen"),
		f("session_expiry_hours", tPosInt),
		ignored("open_browser", tBool, "web.open_browser is not supported: herdbot logs the dashboard's URL"),
		f("tool_results", tBool),
	)
	hcWebhooks  = hcObj(false, f("enabled", tBool), f("port", tPosInt), f("secret_env", tText))
	hcFleetChat = hcObj(false, f("discord", hcObj(false, f("enabled", tBool), f("token_env", tText))))

	hcAgentRef = hcObj(false,
		req("path", tText),
		differs("overrides", hcOverrides, "checked like the agent file (herdctl checks nothing there); the only place for dangerous options (bypassPermissions, docker.enabled: false, docker.dangerous_host_config)"),
	)
	hcFleetRef = hcObj(false,
		req("path", tText),
		f("name", tAgentName),
		differs("overrides", hcSubFleetOverrides, "any fleet field but agents and fleets (ignored there, with a warning)"),
	)
	hcFleetMeta = hcObj(true,
		differs("name", tText, "any text, as in herdctl; characters other than letters, digits, ., _ and - become - in container and network names (with a warning)"),
		f("description", tText),
	)
	hcFleetFile = hcObj(true,
		differs("version", tPosInt, "any whole number ≥ 1, as in herdctl; herdbot reads them all alike"),
		f("fleet", hcFleetMeta),
		differs("defaults", hcDefaults, "herdbot also takes every other agent field here"),
		ignored("working_directory", hcWorkingDirObject, "fleet-level working_directory is not supported: set working_directory in each agent file (or in defaults)"),
		alias("workspace", "working_directory"),
		differs("fleets", hcList(hcFleetRef), "loaded as herdctl loads them, every level; only the top fleet file's own settings (state_dir, http, model_api, timezone, docker) apply"),
		f("agents", hcList(hcAgentRef)),
		ignored("chat", hcFleetChat, "fleet-level chat is not supported: each agent has its own bot under its chat.discord or chat.slack"),
		ignored("webhooks", hcWebhooks, "fleet webhooks are not supported: use a schedule with type: webhook and secret_env, served on http.listen"),
		differs("web", hcWeb, "the dashboard is served on http.listen beside /healthz and /metrics; off loopback it needs a login in the fleet .env (HERDBOT_WEB_PASSWORD_HASH or HERDBOT_WEB_TOKEN)"),
		differs("docker", hcFleetDocker, "applies to every agent, below defaults.docker"),
	)
)

// hcOverrides checks agents[].overrides (herdctl takes any agent field
// there and checks nothing); herdbot checks them like an agent file, but
// without required fields and with unknown keys warned about.
var hcOverrides = lenient(hcAgentFile)

// hcSubFleetOverrides checks fleets[].overrides; init fills it in (it is
// part of the fleet file's own type).
var hcSubFleetOverrides = &hcType{kind: hcObject, desc: "mapping"}

func init() { *hcSubFleetOverrides = *lenient(hcFleetFile) }

func lenient(t *hcType) *hcType {
	c := *t
	c.strict, c.overrides = false, true
	c.fields = append([]hcField{}, t.fields...)
	for i := range c.fields {
		c.fields[i].required = false
	}
	return &c
}

// hcWalk checks one file's map against herdctl's schema: see the top of
// this file. It reports problems and warnings through l, and returns the
// map with ignored fields and unknown keys of herdctl's lenient objects
// removed and aliases renamed, ready for decode.
type hcWalk struct {
	l       *loader
	d       *doc
	partial bool // inside overrides: parts of fields, merged later; nothing is required
}

func (w hcWalk) errf(p, format string, args ...any) {
	w.l.ps.add(w.d.file, w.d.line(p), p, format, args...)
}

func (w hcWalk) warnf(p, format string, args ...any) {
	w.l.warnings = append(w.l.warnings, Problem{File: w.d.file, Line: w.d.line(p), Field: p, Message: fmt.Sprintf(format, args...)})
}

// object walks the mapping m at path p. hb is herdbot's struct for it (nil
// when herdbot has none). inIgnored: m is part of a field herdbot drops;
// only herdctl's rules are checked, nothing is warned about.
func (w hcWalk) object(t *hcType, m map[string]any, p string, hb reflect.Type, inIgnored bool) map[string]any {
	if t.overrides {
		w.partial = true
	}
	hbFields := map[string]schemaField{}
	if hb != nil {
		for _, sf := range fieldsOf(hb) {
			hbFields[sf.Key] = sf
		}
	}
	out := make(map[string]any, len(m))
	for _, key := range w.keys(m, p) {
		v := m[key]
		kp := joinPath(p, key)
		fd := t.field(key)
		if fd != nil && fd.use == hcAlias {
			if _, set := m[fd.aliasOf]; set {
				if !inIgnored {
					w.warnf(kp, "%s is herdctl's old name for %s, which is also set: ignored", key, fd.aliasOf)
				}
				continue
			}
			np := joinPath(p, fd.aliasOf)
			if !inIgnored {
				w.warnf(kp, "%s is herdctl's old name for %s: read as %s (rename it)", key, fd.aliasOf, fd.aliasOf)
			}
			w.d.rename(kp, np)
			key, kp, fd = fd.aliasOf, np, t.field(fd.aliasOf)
		}
		sf, hbHas := hbFields[key]
		switch {
		case fd != nil && (inIgnored || fd.use == hcIgnored):
			w.value(fd.t, v, kp, nil, true, fd.required)
			if !inIgnored {
				w.warnf(kp, "%s", fd.note)
			}
		case fd != nil:
			var child reflect.Type
			if hbHas {
				child = sf.Type
			}
			if nv, keep := w.value(fd.t, v, kp, child, false, fd.required); keep {
				out[key] = nv
			}
		case hbHas:
			out[key] = v // herdbot's own field: herdbot's schema checks it
		case inIgnored:
			// herdctl drops unknown keys of its lenient objects.
		case t.strict:
			w.errf(kp, "unknown key%s", w.hint(key, t, hbFields))
		default:
			if h := w.hint(key, t, hbFields); h != "" {
				w.errf(kp, "unknown key%s", h)
			} else {
				w.warnf(kp, "unknown key: ignored (herdctl ignores it too)")
			}
		}
	}
	for _, fd := range t.fields {
		if !fd.required || w.partial {
			continue
		}
		if _, ok := m[fd.key]; !ok {
			what := fd.what
			if what == "" {
				what = fd.t.desc
			}
			w.errf(joinPath(p, fd.key), "required (%s)", what)
		}
	}
	return out
}

// keys returns m's keys in file order, then the rest sorted.
func (w hcWalk) keys(m map[string]any, p string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range w.d.order[p] {
		if _, ok := m[k]; ok && !seen[k] {
			out = append(out, k)
			seen[k] = true
		}
	}
	var rest []string
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// hint suggests a known key close to key, for a misspelling.
func (w hcWalk) hint(key string, t *hcType, hb map[string]schemaField) string {
	var known []string
	for _, fd := range t.fields {
		known = append(known, fd.key)
	}
	for k := range hb {
		known = append(known, k)
	}
	sort.Strings(known)
	// Two edits for a long key, one for a short one (so that "id" is not
	// taken for "at").
	best, bestD := "", 3
	if len(key) <= 4 {
		bestD = 2
	}
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %s?", best)
}

// value checks v against t. keep is false when v breaks a rule and the
// field is not required (the rest of the load then goes on as if it were
// not set, so that one mistake gives one problem).
func (w hcWalk) value(t *hcType, v any, p string, hb reflect.Type, inIgnored, required bool) (any, bool) {
	if v == nil {
		return v, true // "key:" with nothing: not set
	}
	bad := func(format string, args ...any) (any, bool) {
		w.errf(p, format, args...)
		return v, required
	}
	switch t.kind {
	case hcAny:
		return v, true
	case hcString:
		s, ok := v.(string)
		if !ok {
			return bad("expected text, got %s (quote it)", describeScalar(v))
		}
		if t.rule != nil {
			if msg := t.rule(s); msg != "" {
				return bad("%s", msg)
			}
		}
	case hcPosInt:
		n, ok := wholeNumber(v)
		if !ok {
			return bad("expected a whole number, got %s", describeScalar(v))
		}
		if n < 1 {
			return bad("must be 1 or more, got %d", n)
		}
		if t.rule != nil {
			if msg := t.rule(n); msg != "" {
				return bad("%s", msg)
			}
		}
		return n, true
	case hcBool:
		if _, ok := v.(bool); !ok {
			return bad("expected true or false, got %s", describeScalar(v))
		}
	case hcEnum:
		s, ok := v.(string)
		if !ok || (!contains(t.enum, s) && !contains(t.extra, s)) {
			return bad("%s is not one of %s", describeScalar(v), strings.Join(append(append([]string{}, t.enum...), t.extra...), ", "))
		}
	case hcArray:
		list, ok := v.([]any)
		if !ok {
			return bad("expected a list, got %s", describeScalar(v))
		}
		var elemHB reflect.Type
		if hb != nil {
			elemHB, _ = structElem(hb)
		}
		out := make([]any, 0, len(list))
		for i, e := range list {
			if nv, keep := w.value(t.elem, e, fmt.Sprintf("%s[%d]", p, i), elemHB, inIgnored, false); keep {
				out = append(out, nv)
			}
		}
		return out, true
	case hcRecord:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("expected a mapping, got %s", describeScalar(v))
		}
		var elemHB reflect.Type
		if hb != nil {
			elemHB, _ = structElem(hb)
		}
		out := make(map[string]any, len(m))
		for _, k := range w.keys(m, p) {
			if nv, keep := w.value(t.elem, m[k], joinPath(p, k), elemHB, inIgnored, false); keep {
				out[k] = nv
			}
		}
		return out, true
	case hcObject:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("expected a mapping, got %s", describeScalar(v))
		}
		if hb != nil {
			hb, _ = structElem(hb)
		}
		return w.object(t, m, p, hb, inIgnored), true
	case hcPathOrDir:
		switch x := v.(type) {
		case string:
			return x, true
		case map[string]any:
			return w.object(t.elem, x, p, nil, inIgnored), true
		}
		return bad("expected a path or a mapping with root, got %s", describeScalar(v))
	case hcHook:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("expected a mapping, got %s", describeScalar(v))
		}
		kind, _ := m["type"].(string)
		vt, ok := t.variants[kind]
		if !ok {
			w.errf(joinPath(p, "type"), "%s is not one of discord, shell, slack, webhook", describeScalar(m["type"]))
			return v, required
		}
		rest := without(m, "type")
		w.object(vt, rest, p, nil, true)
	}
	return v, true
}

// wholeNumber returns v as an integer if it is one (YAML 3 or 3.0).
func wholeNumber(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<62 {
			return int64(n), true
		}
	}
	return 0, false
}

// describeScalar names a value in a message.
func describeScalar(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", truncate(x, 40))
	case bool, int64, int, float64:
		return fmt.Sprint(x)
	}
	return describeNode(v)
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// hcIgnoredAt reports whether field path p of a file of type t lies in a
// herdctl field herdbot ignores (hooks.after_run[0].channel_id, say).
func hcIgnoredAt(t *hcType, p string) bool {
	for _, part := range splitPath(p) {
		if t == nil {
			return false
		}
		switch t.kind {
		case hcArray, hcRecord:
			t = t.elem
			if part.index >= 0 || t == nil {
				continue
			}
		case hcPathOrDir:
			t = t.elem
		}
		if part.index >= 0 || t == nil || t.kind != hcObject {
			return false
		}
		fd := t.field(part.key)
		if fd == nil {
			return false
		}
		if fd.use == hcIgnored {
			return true
		}
		t = fd.t
	}
	return false
}
