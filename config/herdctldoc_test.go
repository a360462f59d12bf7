package config

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// TestHerdctlTableMatchesSchema keeps herdctl.go and schema.go in step:
// a herdctl field herdbot supports (same, or differently) is a field of
// herdbot's schema at the same place; a field herdbot ignores is not (it
// is dropped before decoding), except docker.ports, which an agent file
// may not set (fleetOnly names it).
func TestHerdctlTableMatchesSchema(t *testing.T) {
	var check func(ht *hcType, hb reflect.Type, path string)
	check = func(ht *hcType, hb reflect.Type, path string) {
		keys := map[string]schemaField{}
		for _, sf := range fieldsOf(hb) {
			keys[sf.Key] = sf
		}
		for _, fd := range ht.fields {
			p := joinPath(path, fd.key)
			sf, has := keys[fd.key]
			switch fd.use {
			case hcSame, hcDiffers:
				if !has {
					t.Errorf("%s: herdbot supports it, says herdctl.go, but schema.go has no such field", p)
					continue
				}
			case hcIgnored:
				if has && p != "docker.ports" && p != "defaults.docker.ports" {
					t.Errorf("%s: herdctl.go says herdbot ignores it, but schema.go has it", p)
				}
				continue
			case hcAlias:
				if has {
					t.Errorf("%s: an old name, yet a field of schema.go", p)
				}
				continue
			}
			sub := fd.t
			if sub.kind == hcArray || sub.kind == hcRecord {
				sub = sub.elem
			}
			if sub == nil || sub.kind != hcObject || sub.overrides {
				continue
			}
			if elem, _ := structElem(sf.Type); elem != nil {
				check(sub, elem, p)
			} else {
				t.Errorf("%s: a mapping in herdctl, not a struct in schema.go", p)
			}
		}
	}
	check(hcFleetFile, fleetSpecType, "")
	check(hcAgentFile, agentSpecType, "")
}

// TestWriteHerdctlFields: every field of the table is in the generated
// list, once, with what herdbot does.
func TestWriteHerdctlFields(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHerdctlFields(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| `version` |", "| `fleets[].name` |", "| `web.port` |", "| `defaults.docker.base_image` |", "| `defaults.workspace` |",
		"| `schedules.<name>.expression` |", "| `chat.discord.guilds[].dm` |", "| `mcp_servers.<name>.alwaysLoad` |",
		"| `hooks.after_run[] (webhook).url` |", "| `defaults.work_source.labels.ready` | text | checked, not used |", "| `chat.slack.channels[].…` | the fields of `chat.discord.guilds[].channels[]` |",
		"| `docker.…` | the fields of `defaults.docker` |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
	var walk func(ht *hcType, path string)
	n := 0
	done := map[*hcType]bool{}
	walk = func(ht *hcType, path string) {
		if done[ht] || ht.overrides {
			return
		}
		done[ht] = true
		for _, fd := range ht.fields {
			n++
			if !strings.Contains(out, "`"+fd.key) && !strings.Contains(out, "."+fd.key+"`") {
				t.Errorf("%s.%s is not in the list", path, fd.key)
			}
			if fd.t != nil && fd.t.elem != nil {
				walk(fd.t.elem, path+"."+fd.key)
			}
			if fd.t != nil && fd.t.kind == hcObject {
				walk(fd.t, path+"."+fd.key)
			}
		}
	}
	walk(hcFleetFile, "")
	walk(hcAgentFile, "")
	if n < 150 {
		t.Errorf("only %d herdctl fields in the table", n)
	}
}
