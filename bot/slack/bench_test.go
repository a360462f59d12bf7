package slack_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/bottest"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

// chanHandler signals each HandleMessage.
type chanHandler struct {
	*bottest.Recorder
	got chan time.Time
}

func (h *chanHandler) HandleMessage(_ context.Context, in bot.Inbound) { h.got <- time.Now() }

// BenchmarkEnvelopeToHandler measures a DM from the moment the fake writes
// the envelope to the moment the Handler is called, through the real
// slack-go Socket Mode client, and reports p50/p99.
func BenchmarkEnvelopeToHandler(b *testing.B) {
	fake := slacktest.New(b, slacktest.Options{NoEcho: true})
	app := fake.AddApp("garden")
	h := &chanHandler{Recorder: newRecorder(), got: make(chan time.Time, 1)}
	startAdapter(b, fake, app, h, nil)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		fake.DM(app, alice, "ping")
		lat = append(lat, (<-h.got).Sub(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkSendLongAnswer measures converting and posting a ~16 KB
// Markdown answer (several messages) to the fake.
func BenchmarkSendLongAnswer(b *testing.B) {
	fake := slacktest.New(b, slacktest.Options{NoEcho: true})
	app := fake.AddApp("garden")
	ad := startAdapter(b, fake, app, newRecorder(), nil)
	md := longAnswer()
	b.SetBytes(int64(len(md)))
	for b.Loop() {
		if _, err := ad.Send(context.Background(), bot.Target{Channel: chanMention}, bot.Message{Text: md}); err != nil {
			b.Fatal(err)
		}
	}
}
