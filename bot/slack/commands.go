package slack

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/herdbot/herdbot/bot"
)

// Commands other than "ask" that the slash command takes as its first word.
var namedCommands = map[string]bool{"reset": true, "status": true, "stop": true, "help": true, "sessions": true,
	"model": true, "cost": true, "approvals": true}

// maxAckPayload keeps an ack under Socket Mode's 20 KiB response limit.
const maxAckPayload = 16 << 10

// parseCommand maps the slash command's text to a command name and args:
// "reset|status|stop|help|sessions|model|cost|approvals" are themselves, "" is help, anything
// else is "ask" with the whole text as the prompt.
func parseCommand(text string) (name, args string) {
	text = strings.TrimSpace(unescape(text))
	if text == "" {
		return "help", ""
	}
	first, rest, _ := strings.Cut(text, " ")
	if w := strings.ToLower(first); namedCommands[w] {
		return w, strings.TrimSpace(rest)
	}
	return "ask", text
}

func (d *dispatch) slash(ctx context.Context, evt socketmode.Event) {
	a := d.a
	cmd, ok := evt.Data.(slack.SlashCommand)
	if !ok || evt.Request == nil {
		return
	}
	key := "cmd:" + cmd.TriggerID
	if cmd.TriggerID == "" {
		key = "cmd:" + evt.Request.EnvelopeID
	}
	if !a.seen.add(key) {
		d.ack(ctx, evt.Request, nil)
		return
	}
	if a.cfg.SlashCommand == "" || cmd.Command != a.cfg.SlashCommand {
		d.ack(ctx, evt.Request, ephemeralPayload("This app does not handle "+cmd.Command+"."))
		return
	}
	if why := a.commandDenied(cmd); why != "" {
		d.ack(ctx, evt.Request, ephemeralPayload(why))
		return
	}
	req := evt.Request
	d.wg.Go(func() { d.runCommand(ctx, req, cmd) })
}

// commandDenied returns why user may not use the command here ("" if they may).
func (a *Adapter) commandDenied(cmd slack.SlashCommand) string {
	if strings.HasPrefix(cmd.ChannelID, "D") {
		if !a.gate.AllowsDM(cmd.UserID) {
			return bot.RefusedDM
		}
		return ""
	}
	if _, ok := a.channels[cmd.ChannelID]; !ok && len(a.channels) > 0 {
		return bot.RefusedHere
	}
	if !a.gate.Allows(cmd.UserID, nil) {
		return bot.RefusedUser
	}
	return ""
}

// runCommand calls the Handler and answers within the ack deadline: the
// reply goes in the ack when it comes within CommandWait, else the
// envelope is acked empty and the reply goes to the response_url.
func (d *dispatch) runCommand(ctx context.Context, req *socketmode.Request, cmd slack.SlashCommand) {
	a := d.a
	name, args := parseCommand(cmd.Text)
	a.mu.Lock()
	team := a.team
	a.mu.Unlock()
	if cmd.TeamID != "" {
		team = cmd.TeamID
	}
	to := bot.Target{Platform: bot.Slack, Space: team, Channel: cmd.ChannelID}
	if strings.HasPrefix(cmd.ChannelID, "D") {
		to.User = cmd.UserID
	}
	c := bot.Command{Agent: a.cfg.Agent, Name: name, Args: args, Target: to, User: bot.User{ID: cmd.UserID, Name: cmd.UserName}}

	acked := false
	if name == "ask" && to.User == "" {
		// The prompt is not visible in the channel: post it, and answer in
		// its thread, which becomes the conversation.
		d.ack(ctx, req, nil)
		acked = true
		head := bot.Message{Text: "<@" + cmd.UserID + "> asked: " + args}
		if ref, err := a.postRaw(ctx, to, head); err != nil {
			a.log.Warn("slack post slash prompt", "err", err)
		} else {
			c.Target.Thread = ref.ID
			a.threads.add(to.Channel + ":" + ref.ID)
		}
	}

	done := make(chan bot.Reply, 1)
	d.wg.Go(func() { done <- d.h.HandleCommand(ctx, c) })
	var reply bot.Reply
	if !acked {
		timer := time.NewTimer(a.cfg.CommandWait)
		select {
		case reply = <-done:
			timer.Stop()
			if p, ok := commandPayload(reply); ok && d.ack(ctx, req, p) {
				return
			}
			d.ack(ctx, req, nil)
			d.respond(ctx, cmd, reply)
			return
		case <-timer.C:
			d.ack(ctx, req, nil)
		case <-ctx.Done():
			timer.Stop()
			d.ack(ctx, req, nil)
		}
	}
	select {
	case reply = <-done:
	case <-ctx.Done():
		return
	}
	d.respond(ctx, cmd, reply)
}

