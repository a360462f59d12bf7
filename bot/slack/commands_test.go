package slack_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

type ackPayload struct {
	ResponseType string            `json:"response_type"`
	Text         string            `json:"text"`
	Blocks       []json.RawMessage `json:"blocks"`
}

func decodeAck(t *testing.T, k slacktest.Ack) ackPayload {
	t.Helper()
	var p ackPayload
	if k.Payload == nil {
		t.Fatalf("ack of %s has no payload", k.EnvelopeID)
	}
	if err := json.Unmarshal(k.Payload, &p); err != nil {
		t.Fatalf("ack payload %s: %v", k.Payload, err)
	}
	return p
}

func TestSlashNamedCommandsReplyInAck(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, nil)
	for i, name := range []string{"reset", "status", "stop", "help", "sessions", "model", "cost", "approvals"} {
		env := r.fake.Slash(r.app, slacktest.Slash{Command: "/garden", Text: strings.ToUpper(name[:1]) + name[1:], Channel: chanMention, User: alice})
		p := decodeAck(t, r.fake.WaitAck(r.app, env))
		if p.ResponseType != "ephemeral" || p.Text != "ok: "+name || len(p.Blocks) != 1 {
			t.Fatalf("%s: ack payload = %+v", name, p)
		}
		c := r.rec.Commands()[i]
		want := bot.Target{Platform: bot.Slack, Space: slacktest.Team, Channel: chanMention}
		if c.Name != name || c.Args != "" || c.Agent != "garden" || c.User.ID != alice || c.Target != want {
			t.Fatalf("command = %+v", c)
		}
	}
	// /garden model NAME: the model is the argument.
	env := r.fake.Slash(r.app, slacktest.Slash{Command: "/garden", Text: "model  haiku ", Channel: chanMention, User: alice})
	if p := decodeAck(t, r.fake.WaitAck(r.app, env)); p.Text != "ok: model" {
		t.Fatalf("model command answered %+v", p)
	}
	if cs := r.rec.Commands(); cs[len(cs)-1].Name != "model" || cs[len(cs)-1].Args != "haiku" {
		t.Fatalf("model command = %+v", cs[len(cs)-1])
	}
	// An empty command is help.
	env = r.fake.Slash(r.app, slacktest.Slash{Command: "/garden", Channel: chanMention, User: alice})
	if p := decodeAck(t, r.fake.WaitAck(r.app, env)); p.Text != "ok: help" {
		t.Fatalf("empty command answered %+v", p)
	}
	if st := r.fake.Stats(r.app); len(st.MultiAcked) != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestSlashPromptStartsThreadedConversation(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, nil)
	r.rec.OnCommand(func(c bot.Command) bot.Reply {
		return bot.Reply{Message: bot.Message{Text: "On it."}, Ephemeral: true}
	})
	env := r.fake.Slash(r.app, slacktest.Slash{Command: "/garden", Text: "what grows in <shade>?", Channel: chanMention, User: alice})
	if k := r.fake.WaitAck(r.app, env); k.Payload != nil {
		t.Fatalf("ask must be acked at once, empty; got %s", k.Payload)
	}
	r.rec.WaitFor(t, "ask command", func() bool { return len(r.rec.Commands()) == 1 })
	c := r.rec.Commands()[0]
	posted := r.fake.Messages(chanMention)
	if len(posted) != 1 || !strings.Contains(posted[0].Text, "asked: what grows in &lt;shade&gt;?") {
		t.Fatalf("posted = %+v", posted)
	}
	if c.Name != "ask" || c.Args != "what grows in <shade>?" || c.Target.Thread != posted[0].TS {
		t.Fatalf("command = %+v, prompt message %s", c, posted[0].TS)
	}
	r.fake.WaitFor("reply on response_url", func() bool { return len(r.fake.Responses()) == 1 })
	if resp := r.fake.Responses()[0]; resp.Text != "On it." || resp.ResponseType != "ephemeral" || resp.User != alice {
		t.Fatalf("response = %+v", resp)
	}
	// Replies in the prompt's thread continue that conversation.
	r.fake.Post(r.app, slacktest.Post{Channel: chanMention, User: alice, Text: "and sun?", ThreadTS: posted[0].TS})
	if got := r.rec.WaitMessages(t, 1); got[0].Target.Key() != c.Target.Key() {
		t.Fatalf("thread reply key %s, want %s", got[0].Target.Key(), c.Target.Key())
	}
}

func TestSlashSlowReplyGoesToResponseURL(t *testing.T) {
	release := make(chan struct{})
	r := startRig(t, slacktest.Options{NoEcho: true}, func(c *slack.Config) { c.CommandWait = 20 * time.Millisecond })
	r.rec.OnCommand(func(c bot.Command) bot.Reply {
		<-release
		return bot.Reply{Message: bot.Message{Text: "Status: **idle**"}}
	})
	env := r.fake.Slash(r.app, slacktest.Slash{Command: "/garden", Text: "status", Channel: chanMention, User: alice})
	if k := r.fake.WaitAck(r.app, env); k.Payload != nil {
		t.Fatalf("slow reply: ack must be empty, got %s", k.Payload)
	}
	close(release)
	r.fake.WaitFor("late reply", func() bool { return len(r.fake.Responses()) == 1 })
	if resp := r.fake.Responses()[0]; resp.Text != "Status: *idle*" || resp.ResponseType != "in_channel" {
		t.Fatalf("response = %+v", resp)
	}
	if n := len(r.fake.Acks(r.app, env)); n != 1 {
		t.Fatalf("acked %d times", n)
	}
}

func TestSlashAccessChecks(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, func(c *slack.Config) { c.AllowedUsers = []string{alice} })
	cases := []struct {
		name string
		cmd  slacktest.Slash
		want string
	}{
		{"user not allowed", slacktest.Slash{Command: "/garden", Text: "status", Channel: chanMention, User: bob}, "not allowed"},
		{"other channel", slacktest.Slash{Command: "/garden", Text: "status", Channel: "C0OTHER", User: alice}, "not work in this channel"},
		{"DM not allowlisted", slacktest.Slash{Command: "/garden", Text: "hi", Channel: slacktest.DMChannel(r.app, bob), User: bob}, "allowlist"},
		{"other command", slacktest.Slash{Command: "/herb", Text: "hi", Channel: chanMention, User: alice}, "does not handle /herb"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := decodeAck(t, r.fake.WaitAck(r.app, r.fake.Slash(r.app, tc.cmd)))
			if p.ResponseType != "ephemeral" || !strings.Contains(p.Text, tc.want) {
				t.Fatalf("ack = %+v, want ephemeral %q", p, tc.want)
			}
		})
	}
	if n := len(r.rec.Commands()); n != 0 {
		t.Fatalf("handler got %d commands", n)
	}
	// An allowlisted DM works and has no thread.
	dm := slacktest.DMChannel(r.app, alice)
	r.fake.WaitAck(r.app, r.fake.Slash(r.app, slacktest.Slash{Command: "/garden", Text: "hi there", Channel: dm, User: alice}))
	r.rec.WaitFor(t, "DM ask", func() bool { return len(r.rec.Commands()) == 1 })
	if c := r.rec.Commands()[0]; c.Target.Channel != dm || c.Target.Thread != "" || c.Target.User != alice || c.Args != "hi there" {
		t.Fatalf("DM command = %+v", c)
	}
}
