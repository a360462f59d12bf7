package slack

import (
	"context"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/herdbot/herdbot/bot"
)

// staleNotice answers clicks on buttons that are not (or no longer) ours.
const staleNotice = "That button is not valid any more."

// interactive handles block_actions: ack at once, then the Handler decides
// and the card is updated and the clicker told.
func (d *dispatch) interactive(ctx context.Context, evt socketmode.Event) {
	a := d.a
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !d.ack(ctx, evt.Request, nil) || !ok {
		return
	}
	if cb.Type != slack.InteractionTypeBlockActions {
		a.log.Debug("slack interaction ignored", "type", cb.Type)
		return
	}
	if cb.TriggerID != "" && !a.seen.add("act:"+cb.TriggerID) {
		return
	}
	d.wg.Go(func() { d.click(ctx, cb) })
}

func (d *dispatch) click(ctx context.Context, cb slack.InteractionCallback) {
	a := d.a
	channel := cb.Container.ChannelID
	if channel == "" {
		channel = cb.Channel.ID
	}
	ts := cb.Container.MessageTs
	if ts == "" {
		ts = cb.Message.Timestamp
	}
	thread := cb.Container.ThreadTs
	if thread == "" {
		thread = cb.Message.ThreadTimestamp
	}
	team := cb.Team.ID
	if team == "" {
		a.mu.Lock()
		team = a.team
		a.mu.Unlock()
	}
	ref := bot.MessageRef{Target: bot.Target{Platform: bot.Slack, Space: team, Channel: channel, Thread: thread}, ID: ts}
	for _, act := range cb.ActionCallback.BlockActions {
		if act == nil {
			continue
		}
		approval, choice, err := bot.ParseButtonID(act.ActionID)
		if err != nil {
			a.log.Warn("slack click on a button that is not ours", "user", cb.User.ID, "action_id", clip(act.ActionID, 80))
			d.notice(ctx, channel, thread, cb.User.ID, staleNotice, true)
			continue
		}
		res := d.h.HandleAction(ctx, bot.Action{
			Agent: a.cfg.Agent, ApprovalID: approval, Choice: choice,
			User: bot.User{ID: cb.User.ID, Name: cb.User.Name}, Ref: ref,
		})
		if res.Card != nil && ts != "" && channel != "" {
			if err := a.Edit(ctx, ref, *res.Card); err != nil {
				a.log.Warn("slack update approval card", "approval", approval, "err", err)
			}
		}
		if res.Notice != "" {
			d.notice(ctx, channel, thread, cb.User.ID, res.Notice, true)
		}
	}
	if len(cb.ActionCallback.BlockActions) == 0 {
		a.log.Warn("slack interaction without block actions", "user", cb.User.ID)
		d.notice(ctx, channel, thread, cb.User.ID, staleNotice, true)
	}
}

// clip shortens s (user-controlled) for logs.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
