package discord_test

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/discord"
)

// signalHandler reports each HandleMessage on a channel.
type signalHandler struct{ got chan time.Time }

func (s signalHandler) HandleMessage(context.Context, bot.Inbound) { s.got <- time.Now() }
func (s signalHandler) HandleCommand(context.Context, bot.Command) bot.Reply {
	return bot.Reply{}
}
func (s signalHandler) HandleAction(context.Context, bot.Action) bot.ActionResult {
	return bot.ActionResult{}
}

// BenchmarkMessageToHandler measures MESSAGE_CREATE dispatched by the fake
// gateway → Handler.HandleMessage, through discordgo and the adapter's
// routing (auto channel, no REST lookups once the state is warm).
func BenchmarkMessageToHandler(b *testing.B) {
	w := newWorld()
	h := signalHandler{got: make(chan time.Time, 1)}
	a, err := discord.New(w.config(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, h) }()
	defer func() { cancel(); <-done }()
	if !srv.WaitFor(wait, func() bool { return w.bot.Ready() && len(srv.Commands(w.bot, w.guild)) == 9 }) {
		b.Fatal("not connected")
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		srv.SendMessage(w.alice.ID, w.auto, "how are the tomatoes?")
		t1 := <-h.got
		lat = append(lat, t1.Sub(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkFiftyAdapters starts 50 agents' adapters against one fake and
// measures the time until every one is READY with its slash commands
// registered, and the process RSS / Go heap with all 50 connected.
func BenchmarkFiftyAdapters(b *testing.B) {
	const n = 50
	for it := 0; it < b.N; it++ {
		b.StopTimer()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		rssBefore := rss()
		worlds := make([]*world, n)
		ads := make([]*discord.Adapter, n)
		for i := range worlds {
			worlds[i] = newWorld()
			a, err := discord.New(worlds[i].config(), slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			ads[i] = a
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		b.StartTimer()
		start := time.Now()
		for _, a := range ads {
			wg.Go(func() {
				if err := a.Run(ctx, newRecorder()); err != nil {
					b.Error(err)
				}
			})
		}
		ok := srv.WaitFor(time.Minute, func() bool {
			for _, w := range worlds {
				if !w.bot.Ready() || len(srv.Commands(w.bot, w.guild)) != 9 {
					return false
				}
			}
			return true
		})
		allReady := time.Since(start)
		b.StopTimer()
		if !ok {
			b.Fatal("not all adapters ready")
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(allReady.Milliseconds()), "ms-all-ready")
		b.ReportMetric(float64(rss())/(1<<20), "MiB-rss")
		b.ReportMetric(float64(rss()-rssBefore)/(1<<20), "MiB-rss-delta")
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/(1<<20), "MiB-heap-delta")
		b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
		cancel()
		wg.Wait()
	}
}

// rss is the process's resident set size in bytes (Linux), 0 elsewhere.
func rss() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
