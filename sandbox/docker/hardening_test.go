package docker

import (
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/mount"
)

func testBase() *hardenedInput {
	return &hardenedInput{
		netMode:   "net123",
		dns:       agentDNS,
		limits:    limitsSpec{memory: 256 << 20, nanoCPUs: 1e9, pids: 64},
		mounts:    []mount.Mount{{Type: mount.TypeBind, Source: "/empty", Target: "/workspace/.env", ReadOnly: true}},
		tmpfs:     map[string]string{"/tmp": "rw,size=1m"},
		readOnly:  true,
		logDriver: "none",
	}
}

func TestPassthroughCannotRemoveHardening(t *testing.T) {
	for _, c := range []struct {
		name  string
		pass  map[string]any
		field string // "" = allowed
	}{
		{"empty", nil, ""},
		{"shm size", map[string]any{"ShmSize": 1 << 20}, ""},
		{"snake case memory raises the limit, swap follows", map[string]any{"memory": 512 << 20}, ""},
		{"seccomp profile is appended", map[string]any{"security_opt": []any{"seccomp=/p.json"}}, ""},
		{"extra bind", map[string]any{"Binds": []string{"/srv/data:/data:ro"}}, ""},
		{"runtime runsc", map[string]any{"Runtime": "runsc"}, ""},
		{"privileged", map[string]any{"Privileged": true}, "Privileged"},
		{"cap add", map[string]any{"CapAdd": []string{"NET_ADMIN"}}, "CapAdd"},
		{"cap drop replaced", map[string]any{"CapDrop": []string{"NET_RAW"}}, ""}, // appended: ALL stays
		{"no-new-privileges off", map[string]any{"SecurityOpt": []string{"no-new-privileges=false"}}, "SecurityOpt"},
		{"seccomp unconfined", map[string]any{"SecurityOpt": []string{"seccomp=unconfined"}}, "SecurityOpt"},
		{"apparmor unconfined", map[string]any{"SecurityOpt": []string{"apparmor:unconfined"}}, "SecurityOpt"},
		{"label disable", map[string]any{"SecurityOpt": []string{"label=disable"}}, "SecurityOpt"},
		{"host network", map[string]any{"NetworkMode": "host"}, "NetworkMode"},
		{"pid host", map[string]any{"pid_mode": "host"}, "PidMode"},
		{"ipc host", map[string]any{"IpcMode": "host"}, "IpcMode"},
		{"ipc of another container", map[string]any{"IpcMode": "container:abc"}, "IpcMode"},
		{"uts host", map[string]any{"UTSMode": "host"}, "UTSMode"},
		{"userns host", map[string]any{"UsernsMode": "host"}, "UsernsMode"},
		{"cgroupns host", map[string]any{"CgroupnsMode": "host"}, "CgroupnsMode"},
		{"writable root", map[string]any{"ReadonlyRootfs": false}, "ReadonlyRootfs"},
		{"devices", map[string]any{"Devices": []any{map[string]any{"PathOnHost": "/dev/kvm", "PathInContainer": "/dev/kvm"}}}, "Devices"},
		{"no memory limit", map[string]any{"Memory": 0}, "Memory"},
		{"swap", map[string]any{"MemorySwap": -1}, "MemorySwap"},
		{"no pids limit", map[string]any{"PidsLimit": -1}, "PidsLimit"},
		{"oom killer off", map[string]any{"OomKillDisable": true}, "OomKillDisable"},
		{"docker socket", map[string]any{"Binds": []string{"/var/run/docker.sock:/var/run/docker.sock"}}, "Binds"},
		{"host root", map[string]any{"Binds": []string{"/:/host"}}, "Binds"},
		{"masked paths", map[string]any{"MaskedPaths": []string{}}, "MaskedPaths"},
		{"volumes from", map[string]any{"VolumesFrom": []string{"other"}}, "VolumesFrom"},
		{"tmp tmpfs changed", map[string]any{"Tmpfs": map[string]any{"/tmp": "rw,exec,size=10g"}}, "Tmpfs"},
		{"mount removed", map[string]any{"Mounts": []any{}}, ""}, // appended: ours stay
		{"dns options", map[string]any{"DnsOptions": []string{"ndots:1"}}, ""},
		{"extra host", map[string]any{"ExtraHosts": []string{"git.internal:10.0.0.5"}}, ""},
		{"dns upstream added", map[string]any{"Dns": []string{"8.8.8.8"}}, "Dns"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := hardenedHostConfig(*testBase())
			hc, err := mergePassthrough(base, c.pass)
			if err != nil {
				t.Fatalf("merge: %v", err)
			}
			err = checkHardening(hc, base)
			var he *HardeningError
			switch {
			case c.field == "" && err != nil:
				t.Fatalf("check = %v, want allowed", err)
			case c.field != "" && !errors.As(err, &he):
				t.Fatalf("check = %v, want a HardeningError on %s", err, c.field)
			case c.field != "" && he.Field != c.field:
				t.Fatalf("check names %s (%v), want %s", he.Field, err, c.field)
			}
		})
	}
}

