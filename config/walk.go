package config

import (
	"reflect"
	"strconv"
	"strings"
)

// schemaField is one field of a schema struct, as its tags describe it.
type schemaField struct {
	Key   string
	Doc   string
	Def   string
	Fleet bool // fleet-only in an agent file
	Type  reflect.Type
}

// fieldsOf lists the schema fields of struct type t.
func fieldsOf(t reflect.Type) []schemaField {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := make([]schemaField, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		key := sf.Tag.Get("yaml")
		if key == "" || key == "-" {
			continue
		}
		out = append(out, schemaField{
			Key:   key,
			Doc:   sf.Tag.Get("doc"),
			Def:   sf.Tag.Get("default"),
			Fleet: sf.Tag.Get("scope") == "fleet",
			Type:  sf.Type,
		})
	}
	return out
}

// structElem returns the struct type a field holds directly, through a
// pointer, or as the element of a map or slice; nil when none. For maps and
// slices, coll is "map" or "list".
func structElem(t reflect.Type) (elem reflect.Type, coll string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		return t, ""
	case reflect.Map, reflect.Slice:
		e := t.Elem()
		for e.Kind() == reflect.Pointer {
			e = e.Elem()
		}
		if e.Kind() == reflect.Struct {
			if t.Kind() == reflect.Map {
				return e, "map"
			}
			return e, "list"
		}
	}
	return nil, ""
}

// walkSchema calls visit for every key of m that the schema type t names,
// depth first, with the field path. visit returns false to skip descending.
func walkSchema(t reflect.Type, m map[string]any, path string, visit func(path string, f schemaField, v any) bool) {
	for _, f := range fieldsOf(t) {
		v, ok := m[f.Key]
		if !ok {
			continue
		}
		p := joinPath(path, f.Key)
		if !visit(p, f, v) {
			continue
		}
		elem, coll := structElem(f.Type)
		if elem == nil {
			continue
		}
		switch coll {
		case "":
			if sub, ok := v.(map[string]any); ok {
				walkSchema(elem, sub, p, visit)
			}
		case "map":
			if sub, ok := v.(map[string]any); ok {
				for k, item := range sub {
					if im, ok := item.(map[string]any); ok {
						walkSchema(elem, im, joinPath(p, k), visit)
					}
				}
			}
		case "list":
			if sub, ok := v.([]any); ok {
				for i, item := range sub {
					if im, ok := item.(map[string]any); ok {
						walkSchema(elem, im, p+"["+strconv.Itoa(i)+"]", visit)
					}
				}
			}
		}
	}
}

// fleetOnly removes the fleet-only keys from an agent file's map, adding a
// problem for each one set.
func (l *loader) fleetOnly(m map[string]any, d *doc) map[string]any {
	var found [][]string
	walkSchema(reflect.TypeOf(agentSpec{}), m, "", func(p string, f schemaField, v any) bool {
		if f.Fleet {
			found = append(found, strings.Split(p, "."))
			section := parentPath(p)
			where := "agents[].overrides"
			if section != "" {
				where += "." + section
			}
			l.ps.add(d.file, d.line(p), p, "may not be set in an agent file (the agent can edit its own file); set it in the fleet file under %s", where)
			return false
		}
		return true
	})
	for _, keys := range found {
		m = without(m, keys...)
	}
	return m
}
