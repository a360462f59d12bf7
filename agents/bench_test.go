package agents_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/console"
	"github.com/herdbot/herdbot/store"
)

func TestMain(m *testing.M) {
	fakecli.RunIfRequested()
	os.Exit(m.Run())
}

// benchFleet is a fleet whose agent is the fake CLI in mode (re-exec of
// this test binary), with warm processes, a real store and console chat.
// runCounter counts finished runs (an agents.Metrics).
type runCounter struct{ n atomic.Int64 }

func (c *runCounter) RunFinished(string, string, string, time.Duration) { c.n.Add(1) }
func (c *runCounter) ApprovalDecided(string, string, time.Duration)     {}
func (c *runCounter) QueueDepth(string, int)                            {}
func (c *runCounter) DiskUsage(string, int64, int64)                    {}
func (c *runCounter) DiskOverLimit(string, string)                      {}
func (c *runCounter) BudgetRefused(string, string)                      {}
func (c *runCounter) RecordLost(string)                                 {}

// wait blocks until n runs have finished.
func (c *runCounter) wait(n int64) {
	for c.n.Load() < n {
		time.Sleep(time.Millisecond)
	}
}

func benchFleet(b *testing.B, mode string, conc int, runs *runCounter, tweak ...func(*agents.AgentSpec)) (*agents.Fleet, *store.DB, *console.Hub) {
	b.Helper()
	hub := console.New("alice", nil)
	r := agentstest.Start(b, agentstest.Options{
		Agent: agentName, FakeCLI: mode, Metrics: runs, LogOutput: io.Discard,
		Approvers: map[string][]string{bot.Console: {"alice"}},
		Chats:     []agentstest.Chat{{Platform: bot.Console, Adapter: hub.For(agentName)}},
		Spec: func(s *agents.AgentSpec) {
			s.MaxConcurrent, s.MaxProcesses, s.Warm, s.QueueMax, s.AgentQueueMax = conc, 4*conc, true, 1<<20, 1<<20
			s.UserRate = agents.Rate{N: -1} // one person sends everything
			for _, f := range tweak {
				f(s)
			}
		},
	})
	hub.Register(agentName, r.Fleet) // before the first input, not when the adapter's goroutine gets to it
	return r.Fleet, r.Store, hub
}

// BenchmarkRouteMessages measures chat messages routed into recorded jobs
// (job row, transcript, answer posted) with warm fake-CLI processes, over
// 32 conversations.
func BenchmarkRouteMessages(b *testing.B) { routeMessages(b) }

// BenchmarkRouteMessagesWithDiskLimit is BenchmarkRouteMessages with a
// disk limit: every run's check before it starts, and the disk watcher of
// the warm processes.
func BenchmarkRouteMessagesWithDiskLimit(b *testing.B) {
	routeMessages(b, func(s *agents.AgentSpec) { s.DiskLimit = 10 << 30 })
}

func routeMessages(b *testing.B, tweak ...func(*agents.AgentSpec)) {
	const convs = 32
	runs := &runCounter{}
	f, st, _ := benchFleet(b, fakecli.ModeEcho, 8, runs, tweak...)
	send := func(i int) {
		f.HandleMessage(context.Background(), bot.Inbound{Agent: agentName,
			Target: bot.Target{Platform: bot.Console, Channel: fmt.Sprintf("c%d", i%convs)},
			User:   bot.User{ID: "alice"}, Text: fmt.Sprintf("message %d", i)})
	}
	// Warm up: one process per conversation.
	for i := range convs {
		send(i)
	}
	runs.wait(convs)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		send(i)
	}
	runs.wait(int64(convs + b.N))
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	js, _ := st.Jobs(context.Background(), agents.JobFilter{Agent: agentName, Limit: 1 << 30})
	if len(js) != convs+b.N {
		b.Fatalf("%d jobs recorded, want %d", len(js), convs+b.N)
	}
	for _, j := range js {
		if j.Status != agents.JobSucceeded {
			b.Fatalf("lost or failed message: %+v", j)
		}
	}
}

var benchApproveRx = regexp.MustCompile(`/approve ([A-Z2-7]{26}) once`)

// BenchmarkApprovalClick measures an approver's click → the decision
// written to the agent's stdin (store compare-and-set, audit row, control
// response), with the fake CLI asking one permission per turn.
func BenchmarkApprovalClick(b *testing.B) {
	f, st, hub := benchFleet(b, fakecli.ModePermission, 1, &runCounter{})
	lines, stop := hub.Subscribe()
	defer stop()
	lat := make([]time.Duration, 0, b.N)
	for i := range b.N {
		hub.Input(context.Background(), agentName, fmt.Sprintf("turn %d", i))
		var id string
		for id == "" {
			l := <-lines
			if m := benchApproveRx.FindStringSubmatch(l.Text); m != nil {
				id = m[1]
			}
		}
		var refs []bot.MessageRef // the card the click is on, once herdbot has stored it
		for len(refs) == 0 {
			a, err := st.Approval(context.Background(), id)
			if err != nil {
				b.Fatal(err)
			}
			_ = json.Unmarshal([]byte(a.Refs), &refs)
		}
		t0 := time.Now()
		res := f.HandleAction(context.Background(), bot.Action{Agent: agentName, ApprovalID: id, Choice: "once",
			User: bot.User{ID: "alice"}, Ref: refs[0]})
		lat = append(lat, time.Since(t0))
		if res.Card == nil {
			b.Fatalf("click refused: %+v", res)
		}
		for { // wait for the turn to end before the next one
			if l := <-lines; regexp.MustCompile(`Done ·`).MatchString(l.Text) {
				break
			}
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
