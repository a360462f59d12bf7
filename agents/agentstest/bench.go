package agentstest

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
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

// Flood describes a flood benchmark round: one person sends Messages
// messages spread evenly over Over, while Others other people each send one
// message, spread evenly over the same time.
type Flood struct {
	Messages int           // the flooder's messages per round (default 200)
	Over     time.Duration // the round's length (default 10 s)
	Others   int           // other people per round, one message each (default 10)
	// Send sends the flooder's message text; SendOther sends the other
	// person k's message text. Neither may wait for an answer.
	Send      func(text string)
	SendOther func(k int, text string)
}

// MeasureFlood benchmarks how long other people wait while one person
// floods the agent, on a rig started with FakeCLI whose agent the caller
// has warmed up. Each of b.N rounds runs Flood for its length; every other
// person's message is timed from its send to its prompt on an agent's stdin
// (the fake CLI's stamp file). It reports the others' p50/p99/max wait, and
// the process's goroutines and heap before the first round, at their peak
// during the rounds, and after the last round's work has settled.
func (r *Rig) MeasureFlood(b *testing.B, fl Flood) {
	b.Helper()
	if r.Stamps == "" {
		b.Fatal("MeasureFlood needs a rig started with FakeCLI")
	}
	if fl.Messages <= 0 {
		fl.Messages = 200
	}
	if fl.Over <= 0 {
		fl.Over = 10 * time.Second
	}
	if fl.Others <= 0 {
		fl.Others = 10
	}
	r.settle(b)
	g0, h0 := goroutinesAndHeap()
	gPeak, hPeak := g0, h0
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		gPeak, hPeak = max(gPeak, runtime.NumGoroutine()), max(hPeak, ms.HeapAlloc)
	}
	type sent struct {
		text string
		at   time.Time
	}
	var others []sent
	b.ResetTimer()
	for round := range b.N {
		start := time.Now()
		step := fl.Over / time.Duration(fl.Messages)
		every := fl.Messages / fl.Others
		for i := range fl.Messages {
			if d := time.Until(start.Add(time.Duration(i) * step)); d > 0 {
				time.Sleep(d) // the flood's pace, not ordering
			}
			fl.Send(fmt.Sprintf("flood %d.%d", round, i))
			if i%every == every/2 && len(others) < (round+1)*fl.Others {
				k := len(others) % fl.Others
				text := fmt.Sprintf("other %d.%d", round, k)
				others = append(others, sent{text, time.Now()})
				fl.SendOther(k, text)
			}
			if i%10 == 0 {
				sample()
			}
		}
		r.settle(b)
	}
	b.StopTimer()
	stamps := r.waitStamps(b, others[len(others)-1].text)
	at := map[string]time.Time{}
	for _, s := range stamps {
		at[s.Prompt] = s.At
	}
	lat := make([]time.Duration, 0, len(others))
	for _, o := range others {
		t, ok := at[o.text]
		if !ok {
			b.Fatalf("%q never reached the agent", o.text)
		}
		lat = append(lat, t.Sub(o.at))
	}
	slices.Sort(lat)
	g1, h1 := goroutinesAndHeap()
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "other-p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "other-p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "other-max-ms")
	b.ReportMetric(float64(g0), "goroutines-before")
	b.ReportMetric(float64(gPeak), "goroutines-peak")
	b.ReportMetric(float64(g1), "goroutines-after")
	b.ReportMetric(float64(h0)/(1<<20), "heap-before-MiB")
	b.ReportMetric(float64(hPeak)/(1<<20), "heap-peak-MiB")
	b.ReportMetric(float64(h1)/(1<<20), "heap-after-MiB")
	b.ReportMetric(float64(len(stamps)), "prompts-run")
}

// settle waits until no message waits and every job recorded so far has
// ended.
func (r *Rig) settle(b *testing.B) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		js, err := r.Store.Jobs(context.Background(), agents.JobFilter{Agent: r.Agent, Limit: 1 << 20})
		if err != nil {
			b.Fatal(err)
		}
		done := r.Fleet.Waiting(r.Agent) == 0
		for _, j := range js {
			done = done && j.Status.Final()
		}
		if done {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatal("the fleet did not settle")
}

// waitStamps returns the stamps once one has prompt last.
func (r *Rig) waitStamps(b *testing.B, last string) []fakecli.Stamp {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := fakecli.Stamps(r.Stamps)
		if err != nil {
			b.Fatal(err)
		}
		if slices.ContainsFunc(st, func(s fakecli.Stamp) bool { return s.Prompt == last }) || time.Now().After(deadline) {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func goroutinesAndHeap() (int, uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}
