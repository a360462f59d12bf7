package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Resolver looks up the addresses of a host name. *net.Resolver satisfies
// it; tests substitute their own to return private or changing answers.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// resolveTimeout bounds one name lookup.
const resolveTimeout = 5 * time.Second

// policy is the parsed allowlist.
type policy struct {
	allow        []nameRule
	privateNames []nameRule
	privateNets  []prefixRule
	deny         []netip.Prefix
}

func newPolicy(cfg Config) (*policy, error) {
	var p policy
	var errs []error
	for _, s := range cfg.Allow {
		s = strings.TrimSpace(s)
		if s == "*" || strings.HasPrefix(s, "*:") {
			errs = append(errs, fmt.Errorf("allow %q: a bare wildcard would allow every host; list the hosts", s))
			continue
		}
		r, err := parseNameRule(s, false)
		if err != nil {
			errs = append(errs, fmt.Errorf("allow %w", err))
			continue
		}
		p.allow = append(p.allow, r)
	}
	for _, s := range cfg.Private {
		s = strings.TrimSpace(s)
		pr, isAddr, err := parsePrefixRule(s)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("private %w", err))
		case isAddr:
			p.privateNets = append(p.privateNets, pr)
		default:
			r, err := parseNameRule(s, true)
			if err != nil {
				errs = append(errs, fmt.Errorf("private %w", err))
				continue
			}
			p.privateNames = append(p.privateNames, r)
		}
	}
	for _, s := range cfg.DenyCIDRs {
		pfx, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			if a, aerr := netip.ParseAddr(strings.TrimSpace(s)); aerr == nil {
				pfx = netip.PrefixFrom(a, a.BitLen())
			} else {
				errs = append(errs, fmt.Errorf("deny_cidrs %q: %w", s, err))
				continue
			}
		}
		if a := pfx.Addr(); a.Is4In6() && pfx.Bits() >= 96 {
			pfx = netip.PrefixFrom(a.Unmap(), pfx.Bits()-96)
		}
		p.deny = append(p.deny, pfx.Masked())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &p, nil
}

// matchAllow returns the Allow rule admitting host:port, if any, and
// whether some rule matched the name but not the port.
func (p *policy) matchAllow(host string, port int) (rule string, ok, nameOnly bool) {
	for _, r := range p.allow {
		if r.matchName(host) {
			if r.matchPort(port) {
				return r.String(), true, false
			}
			nameOnly = true
		}
	}
	return "", false, nameOnly
}

// matchPrivateName returns the Private name entry for host:port, if any.
func (p *policy) matchPrivateName(host string, port int) (string, bool) {
	for _, r := range p.privateNames {
		if r.matchName(host) && port == r.port {
			return r.String(), true
		}
	}
	return "", false
}

// checkAddr decides whether an address may be dialled on port. privName
// is set when the destination matched a Private name entry, which admits
// any soft-special address. It returns the reason either way.
func (p *policy) checkAddr(a netip.Addr, port int, privName bool) (reason string, ok bool) {
	a = canonical(a)
	for _, d := range p.deny {
		if d.Contains(a) {
			return fmt.Sprintf("denied network %s address %s", d, a), false
		}
	}
	class, hard := classify(a)
	if hard {
		return fmt.Sprintf("%s address %s", class, a), false
	}
	for _, r := range p.privateNets {
		if port == r.port && r.prefix.Contains(a) {
			return "private " + r.String(), true
		}
	}
	if class == "" || privName {
		return "", true
	}
	return fmt.Sprintf("%s address %s", class, a), false
}

// decision is the outcome of the policy for one destination.
type decision struct {
	host    string
	port    int
	allowed bool
	reason  string
	addrs   []netip.Addr // checked addresses to dial, in order
}

// decide applies the policy to host:port, resolving names with res. When
// implicit is set (the model upstream) no Allow rule is needed, but the
// address checks still apply.
func (p *policy) decide(ctx context.Context, res Resolver, host string, port int, implicit bool) decision {
	d := decision{host: host, port: port}
	if a, err := netip.ParseAddr(host); err == nil {
		reason, ok := p.checkAddr(a, port, false)
		if ok && reason == "" && !implicit {
			// A public literal IP: name rules never admit an address.
			reason, ok = "literal IP address not allowlisted (only private IP:port or CIDR:port entries admit addresses)", false
		}
		if ok && reason == "" {
			reason = "model upstream"
		}
		d.allowed, d.reason = ok, reason
		if ok {
			d.addrs = []netip.Addr{canonical(a)}
		}
		return d
	}
	rule, privName := p.matchPrivateName(host, port)
	switch {
	case privName:
		rule = "private " + rule
	case implicit:
		rule = "model upstream"
	default:
		var ok, nameOnly bool
		rule, ok, nameOnly = p.matchAllow(host, port)
		if !ok {
			d.reason = "host not allowlisted"
			if nameOnly {
				d.reason = fmt.Sprintf("port %d not allowed for host", port)
			}
			return d
		}
		rule = "allow " + rule
	}
	rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := res.LookupNetIP(rctx, "ip", host)
	if err != nil {
		d.reason = "resolve: " + lookupReason(err)
		return d
	}
	var refused string
	for _, a := range addrs {
		why, ok := p.checkAddr(a, port, privName)
		if !ok {
			if refused == "" {
				refused = why
			}
			continue
		}
		if why != "" && !privName {
			rule = why
		}
		d.addrs = append(d.addrs, canonical(a))
	}
	if len(d.addrs) == 0 {
		d.reason = "resolves to " + refused
		if refused == "" {
			d.reason = "resolve: no addresses"
		}
		return d
	}
	d.allowed, d.reason = true, rule
	return d
}

// lookupReason shortens a lookup error for a record: no resolver chatter.
func lookupReason(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return "no such host"
	}
	return err.Error()
}
