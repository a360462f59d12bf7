package slack_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/claude"
	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
	"github.com/herdbot/herdbot/sandbox"
	"github.com/herdbot/herdbot/sandbox/native"
	"github.com/herdbot/herdbot/store"
)

// lastStamp reads the fake CLI's stamp file (fakecli.LastStamp).
func lastStamp(tb testing.TB, path string) (n int, at time.Time, pid string) {
	tb.Helper()
	n, at, pid, err := fakecli.LastStamp(path)
	if err != nil {
		tb.Fatal(err)
	}
	return n, at, pid
}

// BenchmarkEnvelopeToWarmStdin measures the whole inbound path: from the
// fake Slack writing a DM's events_api envelope to the app's socket to the
// prompt line read on the stdin of the agent's warm process (the fake CLI
// in echo mode, re-exec of this test binary, which stamps each line it
// reads). In between: slack-go's Socket Mode client, the adapter's ack and
// routing, the fleet (conversation queue, job row, session lookup, the warm
// process) and the CLI driver's stdin write. Each iteration waits for the
// echo to be posted, so the process is idle and warm again for the next.
func BenchmarkEnvelopeToWarmStdin(b *testing.B) {
	fake := slacktest.New(b, slacktest.Options{NoEcho: true})
	app := fake.AddApp("garden")
	log := slog.New(slog.DiscardHandler)
	stamps := filepath.Join(b.TempDir(), "stamps")
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), log)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ad, err := slack.New(slack.Config{Agent: "garden", BotToken: app.BotToken, AppToken: app.AppToken,
		APIURL: fake.APIURL(), SlashCommand: "/garden", DM: slack.DM{Enabled: true, Allowlist: []string{alice}}}, log)
	if err != nil {
		b.Fatal(err)
	}
	mux := bot.NewMux()
	mux.Register("garden", bot.Slack, ad)
	f, err := agents.New(agents.Config{
		Fleet: "bench", Store: st, Backend: native.New(log), Chat: mux, Log: log,
		Runtime: claude.New(claude.Config{Binary: os.Args[0], Log: log}),
		Agents: []agents.AgentSpec{{Name: "garden", Warm: true,
			Sandbox: sandbox.Spec{Workspace: b.TempDir(), StateDir: b.TempDir(), Env: []string{
				fakecli.EnvMode + "=" + fakecli.ModeEcho, fakecli.EnvStampFile + "=" + stamps, "GORACE=atexit_sleep_ms=0"}}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = f.Serve(ctx) })
	wg.Go(func() { _ = ad.Run(ctx, f) })
	defer func() { cancel(); wg.Wait() }()
	fake.WaitConnected(app, 1)
	dm := slacktest.DMChannel(app, alice)
	echoed := func(text string) {
		fake.WaitFor("echo of "+text, func() bool {
			for _, m := range fake.Messages(dm) {
				if strings.Contains(m.Text, "echo: "+text) {
					return true
				}
			}
			return false
		})
	}
	// Warm up: the first message starts the process.
	fake.DM(app, alice, "warm up")
	echoed("warm up")
	_, _, warmPID := lastStamp(b, stamps)

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		text := fmt.Sprintf("how are the tomatoes? %d", i)
		t0 := time.Now()
		fake.DM(app, alice, text)
		echoed(text)
		n, at, pid := lastStamp(b, stamps)
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
