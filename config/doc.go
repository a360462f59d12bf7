// Package config loads a herdbot fleet: the fleet file (herdbot.yaml, or
// herdctl's herdctl.yaml), one agent file per agent (agent.yaml or
// herdctl-agent.yaml), the fleet .env and each agent's own .env.
//
// Files are parsed with go.yaml.in/yaml/v3 into nodes (for line numbers,
// alias-bomb limits and per-field variable scopes), then decoded strictly
// through koanf into the schema structs of schema.go, and resolved into the
// plain types of types.go (Fleet, Agent, Schedule…) that the rest of herdbot
// consumes. Trust follows the file: an agent can edit its own agent file, so
// that file reads only its own .env and cannot set the docker options that
// would weaken its sandbox; see DESIGN.md, "Security model".
//
// Load collects every problem into one *Errors. Summary prints what
// `herdbot validate` shows, Scaffold writes `herdbot init`'s fleet,
// WriteReference the field reference, and Watch reports file changes for
// hot reload.
package config
