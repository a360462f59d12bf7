// Package config loads a herdbot fleet: the fleet file (herdbot.yaml, or
// herdctl's herdctl.yaml), one agent file per agent (agent.yaml or
// herdctl-agent.yaml), the fleet .env and each agent's own .env.
//
// Files are parsed with go.yaml.in/yaml/v3 into nodes (for line numbers,
// alias-bomb limits and per-field variable scopes) and turned into maps;
// koanf loads those maps as layers (an agent: the fleet's docker, the
// defaults, its own file, the fleet's overrides for it; a sub-fleet: its
// file under its fleets[] entry's overrides), merges them (mappings key by
// key, lists and values replace) and unmarshals them strictly through
// mapstructure into the schema structs of schema.go. Decoding problems name
// a field path, which the yaml nodes turn into file and line. The result is
// resolved into the plain types of types.go (Fleet, Agent, Schedule…) that the rest of herdbot
// consumes. Trust follows the file: an agent file may not set the options
// that would weaken its agent's sandbox, and it reads the fleet .env (as
// herdctl's do) only when the agent cannot write it; see agentvars.go and
// DESIGN.md, "Security model".
//
// herdctl's files are read with herdctl's rules: herdctl.go holds its
// schema field by field, sub-fleets (fleets:) load at every level, and
// PlanMigration is `herdbot migrate`.
//
// Load collects every problem into one *Errors. Summary prints what
// `herdbot validate` shows, Scaffold writes `herdbot init`'s fleet,
// WriteReference the field reference, and WatchReady reports file changes for
// hot reload.
package config
