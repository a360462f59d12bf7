package docker

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/sandbox"
)

// firstByte reads one byte from r.
func firstByte(b *testing.B, r io.Reader) {
	b.Helper()
	if _, err := io.ReadFull(r, make([]byte, 1)); err != nil {
		b.Fatalf("first byte: %v", err)
	}
}

// BenchmarkColdStart measures Start (create, attach, start) until the
// first stdout byte, against `docker run --rm` of the same image in the
// same run, and reports the ratio.
func BenchmarkColdStart(b *testing.B) {
	a := testArtefacts(b)
	for _, c := range []struct {
		name string
		net  sandbox.Network
	}{{"internal-network", sandbox.Network{}}, {"no-network", sandbox.Network{None: true}}} {
		b.Run(c.name, func(b *testing.B) {
			be := newTestBackend(b)
			spec := testSpec(b, a, "cold", "/helper", "streams")
			spec.Network = c.net
			run := func() time.Duration {
				t0 := time.Now()
				p, err := be.Start(testCtx(b), spec)
				if err != nil {
					b.Fatal(err)
				}
				firstByte(b, p.Stdout())
				d := time.Since(t0)
				go func() { _, _ = io.Copy(io.Discard, p.Stderr()) }()
				_, _ = io.Copy(io.Discard, p.Stdout())
				if _, err := p.Wait(testCtx(b)); err != nil {
					b.Fatal(err)
				}
				return d
			}
			dockerRun := func(args ...string) time.Duration {
				t0 := time.Now()
				cmd := exec.Command("docker", append(append([]string{"run", "--rm"}, args...), a.image, "/helper", "streams")...)
				out, err := cmd.StdoutPipe()
				if err != nil {
					b.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				firstByte(b, out)
				d := time.Since(t0)
				_, _ = io.Copy(io.Discard, out)
				if err := cmd.Wait(); err != nil {
					b.Fatal(err)
				}
				return d
			}
			run() // network and sidecar
			// The same docker run on the agent's network (the engine's
			// cost of an internal user network, without herdbot).
			sameNet := []string{"--network", "none"}
			if !c.net.None {
				sameNet = []string{"--network", be.agentNetworkName("cold")}
			}
			var ours, theirs, theirsSame time.Duration
			b.ResetTimer()
			for range b.N {
				ours += run()
				theirs += dockerRun()
				theirsSame += dockerRun(sameNet...)
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(ours.Seconds()/n, "herdbot-s/start")
			b.ReportMetric(theirs.Seconds()/n, "dockerrun-s/start")
			b.ReportMetric(theirsSame.Seconds()/n, "dockerrun-samenet-s/start")
			b.ReportMetric(ours.Seconds()/theirs.Seconds(), "ratio")
			b.ReportMetric(ours.Seconds()/theirsSame.Seconds(), "ratio-samenet")
		})
	}
}

// BenchmarkWarmDispatch measures a stdin write to a running process until
// the first byte comes back on stdout.
func BenchmarkWarmDispatch(b *testing.B) {
	a := testArtefacts(b)
	be := newTestBackend(b)
	spec := testSpec(b, a, "warm", "/helper", "cat")
	spec.Network = sandbox.Network{}
	p, err := be.Start(testCtx(b), spec)
	if err != nil {
		b.Fatal(err)
	}
	r := bufio.NewReader(p.Stdout())
	msg := []byte(`{"type":"user","message":{"role":"user","content":"hi"}}` + "\n")
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := p.Stdin().Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := r.ReadBytes('\n'); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(t0))
	}
	b.StopTimer()
	_ = p.Stdin().Close()
	_, _ = io.Copy(io.Discard, r)
	if _, err := p.Wait(testCtx(b)); err != nil {
		b.Fatal(err)
	}
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds())/1000, "p99-ms")
}

// blobServer sends size bytes to every connection.
func blobServer(b *testing.B, size int) int {
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 256<<10)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				for left := size; left > 0; left -= len(chunk) {
					if _, err := c.Write(chunk[:min(left, len(chunk))]); err != nil {
						return
					}
				}
			})
		}
	})
	b.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().(*net.TCPAddr).Port
}

// sidecarRSS returns the resident memory of an agent's sidecar process.
func sidecarRSS(b *testing.B, be *Backend, agent string) float64 {
	st, _ := be.agent(agent)
	st.mu.Lock()
	id := st.sidecar
	st.mu.Unlock()
	ins, err := be.cli.ContainerInspect(testCtx(b), id, client.ContainerInspectOptions{})
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(ins.Container.State.Pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// BenchmarkProxyThroughput moves 100 MB from a host server into an agent
// container through the egress sidecar (CONNECT tunnel) and, for
// comparison, into a container on the default bridge directly; it reports
// both rates and the sidecar's RSS idle and after the transfer.
func BenchmarkProxyThroughput(b *testing.B) {
	const size = 100 << 20
	a := testArtefacts(b)
	be := newTestBackend(b)
	port := strconv.Itoa(blobServer(b, size))
	egressNet, err := be.ensureEgressNetwork(testCtx(b))
	if err != nil {
		b.Fatal(err)
	}
	gw := egressNet.gateways[0].String()
	bridge, err := be.cli.NetworkInspect(testCtx(b), "bridge", client.NetworkInspectOptions{})
	bi := toNetInfo(bridge.Network.Network)
	if err != nil || len(bi.subnets) == 0 {
		b.Fatalf("default bridge: %v %+v", err, bridge.Network.IPAM)
	}
	// The default bridge lists no gateway; the engine gives the host the
	// subnet's first address.
	bridgeGW := bi.subnets[0].Addr().Next().String()

	proxied := testSpec(b, a, "tput", "/probe")
	proxied.Network = sandbox.Network{Private: []string{gw + "/32:" + port}}
	direct := testSpec(b, a, "direct", "/probe")
	direct.Network = sandbox.Network{}
	// Dangerous only to put it on the default bridge for the baseline.
	directBE := be.With(Options{Dangerous: true, HostConfig: map[string]any{"NetworkMode": "bridge"}})

	fetch := func(be sandbox.Backend, spec sandbox.Spec, kind, target string) float64 {
		res := runProbe(b, be, spec, []probeCheck{{Name: "f", Kind: kind, Target: target}})["f"]
		if !res.OK || res.Fields["bytes"] != strconv.Itoa(size) {
			b.Fatalf("%s %s: %+v", kind, target, res)
		}
		secs, _ := strconv.ParseFloat(res.Fields["seconds"], 64)
		return secs
	}
	// Start the sidecar and measure it idle.
	runProbe(b, be, proxied, []probeCheck{{Name: "s", Kind: "status"}})
	idle := sidecarRSS(b, be, "tput")
	var viaProxy, viaDirect float64
	b.ResetTimer()
	for range b.N {
		viaProxy += fetch(be, proxied, "fetch", gw+":"+port)
		viaDirect += fetch(directBE, direct, "fetch_direct", bridgeGW+":"+port)
	}
	b.StopTimer()
	n := float64(b.N)
	mb := float64(size) / (1 << 20)
	b.ReportMetric(mb*n/viaProxy, "proxy-MiB/s")
	b.ReportMetric(mb*n/viaDirect, "direct-MiB/s")
	b.ReportMetric(idle, "sidecar-idle-RSS-MiB")
	b.ReportMetric(sidecarRSS(b, be, "tput"), "sidecar-after-RSS-MiB")
}
