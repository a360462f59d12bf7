package discord_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/bot/discord"
)

func TestSetupHelp(t *testing.T) {
	b := srv.AddBot("setupbot") // a token with Discord's shape
	var out bytes.Buffer
	if err := discord.SetupHelp(&out, "garden", b.Token, "GARDEN_DISCORD_BOT_TOKEN"); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	perms := strconv.FormatInt(discord.Permissions, 10)
	for _, want := range []string{
		"https://discord.com/oauth2/authorize?client_id=" + b.AppID + "&scope=bot+applications.commands&permissions=" + perms,
		"Message Content", "privileged", "GARDEN_DISCORD_BOT_TOKEN=<bot token>", "bot_token_env: GARDEN_DISCORD_BOT_TOKEN",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("setup help lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, b.Token) || strings.Contains(s, strings.SplitN(b.Token, ".", 3)[2]) {
		t.Error("setup help prints the token")
	}
	// The bits as Discord's permissions table numbers them, so a wrong
	// constant in discordgo or an extra permission shows up here.
	const want = 1<<10 | 1<<11 | 1<<38 | 1<<16 | 1<<6 | 1<<15 // view, send, send in threads, history, react, attach
	if discord.Permissions != want {
		t.Errorf("permissions %d, want %d (view, send, send in threads, history, react, attach)", discord.Permissions, int64(want))
	}
	for name, bit := range map[string]int64{"Embed Links": 1 << 14, "Use Application Commands": 1 << 31,
		"Administrator": 1 << 3, "Mention Everyone": 1 << 17, "Manage Messages": 1 << 13} {
		if discord.Permissions&bit != 0 {
			t.Errorf("invite asks for %s, which herdbot does not use", name)
		}
	}
	if strings.Contains(s, "Embed Links") || strings.Contains(s, "Use Application Commands") {
		t.Errorf("setup help still lists permissions it does not ask for:\n%s", s)
	}

	out.Reset()
	if err := discord.SetupHelp(&out, "garden", "", "GARDEN_DISCORD_BOT_TOKEN"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "client_id=CLIENT_ID") {
		t.Errorf("no placeholder without a token:\n%s", out.String())
	}
	for _, tok := range []string{"not-base64!.x.y", "aGVsbG8.x.y", "...."} {
		if id := discord.ClientID(tok); id != "" {
			t.Errorf("ClientID(%q) = %q, want empty", tok, id)
		}
	}
	if id := discord.ClientID("Bot " + b.Token); id != b.AppID {
		t.Errorf("ClientID with Bot prefix = %q, want %q", id, b.AppID)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestSetupHelpWriteError(t *testing.T) {
	if err := discord.SetupHelp(failWriter{}, "garden", "", "X"); err == nil {
		t.Fatal("no error from a failing writer")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := discord.New(discord.Config{Agent: "garden"}, testLog(t)); err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("New without token: %v", err)
	}
	if _, err := discord.New(discord.Config{Agent: "garden", Token: "x"}, nil); err == nil {
		t.Error("New with a nil logger succeeded")
	}
}
