package slack_test

import (
	"context"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/bottest"
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

func TestMentionGetsThreadedReply(t *testing.T) {
	r := startRig(t, slacktest.Options{}, nil)
	sent := r.fake.Mention(r.app, chanMention, alice, "what should I plant &amp; when?", "")

	got := r.rec.WaitMessages(t, 1)[0]
	want := bot.Target{Platform: bot.Slack, Space: slacktest.Team, Channel: chanMention, Thread: sent.TS}
	if got.Target != want {
		t.Fatalf("target = %+v, want %+v", got.Target, want)
	}
	if got.Text != "what should I plant & when?" || got.User.ID != alice || got.Agent != "garden" || got.MessageID != sent.TS {
		t.Fatalf("inbound = %+v", got)
	}

	ref, err := r.ad.Send(context.Background(), got.Target, bot.Message{Text: "Plant **garlic** now."})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := r.fake.Messages(chanMention)
	if len(msgs) != 1 || msgs[0].ThreadTS != sent.TS || msgs[0].TS != ref.ID {
		t.Fatalf("messages = %+v, ref %+v", msgs, ref)
	}
	if s := msgs[0].Sections(); len(s) != 1 || s[0] != "Plant *garlic* now." {
		t.Fatalf("sections = %q", s)
	}

	// The mention came as app_mention and as a message event: one run.
	// A second mention, handled after both, proves the first's twin was
	// dropped rather than late.
	r.fake.Mention(r.app, chanMention, alice, "second", "")
	msgs2 := r.rec.WaitMessages(t, 2)
	if len(msgs2) != 2 || msgs2[1].Text != "second" {
		t.Fatalf("handled = %+v", msgs2)
	}
	r.waitAllAcked(t)
	if st := r.fake.Stats(r.app); len(st.MultiAcked) != 0 || st.Deliveries != st.Envelopes {
		t.Fatalf("stats = %+v: want every envelope delivered and acked once", st)
	}
}

func TestThreadRepliesAreTheirOwnConversation(t *testing.T) {
	r := startRig(t, slacktest.Options{}, nil)
	root := r.fake.Mention(r.app, chanMention, alice, "start", "")
	r.rec.WaitMessages(t, 1)

	// A reply in the bot's thread needs no mention.
	r.fake.Post(r.app, slacktest.Post{Channel: chanMention, User: bob, Text: "and tomatoes?", ThreadTS: root.TS})
	got := r.rec.WaitMessages(t, 2)[1]
	if got.Target.Thread != root.TS || got.Text != "and tomatoes?" || got.User.ID != bob {
		t.Fatalf("thread reply = %+v", got)
	}
	// A mention inside someone else's thread starts a run in that thread.
	other := r.fake.Post(r.app, slacktest.Post{Channel: chanMention, User: bob, Text: "no bot here"})
	r.fake.Mention(r.app, chanMention, alice, "join in", other.TS)
	got = r.rec.WaitMessages(t, 3)[2]
	if got.Target.Thread != other.TS || got.Text != "join in" {
		t.Fatalf("mention in thread = %+v", got)
	}
	if got.Target.Key() == r.rec.Messages()[0].Target.Key() {
		t.Fatal("two threads share a conversation key")
	}
	if n := len(r.rec.Messages()); n != 3 {
		t.Fatalf("handled %d messages, want 3 (the unmentioned top-level post is ignored)", n)
	}
}

func TestDirectMessages(t *testing.T) {
	r := startRig(t, slacktest.Options{}, nil)
	r.fake.DM(r.app, bob, "let me in") // not allowlisted
	dm := r.fake.DM(r.app, alice, "hello")
	got := r.rec.WaitMessages(t, 1)
	want := bot.Target{Platform: bot.Slack, Space: slacktest.Team, Channel: slacktest.DMChannel(r.app, alice), User: alice}
	if len(got) != 1 || got[0].Target != want || got[0].Text != "hello" || got[0].MessageID != dm.TS {
		t.Fatalf("handled = %+v, want one DM from alice at %+v", got, want)
	}
	bobDM := slacktest.DMChannel(r.app, bob)
	r.fake.WaitFor("denial notice to bob", func() bool { return len(r.fake.Messages(bobDM)) == 1 })
	if txt := r.fake.Messages(bobDM)[0].Text; !strings.Contains(txt, "allowlist") {
		t.Fatalf("denial = %q", txt)
	}
	// Told once only.
	r.fake.DM(r.app, bob, "please")
	r.fake.DM(r.app, alice, "again")
	r.rec.WaitMessages(t, 2)
	if n := len(r.fake.Messages(bobDM)); n != 1 {
		t.Fatalf("bob got %d notices, want 1", n)
	}
}

func TestDMsDeniedByDefault(t *testing.T) {
	r := startRig(t, slacktest.Options{}, func(c *slack.Config) { c.DM = slack.DM{} })
	r.fake.DM(r.app, alice, "hello")
	r.fake.Mention(r.app, chanMention, alice, "sync", "")
	got := r.rec.WaitMessages(t, 1)
	if len(got) != 1 || got[0].Text != "sync" {
		t.Fatalf("handled = %+v: the DM must be denied when DMs are off", got)
	}
}

func TestChannelModesAndAccess(t *testing.T) {
	r := startRig(t, slacktest.Options{}, func(c *slack.Config) { c.AllowedUsers = []string{alice, bob} })
	r.fake.Post(r.app, slacktest.Post{Channel: chanMention, User: alice, Text: "no mention"})      // ignored
	r.fake.Mention(r.app, "C0ELSEWHERE", alice, "not configured", "")                              // ignored
	r.fake.Mention(r.app, chanMention, "U0MALLORY", "not allowed", "")                             // denied, told
	r.fake.Post(r.app, slacktest.Post{Channel: chanAuto, User: "U0MALLORY", Text: "auto, denied"}) // ignored
	auto := r.fake.Post(r.app, slacktest.Post{Channel: chanAuto, User: bob, Text: "auto mode"})
	r.fake.Mention(r.app, chanMention, alice, "mentioned", "")

	got := r.rec.WaitMessages(t, 2)
	if got[0].Text != "auto mode" || got[0].Target.Thread != auto.TS || got[1].Text != "mentioned" {
		t.Fatalf("handled = %+v", got)
	}
	r.waitAllAcked(t)
	if n := len(r.rec.Messages()); n != 2 {
		t.Fatalf("handled %d, want 2", n)
	}
	r.fake.WaitFor("notice to mallory", func() bool { return len(r.fake.Ephemerals(chanMention)) == 1 })
	if e := r.fake.Ephemerals(chanMention)[0]; e.User != "U0MALLORY" || !strings.Contains(e.Text, "not allowed") {
		t.Fatalf("ephemeral = %+v", e)
	}
}

func TestBotMessagesIgnored(t *testing.T) {
	fake := slacktest.New(t, slacktest.Options{})
	garden, herb := fake.AddApp("garden"), fake.AddApp("herb")
	gRec, hRec := newRecorder(), newRecorder()
	gAd := startAdapter(t, fake, garden, gRec, nil)
	startAdapter(t, fake, herb, hRec, nil)

	// Both bots listen to the auto channel: their own posts and each
	// other's come back as message events with bot_id.
	to := bot.Target{Platform: bot.Slack, Channel: chanAuto}
	if _, err := gAd.Send(context.Background(), to, bot.Message{Text: "I am a bot"}); err != nil {
		t.Fatal(err)
	}
	fake.WaitFor("echoes acked", func() bool {
		return len(fake.Stats(garden).Unacked) == 0 && len(fake.Stats(herb).Unacked) == 0 && fake.Stats(herb).Envelopes == 1
	})
	fake.Post(garden, slacktest.Post{Channel: chanAuto, User: alice, Text: "a person"})
	for _, rec := range []*bottest.Recorder{gRec, hRec} {
		got := rec.WaitMessages(t, 1)
		if len(got) != 1 || got[0].Text != "a person" {
			t.Fatalf("handled = %+v, want only the person's message", got)
		}
	}
}

func TestRedeliveredEnvelopeDoesNotRunTwice(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, nil)
	sent := r.fake.DM(r.app, alice, "once")
	r.rec.WaitMessages(t, 1)
	r.fake.WaitAck(r.app, sent.Envelope)

	r.fake.Redeliver(r.app, sent.Envelope) // retry_attempt 1, same event_id
	r.fake.WaitFor("redelivery acked", func() bool { return len(r.fake.Acks(r.app, sent.Envelope)) == 2 })
	r.fake.DM(r.app, alice, "twice")
	got := r.rec.WaitMessages(t, 2)
	if len(got) != 2 || got[0].Text != "once" || got[1].Text != "twice" {
		t.Fatalf("handled = %+v, want once then twice", got)
	}
}

func TestReconnects(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, nil)
	for i, cut := range []func(){
		func() { r.fake.DropSockets(r.app) },
		func() { r.fake.Disconnect(r.app, "refresh_requested") },
		func() { r.fake.Disconnect(r.app, "warning") },
	} {
		opened, _ := r.fake.Connections(r.app)
		cut()
		r.fake.WaitConnected(r.app, opened+1)
		r.fake.DM(r.app, alice, "after reconnect")
		if got := r.rec.WaitMessages(t, i+1); len(got) != i+1 {
			t.Fatalf("cut %d: handled %d", i, len(got))
		}
	}
	if st := r.fake.Stats(r.app); len(st.MultiAcked) != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestEventQueuedDuringOutageArrives(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, nil)
	opened, _ := r.fake.Connections(r.app)
	r.fake.DropSockets(r.app)
	r.fake.DM(r.app, alice, "sent while the socket was down")
	r.fake.WaitConnected(r.app, opened+1)
	if got := r.rec.WaitMessages(t, 1); got[0].Text != "sent while the socket was down" {
		t.Fatalf("handled = %+v", got)
	}
}
