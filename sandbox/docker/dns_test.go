package docker

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/sandbox"
)

// TestAgentDNSNeverForwardsOut checks, from inside a hardened agent
// container, that Docker's embedded resolver answers the egress proxy's
// name but sends every other name only to the agent's own loopback: the
// channel of CVE-2024-29018 (lookups forwarded out through the host) is
// closed whatever the engine version and the host's resolver.
func TestAgentDNSNeverForwardsOut(t *testing.T) {
	a := testArtefacts(t)
	b := newTestBackend(t)
	spec := testSpec(t, a, "dns", "/probe", "sleep")
	spec.Network = sandbox.Network{Allow: []string{"allowed.example"}}

	pl, err := b.makePlan(&spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pl.base.DNS, agentDNS) {
		t.Errorf("agent DNS = %v, want %v", pl.base.DNS, agentDNS)
	}

	outside := "exfil-" + randomHex(6) + ".example.com"
	res := runProbe(t, b, spec, []probeCheck{
		{Name: "egress by name", Kind: "resolve", Target: egressAlias},
		{Name: "egress proxy by name", Kind: "dial", Target: egressAlias + ":" + proxyPort},
		{Name: "outside name, system resolver", Kind: "resolve", Target: outside},
		{Name: "outside name, straight to 127.0.0.11", Kind: "dns", Target: "127.0.0.11:53 " + outside},
		{Name: "resolv.conf", Kind: "read", Target: "/etc/resolv.conf"},
		{Name: "rewrite resolv.conf", Kind: "write", Target: "/etc/resolv.conf"},
	})
	for name, r := range res {
		t.Logf("%-40s ok=%t %s", name, r.OK, r.Detail)
	}
	for _, want := range []string{"egress by name", "egress proxy by name"} {
		if !res[want].OK {
			t.Errorf("%s failed: %s", want, res[want].Detail)
		}
	}
	for _, never := range []string{"outside name, system resolver", "outside name, straight to 127.0.0.11", "rewrite resolv.conf"} {
		if res[never].OK {
			t.Errorf("ESCAPE: %s worked: %s", never, res[never].Detail)
		}
	}

	// Where does the embedded resolver send an outside name? The probe
	// answers DNS on the container's own 127.0.0.1:53 (Engine 20.10 lets
	// an unprivileged process bind port 53 in its own network namespace)
	// and asks 127.0.0.11: the query must arrive there, i.e. the only
	// upstream is the agent's own loopback, not the host's resolver. With
	// the engine's default upstream the query never arrives here.
	self := "exfil-self-" + randomHex(6) + ".example.com"
	res = runProbe(t, b, spec, []probeCheck{{Name: "self", Kind: "dns_self", Target: self}})
	r := res["self"]
	t.Logf("self: ok=%t %s", r.OK, r.Detail)
	if r.Fields["forwarded_here"] != "true" {
		t.Errorf("the embedded resolver did not forward %s to the agent's own loopback: %s", self, r.Detail)
	}
}

// An agent opted into the host's network namespace (the dangerous opt-in)
// keeps the host's resolver: the loopback upstream is for an agent's own
// namespace, where it is dead; on the host's it would be whatever listens
// on the host's 127.0.0.1:53.
func TestHostNetworkAgentKeepsTheHostsResolver(t *testing.T) {
	a := testArtefacts(t)
	b := newTestBackend(t)
	spec := testSpec(t, a, "hostnet", "/probe", "sleep")
	res := runProbe(t, b.With(Options{Dangerous: true, HostNetwork: true}), spec, []probeCheck{{Name: "resolv.conf", Kind: "read", Target: "/etc/resolv.conf"}})
	got := res["resolv.conf"].Detail
	host, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "nameserver 127.0.0.1") && !strings.Contains(string(host), "nameserver 127.0.0.1") {
		t.Errorf("host-network agent's resolv.conf: %s; host's: %q", got, host)
	}
	if !strings.Contains(got, "nameserver") {
		t.Errorf("host-network agent's resolv.conf: %s", got)
	}
}