// commandPayload is the ack payload for a reply that fits one message.
func commandPayload(r bot.Reply) (map[string]any, bool) {
	if len(r.Message.Buttons) > 0 || len(r.Message.Files) > 0 {
		return nil, false
	}
	parts := renderText(r.Message.Text)
	if len(parts) != 1 {
		return nil, false
	}
	p := map[string]any{"response_type": responseType(r), "text": parts[0].text, "blocks": sectionBlocks(parts[0].sections)}
	b, err := json.Marshal(p)
	if err != nil || len(b) > maxAckPayload {
		return nil, false
	}
	return p, true
}

func responseType(r bot.Reply) string {
	if r.Ephemeral {
		return slack.ResponseTypeEphemeral
	}
	return slack.ResponseTypeInChannel
}

func ephemeralPayload(text string) map[string]any {
	return map[string]any{"response_type": slack.ResponseTypeEphemeral, "text": escape(text)}
}

// respond posts a command's reply to its response_url, one message per
// part (Slack takes up to five).
func (d *dispatch) respond(ctx context.Context, cmd slack.SlashCommand, r bot.Reply) {
	a := d.a
	parts := renderText(r.Message.Text)
	buttons, err := buttonBlocks(r.Message.Buttons)
	if err != nil {
		a.log.Warn("slack command reply buttons", "err", err)
		buttons = nil
	}
	if len(parts) == 0 && len(buttons) == 0 {
		return
	}
	if len(parts) == 0 {
		parts = []part{{sections: []string{fallback}}}
	}
	for i, p := range parts {
		var btn []slack.Block
		if i == len(parts)-1 {
			btn = buttons
		}
		opts := append(messageOptions(p, btn), slack.MsgOptionResponseURL(cmd.ResponseURL, responseType(r)))
		if _, _, err := a.api.PostMessageContext(ctx, cmd.ChannelID, opts...); err != nil {
			a.log.Warn("slack command reply via response_url", "command", cmd.Command, "err", err)
			return
		}
	}
}

// postRaw posts m without touching the typing reaction.
func (a *Adapter) postRaw(ctx context.Context, to bot.Target, m bot.Message) (bot.MessageRef, error) {
	parts := renderText(m.Text)
	if len(parts) == 0 {
		parts = []part{{sections: []string{fallback}}}
	}
	opts := messageOptions(parts[0], nil)
	if to.Thread != "" {
		opts = append(opts, slack.MsgOptionTS(to.Thread))
	}
	_, ts, err := a.api.PostMessageContext(ctx, to.Channel, opts...)
	return bot.MessageRef{Target: to, ID: ts}, err
}

// notice shows text to user only (chat.postEphemeral), in thread when set.
// A plain DM message is used instead when ephemeral is false.
func (d *dispatch) notice(ctx context.Context, channel, thread, user, text string, ephemeral bool) {
	opts := []slack.MsgOption{slack.MsgOptionText(Mrkdwn(text), false)}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	var err error
	if ephemeral {
		_, err = d.a.api.PostEphemeralContext(ctx, channel, user, opts...)
	} else {
		_, _, err = d.a.api.PostMessageContext(ctx, channel, opts...)
	}
	if err != nil {
		d.a.log.Warn("slack notice", "channel", channel, "err", err)
	}
}
