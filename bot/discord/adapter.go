// Package discord connects one agent's Discord bot to herdbot through
// discordgo: one gateway session per agent, routing of mentions, auto
// channels, threads and DMs with access checks, slash commands, approval
// buttons, and sending/editing replies within Discord's limits.
package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/herdbot/herdbot/bot"
)

// MaxText is Discord's limit on message content, in characters.
const MaxText = 2000

// Log keys.
const (
	logChannel = "channel"
	logUser    = "user"
	logErr     = "err"
)

// Intents the adapter asks for. Message Content is privileged: it must be
// switched on in the Developer Portal (see SetupHelp).
const Intents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessages |
	discordgo.IntentsDirectMessages | discordgo.IntentMessageContent

// Adapter is one agent's Discord bot. It implements bot.Adapter, bot.Typer
// and bot.Limiter. Send, Edit, Typing and React work before and during Run.
type Adapter struct {
	cfg    Config
	log    *slog.Logger
	s      *discordgo.Session
	policy *policy

	dropped chan struct{} // the gateway connection closed (Disconnect event)

	mu      sync.Mutex
	me      string // bot user id, from READY
	appID   string // application id, from READY
	running bool
	closing bool
	// noContent: Discord refused the Message Content intent (close 4014),
	// so guild messages that do not mention the bot arrive empty.
	noContent bool
	wg        sync.WaitGroup // event goroutines

	notices bot.Notifier // refusals, sent off the inbound queue
}

var (
	_ bot.Adapter = (*Adapter)(nil)
	_ bot.Typer   = (*Adapter)(nil)
	_ bot.Limiter = (*Adapter)(nil)
)

// New validates cfg and prepares the bot's session; nothing connects until
// Run.
func New(cfg Config, log *slog.Logger) (*Adapter, error) {
	if log == nil {
		return nil, errors.New("discord: nil logger")
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("discord config for agent %q: %w", cfg.Agent, err)
	}
	s, err := discordgo.New("Bot " + cfg.Token)
	if err != nil {
		return nil, fmt.Errorf("discord session: %w", err)
	}
	s.Identify.Intents = Intents
	// IDENTIFY carries the bare token, as the spec's payload shows; the
	// "Bot " prefix belongs to the REST Authorization header only.
	s.Identify.Token = cfg.Token
	s.SyncEvents = true // handlers only hand off to goroutines we own
	s.LogLevel = -1     // discordgo logs through a process-global logger (and at debug, the token): keep it silent
	s.ShouldReconnectVoiceOnSessionError = false
	// Run reconnects itself (see serve), so that no reconnect can
	// outlive Run: discordgo's own loop runs on a goroutine nobody waits
	// for and reads this field without a lock, so it is set once, here.
	s.ShouldReconnectOnError = false
	s.State.MaxMessageCount = 0
	s.State.TrackPresences = false
	s.State.TrackVoice = false
	s.State.TrackEmojis = false
	a := &Adapter{cfg: cfg, log: log.With("component", "bot.discord", "agent", cfg.Agent), s: s,
		dropped: make(chan struct{}, 1)}
	a.policy = newPolicy(&a.cfg, a.self)
	a.notices.Log = a.log
	return a, nil
}

// self returns the bot's user id ("" before READY).
func (a *Adapter) self() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.me
}

// Limits reports Discord's message limits.
func (a *Adapter) Limits() bot.Limits { return bot.Limits{MaxText: MaxText} }

