package config

import (
	"fmt"
	"io"
	"strings"
)

// WriteHerdctlFields writes every field of herdctl's configuration (the
// table in herdctl.go) with herdctl's rule for it and what herdbot does
// with it, as Markdown tables: the fleet file, then the agent file. It is
// the field list of docs/migrating-from-herdctl.md (`herdbot docs
// herdctl`).
func WriteHerdctlFields(w io.Writer) error {
	p := &printer{w: w}
	seen := map[*hcType]string{}
	for _, s := range []struct {
		title string
		t     *hcType
	}{{"Fleet file (herdctl.yaml)", hcFleetFile}, {"Agent file", hcAgentFile}} {
		p.line("### %s", s.title)
		p.line("")
		p.line("| herdctl field | herdctl's rule | herdbot |")
		p.line("|---|---|---|")
		writeHerdctlObject(p, s.t, "", seen, false)
		p.line("")
	}
	return p.err
}

// writeHerdctlObject writes t's fields under prefix. inIgnored: t is part
// of a field herdbot does not use (its rules are still checked).
func writeHerdctlObject(p *printer, t *hcType, prefix string, seen map[*hcType]string, inIgnored bool) {
	seen[t] = prefix
	switch {
	case t.strict || prefix == "" || t.overrides:
	case inIgnored:
		p.line("| `%s*` (any other key) | dropped | dropped |", prefix)
	default:
		p.line("| `%s*` (any other key) | dropped | accepted with a warning and dropped, as herdctl drops it; an error when it looks like a misspelt field |", prefix)
	}
	for _, fd := range t.fields {
		path := prefix + fd.key
		if fd.use == hcAlias {
			p.line("| `%s` | herdctl's old name for `%s` | read as `%s`, with a warning |", path, fd.aliasOf, prefix+fd.aliasOf)
			continue
		}
		rule := hcRule(fd)
		var herdbot string
		switch {
		case inIgnored:
			herdbot = "checked, not used"
		case fd.use == hcSame:
			herdbot = "same"
		case fd.use == hcDiffers:
			herdbot = fd.note
		case fd.use == hcIgnored:
			herdbot = "accepted with a warning, not used: " + fd.note
		}
		childIgnored := inIgnored || fd.use == hcIgnored
		p.line("| `%s` | %s | %s |", path, escapeCell(rule), escapeCell(herdbot))
		sub, suffix := fd.t, "."
		switch sub.kind {
		case hcArray:
			sub, suffix = sub.elem, "[]."
		case hcRecord:
			sub, suffix = sub.elem, ".<name>."
		case hcPathOrDir:
			sub = sub.elem
		}
		if sub == nil || sub.kind != hcObject && sub.kind != hcHook {
			continue
		}
		if sub.overrides {
			continue // the same fields as the file's own, described above
		}
		if at, done := seen[sub]; done {
			p.line("| `%s%s…` | the fields of `%s` | as there |", path, suffix, strings.TrimSuffix(at, "."))
			continue
		}
		if sub.kind == hcHook {
			seen[sub] = path
			for _, kind := range []string{"shell", "webhook", "discord", "slack"} {
				p.line("| `%s[] (type: %s)` | a %s hook | as `%s` |", path, kind, kind, path)
				writeHerdctlObject(p, sub.variants[kind], fmt.Sprintf("%s[] (%s).", path, kind), seen, childIgnored)
			}
			continue
		}
		writeHerdctlObject(p, sub, path+suffix, seen, childIgnored)
	}
}

// hcRule describes herdctl's rule for a field.
func hcRule(fd hcField) string {
	t := fd.t
	var parts []string
	if fd.required {
		parts = append(parts, "required")
	}
	switch t.kind {
	case hcEnum:
		parts = append(parts, "one of "+strings.Join(t.enum, ", "))
	case hcObject:
		if t.strict {
			parts = append(parts, "mapping, no other keys")
		} else {
			parts = append(parts, "mapping")
		}
	case hcArray:
		if t.elem != nil && t.elem.kind == hcEnum {
			parts = append(parts, "list of "+strings.Join(t.elem.enum, ", "))
		} else {
			parts = append(parts, t.desc)
		}
	default:
		parts = append(parts, t.desc)
	}
	if t.ruleDoc != "" {
		parts = append(parts, t.ruleDoc)
	}
	return strings.Join(parts, "; ")
}
