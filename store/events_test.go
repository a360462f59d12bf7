package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/store"
)

func ev(job string, seq int, kind, data string) agents.JobEvent {
	e := agents.JobEvent{JobID: job, Seq: seq, Time: t0.Add(time.Duration(seq) * time.Second), Kind: kind}
	if data != "" {
		e.Data = json.RawMessage(data)
	}
	return e
}

func TestAppendEventsAndTail(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	for _, id := range []string{"j1", "j2"} {
		if err := db.CreateJob(ctx, job(id, "garden", agents.JobRunning, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AppendEvents(ctx, nil); err != nil {
		t.Errorf("AppendEvents(nil) = %v", err)
	}
	batch := []agents.JobEvent{
		ev("j1", 1, "prompt", `{"text":"hi"}`),
		ev("j1", 2, "text", `{"text":"hello"}`),
		ev("j2", 1, "prompt", ""),
	}
	if err := db.AppendEvents(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, err := db.Events(ctx, "j1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("Events(j1, 0) = %d events, want 2", len(got))
	}
	for i, e := range got {
		want := batch[i]
		want.Time = want.Time.Truncate(time.Millisecond)
		if e.JobID != want.JobID || e.Seq != want.Seq || !e.Time.Equal(want.Time) || e.Kind != want.Kind || string(e.Data) != string(want.Data) {
			t.Errorf("event %d = %+v, want %+v", i, e, want)
		}
	}
	if got, _ := db.Events(ctx, "j2", 0); len(got) != 1 || got[0].Data != nil {
		t.Errorf("Events(j2) = %+v, want one event with nil data", got)
	}

	// Tailing: only what comes after the last seen seq.
	tail, err := db.Events(ctx, "j1", 2)
	if err != nil || len(tail) != 0 {
		t.Fatalf("Events(j1, 2) = %v, %v; want none", tail, err)
	}
	if err := db.AppendEvents(ctx, []agents.JobEvent{ev("j1", 3, "result", `{}`)}); err != nil {
		t.Fatal(err)
	}
	tail, err = db.Events(ctx, "j1", 2)
	if err != nil || len(tail) != 1 || tail[0].Seq != 3 {
		t.Fatalf("Events(j1, 2) = %+v, %v; want seq 3", tail, err)
	}
	if none, err := db.Events(ctx, "unknown", 0); err != nil || len(none) != 0 {
		t.Errorf("Events(unknown) = %v, %v; want empty", none, err)
	}
}

func TestAppendEventsAssignsSeq(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	if err := db.CreateJob(ctx, job("j1", "garden", agents.JobRunning, 0)); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendEvents(ctx, []agents.JobEvent{ev("j1", 5, "text", `1`)}); err != nil {
		t.Fatal(err)
	}
	evs := []agents.JobEvent{ev("j1", 0, "text", `2`), ev("j1", 0, "text", `3`)}
	if err := db.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if evs[0].Seq != 6 || evs[1].Seq != 7 {
		t.Errorf("assigned seqs %d, %d; want 6, 7", evs[0].Seq, evs[1].Seq)
	}
	got, err := db.Events(ctx, "j1", 5)
	if err != nil || len(got) != 2 || string(got[1].Data) != "3" {
		t.Errorf("Events after 5 = %+v, %v", got, err)
	}
}

func TestAppendEventsIsAtomic(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	if err := db.CreateJob(ctx, job("j1", "garden", agents.JobRunning, 0)); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendEvents(ctx, []agents.JobEvent{ev("j1", 1, "a", "")}); err != nil {
		t.Fatal(err)
	}
	err := db.AppendEvents(ctx, []agents.JobEvent{ev("j1", 2, "b", ""), ev("j1", 1, "dup", "")})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate seq = %v, want ErrExists", err)
	}
	if got, _ := db.Events(ctx, "j1", 0); len(got) != 1 {
		t.Errorf("after failed batch: %d events, want 1 (batch rolled back)", len(got))
	}
}

func TestAppendEventsBadInput(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	if err := db.CreateJob(ctx, job("j1", "garden", agents.JobRunning, 0)); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendEvents(ctx, []agents.JobEvent{ev("nojob", 1, "a", "")}); !errors.Is(err, agents.ErrNotFound) {
		t.Errorf("event of unknown job = %v, want ErrNotFound", err)
	}
	for _, e := range []agents.JobEvent{
		ev("", 1, "a", ""),
		ev("j1", -1, "a", ""),
	} {
		if err := db.AppendEvents(ctx, []agents.JobEvent{e}); err == nil {
			t.Errorf("AppendEvents(%+v) succeeded", e)
		}
	}
	if got, _ := db.Events(ctx, "j1", 0); len(got) != 0 {
		t.Errorf("bad input stored %d events", len(got))
	}
}

func TestAppendEventsNonJSONDataKept(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	if err := db.CreateJob(ctx, job("j1", "garden", agents.JobRunning, 0)); err != nil {
		t.Fatal(err)
	}
	raw := "Error: {not json \xff"
	e := agents.JobEvent{JobID: "j1", Seq: 1, Kind: "stderr", Data: json.RawMessage(raw)}
	if err := db.AppendEvents(ctx, []agents.JobEvent{e, ev("j1", 2, "text", `{"ok":true}`)}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Events(ctx, "j1", 0)
	if err != nil || len(got) != 2 {
		t.Fatalf("Events = %+v, %v", got, err)
	}
	var s string
	if err := json.Unmarshal(got[0].Data, &s); err != nil {
		t.Fatalf("non-JSON data came back as %q, not a JSON string: %v", got[0].Data, err)
	}
	if s != "Error: {not json \uFFFD" {
		t.Errorf("kept data = %q", s)
	}
	if string(got[1].Data) != `{"ok":true}` {
		t.Errorf("JSON data = %s, want it unchanged", got[1].Data)
	}
}

func TestEventsLargeTranscript(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	if err := db.CreateJob(ctx, job("j1", "garden", agents.JobRunning, 0)); err != nil {
		t.Fatal(err)
	}
	evs := make([]agents.JobEvent, 500)
	for i := range evs {
		evs[i] = ev("j1", i+1, "text", fmt.Sprintf(`{"n":%d}`, i+1))
	}
	if err := db.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	got, err := db.Events(ctx, "j1", 250)
	if err != nil || len(got) != 250 || got[0].Seq != 251 || got[249].Seq != 500 {
		t.Errorf("Events(j1, 250): %d events, %v", len(got), err)
	}
}

// TestEventsPage reads a page of a long transcript: the newest events
// before a seq, or the oldest after one, bounded by the limit.
func TestEventsPage(t *testing.T) {
	db, ctx := mustOpen(t), t.Context()
	for _, id := range []string{"j1", "j2"} {
		if err := db.CreateJob(ctx, job(id, "garden", agents.JobRunning, 0)); err != nil {
			t.Fatal(err)
		}
	}
	var evs []agents.JobEvent
	for i := 1; i <= 25; i++ {
		evs = append(evs, ev("j1", i, "text", fmt.Sprintf(`{"text":"%d"}`, i)))
	}
	evs = append(evs, ev("j2", 1, "text", `{"text":"other job"}`))
	if err := db.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	seqs := func(p store.EventPage) []int {
		t.Helper()
		got, err := db.EventsPage(ctx, "j1", p)
		if err != nil {
			t.Fatal(err)
		}
		var s []int
		for _, e := range got {
			if e.JobID != "j1" {
				t.Fatalf("event of job %s", e.JobID)
			}
			s = append(s, e.Seq)
		}
		return s
	}
	for _, c := range []struct {
		p    store.EventPage
		want []int
	}{
		{store.EventPage{Limit: 3, Newest: true}, []int{23, 24, 25}},
		{store.EventPage{Before: 23, Limit: 3, Newest: true}, []int{20, 21, 22}},
		{store.EventPage{Before: 3, Limit: 5, Newest: true}, []int{1, 2}},
		{store.EventPage{After: 20, Limit: 3}, []int{21, 22, 23}},
		{store.EventPage{After: 23, Limit: 10}, []int{24, 25}},
		{store.EventPage{After: 5, Before: 8, Limit: 10}, []int{6, 7}},
		{store.EventPage{After: 25, Limit: 10}, nil},
	} {
		if got := seqs(c.p); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("EventsPage(%+v) = %v, want %v", c.p, got, c.want)
		}
	}
	if _, err := db.EventsPage(ctx, "j1", store.EventPage{}); err == nil {
		t.Error("EventsPage without a limit: no error")
	}
}
