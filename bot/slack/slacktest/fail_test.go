package slacktest_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

func TestFailWhenHitsOnlyMatchingCalls(t *testing.T) {
	fake := slacktest.New(t, slacktest.Options{NoEcho: true})
	api := client(fake, fake.AddApp("garden"))
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("card", false))
	if err != nil {
		t.Fatal(err)
	}
	fake.FailWhen("chat.update", "internal_error", func(p url.Values) bool { return strings.Contains(p.Get("text"), "expired") })
	if _, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("still pending", false)); err != nil {
		t.Fatalf("an update that does not match failed: %v", err)
	}
	if _, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("expired", false)); err == nil || !strings.Contains(err.Error(), "internal_error") {
		t.Fatalf("matching update: %v, want internal_error", err)
	}
	if m, _ := fake.Message("C1", ts); m.Text != "still pending" || m.Edits != 1 {
		t.Fatalf("the failed update changed the message: %+v", m)
	}
	if _, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("expired", false)); err != nil {
		t.Fatalf("only one failure was queued: %v", err)
	}
}
