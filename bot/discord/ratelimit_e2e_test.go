package discord_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/agents/agentstest"
	"github.com/herdbot/herdbot/agents/claude/claudetest"
	"github.com/herdbot/herdbot/bot/discord/discordtest"
)

// Discord allows a handful of edits of one message per few seconds; the
// fake holds the bot to 5 per message per 5 s and answers 429 beyond.
const (
	editLimit  = 5
	editWindow = 5 * time.Second
)

// TestFleetStatusEditsWithinRateLimit runs an answer with several tool
// calls spread over some seconds, with the renderer's default edit interval
// (1.5 s), and checks that the status message was edited as the run went
// on without ever needing a 429.
func TestFleetStatusEditsWithinRateLimit(t *testing.T) {
	const steps = 10
	var replies []claudetest.Reply
	for i := 1; i <= steps; i++ {
		// Each tool call takes a little while, as real ones do, so the run
		// lasts several edit intervals.
		replies = append(replies, claudetest.Bash(fmt.Sprintf("sleep 0.8; echo step %d", i), fmt.Sprintf("step %d", i)))
	}
	replies = append(replies, claudetest.Text("all steps done"))
	w := newWorld()
	route := "/channels/" + w.general + "/messages/*"
	remove := srv.AddBucket(discordtest.Bucket{Method: "PATCH", Pattern: route, Limit: editLimit, Window: editWindow})
	t.Cleanup(remove)
	// The renderer's default edit interval: Stream is left zero.
	startNode(t, w, agentstest.Options{Model: claudetest.Script(replies...),
		Spec: func(s *agents.AgentSpec) { s.Options.AllowedTools = []string{"Bash(sleep *)"} }})

	srv.SendMessage(w.alice.ID, w.general, w.mention()+" run the steps")
	waitBotIn(t, w, w.general, "all steps done")
	status := w.botMessages(w.general)[0]
	if !strings.Contains(status.Content, fmt.Sprintf("step %d", steps)) {
		t.Fatalf("status message %q: want every tool row", status.Content)
	}
	if status.Edits < 3 {
		t.Fatalf("status message edited %d times: want it updated as the run went on", status.Edits)
	}

	byMsg := map[string][]time.Time{}
	for _, c := range srv.CallsTo("PATCH", route) {
		if c.Status == http.StatusTooManyRequests {
			t.Fatalf("edit %s answered 429: the renderer edits faster than Discord allows", c.Path)
		}
		if c.Status == http.StatusOK {
			byMsg[c.Path] = append(byMsg[c.Path], c.Time)
		}
	}
	for path, ts := range byMsg {
		for i := editLimit; i < len(ts); i++ {
			if d := ts[i].Sub(ts[i-editLimit]); d < editWindow {
				t.Fatalf("%s: %d edits within %v", path, editLimit+1, d)
			}
		}
	}
	t.Logf("status message: %d edits over the run", status.Edits)
}
