package slack_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/herdbot/herdbot/bot/slack"
)

func TestManifestParsesAndNamesCommandAndScopes(t *testing.T) {
	var buf bytes.Buffer
	if err := slack.Manifest(&buf, "garden", "/garden", "Tends the garden"); err != nil {
		t.Fatal(err)
	}
	var m struct {
		DisplayInformation struct{ Name, Description string } `yaml:"display_information"`
		Features           struct {
			SlashCommands []struct{ Command string } `yaml:"slash_commands"`
		}
		OAuthConfig struct {
			Scopes struct{ Bot []string }
		} `yaml:"oauth_config"`
		Settings struct {
			EventSubscriptions struct {
				BotEvents []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				IsEnabled bool `yaml:"is_enabled"`
			}
			SocketModeEnabled bool `yaml:"socket_mode_enabled"`
		}
	}
	if err := yaml.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("manifest is not YAML: %v", err)
	}
	if m.DisplayInformation.Name != "garden" || m.DisplayInformation.Description != "Tends the garden" {
		t.Fatalf("display = %+v", m.DisplayInformation)
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/garden" {
		t.Fatalf("slash commands = %+v", m.Features.SlashCommands)
	}
	want := []string{"app_mentions:read", "chat:write", "im:history", "channels:history",
		"groups:history", "commands", "reactions:write", "files:write", "files:read"}
	for _, s := range want {
		if !slices.Contains(m.OAuthConfig.Scopes.Bot, s) {
			t.Errorf("scope %s missing", s)
		}
	}
	// Only what herdbot uses: it never lists or opens conversations.
	for _, s := range m.OAuthConfig.Scopes.Bot {
		if !slices.Contains(want, s) {
			t.Errorf("manifest asks for scope %s, which herdbot does not use", s)
		}
	}
	for _, e := range []string{"app_mention", "message.im", "message.channels"} {
		if !slices.Contains(m.Settings.EventSubscriptions.BotEvents, e) {
			t.Errorf("event %s missing", e)
		}
	}
	if !m.Settings.SocketModeEnabled || !m.Settings.Interactivity.IsEnabled {
		t.Fatalf("settings = %+v", m.Settings)
	}
	for _, want := range []string{"# GARDEN_SLACK_BOT_TOKEN=xoxb-", "# GARDEN_SLACK_APP_TOKEN=xapp-", "connections:write"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestManifestRejectsBadInput(t *testing.T) {
	for _, c := range [][2]string{{"", "/garden"}, {"garden", "garden"}, {"garden", "/Garden"}, {"garden", "/" + strings.Repeat("g", 40)}} {
		if err := slack.Manifest(&bytes.Buffer{}, c[0], c[1], ""); err == nil {
			t.Errorf("Manifest(%q, %q): no error", c[0], c[1])
		}
	}
	if bot, app := slack.EnvNames("my-agent.2"); bot != "MY_AGENT_2_SLACK_BOT_TOKEN" || app != "MY_AGENT_2_SLACK_APP_TOKEN" {
		t.Fatalf("EnvNames = %s %s", bot, app)
	}
}

// TestManifestScopesMatchCalls ties the scopes to the Web API methods the
// adapter calls: every chat/reactions/files/conversations method named in
// the package's code needs a scope in BotScopes, and im:read / im:write
// (conversations.list / conversations.open for DMs) are asked for only if
// such a call appears.
func TestManifestScopesMatchCalls(t *testing.T) {
	src := readPackageSource(t)
	need := map[string]string{
		"PostMessageContext": "chat:write", "UpdateMessageContext": "chat:write", "PostEphemeralContext": "chat:write",
		"AddReactionContext": "reactions:write", "RemoveReactionContext": "reactions:write",
		"UploadFileContext": "files:write", "GetFileContext": "files:read",
		"OpenConversation": "im:write", "GetConversations": "im:read", "GetConversationInfo": "im:read",
	}
	for call, scope := range need {
		used := strings.Contains(src, "."+call)
		if used != slices.Contains(slack.BotScopes, scope) && (scope != "chat:write" || used) {
			t.Errorf("%s used=%v but scope %s asked=%v", call, used, scope, slices.Contains(slack.BotScopes, scope))
		}
	}
}

func TestManifestSanitisesDisplayNameAndCommand(t *testing.T) {
	for in, want := range map[string]string{
		"garden":                 "garden",
		"Ops <@U123> bot: #1":    "Ops U123 bot 1",
		"a\tb\nc":                "a b c",
		"@@@":                    "herdbot",
		strings.Repeat("x", 90):  strings.Repeat("x", 80),
		"élan-vital_2.0 O'Brien": "élan-vital_2.0 O'Brien",
	} {
		if got := slack.DisplayName(in); got != want {
			t.Errorf("DisplayName(%q) = %q, want %q", in, got, want)
		}
	}

	long := "Garden-" + strings.Repeat("tender", 6) // 43 characters: too long for a command
	var buf bytes.Buffer
	if err := slack.Manifest(&buf, long, "", ""); err != nil {
		t.Fatalf("Manifest for a name that is not a command: %v", err)
	}
	cmd, ok := slack.DefaultCommand(long)
	if ok || len(cmd) > 32 || cmd != strings.ToLower("/" + long)[:32] {
		t.Fatalf("DefaultCommand(%q) = %q, %v", long, cmd, ok)
	}
	var m struct {
		Features struct {
			BotUser struct {
				DisplayName string `yaml:"display_name"`
			} `yaml:"bot_user"`
			SlashCommands []struct{ Command string } `yaml:"slash_commands"`
		}
	}
	if err := yaml.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("manifest is not YAML: %v", err)
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != cmd {
		t.Errorf("slash command %+v, want %s", m.Features.SlashCommands, cmd)
	}
	if !strings.Contains(buf.String(), "chat: {slack: {slash_command: "+cmd+"}}") {
		t.Errorf("manifest does not say how to set chat.slack.slash_command:\n%s", buf.String())
	}
	if m.Features.BotUser.DisplayName != long {
		t.Errorf("display name %q", m.Features.BotUser.DisplayName)
	}

	buf.Reset()
	if err := slack.Manifest(&buf, "fleet.Garden", "", ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "command: /garden") || strings.Contains(buf.String(), "slash_command:") {
		t.Errorf("a valid name gets its own command and no hint:\n%s", buf.String())
	}
	if cmd, ok := slack.DefaultCommand("x.Hello.World"); cmd != "/world" || !ok {
		t.Errorf("DefaultCommand for a sub-fleet agent = %q, %v", cmd, ok)
	}
}

// readPackageSource returns the package's non-test Go source.
func readPackageSource(t *testing.T) string {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}
