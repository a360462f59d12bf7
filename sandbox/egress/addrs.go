package egress

import "net/netip"

// addrClass is one special-purpose address range the proxy refuses.
type addrClass struct {
	prefix netip.Prefix
	name   string
	// hard classes are refused even when a Private entry matches.
	hard bool
}

// specialRanges are checked in order; the first match names the address.
// IPv4-mapped IPv6 addresses are unmapped before the check, and NAT64
// (64:ff9b::/96) addresses are checked by the IPv4 address they embed.
var specialRanges = func() []addrClass {
	mk := func(s, name string, hard bool) addrClass {
		return addrClass{prefix: netip.MustParsePrefix(s), name: name, hard: hard}
	}
	return []addrClass{
		// Cloud metadata, before link-local and ULA so the reason says so.
		mk("169.254.169.254/32", "metadata", true),
		mk("fd00:ec2::254/128", "metadata", true),
		mk("0.0.0.0/8", "unspecified", true),
		mk("::/128", "unspecified", true),
		mk("224.0.0.0/4", "multicast", true),
		mk("ff00::/8", "multicast", true),
		mk("240.0.0.0/4", "reserved", true), // includes 255.255.255.255

		mk("127.0.0.0/8", "loopback", false),
		mk("::1/128", "loopback", false),
		mk("10.0.0.0/8", "private", false),
		mk("172.16.0.0/12", "private", false),
		mk("192.168.0.0/16", "private", false),
		mk("fc00::/7", "private", false), // unique local (ULA)
		mk("100.64.0.0/10", "cgnat", false),
		mk("169.254.0.0/16", "link-local", false),
		mk("fe80::/10", "link-local", false),
		mk("fec0::/10", "site-local", false),
		mk("192.0.0.0/24", "reserved", false),
		mk("192.0.2.0/24", "reserved", false),
		mk("198.18.0.0/15", "reserved", false),
		mk("198.51.100.0/24", "reserved", false),
		mk("203.0.113.0/24", "reserved", false),
		mk("2001:db8::/32", "reserved", false),
		mk("64:ff9b:1::/48", "reserved", false), // local-use NAT64
		mk("::/96", "ipv4-compatible", false),   // deprecated ::a.b.c.d
	}
}()

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// canonical unmaps IPv4-mapped IPv6 and drops any zone, so that checks and
// dials see one form of each address.
func canonical(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}

// classify returns the special range an address is in ("" for an ordinary
// public address) and whether that range is refused even for Private
// entries.
func classify(a netip.Addr) (name string, hard bool) {
	a = canonical(a)
	if a.Is6() && nat64.Contains(a) {
		b := a.As16()
		v4 := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		if n, h := classify(v4); n != "" {
			return n, h
		}
		return "", false
	}
	for _, c := range specialRanges {
		if c.prefix.Contains(a) {
			return c.name, c.hard
		}
	}
	return "", false
}
