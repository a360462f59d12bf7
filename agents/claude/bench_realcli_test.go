package claude_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
)

// BenchmarkRealCLI_Warm measures, on one warm real CLI process talking to
// the loopback fake model, the time from writing a user line to the first
// assistant text event and to the turn's result.
func BenchmarkRealCLI_Warm(b *testing.B) {
	srv := claudetest.NewModelServer(b, func(*claudetest.Request) claudetest.Reply { return claudetest.Text("pong") })
	r := newSession(b, srv).start(b, agents.RunOptions{})
	var toText, toResult time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		r.send(fmt.Sprint("ping ", i))
		r.until(agents.EventText)
		toText += time.Since(start)
		if res, _ := r.until(agents.EventResult); res.Err != nil {
			b.Fatal(res.Err)
		}
		toResult += time.Since(start)
	}
	b.ReportMetric(float64(toText.Milliseconds())/float64(b.N), "ms/first-text")
	b.ReportMetric(float64(toResult.Milliseconds())/float64(b.N), "ms/result")
	if err := r.close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRealCLI_Cold measures a fresh CLI process per turn: start,
// first assistant text, result, and a clean exit.
func BenchmarkRealCLI_Cold(b *testing.B) {
	srv := claudetest.NewModelServer(b, func(*claudetest.Request) claudetest.Reply { return claudetest.Text("pong") })
	s := newSession(b, srv)
	var toText, toResult, toExit time.Duration
	for b.Loop() {
		start := time.Now()
		r := s.start(b, agents.RunOptions{})
		r.send("ping")
		r.until(agents.EventText)
		toText += time.Since(start)
		r.until(agents.EventResult)
		toResult += time.Since(start)
		if err := r.close(); err != nil {
			b.Fatal(err)
		}
		toExit += time.Since(start)
	}
	b.ReportMetric(float64(toText.Milliseconds())/float64(b.N), "ms/first-text")
	b.ReportMetric(float64(toResult.Milliseconds())/float64(b.N), "ms/result")
	b.ReportMetric(float64(toExit.Milliseconds())/float64(b.N), "ms/exit")
}

// BenchmarkFakeCLI_EchoTurn measures the driver's own round trip (write a
// user line, read init + text + result) against the fake CLI's echo mode.
func BenchmarkFakeCLI_EchoTurn(b *testing.B) {
	r := startFake(b, fakecli.ModeEcho, claude.Config{})
	for b.Loop() {
		r.send("ping")
		r.until(agents.EventResult)
	}
}

// BenchmarkFakeCLI_PermissionTurn adds one can_use_tool round trip per turn.
func BenchmarkFakeCLI_PermissionTurn(b *testing.B) {
	r := startFake(b, fakecli.ModePermission, claude.Config{})
	for b.Loop() {
		r.send("go")
		perm, _ := r.until(agents.EventPermission)
		if err := r.conn.Decide(b.Context(), perm.Permission.RequestID, agents.Decision{Verdict: agents.Allowed}); err != nil {
			b.Fatal(err)
		}
		r.until(agents.EventResult)
	}
}
