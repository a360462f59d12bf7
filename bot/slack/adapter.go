// Package slack connects one agent's Slack app to herdbot over Socket Mode
// (slack-go): app mentions, DMs, channel messages and thread replies in,
// replies in the thread that started the run; a slash command per agent;
// approval buttons in Block Kit; Markdown converted to mrkdwn within Block
// Kit's limits. No public URL is needed: the app token (xapp) opens the
// socket and the bot token (xoxb) calls the Web API.
package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"golang.org/x/time/rate"

	"github.com/herdbot/herdbot/bot"
)

// Interface guards.
var (
	_ bot.Adapter = (*Adapter)(nil)
	_ bot.Limiter = (*Adapter)(nil)
	_ bot.Typer   = (*Adapter)(nil)
)

// Adapter is one agent's Slack app. Create it with New, then call Run.
// Send, Edit and Typing may be called before, during and after Run.
type Adapter struct {
	cfg      Config
	log      *slog.Logger
	api      *slack.Client
	channels map[string]Channel
	gate     *bot.Gate     // who may talk to the agent: the same rules as every adapter's
	updates  *rate.Limiter // chat.update is Tier 3: keep the whole app under it

	mu       sync.Mutex
	botUser  string // bot user id, from auth.test
	botID    string
	team     string
	seen     *recent           // event ids, trigger ids, channel:ts already handled
	threads  *recent           // channel:thread_ts the bot takes part in
	lastIn   map[string]msgRef // conversation key → message being answered
	reaction map[string]msgRef // conversation key → message carrying the typing reaction
}

// msgRef is a message by channel and ts.
type msgRef struct{ channel, ts string }

// New validates cfg and returns an adapter; it does not connect (Run does).
// Errors never contain the tokens.
func New(cfg Config, log *slog.Logger) (*Adapter, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Adapter{
		cfg:      cfg,
		log:      log.With("component", "bot.slack", "agent", cfg.Agent),
		channels: map[string]Channel{},
		gate:     bot.NewGate(bot.Access{Users: cfg.AllowedUsers, DMs: cfg.DM.Enabled, DMUsers: cfg.DM.Allowlist}),
		seen:     newRecent(4096),
		threads:  newRecent(4096),
		lastIn:   map[string]msgRef{},
		reaction: map[string]msgRef{},
		updates:  rate.NewLimiter(rate.Every(UpdateEvery), UpdateBurst),
	}
	for _, ch := range cfg.Channels {
		if ch.Mode == "" {
			ch.Mode = ModeMention
		}
		a.channels[ch.ID] = ch
	}
	a.api = slack.New(cfg.BotToken,
		slack.OptionAppLevelToken(cfg.AppToken),
		slack.OptionAPIURL(cfg.APIURL),
		slack.OptionHTTPClient(cfg.HTTPClient),
		slack.OptionRetry(3),
	)
	return a, nil
}

// chat.update is a Tier 3 method: 50+ calls a minute per app. Edit keeps
// every stream, card and notice of the agent under that together, with a
// small burst; a 429 anyway (another process with the same app) is retried
// after Retry-After by slack-go.
const (
	UpdateEvery = time.Minute / 50
	UpdateBurst = 3
)

// Limits implements bot.Limiter: Markdown chunks the renderer sends stay
// below MaxMessageText with room for mrkdwn escaping; Send splits anything
// longer into several messages anyway.
func (a *Adapter) Limits() bot.Limits {
	return bot.Limits{MaxText: MaxMessageText - markdownHeadroom}
}

// Run checks the bot token (auth.test), opens the Socket Mode connection
// and delivers events to h until ctx is done. slack-go reconnects on
// disconnect envelopes and dropped sockets. It returns nil on clean
// shutdown, an error when the tokens are refused.
func (a *Adapter) Run(ctx context.Context, h bot.Handler) error {
	auth, err := a.api.AuthTestContext(ctx)
	if err != nil {
		return fmt.Errorf("slack auth.test for agent %s: %w", a.cfg.Agent, err)
	}
	a.mu.Lock()
	a.botUser, a.botID, a.team = auth.UserID, auth.BotID, auth.TeamID
	a.mu.Unlock()
	a.log.Info("slack connected", "bot_user", auth.UserID, "team", auth.TeamID)

	var opts []socketmode.Option
	if a.cfg.PingTimeout > 0 {
		opts = append(opts, socketmode.OptionPingInterval(a.cfg.PingTimeout))
	}
	sm := socketmode.New(a.api, opts...)

	notices := &bot.Notifier{Log: a.log}
	defer notices.Close() // runs after the handler goroutines are done: they may post
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup // the socket and every handler goroutine
	defer func() {
		cancel()
		wg.Wait()
	}()
	smErr := make(chan error, 1)
	wg.Go(func() { smErr <- sm.RunContext(runCtx) })

	d := &dispatch{a: a, sm: sm, h: h, wg: &wg, notices: notices}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-smErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack socket mode for agent %s: %w", a.cfg.Agent, err)
		case evt := <-sm.Events:
			d.event(runCtx, evt)
		}
	}
}

