package sched_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/sched"
	"github.com/herdbot/herdbot/store"
)

// nowRunner returns at once; the job starts when Run is called.
type nowRunner struct{}

func (nowRunner) Run(_ context.Context, req agents.RunRequest) (agents.RunResult, error) {
	now := time.Now()
	return agents.RunResult{Job: agents.Job{ID: "j", Status: agents.JobSucceeded, Started: now, Finished: now}}, nil
}

type nopPoster struct{}

func (nopPoster) Post(context.Context, string, bot.Target, bot.Message) error { return nil }

// lagSink collects lags and says when it has n of them.
type lagSink struct {
	mu   sync.Mutex
	lags []time.Duration
	want int
	done chan struct{}
}

func (l *lagSink) RecordLost(string) {}

func (l *lagSink) ScheduleLag(_, _ string, lag time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lags = append(l.lags, lag)
	if len(l.lags) == l.want {
		close(l.done)
	}
}

// BenchmarkFiringLag measures the firing lag (run start − due time) of 50
// agents × 4 schedules, all due every second at the same instant, in real
// time. One iteration is one second of firing (200 runs). Run with
// -benchtime=10x; it reports p50, p99 and max lag.
func BenchmarkFiringLag(b *testing.B) {
	for _, backend := range []string{"memory", "sqlite"} {
		b.Run(backend, func(b *testing.B) {
			var st sched.State = newMemState()
			if backend == "sqlite" {
				db, err := store.Open(b.Context(), filepath.Join(b.TempDir(), "herdbot.db"), nil)
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				st = db
			}
			var list []sched.Schedule
			for a := range 50 {
				for n := range 4 {
					list = append(list, sched.Schedule{Agent: fmt.Sprintf("agent%02d", a), Name: fmt.Sprintf("s%d", n),
						Type: sched.TypeCron, Cron: "* * * * * *", Prompt: "tick", Enabled: true})
				}
			}
			sink := &lagSink{want: b.N * len(list), done: make(chan struct{})}
			s, err := sched.New(sched.Config{Location: time.UTC, Metrics: sink}, nowRunner{}, nopPoster{}, st, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Apply(b.Context(), list); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			b.ResetTimer()
			go func() { done <- s.Run(ctx) }()
			<-sink.done
			b.StopTimer()
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			sink.mu.Lock()
			lags := slices.Clone(sink.lags[:sink.want])
			sink.mu.Unlock()
			slices.Sort(lags)
			pct := func(p float64) float64 { return float64(lags[int(p*float64(len(lags)-1))]) / float64(time.Millisecond) }
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(pct(1), "max-ms")
			b.ReportMetric(float64(len(lags)), "runs")
		})
	}
}
