package egress

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// defaultPorts are the ports a name rule without ":port" allows.
var defaultPorts = [...]int{443, 80}

// nameRule is one host-name rule: exact ("api.github.com") or a wildcard
// ("*.github.com", stored as suffix ".github.com", matching subdomains only).
type nameRule struct {
	exact  string
	suffix string
	port   int // 0: defaultPorts
}

func (r nameRule) String() string {
	s := r.exact
	if r.suffix != "" {
		s = "*" + r.suffix
	}
	if r.port != 0 {
		s += ":" + strconv.Itoa(r.port)
	}
	return s
}

// matchName reports whether the (normalised) host name matches, ignoring
// the port.
func (r nameRule) matchName(host string) bool {
	if r.suffix != "" {
		return len(host) > len(r.suffix) && strings.HasSuffix(host, r.suffix)
	}
	return host == r.exact
}

func (r nameRule) matchPort(port int) bool {
	if r.port != 0 {
		return port == r.port
	}
	for _, p := range defaultPorts {
		if port == p {
			return true
		}
	}
	return false
}

// prefixRule is a Private "CIDR:port" or "IP:port" entry.
type prefixRule struct {
	prefix netip.Prefix
	port   int
}

func (r prefixRule) String() string { return r.prefix.String() + ":" + strconv.Itoa(r.port) }

// parseNameRule parses an Allow entry ("host", "*.suffix", optionally
// ":port"). requirePort is set for Private name entries.
func parseNameRule(s string, requirePort bool) (nameRule, error) {
	host, port := s, 0
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		p, err := parsePort(s[i+1:])
		if err != nil {
			return nameRule{}, fmt.Errorf("%q: %w", s, err)
		}
		host, port = s[:i], p
	} else if requirePort {
		return nameRule{}, fmt.Errorf("%q: a port is required (host:port)", s)
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return nameRule{}, fmt.Errorf("%q: a literal IP address is not a host name; list it under private as IP:port or CIDR:port", s)
	}
	var r nameRule
	r.port = port
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		if err := validName(rest); err != nil {
			return nameRule{}, fmt.Errorf("%q: %w", s, err)
		}
		if !strings.Contains(rest, ".") {
			return nameRule{}, fmt.Errorf("%q: wildcard must name at least a two-label domain", s)
		}
		r.suffix = "." + rest
		return r, nil
	}
	if err := validName(host); err != nil {
		return nameRule{}, fmt.Errorf("%q: %w", s, err)
	}
	r.exact = host
	return r, nil
}

// parsePrefixRule parses a Private "CIDR:port" or "IP:port" entry; IPv6
// may be bracketed ("[fd00::/64]:22") or not ("fd00::/64:22"). ok is false
// when s does not start with an address (it is then a name entry).
func parsePrefixRule(s string) (r prefixRule, ok bool, err error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return prefixRule{}, false, nil
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(s[:i], "["), "]")
	var pfx netip.Prefix
	if strings.Contains(addr, "/") {
		pfx, err = netip.ParsePrefix(addr)
		if err != nil {
			if looksLikeAddr(addr) {
				return prefixRule{}, true, fmt.Errorf("%q: %w", s, err)
			}
			return prefixRule{}, false, nil
		}
	} else {
		a, perr := netip.ParseAddr(addr)
		if perr != nil {
			return prefixRule{}, false, nil
		}
		pfx = netip.PrefixFrom(a, a.BitLen())
	}
	if pfx.Addr().Zone() != "" {
		return prefixRule{}, true, fmt.Errorf("%q: zones are not supported", s)
	}
	port, err := parsePort(s[i+1:])
	if err != nil {
		return prefixRule{}, true, fmt.Errorf("%q: %w", s, err)
	}
	a := pfx.Addr()
	if a.Is4In6() && pfx.Bits() >= 96 {
		pfx = netip.PrefixFrom(a.Unmap(), pfx.Bits()-96)
	}
	return prefixRule{prefix: pfx.Masked(), port: port}, true, nil
}

func looksLikeAddr(s string) bool {
	return strings.ContainsAny(s, ":") || strings.Trim(s, "0123456789./") == ""
}

// parsePort parses a TCP port, 1 to 65535.
func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return p, nil
}

// validName checks a normalised DNS host name: labels of letters, digits,
// '-' and '_', at most 253 characters in all.
func validName(h string) error {
	if h == "" {
		return errors.New("empty host name")
	}
	if len(h) > 253 {
		return errors.New("host name too long")
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("invalid host name %q", h)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("invalid host name %q", h)
			}
		}
	}
	return nil
}

// splitTarget splits "host:port" (host possibly a bracketed IPv6 literal),
// using defPort when there is no port (defPort 0: a port is required), and
// normalises the host: lower case, no trailing dot, no brackets.
func splitTarget(authority string, defPort int) (host string, port int, err error) {
	h, ps, err := net.SplitHostPort(authority)
	if err != nil {
		if defPort == 0 {
			return "", 0, fmt.Errorf("target %q: %w", authority, err)
		}
		h, ps = strings.TrimSuffix(strings.TrimPrefix(authority, "["), "]"), strconv.Itoa(defPort)
	}
	port, err = parsePort(ps)
	if err != nil {
		return "", 0, fmt.Errorf("target %q: %w", authority, err)
	}
	host = strings.TrimSuffix(strings.ToLower(h), ".")
	if _, aerr := netip.ParseAddr(host); aerr == nil {
		return host, port, nil
	}
	if err := validName(host); err != nil {
		return "", 0, fmt.Errorf("target %q: %w", authority, err)
	}
	return host, port, nil
}
