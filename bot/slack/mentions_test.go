package slack_test

import (
	"context"
	"testing"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

// hostileMarkdown is agent output that tries every way Slack has of
// pinging many people at once.
const hostileMarkdown = "<!here> <!channel|channel> <!everyone> [hi](!channel) [ops](!subteam^S0123) [all](<!everyone>) @here @channel"

// TestAgentTextNeverPings sends agent text down every path the adapter
// posts by: Send (plain, split, with buttons), Edit, a command's reply in
// the slash command's ack and on its response_url. The fake records any
// message that would ping @here, @channel, @everyone or a user group, and
// fails the test (every test using the fake) on one.
func TestAgentTextNeverPings(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, nil)
	r.rec.OnCommand(func(c bot.Command) bot.Reply {
		return bot.Reply{Message: bot.Message{Text: hostileMarkdown}, Ephemeral: c.Name != "ask"}
	})
	ctx := context.Background()
	to := bot.Target{Platform: bot.Slack, Channel: chanMention}
	ref, err := r.ad.Send(ctx, to, bot.Message{Text: hostileMarkdown})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ad.Edit(ctx, ref, bot.Message{Text: hostileMarkdown + " (edited)", Buttons: approvalCard().Buttons}); err != nil {
		t.Fatal(err)
	}
	long := ""
	for range 400 {
		long += hostileMarkdown + "\n"
	}
	if _, err := r.ad.Send(ctx, to, bot.Message{Text: long, Buttons: approvalCard().Buttons}); err != nil {
		t.Fatal(err)
	}
	env := r.fake.Slash(r.app, slacktest.Slash{Command: "/garden", Text: "status", Channel: chanMention, User: alice})
	r.fake.WaitAck(r.app, env)
	r.fake.Slash(r.app, slacktest.Slash{Command: "/garden", Text: "what now", Channel: chanMention, User: alice})
	r.fake.WaitFor("the ask reply on response_url", func() bool { return len(r.fake.Responses()) == 1 })
	if n := len(r.fake.Messages(chanMention)); n < 3 {
		t.Fatalf("%d messages: not every path was exercised", n)
	}
	for _, m := range r.fake.MassMentions() {
		t.Errorf("%s in %s: %s", m.Method, m.Channel, m.Mention)
	}
}
