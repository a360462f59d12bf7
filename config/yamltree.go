package config

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits on one YAML document, so that alias bombs ("billion laughs") and
// deep nesting fail with a clear error instead of eating memory or stack.
const (
	maxNodes = 100_000 // values produced, counting every alias expansion
	maxDepth = 64      // nesting depth
)

// scopeFunc returns the variable lookup for a field path and a sentence
// saying where that field's variables come from (for error messages).
type scopeFunc func(path string) (lookupFunc, string)

// doc is one parsed YAML file turned into plain Go values, with the line
// of every field path and the order of every mapping's keys.
type doc struct {
	file  string
	root  *yaml.Node
	pos   map[string]int
	order map[string][]string
	nodes int
	probs *problems
	// whereVar, if set, says where a missing variable was looked for
	// (instead of the scope's sentence).
	whereVar func(name string) string
	// warn, if set, receives warnings (text kept as written).
	warn func(Problem)
}

// parseYAML parses b (one YAML document) into a node tree.
func parseYAML(file string, b []byte, ps *problems) *doc {
	d := &doc{file: file, pos: map[string]int{}, order: map[string][]string{}, probs: ps}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return d // empty document
		}
		line, msg := yamlErrLine(err)
		ps.add(file, line, "", "invalid YAML: %s", msg)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		ps.add(file, extra.Line, "", "more than one YAML document (---) in the file; put everything in one")
		return nil
	} else if !errors.Is(err, io.EOF) {
		line, msg := yamlErrLine(err)
		ps.add(file, line, "", "invalid YAML: %s", msg)
		return nil
	}
	n := &root
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return d
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return d
	}
	if n.Kind != yaml.MappingNode {
		ps.add(file, n.Line, "", "the top level must be a mapping of keys to values")
		return nil
	}
	d.root = n
	return d
}

// yamlErrLine pulls "line N" out of a yaml error message.
func yamlErrLine(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ":"); ok {
			if n, err := strconv.Atoi(num); err == nil {
				return n, strings.TrimSpace(tail)
			}
		}
	}
	return 0, msg
}

// toMap converts the document root to a map with interpolation by scope.
// Problems go to d.probs; positions and key order are recorded afresh.
func (d *doc) toMap(scope scopeFunc) map[string]any {
	if d == nil || d.root == nil {
		return map[string]any{}
	}
	d.nodes = 0
	v, ok := d.value(d.root, "", 0, scope)
	if !ok {
		return map[string]any{}
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// value converts n found at path. ok is false when conversion stopped.
func (d *doc) value(n *yaml.Node, path string, depth int, scope scopeFunc) (any, bool) {
	d.nodes++
	if d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.probs.add(d.file, n.Line, path, "document expands to more than %d values (YAML alias bomb?)", maxNodes)
		}
		return nil, false
	}
	if depth > maxDepth {
		d.probs.add(d.file, n.Line, path, "nested more than %d levels deep", maxDepth)
		return nil, false
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, true
		}
		return d.value(n.Alias, path, depth+1, scope)
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, true
		}
		return d.value(n.Content[0], path, depth+1, scope)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			if _, seen := d.pos[p]; !seen {
				d.pos[p] = c.Line
			}
			v, ok := d.value(c, p, depth+1, scope)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	case yaml.MappingNode:
		return d.mapping(n, path, depth, scope)
	case yaml.ScalarNode:
		return d.scalar(n, path, scope), true
	}
	d.probs.add(d.file, n.Line, path, "unsupported YAML node")
	return nil, true
}

