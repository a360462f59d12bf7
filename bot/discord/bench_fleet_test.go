package discord_test

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
	"github.com/herdbot/herdbot/bot/discord"
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

// BenchmarkMessageToWarmStdin measures the whole inbound path: from the
// fake Discord writing MESSAGE_CREATE to the bot's gateway connection to the
// prompt line read on the stdin of the agent's warm process (the fake CLI in
// echo mode, re-exec of this test binary, which stamps each line it reads).
// In between: discordgo, the adapter's routing, the fleet (conversation
// queue, job row, session lookup, the warm process) and the CLI driver's
// stdin write. Each iteration waits for the echo to be posted, so the
// process is idle and warm again for the next message.
func BenchmarkMessageToWarmStdin(b *testing.B) {
	w := newWorld()
	log := slog.New(slog.DiscardHandler)
	stamps := filepath.Join(b.TempDir(), "stamps")
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), log)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ad, err := discord.New(w.config(), log)
	if err != nil {
		b.Fatal(err)
	}
	mux := bot.NewMux()
	mux.Register("garden", bot.Discord, ad)
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
	if !srv.WaitFor(wait, func() bool { return w.bot.Ready() && len(srv.Commands(w.bot, w.guild)) == 6 }) {
		b.Fatal("not connected")
	}
	echoed := func(text string) {
		if !srv.WaitFor(wait, func() bool {
			for _, m := range w.botMessages(w.auto) {
				if strings.Contains(m.Content, "echo: "+text) {
					return true
				}
			}
			return false
		}) {
			b.Fatalf("no echo of %q", text)
		}
	}
	// Warm up: the first message starts the process.
	srv.SendMessage(w.alice.ID, w.auto, "warm up")
	echoed("warm up")
	_, _, warmPID := lastStamp(b, stamps)

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		text := fmt.Sprintf("how are the tomatoes? %d", i)
		t0 := time.Now()
		srv.SendMessage(w.alice.ID, w.auto, text)
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
