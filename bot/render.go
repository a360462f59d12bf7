package bot

import (
	"context"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// StreamOptions tune a Stream.
type StreamOptions struct {
	// EditInterval is the least time between two edits of the status
	// message (default 1.5 s).
	EditInterval time.Duration
	// TypingInterval is how often the typing indicator is refreshed
	// (default 8 s; platforms show it for ~10 s).
	TypingInterval time.Duration
	// MaxRows is how many tool rows the status message shows (default 15).
	MaxRows int
	// Clock times the edits and the typing indicator (the fleet passes
	// its own; nil: the real clock).
	Clock clockwork.Clock
	Log   *slog.Logger
}

// Stream renders one run into a chat: a status message edited in place
// (throttled) with the tool rows so far, a typing indicator while working,
// and the final answer split into chunks the platform accepts.
//
// NewStream starts one goroutine, which posts the status message; Finish or
// Fail stops it and waits.
type Stream struct {
	out   Outbox
	to    Target
	opts  StreamOptions
	limit int

	mu       sync.Mutex
	status   MessageRef
	hasRef   bool
	header   string
	rows     []string
	hidden   int
	dirty    bool
	lastEdit time.Time
	edits    int

	stop   chan struct{}
	posted chan struct{} // closed once the status message was sent (or failed)
	wg     sync.WaitGroup
}

// NewStream starts rendering to to through out. header is the first line
// of the status message (e.g. "⏳ Working…").
func NewStream(ctx context.Context, out Outbox, to Target, header string, opts StreamOptions) *Stream {
	if opts.EditInterval <= 0 {
		opts.EditInterval = 1500 * time.Millisecond
	}
	if opts.TypingInterval <= 0 {
		opts.TypingInterval = 8 * time.Second
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = 15
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	s := &Stream{out: out, to: to, opts: opts, limit: LimitOf(out), header: header, stop: make(chan struct{}), posted: make(chan struct{})}
	s.wg.Add(1)
	go s.loop(ctx)
	return s
}

// loop posts the status message (on this goroutine: a run never waits for
// a channel the platform is rate-limiting), then keeps it up to date.
func (s *Stream) loop(ctx context.Context) {
	defer s.wg.Done()
	s.mu.Lock()
	header := s.header
	s.mu.Unlock()
	if ref, err := s.out.Send(ctx, s.to, Message{Text: header}); err != nil {
		s.opts.Log.Warn("status message", "err", err)
	} else {
		s.mu.Lock()
		s.status, s.hasRef, s.lastEdit = ref, true, s.opts.Clock.Now()
		s.mu.Unlock()
	}
	close(s.posted)
	typer, _ := s.out.(Typer)
	if typer != nil {
		_ = typer.Typing(ctx, s.to)
	}
	// Tick faster than the edit interval so an edit is never put off by a
	// whole extra interval; flush itself keeps edits EditInterval apart.
	edit := s.opts.Clock.NewTicker(max(s.opts.EditInterval/4, 10*time.Millisecond))
	defer edit.Stop()
	typing := s.opts.Clock.NewTicker(s.opts.TypingInterval)
	defer typing.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stop:
			return
		case <-edit.Chan():
			s.flush(ctx, false)
		case <-typing.Chan():
			if typer != nil {
				_ = typer.Typing(ctx, s.to)
			}
		}
	}
}

// Row adds a tool row ("🔧 Bash: touch x") to the status message.
func (s *Stream) Row(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = append(s.rows, line)
	if len(s.rows) > s.opts.MaxRows {
		s.hidden += len(s.rows) - s.opts.MaxRows
		s.rows = s.rows[len(s.rows)-s.opts.MaxRows:]
	}
	s.dirty = true
}

// Header replaces the status message's first line.
func (s *Stream) Header(h string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.header, s.dirty = h, true
}

// Edits returns how many times the status message was edited.
func (s *Stream) Edits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.edits
}

func (s *Stream) text() string {
	var b strings.Builder
	b.WriteString(s.header)
	if s.hidden > 0 {
		b.WriteString("\n… ")
		b.WriteString(strconv.Itoa(s.hidden))
		b.WriteString(" earlier")
	}
	for _, r := range s.rows {
		b.WriteString("\n")
		b.WriteString(r)
	}
	t := b.String()
	if r := []rune(t); len(r) > s.limit {
		t = string(r[:s.limit-1]) + "…"
	}
	return t
}

// flush edits the status message if it changed and, unless force, the
// edit interval has passed.
func (s *Stream) flush(ctx context.Context, force bool) {
	s.mu.Lock()
	now := s.opts.Clock.Now()
	if !s.dirty || !s.hasRef || (!force && now.Sub(s.lastEdit) < s.opts.EditInterval) {
		s.mu.Unlock()
		return
	}
	ref, text := s.status, s.text()
	s.dirty, s.lastEdit = false, now
	s.edits++
	s.mu.Unlock()
	if err := s.out.Edit(ctx, ref, Message{Text: text}); err != nil {
		s.opts.Log.Warn("edit status message", "err", err)
	}
}

// Flush edits the status message now if it changed, whatever the edit
// interval: before a message that must come after it (an approval card).
// It waits for the status message to be posted first.
func (s *Stream) Flush(ctx context.Context) {
	select {
	case <-s.posted:
	case <-ctx.Done():
		return
	}
	s.flush(ctx, true)
}

func (s *Stream) end(ctx context.Context, header string) {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.wg.Wait()
	s.Header(header)
	s.flush(ctx, true)
}

// Finish ends the stream: the status message gets header, and answer is
// sent as new messages (so people are notified), split to fit.
func (s *Stream) Finish(ctx context.Context, header, answer string, files []File) error {
	s.end(ctx, header)
	if strings.TrimSpace(answer) == "" && len(files) == 0 {
		return nil
	}
	_, err := SendChunked(ctx, s.out, s.to, Message{Text: answer, Files: files}, s.limit)
	return err
}

// Fail ends the stream with a short error in the status message.
func (s *Stream) Fail(ctx context.Context, msg string) {
	s.end(ctx, msg)
	if !s.hasRef {
		if _, err := s.out.Send(ctx, s.to, Message{Text: msg}); err != nil {
			s.opts.Log.Warn("send failure", "err", err)
		}
	}
}

// USD is an amount of dollars as people read it: two significant digits
// and at least two decimals ($0.089, $0.50, $1.23, $0.00).
func USD(v float64) string {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "$0.00"
	}
	dec := max(2, 1-int(math.Floor(math.Log10(v))))
	return "$" + strconv.FormatFloat(v, 'f', dec, 64)
}

// RoundUSD rounds a cost to a millionth of a dollar, for logs and JSON
// (0.08880400000000001 becomes 0.088804).
func RoundUSD(v float64) float64 { return math.Round(v*1e6) / 1e6 }
