package config

import (
	"fmt"
	"strings"

	"github.com/docker/go-units"
)

// Files sent with chat messages: defaults.
const (
	DefaultMaxFileSize    = 10 << 20
	DefaultMaxMessageSize = 25 << 20
	DefaultMaxFileCount   = 10
)

// DefaultFileTypes are the file types (sniffed from the bytes) an agent
// takes unless its fleet file says otherwise.
var DefaultFileTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "text/*",
	"application/pdf", "application/zip", "application/x-gzip"}

// Files limits the files people send an agent with chat messages.
type Files struct {
	Enabled        bool
	MaxFileSize    int64 // bytes per file
	MaxMessageSize int64 // bytes per message, all files
	MaxCount       int   // files per message
	Types          []string
}

// files resolves files. The agent can edit its own file, so a value
// written there may only narrow what the fleet file gives it (defaults,
// else herdbot's defaults): turn files off, lower a limit, drop types.
// agents[].overrides and defaults set the ceiling.
func (r *agentRes) files(s *filesSpec) Files {
	fleet := Files{Enabled: true, MaxFileSize: DefaultMaxFileSize, MaxMessageSize: DefaultMaxMessageSize,
		MaxCount: DefaultMaxFileCount, Types: DefaultFileTypes}
	if d := asMap(r.defs["files"]); d != nil {
		var fs struct {
			Files filesSpec `yaml:"files"`
		}
		decodeMap(map[string]any{"files": d}, &fs, false)
		fleet = r.filesValues(&fs.Files, fleet, true)
	}
	return r.filesValues(s, fleet, false)
}

// filesValues applies s over base. Unless trusted, a field the agent file
// wrote may only narrow base.
func (r *agentRes) filesValues(s *filesSpec, base Files, trusted bool) Files {
	out := base
	narrowOnly := func(p string) bool { return !trusted && !r.origin(p).fleet }
	widen := func(p, what string) {
		r.errf(p, "%s; an agent file may only narrow what the fleet file allows: set it in the fleet file under agents[].overrides.files", what)
	}
	if s.Enabled != nil {
		if *s.Enabled && !base.Enabled && narrowOnly("files.enabled") {
			widen("files.enabled", "files are off for this agent in the fleet file")
		} else {
			out.Enabled = *s.Enabled
		}
	}
	size := func(p, v string, cur int64) int64 {
		if v == "" {
			return cur
		}
		n, err := units.RAMInBytes(v)
		if err != nil || n < 1 {
			r.errf(p, "invalid size %q: use a size such as 512k or 10m", truncate(v, 40))
			return cur
		}
		if n > cur && narrowOnly(p) {
			widen(p, fmt.Sprintf("%s is above the fleet's %s", sizeText(n), sizeText(cur)))
			return cur
		}
		return n
	}
	out.MaxFileSize = size("files.max_file_size", s.MaxFileSize, base.MaxFileSize)
	out.MaxMessageSize = size("files.max_message_size", s.MaxMessageSize, base.MaxMessageSize)
	if s.MaxCount != nil {
		switch n := *s.MaxCount; {
		case n < 1:
			r.errf("files.max_count", "must be 1 or more, got %d (set files.enabled: false to take no files)", n)
		case n > base.MaxCount && narrowOnly("files.max_count"):
			widen("files.max_count", fmt.Sprintf("%d is above the fleet's %d", n, base.MaxCount))
		default:
			out.MaxCount = n
		}
	}
	if s.Types != nil {
		types := []string{}
		for i, t := range s.Types {
			p := fmt.Sprintf("files.types[%d]", i)
			t = strings.ToLower(strings.TrimSpace(t))
			if err := validFileType(t); err != nil {
				r.errf(p, "%v", err)
				continue
			}
			if narrowOnly("files.types") && !typesCover(base.Types, t) {
				widen(p, fmt.Sprintf("%s is not among the fleet's types (%s)", t, strings.Join(base.Types, ", ")))
				continue
			}
			types = append(types, t)
		}
		out.Types = types
	}
	return out
}

// validFileType accepts "*", "major/*" and "major/minor".
func validFileType(t string) error {
	if t == "*" {
		return nil
	}
	major, minor, ok := strings.Cut(t, "/")
	if !ok || major == "" || minor == "" || strings.ContainsAny(t, " ;,") || (strings.Contains(minor, "*") && minor != "*") || strings.Contains(major, "*") {
		return fmt.Errorf("invalid file type %q: use a media type such as text/plain, image/* or *", truncate(t, 40))
	}
	return nil
}

// typesCover reports whether one of allowed covers t.
func typesCover(allowed []string, t string) bool {
	for _, a := range allowed {
		if a == "*" || a == t {
			return true
		}
		if major, ok := strings.CutSuffix(a, "/*"); ok && strings.HasPrefix(t, major+"/") {
			return true
		}
	}
	return false
}