// Run connects to the gateway, registers the slash commands and serves
// events until ctx is done; then it closes the session (discordgo waits 1 s
// for the close handshake) and waits for the event goroutines. Gateway drops
// are resumed by Run itself (serve), never by discordgo after Run returns.
// Run returns an error if the first connection fails; it may be called once.
func (a *Adapter) Run(ctx context.Context, h bot.Handler) error {
	a.mu.Lock()
	if a.running {
		a.mu.Unlock()
		return errors.New("discord: Run called twice")
	}
	a.running = true
	a.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Messages go through one queue so the handler sees them in gateway
	// order; interactions each get a goroutine, to be acknowledged at once.
	queue := make(chan *discordgo.Message, 256)
	a.spawn(func() {
		for {
			select {
			case m := <-queue:
				a.onMessage(ctx, h, m)
			case <-ctx.Done():
				return
			}
		}
	})
	removers := []func(){
		a.s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) {
			a.mu.Lock()
			a.me = r.User.ID
			if r.Application != nil && r.Application.ID != "" {
				a.appID = r.Application.ID
			} else {
				a.appID = r.User.ID
			}
			a.mu.Unlock()
			a.log.Info("discord ready", "bot", r.User.Username, "guilds", len(r.Guilds))
		}),
		a.s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Resumed) { a.log.Info("discord gateway resumed") }),
		a.s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) {
			a.log.Debug("discord gateway disconnected")
			select { // runs inside discordgo's Close: never block
			case a.dropped <- struct{}{}:
			default:
			}
		}),
		a.s.AddHandler(func(_ *discordgo.Session, rl *discordgo.RateLimit) {
			a.log.Warn("discord rate limited", "url", rl.URL, "retry_after", rl.RetryAfter)
		}),
		a.s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) {
			select {
			case queue <- m.Message:
			case <-ctx.Done():
			}
		}),
		a.s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) {
			a.spawn(func() { a.onInteraction(ctx, h, i.Interaction) })
		}),
	}
	defer func() {
		for _, rm := range removers {
			rm()
		}
	}()

	if err := a.open(); err != nil {
		cancel()
		a.stop()
		return fmt.Errorf("discord connect (agent %s): %w", a.cfg.Agent, err)
	}
	if err := a.registerCommands(ctx); err != nil {
		a.log.Error("discord slash commands not registered", logErr, err)
	}
	a.serve(ctx)

	// Every Open happened on this goroutine, so this Close is the last word:
	// no reconnect can follow it.
	err := a.s.Close()
	a.stop()
	if err != nil {
		return fmt.Errorf("discord close: %w", err)
	}
	return nil
}

// Gateway close codes that need the owner (not a retry).
const (
	closeAuthFailed       = 4004
	closeDisallowedIntent = 4014
)

// open makes the first gateway connection. When Discord closes it with 4014
// because the privileged Message Content intent is not switched on in the
// Developer Portal, open says so and connects without the intent: DMs,
// mentions of the bot and slash commands still work (Discord keeps their
// content), other guild messages arrive empty and are skipped.
func (a *Adapter) open() error {
	err := a.s.Open()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		return err
	}
	switch ce.Code {
	case closeAuthFailed:
		return fmt.Errorf("%w (the bot token was refused: reset it under Bot in the Developer Portal and update the agent's .env)", err)
	case closeDisallowedIntent:
		if a.s.Identify.Intents&discordgo.IntentMessageContent == 0 {
			return err
		}
		a.log.Error("discord: the Message Content intent is not enabled for this bot; switch on Bot → Privileged Gateway Intents → Message Content Intent in the Developer Portal. Until then the agent answers only DMs, messages that mention it and slash commands.")
		a.s.Identify.Intents &^= discordgo.IntentMessageContent
		a.mu.Lock()
		a.noContent = true
		a.mu.Unlock()
		return a.s.Open()
	}
	return err
}

// Reconnect back-off after a failed Open.
const (
	reconnectFirst = time.Second
	reconnectMax   = 2 * time.Minute
)

// serve waits for ctx, reopening the gateway connection whenever it drops
// (a network failure, a missed heartbeat ACK, op 7): discordgo keeps the
// session id and sequence, so Open sends RESUME and the events missed in
// between are replayed.
func (a *Adapter) serve(ctx context.Context) {
	wait := reconnectFirst
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.dropped:
		}
		for ctx.Err() == nil {
			err := a.s.Open()
			if err == nil || errors.Is(err, discordgo.ErrWSAlreadyOpen) {
				wait = reconnectFirst
				break
			}
			a.log.Warn("discord reconnect failed", logErr, err, "retry_in", wait)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			wait = min(2*wait, reconnectMax)
		}
	}
}

// stop refuses new event goroutines and waits for the running ones (they
// end with Run's ctx), then for the notices still being sent.
func (a *Adapter) stop() {
	a.mu.Lock()
	a.closing = true
	a.mu.Unlock()
	a.wg.Wait()
	a.notices.Close()
}

// spawn runs f on a goroutine that Run waits for, unless Run is closing.
func (a *Adapter) spawn(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// ids returns the bot's user and application ids (empty before READY).
func (a *Adapter) ids() (me, app string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.me, a.appID
}
