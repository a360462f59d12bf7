package sched_test

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/herdbot/herdbot/sched"
	"github.com/herdbot/herdbot/store"
)

// TestWebhookReplayAcrossRestart: accepted deliveries are remembered in the
// SQLite file, so a herdbot restarted within the replay window still
// refuses their replays (timestamped, and untimestamped with the delivery
// id kept or changed).
func TestWebhookReplayAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "herdbot.db")
	open := func() *store.DB {
		db, err := store.Open(context.Background(), path, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	stamped := req{body: payload, secret: secret, ts: strconv.FormatInt(t0.Unix(), 10)}
	plain := req{body: []byte(`{"issue":{"title":"slugs"}}`), secret: secret, delivery: "d-1"}

	db := open()
	first := start(t, sched.WebhookConfig{Replays: db}, 0, ghHook())
	for _, r := range []req{stamped, plain} {
		if resp, body := first.do(r); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("first herdbot: %d %s", resp.StatusCode, body)
		}
		first.nextRun()
	}
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = open()
	defer db.Close()
	second := start(t, sched.WebhookConfig{Replays: db}, 0, ghHook()) // its clock is at t0 again: inside the window
	changed := plain
	changed.delivery = "d-2"
	for name, r := range map[string]req{"timestamped": stamped, "untimestamped": plain, "other delivery id": changed} {
		if resp, body := second.do(r); resp.StatusCode != http.StatusConflict {
			t.Fatalf("%s replay after the restart: %d %s, want 409", name, resp.StatusCode, body)
		}
	}
	// Past the delivery TTL the file has forgotten them.
	second.clk.Advance(sched.DefaultDeliveryTTL + time.Second)
	if resp, body := second.do(plain); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("after the TTL: %d %s, want 202", resp.StatusCode, body)
	}
	second.nextRun()
	if n := second.stopAndCountRuns(); n != 0 {
		t.Fatalf("%d runs from replays", n)
	}
}
