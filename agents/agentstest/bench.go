package agentstest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
)

// MeasureWarmStdin benchmarks a chat platform's inbound path on a rig
// started with FakeCLI and a warm agent (AgentSpec.Warm): send delivers a
// message through the platform's fake, echoed waits until the fake CLI's
// answer to it is posted back. After one warm-up message it sends b.N more
// and reports p50/p99 of send → the prompt line read on the warm process's
// stdin (the fake CLI's stamp file). It fails if a message reached another
// process than the warmed one.
func (r *Rig) MeasureWarmStdin(b *testing.B, send, echoed func(text string)) {
	b.Helper()
	if r.Stamps == "" {
		b.Fatal("MeasureWarmStdin needs a rig started with FakeCLI")
	}
	stamp := func() (int, time.Time, string) {
		n, at, pid, err := fakecli.LastStamp(r.Stamps)
		if err != nil {
			b.Fatal(err)
		}
		return n, at, pid
	}
	send("warm up") // the first message starts the process
	echoed("warm up")
	_, _, warmPID := stamp()

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		text := fmt.Sprintf("how are the tomatoes? %d", i)
		t0 := time.Now()
		send(text)
		echoed(text)
		n, at, pid := stamp()
		if n != i+2 || pid != warmPID {
			b.Fatalf("stamp %d from pid %s, want line %d from the warm process %s", n, pid, i+2, warmPID)
		}
		lat = append(lat, at.Sub(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
