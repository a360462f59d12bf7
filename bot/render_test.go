package bot_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/console"
)

// editLog is an Outbox (the console adapter) that notes when, on clk,
// each edit was made and what it showed.
type editLog struct {
	bot.Outbox
	clk   clockwork.Clock
	mu    sync.Mutex
	at    []time.Duration // since start
	texts []string
	start time.Time
}

func (e *editLog) Edit(ctx context.Context, ref bot.MessageRef, m bot.Message) error {
	e.mu.Lock()
	e.at = append(e.at, e.clk.Since(e.start))
	e.texts = append(e.texts, m.Text)
	e.mu.Unlock()
	return e.Outbox.Edit(ctx, ref, m)
}

func (e *editLog) edits() ([]time.Duration, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.at), slices.Clone(e.texts)
}

// TestStreamThrottlesEdits: rows arriving fast are folded into edits
// EditInterval apart on the stream's clock, a row after a quiet spell is
// shown at once, and the final state is always shown. The clock is a fake
// one inside a synctest bubble: the stream's goroutine has done all it
// will after each step (synctest.Wait), and no time passes on the wall.
func TestStreamThrottlesEdits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := console.New("t", nil)
		lines, stop := hub.Subscribe()
		defer stop()
		clk := clockwork.NewFakeClock()
		out := &editLog{Outbox: hub.For("garden"), clk: clk, start: clk.Now()}
		const interval = 100 * time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel() // ends the stream's goroutine if the test fails early
		s := bot.NewStream(ctx, out, console.Target, "⏳ Working…", bot.StreamOptions{EditInterval: interval, Clock: clk})
		synctest.Wait() // the status message is posted

		// A row every 10 ms for half a second: one edit per interval.
		for i := range 50 {
			s.Row("🔧 row " + strconv.Itoa(i))
			clk.Advance(10 * time.Millisecond)
			synctest.Wait()
		}
		at, texts := out.edits()
		want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond}
		if !slices.Equal(at, want) {
			t.Fatalf("edits at %v, want %v", at, want)
		}
		if last := texts[len(texts)-1]; !strings.HasSuffix(last, "🔧 row 49") {
			t.Fatalf("last edit %q does not show the last row", last)
		}

		// Quiet: nothing changed, nothing edited, however long.
		clk.Advance(time.Hour)
		synctest.Wait()
		if at, _ := out.edits(); len(at) != len(want) {
			t.Fatalf("edits at %v after a quiet hour, want none new", at)
		}
		// The next row is shown at the next tick, not an interval later.
		s.Row("🔧 after the pause")
		clk.Advance(interval / 4)
		synctest.Wait()
		at, texts = out.edits()
		if len(at) != len(want)+1 || !strings.HasSuffix(texts[len(texts)-1], "🔧 after the pause") {
			t.Fatalf("edits %q at %v, want the row after the pause shown at once", texts, at)
		}
		// One more row at once is held back: the interval has not passed.
		s.Row("🔧 held back")
		clk.Advance(interval / 2)
		synctest.Wait()
		if at, _ := out.edits(); len(at) != len(want)+1 {
			t.Fatalf("edits at %v, want the row held back within the interval", at)
		}

		// Finish shows the final state at once.
		if err := s.Finish(ctx, "✅ Done", "the answer", nil); err != nil {
			t.Fatal(err)
		}
		_, texts = out.edits()
		if last := texts[len(texts)-1]; !strings.HasPrefix(last, "✅ Done") || !strings.HasSuffix(last, "🔧 held back") {
			t.Fatalf("final edit %q", last)
		}
		var all []string
		for len(lines) > 0 {
			all = append(all, (<-lines).Text)
		}
		if joined := strings.Join(all, "\n"); !strings.Contains(joined, "✅ Done") || !strings.Contains(joined, "the answer") {
			t.Fatalf("final state not shown:\n%s", joined)
		}
	})
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