// Send posts m at to: Markdown as mrkdwn sections (several messages when
// long), buttons on the last message, files uploaded into the same thread.
// The returned ref is the last message (the one with the buttons); a
// message of files only posts no text and returns a ref without an ID.
// Slack's errors come back wrapped with the method name; 429s are retried
// after Retry-After.
func (a *Adapter) Send(ctx context.Context, to bot.Target, m bot.Message) (bot.MessageRef, error) {
	if to.Channel == "" {
		return bot.MessageRef{}, errors.New("slack send: target has no channel")
	}
	if to.Platform != "" && to.Platform != bot.Slack {
		return bot.MessageRef{}, fmt.Errorf("slack send: target is on %s", to.Platform)
	}
	to.Platform = bot.Slack
	defer a.clearTyping(ctx, to)

	buttons, err := buttonBlocks(m.Buttons)
	if err != nil {
		return bot.MessageRef{}, fmt.Errorf("slack send: %w", err)
	}
	parts := renderText(m.Text)
	if len(parts) == 0 && (len(buttons) > 0 || len(m.Files) == 0) {
		parts = []part{{sections: []string{fallback}}}
	}
	ref := bot.MessageRef{Target: to}
	for i, p := range parts {
		var btn []slack.Block
		if i == len(parts)-1 {
			btn = buttons
		}
		opts := messageOptions(p, btn)
		if to.Thread != "" {
			opts = append(opts, slack.MsgOptionTS(to.Thread))
		}
		_, ts, err := a.api.PostMessageContext(ctx, to.Channel, opts...)
		if err != nil {
			return ref, fmt.Errorf("slack chat.postMessage (part %d of %d): %w", i+1, len(parts), err)
		}
		ref.ID = ts
	}
	if err := a.upload(ctx, to, m.Files); err != nil {
		return ref, err
	}
	return ref, nil
}

// Edit replaces the message at ref (chat.update). Text past one message is
// truncated; buttons are replaced by m's (removed when m has none); files
// are posted in the thread.
func (a *Adapter) Edit(ctx context.Context, ref bot.MessageRef, m bot.Message) error {
	if ref.Target.Channel == "" || ref.ID == "" {
		return errors.New("slack edit: ref has no channel or ts")
	}
	buttons, err := buttonBlocks(m.Buttons)
	if err != nil {
		return fmt.Errorf("slack edit: %w", err)
	}
	p := part{sections: []string{fallback}}
	if md := Mrkdwn(m.Text); md != "" {
		text := truncate(md, MaxMessageText)
		p = part{text: text, sections: bot.Split(text, MaxSectionText)}
	}
	opts := messageOptions(p, buttons)
	if err := a.updates.Wait(ctx); err != nil {
		return fmt.Errorf("slack chat.update: %w", err)
	}
	if _, _, _, err := a.api.UpdateMessageContext(ctx, ref.Target.Channel, ref.ID, opts...); err != nil {
		return fmt.Errorf("slack chat.update: %w", err)
	}
	return a.upload(ctx, ref.Target, m.Files)
}

func (a *Adapter) upload(ctx context.Context, to bot.Target, files []bot.File) error {
	for _, f := range files {
		if len(f.Data) == 0 {
			continue
		}
		name := f.Name
		if name == "" {
			name = "output.txt"
		}
		_, err := a.api.UploadFileContext(ctx, slack.UploadFileParameters{
			Filename: name, Title: name, FileSize: len(f.Data), Reader: bytes.NewReader(f.Data),
			Channel: to.Channel, ThreadTimestamp: to.Thread,
		})
		if err != nil {
			return fmt.Errorf("slack upload %s: %w", name, err)
		}
	}
	return nil
}

// Typing implements bot.Typer: Slack has no typing indicator for bots, so
// the message being answered gets a reaction (Config.TypingEmoji) until the
// next Send to the same conversation removes it.
func (a *Adapter) Typing(ctx context.Context, to bot.Target) error {
	to.Platform = bot.Slack
	key := to.Key()
	a.mu.Lock()
	if _, on := a.reaction[key]; on {
		a.mu.Unlock()
		return nil
	}
	ref, ok := a.lastIn[key]
	if !ok && to.Thread != "" {
		ref, ok = msgRef{to.Channel, to.Thread}, true
	}
	if !ok {
		a.mu.Unlock()
		return nil
	}
	a.reaction[key] = ref
	a.mu.Unlock()
	err := a.api.AddReactionContext(ctx, a.cfg.TypingEmoji, slack.NewRefToMessage(ref.channel, ref.ts))
	if err != nil && !isSlackError(err, "already_reacted") {
		a.mu.Lock()
		delete(a.reaction, key)
		a.mu.Unlock()
		return fmt.Errorf("slack reactions.add: %w", err)
	}
	return nil
}

// clearTyping removes the typing reaction of to's conversation, if any.
func (a *Adapter) clearTyping(ctx context.Context, to bot.Target) {
	key := to.Key()
	a.mu.Lock()
	ref, on := a.reaction[key]
	delete(a.reaction, key)
	a.mu.Unlock()
	if !on {
		return
	}
	err := a.api.RemoveReactionContext(ctx, a.cfg.TypingEmoji, slack.NewRefToMessage(ref.channel, ref.ts))
	if err != nil && !isSlackError(err, "no_reaction") {
		a.log.Debug("remove typing reaction", "err", err)
	}
}

func isSlackError(err error, code string) bool {
	var se slack.SlackErrorResponse
	return errors.As(err, &se) && se.Err == code
}
