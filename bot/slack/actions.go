package slack

import (
	"context"
	"strings"

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
	a.mu.Lock()
	ours := a.team
	a.mu.Unlock()
	team := cb.Team.ID
	if team == "" {
		team = ours
	}
	ref := bot.MessageRef{Target: bot.Target{Platform: bot.Slack, Space: team, Channel: channel, Thread: thread}, ID: ts}
	refusal := a.clickRefusal(team, ours, channel)
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
			User: bot.User{ID: cb.User.ID, Name: cb.User.Name}, Ref: ref, Refusal: refusal,
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

// clickRefusal says why a click may not decide anything ("" if it may): it
// must come from the workspace the app is installed in, and from a channel
// the agent serves (or a DM, when DMs are on). The handler audits a refused
// click and answers it privately.
func (a *Adapter) clickRefusal(team, ours, channel string) string {
	if team != ours {
		return "this Slack workspace is not the one " + a.cfg.Agent + " serves"
	}
	if strings.HasPrefix(channel, "D") {
		if !a.cfg.DM.Enabled {
			return "this agent takes no direct messages"
		}
		return ""
	}
	if _, ok := a.channels[channel]; !ok && len(a.channels) > 0 {
		return "this channel is not one " + a.cfg.Agent + " serves"
	}
	return ""
}

// clip shortens s (user-controlled) for logs.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
