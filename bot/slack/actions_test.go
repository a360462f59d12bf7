package slack_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/slack/slacktest"
)

func approvalCard() bot.Message {
	return bot.Message{
		Text: "**Bash** wants to run `rm -rf build/`\nExpires in 10 min.",
		Buttons: []bot.Button{
			{ApprovalID: "ap-7f3a", Choice: "once", Label: "Allow once", Style: bot.StylePrimary},
			{ApprovalID: "ap-7f3a", Choice: "session", Label: "Allow for session"},
			{ApprovalID: "ap-7f3a", Choice: "deny", Label: "Deny", Style: bot.StyleDanger},
		},
	}
}

func TestButtonClickReachesHandlerAndUpdatesCard(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, nil)
	r.rec.OnAction(func(a bot.Action) bot.ActionResult {
		if a.User.ID != alice {
			return bot.ActionResult{Notice: "Only approvers can decide."}
		}
		return bot.ActionResult{Card: &bot.Message{Text: "**Bash** allowed once by <@" + a.User.ID + ">"}, Notice: "Allowed once."}
	})
	root := r.fake.Mention(r.app, chanMention, alice, "clean the build", "")
	in := r.rec.WaitMessages(t, 1)[0]
	ref, err := r.ad.Send(context.Background(), in.Target, approvalCard())
	if err != nil {
		t.Fatalf("Send card: %v", err)
	}
	card, _ := r.fake.Message(chanMention, ref.ID)
	btns := card.Buttons()
	if len(btns) != 3 || btns[0].ActionID != bot.ButtonID("ap-7f3a", "once") || btns[0].Style != "primary" || btns[2].Style != "danger" || btns[0].BlockID == "" {
		t.Fatalf("buttons = %+v", btns)
	}

	// A non-approver's click: handler decides, the card stays, a notice.
	r.fake.Click(r.app, slacktest.Click{Channel: chanMention, MessageTS: ref.ID, User: bob, ActionID: btns[0].ActionID})
	r.fake.WaitFor("notice to bob", func() bool { return len(r.fake.Ephemerals(chanMention)) == 1 })
	// The approver's click.
	r.fake.Click(r.app, slacktest.Click{Channel: chanMention, MessageTS: ref.ID, User: alice, ActionID: btns[0].ActionID})
	r.fake.WaitFor("card updated", func() bool { m, _ := r.fake.Message(chanMention, ref.ID); return m.Edits == 1 })
	r.fake.WaitFor("notice to alice", func() bool { return len(r.fake.Ephemerals(chanMention)) == 2 })

	acts := r.rec.Actions()
	want := bot.Action{Agent: "garden", ApprovalID: "ap-7f3a", Choice: "once", User: bot.User{ID: alice, Name: "u0alice"},
		Ref: bot.MessageRef{Target: bot.Target{Platform: bot.Slack, Space: slacktest.Team, Channel: chanMention, Thread: root.TS}, ID: ref.ID}}
	if len(acts) != 2 || acts[0].User.ID != bob || !reflect.DeepEqual(acts[1], want) {
		t.Fatalf("actions = %+v, want bob's then %+v", acts, want)
	}
	card, _ = r.fake.Message(chanMention, ref.ID)
	if len(card.Buttons()) != 0 || !strings.Contains(card.Text, "*Bash* allowed once by <@"+alice+">") {
		t.Fatalf("updated card = %+v", card)
	}
	e := r.fake.Ephemerals(chanMention)
	if e[0].User != bob || e[0].Text != "Only approvers can decide." || e[1].User != alice || e[1].ThreadTS != root.TS {
		t.Fatalf("ephemerals = %+v", e)
	}
}

func TestGarbageActionIDAnsweredNotDelivered(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, nil)
	ref, err := r.ad.Send(context.Background(), bot.Target{Channel: chanMention}, approvalCard())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"evil", "hb:", "hb::once", "hb:x:y:z", strings.Repeat("x", 300), ""} {
		env := r.fake.ClickRaw(r.app, slacktest.Click{Channel: chanMention, MessageTS: ref.ID, User: bob, ActionID: id, BlockID: "b"})
		r.fake.WaitAck(r.app, env)
	}
	r.fake.WaitFor("six notices", func() bool { return len(r.fake.Ephemerals(chanMention)) == 6 })
	for _, e := range r.fake.Ephemerals(chanMention) {
		if e.User != bob || !strings.Contains(e.Text, "not valid") {
			t.Fatalf("notice = %+v", e)
		}
	}
	if n := len(r.rec.Actions()); n != 0 {
		t.Fatalf("handler got %d actions for garbage ids", n)
	}
	if m, _ := r.fake.Message(chanMention, ref.ID); m.Edits != 0 {
		t.Fatal("card edited after a garbage click")
	}
}

func TestStaleClickIsAnswered(t *testing.T) {
	r := startRig(t, slacktest.Options{NoEcho: true}, nil)
	r.rec.OnAction(func(a bot.Action) bot.ActionResult {
		return bot.ActionResult{Card: &bot.Message{Text: "Expired."}, Notice: "This request expired."}
	})
	ref, err := r.ad.Send(context.Background(), bot.Target{Channel: chanMention}, approvalCard())
	if err != nil {
		t.Fatal(err)
	}
	r.fake.Click(r.app, slacktest.Click{Channel: chanMention, MessageTS: ref.ID, User: alice, ActionID: bot.ButtonID("ap-7f3a", "deny")})
	r.fake.WaitFor("expired card and notice", func() bool {
		m, _ := r.fake.Message(chanMention, ref.ID)
		return m.Edits == 1 && len(r.fake.Ephemerals(chanMention)) == 1
	})
	if a := r.rec.Actions(); len(a) != 1 || a[0].Choice != "deny" {
		t.Fatalf("actions = %+v", a)
	}
	if m, _ := r.fake.Message(chanMention, ref.ID); m.Text != "Expired." || len(m.Buttons()) != 0 {
		t.Fatalf("card = %+v", m)
	}
}
