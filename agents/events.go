package agents

import (
	"context"
	"encoding/json"
	"time"
)

// flushEvery bounds how long a recorded event may wait in memory before it
// is written (events are batched for speed; `herdbot logs -f` tails them).
const flushEvery = 250 * time.Millisecond

// record adds a herdbot event (prompt, approval, error…) to the transcript.
func (rs *runState) record(kind string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		b = []byte(`{}`)
	}
	rs.add(kind, rs.f.red.Bytes(b))
}

// recordEvent adds a CLI event, redacted, to the transcript.
func (rs *runState) recordEvent(ev Event) {
	raw := ev.Raw
	if len(raw) == 0 {
		raw, _ = json.Marshal(map[string]any{"kind": ev.Kind, "text": ev.Text})
	}
	rs.add(string(ev.Kind), rs.f.red.Bytes(raw))
}

func (rs *runState) add(kind string, data []byte) {
	rs.mu.Lock()
	rs.seq++
	ev := JobEvent{JobID: rs.job.ID, Seq: rs.seq, Time: rs.f.now(), Kind: kind, Data: json.RawMessage(data)}
	rs.buf = append(rs.buf, ev)
	rs.mu.Unlock()
	rs.f.publish(ev)
}

func (rs *runState) maybeFlush(ctx context.Context) {
	rs.mu.Lock()
	due := len(rs.buf) >= 64 || rs.f.now().Sub(rs.flushed) >= flushEvery
	rs.mu.Unlock()
	if due {
		rs.flush(ctx)
	}
}

// maxUnwritten bounds the events kept in memory while the store cannot
// write them; beyond it the oldest are dropped (and counted).
const maxUnwritten = 4096

// flush writes buffered events. Events the store refuses stay buffered,
// in order, for the next flush or the job's end (recordEnd).
func (rs *runState) flush(ctx context.Context) error {
	rs.flushMu.Lock()
	defer rs.flushMu.Unlock()
	return rs.flushLocked(ctx)
}

// flushLocked is flush with flushMu held.
func (rs *runState) flushLocked(ctx context.Context) error {
	rs.mu.Lock()
	buf := rs.buf
	rs.flushed = rs.f.now()
	rs.mu.Unlock()
	if len(buf) == 0 {
		return nil
	}
	err := rs.f.jobs.AppendEvents(context.WithoutCancel(ctx), buf)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if err == nil {
		rs.buf = rs.buf[len(buf):]
		return nil
	}
	if n := len(rs.buf) - maxUnwritten; n > 0 {
		rs.buf = rs.buf[n:]
		rs.dropped += n
	}
	if !rs.flushFailed {
		rs.f.log.Error("record job events; keeping them until the store takes them", "job", rs.job.ID, "err", err)
	}
	rs.flushFailed = true
	return err
}

// Subscribe returns a channel of every job event recorded from now on
// (for `herdbot logs -f`) and a func to stop. Slow readers miss events
// rather than slow runs down.
func (f *Fleet) Subscribe() (<-chan JobEvent, func()) { return f.events.Subscribe(256) }

func (f *Fleet) publish(ev JobEvent) { f.events.Publish(ev) }
