package config

// without returns a copy of m with the key at keys removed.
func without(m map[string]any, keys ...string) map[string]any {
	if len(keys) == 0 {
		return m
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	if len(keys) == 1 {
		delete(out, keys[0])
		return out
	}
	if sub, ok := out[keys[0]].(map[string]any); ok {
		out[keys[0]] = without(sub, keys[1:]...)
	}
	return out
}

// asMap returns v as a mapping, or an empty one.
func asMap(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{}
}