func (d *doc) mapping(n *yaml.Node, path string, depth int, scope scopeFunc) (any, bool) {
	out := make(map[string]any, len(n.Content)/2)
	var keys []string
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind == yaml.ScalarNode && kn.Tag == "!!merge" {
			merges = append(merges, vn)
			continue
		}
		if kn.Kind != yaml.ScalarNode {
			d.probs.add(d.file, kn.Line, path, "keys must be plain strings")
			continue
		}
		key := kn.Value
		if key == "" || strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			d.probs.add(d.file, kn.Line, path, "invalid key %q", truncate(key, 40))
			continue
		}
		p := joinPath(path, key)
		if _, dup := out[key]; dup {
			d.probs.add(d.file, kn.Line, p, "key given twice in the same mapping")
			continue
		}
		d.pos[p] = kn.Line
		keys = append(keys, key)
		v, ok := d.value(vn, p, depth+1, scope)
		if !ok {
			return nil, false
		}
		out[key] = v
	}
	// "<<: *anchor" merges keys the mapping does not set itself.
	for _, mn := range merges {
		srcs := []*yaml.Node{mn}
		if mn.Kind == yaml.SequenceNode {
			srcs = mn.Content
		}
		for _, s := range srcs {
			v, ok := d.value(s, path, depth+1, scope)
			if !ok {
				return nil, false
			}
			m, isMap := v.(map[string]any)
			if !isMap {
				d.probs.add(d.file, mn.Line, path, "<< merge needs a mapping")
				continue
			}
			for k, mv := range m {
				if _, set := out[k]; !set {
					out[k] = mv
					keys = append(keys, k)
				}
			}
		}
	}
	d.order[path] = keys
	return out, true
}

func (d *doc) scalar(n *yaml.Node, path string, scope scopeFunc) any {
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return b
		}
		return n.Value
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return i
		}
		return n.Value // too large: keep the digits
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil {
			return f
		}
		return n.Value
	case "!!str", "!!timestamp", "!!binary", "":
	default:
		if strings.HasPrefix(n.Tag, "!!") {
			return n.Value
		}
		d.probs.add(d.file, n.Line, path, "custom YAML tag %s is not supported", n.Tag)
		return n.Value
	}
	if n.Tag != "!!str" || scope == nil { // scope nil: as written
		return n.Value
	}
	lookup, where := scope(path)
	out, missing, literal := interpolate(n.Value, lookup)
	for _, lit := range literal {
		if d.warn != nil {
			d.warn(Problem{File: d.file, Line: n.Line, Field: path, Message: fmt.Sprintf(
				"%s is not a variable reference (${NAME} or ${NAME:-default}); kept as written, as herdctl keeps it (write $${ for a literal ${)", lit)})
		}
	}
	for _, name := range missing {
		w := where
		if d.whereVar != nil {
			w = d.whereVar(name)
		}
		d.probs.add(d.file, n.Line, path, "variable %s is not set (%s); set it there or write ${%s:-default}", name, w, name)
	}
	return out
}

// joinPath appends key to a field path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// line returns the line of path or of its nearest ancestor that has one.
func (d *doc) line(path string) int {
	if d == nil {
		return 0
	}
	for path != "" {
		if l, ok := d.pos[path]; ok {
			return l
		}
		path = parentPath(path)
	}
	return 0
}

// rename makes the field written at from known as to (and everything
// below it): herdctl's old field names are read as their new ones, and
// problems about them still point at the line where they are written.
func (d *doc) rename(from, to string) {
	if d == nil || from == to {
		return
	}
	under := func(p string) (string, bool) {
		rest, ok := strings.CutPrefix(p, from)
		return rest, ok && (rest == "" || rest[0] == '.' || rest[0] == '[')
	}
	pos := map[string]int{}
	for p, line := range d.pos {
		if rest, ok := under(p); ok {
			pos[to+rest] = line
		}
	}
	for p, line := range pos {
		if _, taken := d.pos[p]; !taken {
			d.pos[p] = line
		}
	}
	order := map[string][]string{}
	for p, keys := range d.order {
		if rest, ok := under(p); ok {
			order[to+rest] = keys
		}
	}
	for p, keys := range order {
		d.order[p] = keys
	}
}

// has reports whether path was written in the document.
func (d *doc) has(path string) bool {
	if d == nil {
		return false
	}
	_, ok := d.pos[path]
	return ok
}

// parentPath strips the last ".key" or "[i]" from path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// describeNode is used in messages about a value's shape.
func describeNode(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	default:
		return fmt.Sprintf("%T", v)
	}
}
