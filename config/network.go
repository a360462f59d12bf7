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
	fleetAllowAt, privateAt := "", ""
	for _, layer := range []struct {
		m      map[string]any
		prefix string
	}{{r.ov, r.ovPrefix}, {r.defs, "defaults"}} {
		var ns struct {
			Network networkSpec `koanf:"network"`
		}
		if n, ok := layer.m["network"].(map[string]any); ok {
			decode(map[string]any{"network": n}, &ns, false)
			if _, set := n["allow"]; set && fleetAllowAt == "" {
				fleetAllow, fleetAllowAt = ns.Network.Allow, layer.prefix+".network.allow"
			}
			if _, set := n["private"]; set && privateAt == "" {
				private, privateAt = ns.Network.Private, layer.prefix+".network.private"
			}
		}
	}
	ld := r.l.doc
	for i, h := range fleetAllow {
		if err := validHostPattern(h); err != nil {
			p := fmt.Sprintf("%s[%d]", fleetAllowAt, i)
			r.l.ps.add(ld.file, ld.line(p), p, "%v", err)
		}
	}
	for i, h := range private {
		if err := validPrivate(h); err != nil {
			p := fmt.Sprintf("%s[%d]", privateAt, i)
			r.l.ps.add(ld.file, ld.line(p), p, "%v", err)
		}
	}
	out := Network{Allow: fleetAllow, Private: private}

	ad := r.a.doc
	if !ad.has("network.allow") {
		return out
	}
	var own struct {
		Network networkSpec `koanf:"network"`
	}
	decode(map[string]any{"network": r.a.raw["network"]}, &own, false)
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
