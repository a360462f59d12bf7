package config

import (
	"fmt"
	"strings"
)

// network resolves the egress allowlist. The fleet's list is the agent's
// overrides network.allow if written, else defaults.network.allow. An agent
// file's network.allow may only narrow it: every entry must be covered by a
// fleet entry. network.private is fleet-only (overrides, else defaults).
func (r *agentRes) network() Network {
	var fleetAllow, private []string
	var allowAt, privateAt fieldSource // where the lists are written
	defs := []fieldSource{{r.l.doc, "defaults", r.l.dir}}
	if r.a.level != nil {
		defs = r.a.level.defSources
	}
	for _, layer := range []struct {
		m    map[string]any
		srcs []fieldSource
	}{{r.ov, []fieldSource{{r.fleetDoc(), r.ovPrefix, ""}}}, {r.defs, defs}} {
		var ns struct {
			Network networkSpec `yaml:"network"`
		}
		n, ok := layer.m["network"].(map[string]any)
		if !ok {
			continue
		}
		decodeMap(map[string]any{"network": n}, &ns, false)
		// The source that wrote it (defaults can come from several files).
		at := func(key string) fieldSource {
			for _, s := range layer.srcs {
				if s.d.has(s.prefix + ".network." + key) {
					return fieldSource{s.d, s.prefix + ".network." + key, s.dir}
				}
			}
			return fieldSource{layer.srcs[0].d, layer.srcs[0].prefix + ".network." + key, layer.srcs[0].dir}
		}
		if _, set := n["allow"]; set && allowAt.d == nil {
			fleetAllow, allowAt = ns.Network.Allow, at("allow")
		}
		if _, set := n["private"]; set && privateAt.d == nil {
			private, privateAt = ns.Network.Private, at("private")
		}
	}
	for i, h := range fleetAllow {
		if err := validHostPattern(h); err != nil {
			p := fmt.Sprintf("%s[%d]", allowAt.prefix, i)
			r.l.ps.add(allowAt.d.file, allowAt.d.line(p), p, "%v", err)
		}
	}
	for i, h := range private {
		if err := validPrivate(h); err != nil {
			p := fmt.Sprintf("%s[%d]", privateAt.prefix, i)
			r.l.ps.add(privateAt.d.file, privateAt.d.line(p), p, "%v", err)
		}
	}
	out := Network{Allow: fleetAllow, Private: private}

	ad := r.a.doc
	if !ad.has("network.allow") {
		return out
	}
	var own struct {
		Network networkSpec `yaml:"network"`
	}
	decodeMap(map[string]any{"network": r.a.raw["network"]}, &own, false)
	narrowed := make([]string, 0, len(own.Network.Allow))
	for i, h := range own.Network.Allow {
		p := fmt.Sprintf("network.allow[%d]", i)
		if err := validHostPattern(h); err != nil {
			r.l.ps.add(ad.file, ad.line(p), p, "%v", err)
			continue
		}
		ok := false
		for _, fh := range fleetAllow {
			if covers(fh, h) {
				ok = true
				break
			}
		}
		if !ok {
			allowed := "nothing"
			if len(fleetAllow) > 0 {
				allowed = strings.Join(fleetAllow, ", ")
			}
			r.l.ps.add(ad.file, ad.line(p), p, "%s is not in the fleet's allowlist (%s); an agent file can only narrow it: add it in the fleet file under agents[].overrides.network.allow", h, allowed)
			continue
		}
		narrowed = append(narrowed, h)
	}
	out.Allow = narrowed
	return out
}
