package bot_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/console"
)

// editLog is an Outbox (the console adapter) whose edits are timed.
type editLog struct {
	bot.Outbox
	mu    sync.Mutex
	edits []time.Time
}

func (e *editLog) Edit(ctx context.Context, ref bot.MessageRef, m bot.Message) error {
	e.mu.Lock()
	e.edits = append(e.edits, time.Now())
	e.mu.Unlock()
	return e.Outbox.Edit(ctx, ref, m)
}

// TestStreamThrottlesEdits: rows arriving fast are folded into edits at
// least EditInterval apart, and the final state is always shown.
func TestStreamThrottlesEdits(t *testing.T) {
	hub := console.New("t", nil)
	lines, stop := hub.Subscribe()
	defer stop()
	out := &editLog{Outbox: hub.For("garden")}
	const interval = 100 * time.Millisecond
	s := bot.NewStream(context.Background(), out, console.Target, "⏳ Working…", bot.StreamOptions{EditInterval: interval})
	start := time.Now()
	for i := range 50 {
		s.Row("🔧 row " + string(rune('A'+i%26)))
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Finish(context.Background(), "✅ Done", "the answer", nil); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	out.mu.Lock()
	edits := append([]time.Time(nil), out.edits...)
	out.mu.Unlock()
	for i := 1; i < len(edits)-1; i++ { // the final edit may follow the last throttled one at once
		if gap := edits[i].Sub(edits[i-1]); gap < interval {
			t.Fatalf("edits %d and %d only %v apart (interval %v)", i-1, i, gap, interval)
		}
	}
	// Roughly one edit per interval: never more, and not starved.
	if max := int(elapsed/interval) + 2; len(edits) > max || len(edits) < 2 {
		t.Fatalf("%d edits in %v, want 2..%d", len(edits), elapsed, max)
	}
	var all []string
	for len(lines) > 0 {
		all = append(all, (<-lines).Text)
	}
	joined := strings.Join(all, "\n")
	if !strings.Contains(joined, "✅ Done") || !strings.Contains(joined, "the answer") {
		t.Fatalf("final state not shown:\n%s", joined)
	}
}

func TestUSDHasTwoSignificantDigits(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0.08880400000000001, "$0.089"}, {0.059158, "$0.059"}, {0.5, "$0.50"}, {1.2345, "$1.23"},
		{12, "$12.00"}, {0.0042, "$0.0042"}, {0, "$0.00"}, {-1, "$0.00"},
	} {
		if got := bot.USD(c.v); got != c.want {
			t.Errorf("USD(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	if got := bot.RoundUSD(0.08880400000000001); got != 0.088804 {
		t.Errorf("RoundUSD = %v", got)
	}
}

// TestStreamFlushShowsRowsBeforeWhatFollows: Flush shows the rows at once
// (however recent the last edit) after the status message is posted, so an
// approval card sent next comes after what the agent said.
func TestStreamFlushShowsRowsBeforeWhatFollows(t *testing.T) {
	hub := console.New("t", nil)
	lines, stop := hub.Subscribe()
	defer stop()
	out := hub.For("garden")
	s := bot.NewStream(context.Background(), out, console.Target, "⏳ Working…", bot.StreamOptions{EditInterval: time.Hour})
	s.Row("💬 I'll write a file")
	s.Flush(context.Background())
	if _, err := out.Send(context.Background(), console.Target, bot.Message{Text: "🔐 card"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(context.Background(), "✅ Done", "", nil); err != nil {
		t.Fatal(err)
	}
	var all []string
	for len(lines) > 0 {
		all = append(all, (<-lines).Text)
	}
	if len(all) < 3 || all[0] != "⏳ Working…" || all[1] != "💬 I'll write a file" || all[2] != "🔐 card" {
		t.Fatalf("console lines %q, want the status, the row, then the card", all)
	}
}