func TestPassthroughMerges(t *testing.T) {
	base := hardenedHostConfig(*testBase())
	hc, err := mergePassthrough(base, map[string]any{
		"memory": 512 << 20, "security_opt": []any{"seccomp=/p.json"}, "Tmpfs": map[string]any{"/run": "rw,size=1m"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if hc.Memory != 512<<20 || hc.MemorySwap != 512<<20 {
		t.Errorf("memory %d swap %d, want both 512 MiB", hc.Memory, hc.MemorySwap)
	}
	if !slices.Equal(hc.SecurityOpt, []string{"no-new-privileges", "seccomp=/p.json"}) {
		t.Errorf("SecurityOpt = %v", hc.SecurityOpt)
	}
	if hc.Tmpfs["/tmp"] != "rw,size=1m" || hc.Tmpfs["/run"] != "rw,size=1m" {
		t.Errorf("Tmpfs = %v, want both", hc.Tmpfs)
	}
	if *hc.PidsLimit != 64 || !hc.ReadonlyRootfs || hc.NetworkMode != "net123" {
		t.Errorf("hardening lost in the merge: %+v", hc)
	}
	if base.Memory != 256<<20 {
		t.Error("merge changed the base")
	}
}

func TestPassthroughUnknownField(t *testing.T) {
	_, err := mergePassthrough(hardenedHostConfig(*testBase()), map[string]any{"Privilegd": true})
	if err == nil || !strings.Contains(err.Error(), `"Privilegd"`) {
		t.Fatalf("err = %v, want it to name the unknown field", err)
	}
	_, err = mergePassthrough(hardenedHostConfig(*testBase()), map[string]any{"Memory": "lots"})
	if err == nil {
		t.Fatal("a string memory limit was accepted")
	}
}

func TestHardenedHostConfig(t *testing.T) {
	in := testBase()
	in.limits.cpuQuota = 50000
	hc := hardenedHostConfig(*in)
	if !slices.Equal(hc.CapDrop, []string{"ALL"}) || !slices.Equal(hc.SecurityOpt, []string{"no-new-privileges"}) {
		t.Errorf("caps %v secopt %v", hc.CapDrop, hc.SecurityOpt)
	}
	if hc.NanoCPUs != 0 || hc.CPUQuota != 50000 {
		t.Errorf("NanoCPUs %d with a CPU quota: the engine refuses both", hc.NanoCPUs)
	}
	if !slices.Equal(hc.DNS, agentDNS) {
		t.Errorf("DNS = %v, want the container's own loopback %v", hc.DNS, agentDNS)
	}
	if hc.Init == nil || !*hc.Init || hc.Memory != hc.MemorySwap || hc.Privileged {
		t.Errorf("unexpected host config %+v", hc)
	}
	if err := checkHardening(hc, hc); err != nil {
		t.Errorf("the hardened config fails its own check: %v", err)
	}
}

func TestExcludeAddr(t *testing.T) {
	p := netip.MustParsePrefix("172.19.0.0/16")
	gw := netip.MustParseAddr("172.19.0.1")
	parts := excludeAddr(p, gw)
	if len(parts) != 16 {
		t.Fatalf("got %d prefixes, want 16", len(parts))
	}
	for _, a := range []string{"172.19.0.0", "172.19.0.2", "172.19.0.3", "172.19.1.1", "172.19.255.255", "172.19.128.0"} {
		addr := netip.MustParseAddr(a)
		if !slices.ContainsFunc(parts, func(q netip.Prefix) bool { return q.Contains(addr) }) {
			t.Errorf("%s is not covered", a)
		}
	}
	for _, q := range parts {
		if q.Contains(gw) {
			t.Errorf("%s contains the gateway", q)
		}
		if !p.Contains(q.Addr()) {
			t.Errorf("%s is outside %s", q, p)
		}
	}
}

func TestDenyCIDRs(t *testing.T) {
	agent := netInfo{subnets: []netip.Prefix{netip.MustParsePrefix("172.30.0.0/16")}}
	eg := netInfo{subnets: []netip.Prefix{netip.MustParsePrefix("172.31.0.0/30")}, gateways: []netip.Addr{netip.MustParseAddr("172.31.0.1")}}
	got := denyCIDRs(agent, eg)
	want := []string{"172.30.0.0/16", "172.31.0.2/31", "172.31.0.0/32"}
	if !slices.Equal(got, want) {
		t.Errorf("denyCIDRs = %v, want %v", got, want)
	}
}

func TestContainerEnv(t *testing.T) {
	got := containerEnv([]string{"A=1", "HOME=/root", "HTTPS_PROXY=http://evil:1", "B=x=y"}, true)
	want := []string{
		"A=1", "B=x=y", "HOME=/home/agent",
		"HTTP_PROXY=http://egress:3128", "HTTPS_PROXY=http://egress:3128", "http_proxy=http://egress:3128", "https_proxy=http://egress:3128",
		"NO_PROXY=egress,localhost,127.0.0.1", "no_proxy=egress,localhost,127.0.0.1",
		"ANTHROPIC_BASE_URL=http://egress:8080", "ANTHROPIC_API_KEY=placeholder",
	}
	if !slices.Equal(got, want) {
		t.Errorf("networked env =\n%q\nwant\n%q", got, want)
	}
	if got := containerEnv([]string{"A=1"}, false); !slices.Equal(got, []string{"A=1", "HOME=/home/agent"}) {
		t.Errorf("offline env = %q", got)
	}
}

func TestCreateWarnings(t *testing.T) {
	b := offlineBackend(t)
	b.log = slogDiscard()
	swap := "Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap."
	pids := "Your kernel does not support pids limit capabilities or the cgroup is not mounted. PIDs limit discarded."
	if err := b.checkWarnings([]string{swap}, "c"); err != nil {
		t.Errorf("swap warning: %v, want only a log line", err)
	}
	if err := b.checkWarnings([]string{pids}, "c"); err == nil || !strings.Contains(err.Error(), "dropped a resource limit") {
		t.Errorf("dropped pids limit: %v, want an error", err)
	}
	b.cfg.AllowDroppedLimits = true
	if err := b.checkWarnings([]string{pids}, "c"); err != nil {
		t.Errorf("allowed: %v", err)
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
