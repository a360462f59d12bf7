package egress

import (
	"context"
	"github.com/herdbot/herdbot/internal/testenv"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// fakeResolver answers from a table. answers[host][i] is the answer to the
// i-th lookup of host (the last one repeats), so tests can rebind a name.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	calls   map[string]int
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{answers: map[string][][]netip.Addr{}, calls: map[string]int{}}
}

// set makes host resolve to addrs, one lookup answer per argument.
func (r *fakeResolver) set(host string, answers ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var as [][]netip.Addr
	for _, a := range answers {
		var one []netip.Addr
		for _, s := range strings.Split(a, ",") {
			one = append(one, netip.MustParseAddr(s))
		}
		as = append(as, one)
	}
	r.answers[host] = as
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	as, ok := r.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	i := min(r.calls[host], len(as)-1)
	r.calls[host]++
	return as[i], nil
}

func (r *fakeResolver) lookups(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[host]
}

func TestDecide(t *testing.T) {
	cfg := Config{
		Allow:     []string{"api.github.com", "*.example.com", "ssh.example.org:22", "Upper.Example.NET."},
		Private:   []string{"proxmox.lan:8006", "meta.lan:80", "denied.lan:80", "192.168.1.0/24:22", "[fd00:1::/64]:443", "10.9.9.9:5432"},
		DenyCIDRs: []string{"172.20.0.0/16"},
	}
	pol, err := newPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res := newFakeResolver()
	res.set("api.github.com", "140.82.112.5")
	res.set("a.example.com", "93.184.216.34")
	res.set("a.b.example.com", "93.184.216.35")
	res.set("example.com", "93.184.216.34")
	res.set("ssh.example.org", "93.184.216.36")
	res.set("upper.example.net", "93.184.216.37")
	res.set("mixed.example.com", "10.0.0.1,93.184.216.34")
	res.set("v6.example.com", "2606:4700::1111")
	res.set("fdhost.example.com", "fd00:1::5")
	res.set("proxmox.lan", "192.168.50.2")
	res.set("meta.lan", "169.254.169.254")
	res.set("denied.lan", "172.20.0.5")

	type tc struct {
		name      string
		host      string
		port      int
		implicit  bool
		allowed   bool
		reason    string // substring
		wantAddrs string // comma-separated, when allowed
	}
	cases := []tc{
		{name: "exact", host: "api.github.com", port: 443, allowed: true, reason: "allow api.github.com", wantAddrs: "140.82.112.5"},
		{name: "exact port 80", host: "api.github.com", port: 80, allowed: true, wantAddrs: "140.82.112.5"},
		{name: "exact other port", host: "api.github.com", port: 22, reason: "port 22 not allowed"},
		{name: "exact subdomain not matched", host: "x.api.github.com", port: 443, reason: "host not allowlisted"},
		{name: "wildcard subdomain", host: "a.example.com", port: 443, allowed: true, reason: "allow *.example.com", wantAddrs: "93.184.216.34"},
		{name: "wildcard deep subdomain", host: "a.b.example.com", port: 443, allowed: true},
		{name: "wildcard apex not matched", host: "example.com", port: 443, reason: "host not allowlisted"},
		{name: "wildcard suffix trick", host: "badexample.com", port: 443, reason: "host not allowlisted"},
		{name: "wildcard as prefix trick", host: "a.example.com.evil.net", port: 443, reason: "host not allowlisted"},
		{name: "rule with port", host: "ssh.example.org", port: 22, allowed: true},
		{name: "rule with port, 443 refused", host: "ssh.example.org", port: 443, reason: "port 443 not allowed"},
		{name: "rule normalised", host: "upper.example.net", port: 443, allowed: true},
		{name: "unlisted", host: "evil.test", port: 443, reason: "host not allowlisted"},
		{name: "ipv6 public", host: "v6.example.com", port: 443, allowed: true, wantAddrs: "2606:4700::1111"},
		{name: "mixed answer dials only public", host: "mixed.example.com", port: 443, allowed: true, wantAddrs: "93.184.216.34"},
		{name: "no such host", host: "nx.example.com", port: 443, reason: "resolve: no such host"},
		{name: "name into private CIDR", host: "fdhost.example.com", port: 443, allowed: true, reason: "private fd00:1::/64:443", wantAddrs: "fd00:1::5"},

		{name: "literal public IP", host: "8.8.8.8", port: 443, reason: "literal IP address not allowlisted"},
		{name: "literal private IP", host: "10.1.2.3", port: 443, reason: "private address 10.1.2.3"},
		{name: "literal loopback", host: "127.0.0.1", port: 80, reason: "loopback"},
		{name: "literal mapped loopback", host: "::ffff:127.0.0.1", port: 80, reason: "loopback address 127.0.0.1"},
		{name: "literal metadata", host: "169.254.169.254", port: 80, reason: "metadata"},
		{name: "literal v6 metadata", host: "fd00:ec2::254", port: 80, reason: "metadata"},
		{name: "literal in private CIDR", host: "192.168.1.7", port: 22, allowed: true, reason: "private 192.168.1.0/24:22", wantAddrs: "192.168.1.7"},
		{name: "literal mapped in private CIDR", host: "::ffff:192.168.1.7", port: 22, allowed: true, wantAddrs: "192.168.1.7"},
		{name: "literal in private CIDR wrong port", host: "192.168.1.7", port: 23, reason: "private address"},
		{name: "literal private single IP", host: "10.9.9.9", port: 5432, allowed: true},
		{name: "literal next to private single IP", host: "10.9.9.8", port: 5432, reason: "private address"},
		{name: "literal denied network", host: "172.20.1.1", port: 443, reason: "denied network 172.20.0.0/16"},

		{name: "private name", host: "proxmox.lan", port: 8006, allowed: true, reason: "proxmox.lan:8006", wantAddrs: "192.168.50.2"},
		{name: "private name other port", host: "proxmox.lan", port: 8007, reason: "host not allowlisted"},
		{name: "private name to metadata", host: "meta.lan", port: 80, reason: "metadata address 169.254.169.254"},
		{name: "private name to denied network", host: "denied.lan", port: 80, reason: "denied network"},

		{name: "model upstream public", host: "api.anthropic.test", port: 443, implicit: true, reason: "resolve"},
		{name: "model upstream literal public", host: "160.79.104.10", port: 443, implicit: true, allowed: true},
		{name: "model upstream literal loopback", host: "127.0.0.1", port: 9999, implicit: true, reason: "loopback"},
	}
	// Every special range, reached through an allowlisted name.
	for _, s := range []struct{ addr, class string }{
		{"10.1.2.3", "private"}, {"172.16.0.1", "private"}, {"172.31.255.255", "private"}, {"192.168.0.1", "private"},
		{"100.64.0.1", "cgnat"}, {"100.127.255.254", "cgnat"},
		{"127.0.0.1", "loopback"}, {"127.255.255.254", "loopback"}, {"::1", "loopback"},
		{"169.254.1.1", "link-local"}, {"fe80::1", "link-local"},
		{"169.254.169.254", "metadata"}, {"fd00:ec2::254", "metadata"},
		{"0.0.0.0", "unspecified"}, {"0.1.2.3", "unspecified"}, {"::", "unspecified"},
		{"224.0.0.1", "multicast"}, {"239.255.255.250", "multicast"}, {"ff02::1", "multicast"},
		{"255.255.255.255", "reserved"}, {"240.0.0.1", "reserved"}, {"192.0.2.1", "reserved"}, {"198.18.0.1", "reserved"},
		{"fc00::1", "private"}, {"fd12:3456::1", "private"},
		{"::ffff:10.0.0.1", "private address 10.0.0.1"}, {"::ffff:127.0.0.1", "loopback address 127.0.0.1"},
		{"::ffff:169.254.169.254", "metadata address 169.254.169.254"}, {"::ffff:100.64.0.1", "cgnat"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"64:ff9b::a00:1", "private"}, {"64:ff9b::a9fe:a9fe", "metadata"}, {"::7f00:1", "ipv4-compatible"},
		{"172.20.3.4", "denied network"}, {"::ffff:172.20.3.4", "denied network"},
	} {
		host := "r" + strings.NewReplacer(":", "-", ".", "-").Replace(s.addr) + ".example.com"
		res.set(host, s.addr)
		cases = append(cases, tc{name: "resolves to " + s.addr, host: host, port: 443, reason: "resolves to " + s.class})
		if !strings.Contains(s.addr, "ffff") && !strings.HasPrefix(s.addr, "64:") && !strings.HasPrefix(s.addr, "::7f") {
			cases = append(cases, tc{name: "literal " + s.addr, host: s.addr, port: 443, reason: s.class})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := pol.decide(t.Context(), res, c.host, c.port, c.implicit)
			if d.allowed != c.allowed {
				t.Fatalf("decide(%s:%d) allowed = %v (%s), want %v", c.host, c.port, d.allowed, d.reason, c.allowed)
			}
			if !strings.Contains(d.reason, c.reason) {
				t.Errorf("reason = %q, want it to contain %q", d.reason, c.reason)
			}
			if !c.allowed && len(d.addrs) != 0 {
				t.Errorf("denied decision carries addresses %v", d.addrs)
			}
			if c.wantAddrs != "" {
				var got []string
				for _, a := range d.addrs {
					got = append(got, a.String())
				}
				if g := strings.Join(got, ","); g != c.wantAddrs {
					t.Errorf("addrs = %s, want %s", g, c.wantAddrs)
				}
			}
		})
	}
}

