package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/herdbot/herdbot/agents"
)

// endCheck is how often a stream looks whether its job has ended (the
// fleet publishes no event for that); every keepAliveEvery-th look an idle
// stream sends a comment.
const (
	endCheck       = 2 * time.Second
	keepAliveEvery = 8
)

// jobEvents streams a job's transcript lines as Server-Sent Events: the
// recorded ones after ?after=SEQ, then new ones as the fleet records them
// (the stream `herdbot logs -f` follows), each rendered and redacted as
// the job page renders it. "end" says the job has ended.
func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	after, _ := strconv.Atoi(r.URL.Query().Get("after"))
	// Subscribe before reading the store, so nothing falls in between.
	live, stop := s.cfg.Fleet.Subscribe()
	defer stop()
	j, err := s.cfg.Store.Job(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	evs, err := s.cfg.Store.Events(r.Context(), id, after)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // the ops server's write timeout is for pages, not streams
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// Lines go out in order, without gaps: an event the fleet published
	// before the subscription and has not yet written to the store (it
	// batches writes) is read from the store at the next look; later
	// events wait for it.
	last := after
	held := map[int]agents.JobEvent{}
	write := func(e agents.JobEvent) error {
		last = e.Seq
		b, err := s.renderEvent(e)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "event: ev\ndata: %s\n\n", b)
		return err
	}
	send := func(e agents.JobEvent) error {
		if e.Seq <= last {
			return nil
		}
		held[e.Seq] = e
		for {
			n, ok := held[last+1]
			if !ok {
				return nil
			}
			delete(held, n.Seq)
			if err := write(n); err != nil {
				return err
			}
		}
	}
	catchUp := func() {
		if len(held) == 0 {
			return
		}
		if evs, err := s.cfg.Store.Events(r.Context(), id, last); err == nil {
			for _, e := range evs {
				_ = send(e)
			}
		}
	}
	for _, e := range evs {
		if send(e) != nil {
			return
		}
	}
	end := func() {
		_, _ = fmt.Fprint(w, "event: end\ndata: {}\n\n")
		_ = rc.Flush()
	}
	if j.Status.Final() {
		end()
		return
	}
	_ = rc.Flush()
	tick := time.NewTicker(endCheck)
	defer tick.Stop()
	ticks := 0
	for {
		select {
		case <-r.Context().Done():
			return
		case e, ok := <-live:
			if !ok {
				return
			}
			if e.JobID != id {
				continue
			}
			if send(e) != nil || rc.Flush() != nil {
				return
			}
			if e.Kind == string(agents.EventResult) || e.Kind == "error" {
				// The job's end is recorded right after its last event.
				if j, err := s.cfg.Store.Job(r.Context(), id); err == nil && j.Status.Final() {
					end()
					return
				}
			}
		case <-tick.C:
			catchUp()
			if rc.Flush() != nil {
				return
			}
			if j, err := s.cfg.Store.Job(r.Context(), id); err == nil && j.Status.Final() {
				// Events recorded before the end that the subscription
				// missed (a slow reader) come from the store.
				if evs, err := s.cfg.Store.Events(r.Context(), id, last); err == nil {
					for _, e := range evs {
						_ = send(e)
					}
				}
				end()
				return
			}
			if ticks++; ticks%keepAliveEvery != 0 {
				continue
			}
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

// renderEvent is one transcript line as the job page renders it, redacted,
// as the JSON of an "ev" event.
func (s *Server) renderEvent(e agents.JobEvent) ([]byte, error) {
	v := viewEvent(e, s.cfg.HideToolResults)
	redactValue(reflect.ValueOf(&v).Elem(), s.cfg.Redact)
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "event", v); err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"seq": e.Seq, "html": buf.String()})
}
