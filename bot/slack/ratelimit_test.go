package slack_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

// TestStreamingEditsStayWithinTier3 runs three status streams of one agent
// at once, each forcing edits back to back (9 edits at once without a
// throttle), against a fake that holds the app to chat.update's Tier 3 (50
// a minute) with one call more of burst than herdbot allows itself: a call
// reaches Slack a little after herdbot let it go, and while Slack's bucket
// is full that delay is refill lost, which the one call absorbs. herdbot
// throttles its edits app-wide, so Slack never has to answer 429, and
// nothing is lost: every status message ends with its last row and header.
func TestStreamingEditsStayWithinTier3(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true,
		UpdateLimit: slacktest.Limit{Every: slack.UpdateEvery, Burst: slack.UpdateBurst + 1}}, nil)
	ctx := context.Background()
	const runs, rows = 3, 2
	var streams []*bot.Stream
	for i := range runs {
		to := bot.Target{Platform: bot.Slack, Channel: chanMention, Thread: fmt.Sprintf("1700000000.90%04d", i)}
		streams = append(streams, bot.NewStream(ctx, r.ad, to, "⏳ Working…", bot.StreamOptions{}))
	}
	for row := range rows {
		for i, s := range streams {
			s.Row(fmt.Sprintf("🔧 run %d step %d", i, row))
			s.Flush(ctx)
		}
	}
	for i, s := range streams {
		if err := s.Finish(ctx, fmt.Sprintf("✅ run %d done", i), "", nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.fake.RateLimited("chat.update"); n != 0 {
		t.Errorf("%d chat.update calls answered 429: herdbot edits faster than Tier 3 allows", n)
	}
	msgs := r.fake.Messages(chanMention)
	if len(msgs) != runs {
		t.Fatalf("%d messages, want %d status messages", len(msgs), runs)
	}
	for _, m := range msgs {
		var i int
		if _, err := fmt.Sscanf(m.ThreadTS, "1700000000.90%04d", &i); err != nil {
			t.Fatalf("message in thread %q", m.ThreadTS)
		}
		want := []string{fmt.Sprintf("✅ run %d done", i), fmt.Sprintf("run %d step %d", i, rows-1)}
		for _, w := range want {
			if !strings.Contains(m.Text, w) {
				t.Errorf("status message %q lacks %q", m.Text, w)
			}
		}
	}
}
