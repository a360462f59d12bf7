package bottest_test

import (
	"context"
	"testing"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/bottest"
)

func TestRecorderRecordsAndWakes(t *testing.T) {
	var r bottest.Recorder // the zero value works
	ctx := context.Background()
	if got := r.HandleCommand(ctx, bot.Command{Name: "status"}); got.Message.Text != "ok status" || got.Ephemeral {
		t.Fatalf("default reply %+v, want a public 'ok status'", got)
	}
	if got := r.HandleAction(ctx, bot.Action{Choice: "once"}); got != (bot.ActionResult{}) {
		t.Fatalf("default result %+v, want zero", got)
	}
	r.OnCommand(func(c bot.Command) bot.Reply { return bot.Reply{Ephemeral: true} }).
		OnAction(func(bot.Action) bot.ActionResult { return bot.ActionResult{Notice: "n"} })
	if got := r.HandleCommand(ctx, bot.Command{Name: "ask"}); !got.Ephemeral {
		t.Fatalf("hook reply %+v", got)
	}
	if got := r.HandleAction(ctx, bot.Action{}); got.Notice != "n" {
		t.Fatalf("hook result %+v", got)
	}
	go func() {
		for _, text := range []string{"a", "b", "c"} {
			r.HandleMessage(ctx, bot.Inbound{Text: text})
		}
	}()
	msgs := r.WaitMessages(t, 3)
	if len(msgs) != 3 || msgs[0].Text != "a" || msgs[2].Text != "c" {
		t.Fatalf("messages %+v", msgs)
	}
	if n, m := len(r.Commands()), len(r.Actions()); n != 2 || m != 2 {
		t.Fatalf("%d commands, %d actions; want 2 and 2", n, m)
	}
}
