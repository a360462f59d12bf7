package discord_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herdbot/herdbot/agents/claude/claudetest/fakecli"
	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/bottest"
	"github.com/herdbot/herdbot/bot/discord"
	"github.com/herdbot/herdbot/bot/discord/discordtest"
)

// srv is the fake Discord every test in this package uses: discordgo's
// endpoints are process globals, so it is installed once. Tests isolate by
// creating their own bot, guild, channels and users on it.
var srv *discordtest.Server

func TestMain(m *testing.M) {
	fakecli.RunIfRequested() // the fake Claude CLI of the fleet benchmarks (re-exec)
	srv = discordtest.NewServer(discordtest.Options{Now: fakeNow.now})
	restore := srv.Install()
	code := m.Run()
	// Whatever a test sent, no message may have been able to ping
	// @everyone, @here or a role: agent text is hostile.
	for _, r := range srv.MentionRisks() {
		fmt.Fprintf(os.Stderr, "FAIL: %s %s could ping: %s\n", r.Method, r.Path, r.Reason)
		code = 1
	}
	restore()
	srv.Close()
	os.Exit(code)
}

const wait = 10 * time.Second

// skewClock is the fake's clock: real time plus a skew a test can move
// forward (interaction tokens expiring after 15 minutes, say). It never
// goes back, so later tests see a consistent clock.
type skewClock struct{ skew atomic.Int64 }

func (c *skewClock) now() time.Time          { return time.Now().Add(time.Duration(c.skew.Load())) }
func (c *skewClock) advance(d time.Duration) { c.skew.Add(int64(d)) }

var fakeNow skewClock

// newRecorder returns a recording handler whose default command reply is
// "ok <name>", public for /ask and ephemeral for the rest.
func newRecorder() *bottest.Recorder {
	return bottest.NewRecorder().OnCommand(func(c bot.Command) bot.Reply {
		return bot.Reply{Message: bot.Message{Text: "ok " + c.Name}, Ephemeral: c.Name != "ask"}
	})
}

// world is one test's corner of the fake: a bot in a guild with a mention
// channel, an auto channel, a role the bot holds, and two people.
type world struct {
	bot            *discordtest.Bot
	guild          string
	general, auto  string
	botRole, staff string
	alice, bob     discordtest.User
}

var seq atomic.Int64

func newWorld() *world {
	n := seq.Add(1)
	w := &world{bot: srv.AddBot(fmt.Sprintf("garden%d", n))}
	w.guild = srv.AddGuild(fmt.Sprintf("home%d", n))
	w.botRole = srv.AddRole(w.guild, "garden-bot")
	w.staff = srv.AddRole(w.guild, "staff")
	srv.AddMember(w.guild, w.bot.User.ID, w.botRole)
	w.general = srv.AddChannel(w.guild, "general")
	w.auto = srv.AddChannel(w.guild, "garden")
	w.alice = srv.AddUser("alice")
	w.bob = srv.AddUser("bob")
	srv.AddMember(w.guild, w.alice.ID, w.staff)
	srv.AddMember(w.guild, w.bob.ID)
	return w
}

// config is the world's default adapter config: general in mention mode,
// the garden channel in auto mode.
func (w *world) config() discord.Config {
	return discord.Config{
		Agent: "garden",
		Token: w.bot.Token,
		Guilds: []discord.Guild{{ID: w.guild, DefaultMode: discord.ModeMention,
			Channels: []discord.Channel{{ID: w.auto, Mode: discord.ModeAuto}}}},
	}
}

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// run starts an adapter and waits until it is connected and its commands
// are registered; cleanup stops it and checks Run's error.
func run(t *testing.T, w *world, cfg discord.Config, h bot.Handler) *discord.Adapter {
	t.Helper()
	a, err := discord.New(cfg, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	guild := ""
	if cfg.CommandScope != discord.ScopeGlobal && len(cfg.Guilds) > 0 {
		guild = cfg.Guilds[0].ID
	}
	if !srv.WaitFor(wait, func() bool { return w.bot.Ready() && len(srv.Commands(w.bot, guild)) == 9 }) {
		t.Fatal("adapter did not connect and register its commands")
	}
	return a
}

// mention is how Discord writes a mention of the bot.
func (w *world) mention() string { return "<@" + w.bot.User.ID + ">" }

// botMessages returns the messages the bot posted in a channel.
func (w *world) botMessages(ch string) []discordtest.Message {
	var out []discordtest.Message
	for _, m := range srv.Messages(ch) {
		if m.Author.ID == w.bot.User.ID {
			out = append(out, m)
		}
	}
	return out
}
