package docker

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

// TestOptionsHostConfig: the typed Docker options go on the hardened host
// config after the host_config passthrough (they win over it); without the
// dangerous opt-in anything that removes hardening is refused, with it it
// is applied, and a host network drops the agent's own resolver.
func TestOptionsHostConfig(t *testing.T) {
	base := func() Options { return Options{} }
	hardened := hardenedHostConfig(hardenedInput{netMode: "herdbot-net", dns: []netip.Addr{netip.MustParseAddr("127.0.0.11")}, readOnly: true,
		limits: limitsSpec{memory: 64 << 20, pids: 64}})

	hc, err := Options{HostConfig: map[string]any{"shm_size": 1 << 20, "runtime": "io.containerd.runc.v2"}, Runtime: "runsc"}.hostConfig(hardened)
	if err != nil || hc.ShmSize != 1<<20 || hc.Runtime != "runsc" || hc.Privileged || !slices.Equal(hc.CapDrop, []string{"ALL"}) {
		t.Fatalf("safe options: %+v, %v; want the passthrough and the typed runtime over it, hardening kept", hc, err)
	}
	if hardened.ShmSize != 0 || hardened.Runtime != "" {
		t.Fatal("the hardened base was changed")
	}
	if hc, err := base().hostConfig(hardened); err != nil || hc.NetworkMode != "herdbot-net" || len(hc.DNS) != 1 {
		t.Fatalf("zero options: %+v, %v", hc, err)
	}
	for _, o := range []Options{
		{Privileged: true}, {CapAdd: []string{"NET_ADMIN"}}, {HostNetwork: true},
		{HostConfig: map[string]any{"Privileged": true}}, {HostConfig: map[string]any{"PidMode": "host"}},
	} {
		var he *HardeningError
		if _, err := o.hostConfig(hardened); !errors.As(err, &he) {
			t.Errorf("%+v without the opt-in: %v, want a HardeningError", o, err)
		}
	}
	hc, err = Options{Privileged: true, CapAdd: []string{"NET_ADMIN"}, HostNetwork: true, Dangerous: true}.hostConfig(hardened)
	if err != nil || !hc.Privileged || !slices.Equal(hc.CapAdd, []string{"NET_ADMIN"}) || !hc.NetworkMode.IsHost() || hc.DNS != nil {
		t.Fatalf("dangerous options: %+v, %v; want privileged, cap_add, host network without the agent resolver", hc, err)
	}
	if _, err := (Options{HostConfig: map[string]any{"no_such_field": 1}}).hostConfig(hardened); err == nil {
		t.Error("an unknown host_config field was accepted")
	}
}
