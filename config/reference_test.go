package config

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestWriteReference(t *testing.T) {
	var a, b bytes.Buffer
	if err := WriteReference(&a); err != nil {
		t.Fatal(err)
	}
	WriteReference(&b)
	if a.String() != b.String() {
		t.Error("reference is not deterministic")
	}
	out := a.String()
	// Every schema field of every struct appears, with its description.
	var check func(t reflect.Type)
	done := map[reflect.Type]bool{}
	check = func(typ reflect.Type) {
		if done[typ] {
			return
		}
		done[typ] = true
		for _, f := range fieldsOf(typ) {
			if f.Doc == "" {
				t.Errorf("%s.%s has no doc tag", typ.Name(), f.Key)
			}
			if !strings.Contains(out, "`"+f.Key+"`") {
				t.Errorf("reference lacks %s.%s", typ.Name(), f.Key)
			}
			if elem, _ := structElem(f.Type); elem != nil {
				check(elem)
			}
		}
	}
	check(reflect.TypeOf(fleetSpec{}))
	check(agentSpecType)
	for _, want := range []string{"## `docker`", "**fleet file only.**", "migrating-from-herdctl.md", "## `schedules.<name>`", "[`schedules`](#schedulesname)", "## `fleets[]`"} {
		if !strings.Contains(out, want) {
			t.Errorf("reference lacks %q", want)
		}
	}
}
