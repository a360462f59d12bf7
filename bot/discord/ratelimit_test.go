package discord_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/discord/discordtest"
)

// TestBurstStaysWithinBucket sends a burst of posts and edits into tight
// buckets. The fake sends X-RateLimit-* headers on every response, as
// Discord does, so discordgo paces the burst itself: no 429 (the fake
// refuses any request over the bucket, so none means the burst kept to it)
// and nothing lost.
func TestBurstStaysWithinBucket(t *testing.T) {
	const (
		limit  = 3
		window = time.Second
		burst  = 8
	)
	w := newWorld()
	posts := "/channels/" + w.auto + "/messages"
	edits := posts + "/*"
	t.Cleanup(srv.AddBucket(discordtest.Bucket{Method: "POST", Pattern: posts, Limit: limit, Window: window}))
	t.Cleanup(srv.AddBucket(discordtest.Bucket{Method: "PATCH", Pattern: edits, Limit: limit, Window: window}))
	a := run(t, w, w.config(), newRecorder())
	ctx := context.Background()
	to := bot.Target{Platform: bot.Discord, Space: w.guild, Channel: w.auto}

	var ref bot.MessageRef
	for i := range burst {
		r, err := a.Send(ctx, to, bot.Message{Text: fmt.Sprintf("post %d", i)})
		if err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
		ref = r
	}
	for i := range burst {
		if err := a.Edit(ctx, ref, bot.Message{Text: fmt.Sprintf("edit %d", i)}); err != nil {
			t.Fatalf("edit %d: %v", i, err)
		}
	}

	if n := len(w.botMessages(w.auto)); n != burst {
		t.Errorf("%d messages, want %d", n, burst)
	}
	if m, _ := srv.Message(w.auto, ref.ID); m.Content != fmt.Sprintf("edit %d", burst-1) || m.Edits != burst {
		t.Errorf("last message %q after %d edits, want every edit applied", m.Content, m.Edits)
	}
	for _, route := range []struct{ method, pattern string }{{"POST", posts}, {"PATCH", edits}} {
		var ok int
		for _, c := range srv.CallsTo(route.method, route.pattern) {
			switch c.Status {
			case http.StatusTooManyRequests:
				t.Errorf("%s %s answered 429: the client did not pace itself from the headers", c.Method, c.Path)
			case http.StatusOK:
				ok++
			}
		}
		if ok != burst {
			t.Errorf("%s: %d requests went through, want %d", route.method, ok, burst)
		}
	}
}
