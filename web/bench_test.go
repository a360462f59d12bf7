package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/redact"
	"github.com/herdbot/herdbot/internal/broadcast"
	"github.com/herdbot/herdbot/store"
	"github.com/herdbot/herdbot/web"
)

// benchFleet is a real fleet (no agents) whose job events come from a
// broadcast hub the benchmark publishes to: the fleet's own hub type, so
// the fan-out measured is the dashboard's, as it is in herdbot.
type benchFleet struct {
	*agents.Fleet
	hub *broadcast.Hub[agents.JobEvent]
}

func (f benchFleet) Subscribe() (<-chan agents.JobEvent, func()) { return f.hub.Subscribe(256) }

// benchDash is a dashboard over a real SQLite store holding one running
// job with n events.
func benchDash(b *testing.B, n int) (*httptest.Server, *store.DB, benchFleet, string) {
	b.Helper()
	log := slog.New(slog.DiscardHandler)
	f, db := lightFleet(b)
	red := redact.New("sk-bench-secret-0123456789")
	bf := benchFleet{Fleet: f, hub: &broadcast.Hub[agents.JobEvent]{}}
	ctx := context.Background()
	j := agents.Job{ID: "j-bench", Agent: "garden", Trigger: agents.TriggerCLI, Prompt: "go", Status: agents.JobRunning, Started: time.Now()}
	if err := db.CreateJob(ctx, j); err != nil {
		b.Fatal(err)
	}
	var evs []agents.JobEvent
	for i := 1; i <= n; i++ {
		evs = append(evs, benchEvent(j.ID, i))
		if len(evs) == 500 || i == n {
			if err := db.AppendEvents(ctx, evs); err != nil {
				b.Fatal(err)
			}
			evs = nil
		}
	}
	srv, err := web.New(web.Config{Fleet: bf, Store: db, Redact: red.String, Listen: "127.0.0.1:9090", Log: log})
	if err != nil {
		b.Fatal(err)
	}
	return serve(b, srv), db, bf, j.ID
}

// benchEvent is a transcript event: alternately an assistant text, a tool
// call with its input and a tool result, of a few hundred bytes.
func benchEvent(job string, seq int) agents.JobEvent {
	var data any
	switch seq % 3 {
	case 0:
		data = map[string]any{"type": "assistant", "message": map[string]any{"content": []any{
			map[string]any{"type": "text", "text": strings.Repeat("The weather in Berlin is mild. ", 8)}}}}
	case 1:
		data = map[string]any{"type": "assistant", "message": map[string]any{"content": []any{
			map[string]any{"type": "tool_use", "name": "Bash", "input": map[string]any{"command": "curl -s https://api.example/forecast?day=" + fmt.Sprint(seq)}}}}}
	default:
		data = map[string]any{"type": "user", "message": map[string]any{"content": []any{
			map[string]any{"type": "tool_result", "content": strings.Repeat("{\"temp\": 12.5} ", 12)}}}}
	}
	raw, _ := json.Marshal(data)
	kinds := []string{"text", "tool_use", "tool_result"}
	return agents.JobEvent{JobID: job, Seq: seq, Time: time.Now(), Kind: kinds[seq%3], Data: raw}
}

// BenchmarkJobPage10kEvents renders the job page of a job with 10,000
// events, over HTTP from SQLite: its first view, the newest page.
func BenchmarkJobPage10kEvents(b *testing.B) { benchJobPage(b, "") }

// BenchmarkJobPage10kEventsEarlierPage renders a page from the middle of
// the same transcript (Load earlier events).
func BenchmarkJobPage10kEventsEarlierPage(b *testing.B) { benchJobPage(b, "?before=5001") }

func benchJobPage(b *testing.B, query string) {
	ts, _, _, id := benchDash(b, 10000)
	get := func() int {
		resp, err := http.Get(ts.URL + "/jobs/" + id + query)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		n, _ := io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return int(n)
	}
	size := get()
	for b.Loop() {
		get()
	}
	b.ReportMetric(float64(size)/1e6, "MB/page")
}

// BenchmarkSSEFanOut50 has 50 job pages following a running job over
// Server-Sent Events; each op publishes one event and waits until all 50
// pages have received it.
func BenchmarkSSEFanOut50(b *testing.B) {
	const pages = 50
	ts, _, bf, id := benchDash(b, 0)
	// One session for all: the first GET gives the cookie.
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		cookie = c
	}
	got := make(chan int, pages*64)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	ready := make(chan struct{}, pages)
	for range pages {
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/jobs/"+id+"/events", nil)
		req.AddCookie(cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			defer resp.Body.Close()
			ready <- struct{}{}
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "event: ev") {
					got <- 1
				}
			}
		})
	}
	for range pages {
		<-ready
	}
	b.Cleanup(func() { cancel(); wg.Wait() })
	seq := 0
	for b.Loop() {
		seq++
		bf.hub.Publish(benchEvent(id, seq))
		for range pages {
			<-got
		}
	}
}