func TestSplitTarget(t *testing.T) {
	for _, c := range []struct {
		in       string
		def      int
		host     string
		port     int
		wantFail bool
	}{
		{in: "API.GitHub.com.:443", host: "api.github.com", port: 443},
		{in: "[::1]:80", host: "::1", port: 80},
		{in: "[::ffff:127.0.0.1]:80", host: "::ffff:127.0.0.1", port: 80},
		{in: "example.com", def: 80, host: "example.com", port: 80},
		{in: "[2001:db8::1]", def: 80, host: "2001:db8::1", port: 80},
		{in: "example.com", wantFail: true},
		{in: "example.com:0", wantFail: true},
		{in: "example.com:65536", wantFail: true},
		{in: "example.com:http", wantFail: true},
		{in: ":443", wantFail: true},
		{in: "exa mple.com:443", wantFail: true},
		{in: "a..b:443", wantFail: true},
		{in: "evil.com/x:443", wantFail: true},
	} {
		host, port, err := splitTarget(c.in, c.def)
		if c.wantFail {
			if err == nil {
				t.Errorf("splitTarget(%q) = %q, %d; want an error", c.in, host, port)
			}
			continue
		}
		if err != nil || host != c.host || port != c.port {
			t.Errorf("splitTarget(%q) = %q, %d, %v; want %q, %d", c.in, host, port, err, c.host, c.port)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	log := discardLog()
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"literal IP in allow", Config{Allow: []string{"10.0.0.1"}}, "literal IP address is not a host name"},
		{"literal IPv6 in allow", Config{Allow: []string{"[::1]:443"}}, "literal IP address"},
		{"bare wildcard", Config{Allow: []string{"*"}}, "bare wildcard"},
		{"tld wildcard", Config{Allow: []string{"*.com"}}, "two-label"},
		{"bad name", Config{Allow: []string{"exa mple.com"}}, "invalid host name"},
		{"bad port", Config{Allow: []string{"example.com:99999"}}, "invalid port"},
		{"private without port", Config{Private: []string{"proxmox.lan"}}, "port is required"},
		{"private bad CIDR", Config{Private: []string{"10.0.0.0/33:22"}}, "10.0.0.0/33"},
		{"private bad port", Config{Private: []string{"10.0.0.0/8:x"}}, "invalid port"},
		{"deny bad CIDR", Config{DenyCIDRs: []string{"nope"}}, "deny_cidrs"},
		{"model url scheme", Config{ModelURL: "ftp://x"}, "model_url"},
		{"model url no host", Config{ModelURL: "https://"}, "model_url"},
		{"model url userinfo", Config{ModelURL: "https://u:secret@api.example.com"}, "user info is not allowed"},
		{"negative max conns", Config{MaxConns: -1}, "max_conns"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg, log, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New() error = %v, want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error leaks the URL password: %v", err)
			}
		})
	}
	if _, err := New(Config{}, nil, nil); err == nil {
		t.Error("New with a nil logger: no error")
	}
}

func TestConfigLogValueHidesSecrets(t *testing.T) {
	cfg := Config{Agent: "garden", ModelAPIKey: "sk-ant-SECRET1", ModelOAuthToken: "oat-SECRET2", ModelURL: "https://u:SECRET3@x.test"}
	var b testenv.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info("cfg", "config", cfg)
	out := b.String() + cfg.String()
	if strings.Contains(out, "SECRET") {
		t.Fatalf("secret in log output: %s", out)
	}
	if !strings.Contains(out, `"model_api_key_set":true`) {
		t.Errorf("log output does not say the key is set: %s", out)
	}
}
