package slack

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/herdbot/herdbot/bot"
)

// dispatch turns socket mode events into Handler calls for one Run.
type dispatch struct {
	a       *Adapter
	sm      *socketmode.Client
	h       bot.Handler
	wg      *sync.WaitGroup // owned by Run
	notices *bot.Notifier   // refusals, sent off the event loop; owned by Run
}

// later sends a notice off the event loop, which must never wait for a Web
// API call (Slack may be rate-limiting it).
func (d *dispatch) later(channel, thread, user, text string, ephemeral bool) {
	d.notices.Post("slack refusal", func(ctx context.Context) error {
		d.notice(ctx, channel, thread, user, text, ephemeral)
		return nil
	})
}

func (d *dispatch) event(ctx context.Context, evt socketmode.Event) {
	log := d.a.log
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		log.Debug("slack socket connecting")
	case socketmode.EventTypeConnected:
		log.Debug("slack socket connected")
	case socketmode.EventTypeHello:
		log.Debug("slack socket hello")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		log.Warn("slack socket trouble", "type", evt.Type, "err", evt.Data)
	case socketmode.EventTypeErrorBadMessage:
		log.Warn("slack sent an unreadable envelope", "type", evt.Type)
	case socketmode.EventTypeInvalidAuth:
		log.Error("slack refused the app token")
	case socketmode.EventTypeEventsAPI:
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !d.ack(ctx, evt.Request, nil) || !ok {
			return
		}
		d.eventsAPI(ctx, evt.Request, ev)
	case socketmode.EventTypeInteractive:
		d.interactive(ctx, evt)
	case socketmode.EventTypeSlashCommand:
		d.slash(ctx, evt)
	default:
		if evt.Request != nil {
			d.ack(ctx, evt.Request, nil)
		}
		log.Debug("slack event ignored", "type", evt.Type)
	}
}

// ack acknowledges req (once: every envelope reaches one ack call).
func (d *dispatch) ack(ctx context.Context, req *socketmode.Request, payload any) bool {
	if req == nil || req.EnvelopeID == "" {
		return false
	}
	if err := d.sm.AckCtx(ctx, req.EnvelopeID, payload); err != nil {
		d.a.log.Warn("slack ack", "envelope", req.EnvelopeID, "err", err)
		return false
	}
	return true
}

// inMsg is an inbound message from either an app_mention or a message
// event.
type inMsg struct {
	channel, channelType    string
	user, text, ts, thread  string
	botID, subType, eventID string
	appMention              bool
	files                   []slack.File // shared with the message
}

func (d *dispatch) eventsAPI(ctx context.Context, req *socketmode.Request, ev slackevents.EventsAPIEvent) {
	a := d.a
	var m inMsg
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
		m.eventID = cb.EventID
	}
	if m.eventID != "" && !a.seen.add("ev:"+m.eventID) {
		a.log.Debug("slack event redelivered, already handled", "event", m.eventID, "retry", req.RetryAttempt)
		return
	}
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.AppMentionEvent:
		m = inMsg{channel: e.Channel, user: e.User, text: e.Text, ts: e.TimeStamp, thread: e.ThreadTimeStamp,
			botID: e.BotID, eventID: m.eventID, appMention: true, files: e.Files}
		if strings.HasPrefix(e.Channel, "D") {
			m.channelType = "im"
		}
	case *slackevents.MessageEvent:
		m = inMsg{channel: e.Channel, channelType: e.ChannelType, user: e.User, text: e.Text, ts: e.TimeStamp,
			thread: e.ThreadTimeStamp, botID: e.BotID, subType: e.SubType, eventID: m.eventID}
		if e.Message != nil {
			m.files = e.Message.Files
		}
	default:
		a.log.Debug("slack event type ignored", "type", ev.InnerEvent.Type)
		return
	}
	in, v := a.route(m)
	switch v {
	case verdictHandle:
		d.h.HandleMessage(ctx, in)
	case verdictDenyDM:
		if a.gate.Tell(m.user, time.Now()) {
			d.later(m.channel, "", m.user, bot.RefusedDM, false)
		}
	case verdictDenyUser:
		if a.gate.Tell(m.user, time.Now()) {
			d.later(m.channel, m.thread, m.user, bot.RefusedUser, true)
		}
	}
}

// verdict is what route decides about an inbound message.
type verdict int

const (
	verdictIgnore   verdict = iota // not for us (bot, other channel, no mention, duplicate)
	verdictHandle                  // deliver to the Handler
	verdictDenyDM                  // a DM from someone not allowlisted
	verdictDenyUser                // a mention from a user not allowed
)

// route applies the access and routing rules to an inbound message and
// returns the Inbound to deliver.
func (a *Adapter) route(m inMsg) (bot.Inbound, verdict) {
	a.mu.Lock()
	botUser, team := a.botUser, a.team
	a.mu.Unlock()
	switch {
	case m.botID != "" || m.user == "" || m.user == botUser:
		return bot.Inbound{}, verdictIgnore // bots, ourselves, system messages
	case m.subType != "" && m.subType != "thread_broadcast" && m.subType != "file_share":
		return bot.Inbound{}, verdictIgnore // edits, deletes, joins
	}
	mention := "<@" + botUser + ">"
	mentioned := m.appMention || (botUser != "" && strings.Contains(m.text, mention))
	to := bot.Target{Platform: bot.Slack, Space: team, Channel: m.channel}

	if m.channelType == "im" {
		if !a.gate.AllowsDM(m.user) {
			return bot.Inbound{}, verdictDenyDM
		}
		to.Thread, to.User = m.thread, m.user
	} else {
		ch, configured := a.channels[m.channel]
		switch {
		case !configured && len(a.channels) > 0:
			return bot.Inbound{}, verdictIgnore
		case !configured:
			ch.Mode = ModeMention
		}
		inThread := m.thread != "" && a.threads.has(m.channel+":"+m.thread)
		if ch.Mode != ModeAuto && !mentioned && !inThread {
			return bot.Inbound{}, verdictIgnore
		}
		if !a.gate.Allows(m.user, nil) {
			if mentioned && a.seen.add("deny:"+m.channel+":"+m.ts) {
				return bot.Inbound{}, verdictDenyUser
			}
			return bot.Inbound{}, verdictIgnore
		}
		to.Thread = m.thread
		if to.Thread == "" {
			to.Thread = m.ts
		}
	}
	// A mention arrives twice (app_mention and message): handle it once.
	if !a.seen.add("msg:" + m.channel + ":" + m.ts) {
		return bot.Inbound{}, verdictIgnore
	}
	text := strings.TrimSpace(unescape(strings.ReplaceAll(m.text, mention, "")))
	if text == "" && len(m.files) == 0 {
		return bot.Inbound{}, verdictIgnore
	}
	if to.Thread != "" {
		a.threads.add(m.channel + ":" + to.Thread)
	}
	a.mu.Lock()
	a.lastIn[to.Key()] = msgRef{m.channel, m.ts}
	if len(a.lastIn) > 4096 {
		clear(a.lastIn)
		a.lastIn[to.Key()] = msgRef{m.channel, m.ts}
	}
	a.mu.Unlock()
	return bot.Inbound{Agent: a.cfg.Agent, Target: to, User: bot.User{ID: m.user}, Text: text, MessageID: m.ts,
		Attachments: a.attachments(m.files)}, verdictHandle
}
