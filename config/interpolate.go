package config

import "strings"

// lookupFunc finds a variable's value; ok is false when it is not set.
type lookupFunc func(name string) (value string, ok bool)

// interpolate expands ${VAR} and ${VAR:-default} in s using lookup.
//
// ${VAR:-default} uses default when VAR is unset or empty; the default is
// literal text (it is not expanded). "$${" writes a literal "${". A bare
// "$VAR" and "$(cmd)" are left alone, and substituted values are never
// expanded again. missing lists the variables that were needed and not set.
// A "${" that does not start a reference (${ A }, ${{ x }}, one without
// its "}") is kept as written, as herdctl keeps it; literal lists those.
func interpolate(s string, lookup lookupFunc) (out string, missing, literal []string) {
	if !strings.Contains(s, "${") {
		return s, nil, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		if i > 0 && s[i-1] == '$' {
			// "$${" is an escaped "${".
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			literal = append(literal, "${"+truncate(rest, 40))
			b.WriteString("${")
			s = rest
			continue
		}
		ref := rest[:end]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !isVarName(name) {
			literal = append(literal, "${"+truncate(ref, 40)+"}")
			b.WriteString("${")
			s = rest
			continue
		}
		s = rest[end+1:]
		v, ok := lookup(name)
		switch {
		case ok && (v != "" || !hasDef):
			b.WriteString(v)
		case hasDef:
			b.WriteString(def)
		default:
			missing = append(missing, name)
		}
	}
	return b.String(), missing, literal
}

// chain returns a lookup that tries each source in order.
func chain(sources ...lookupFunc) lookupFunc {
	return func(name string) (string, bool) {
		for _, src := range sources {
			if src == nil {
				continue
			}
			if v, ok := src(name); ok {
				return v, true
			}
		}
		return "", false
	}
}

// mapLookup looks names up in m.
func mapLookup(m map[string]string) lookupFunc {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}
