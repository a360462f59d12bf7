package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/herdbot/herdbot/agents/claude/scripted"
	"github.com/herdbot/herdbot/config"
	"github.com/herdbot/herdbot/store"
)

// TestDemoModelOutlivesTheRuns: the demo model answers until every
// long-lived part has returned, so a run going on in the shutdown grace
// still reaches it (it was stopped with the rest: such a run retried a
// closed port until the grace ran out, logging refusals).
func TestDemoModelOutlivesTheRuns(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "herdbot.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/"
	var answered, after error
	svc := &service{
		cfg: &config.Fleet{Name: "t"}, log: slog.New(slog.DiscardHandler), store: db,
		demoSrv: scripted.New(scripted.Demo(), scripted.WithoutRecording()), demoLn: ln,
		runs: []func(context.Context) error{func(ctx context.Context) error {
			<-ctx.Done() // herdbot is stopping; this run is in its grace
			answered = get(url)
			return nil
		}},
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := svc.run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	if answered != nil {
		t.Fatalf("a run in the shutdown grace could not reach the demo model: %v", answered)
	}
	if after = get(url); after == nil {
		t.Fatal("the demo model still answers after run returned")
	}
}

func get(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
