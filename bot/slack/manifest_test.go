package slack_test

import (
	"bytes"
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
	for _, s := range []string{"app_mentions:read", "chat:write", "im:history", "im:read", "im:write", "channels:history",
		"groups:history", "commands", "reactions:write", "files:write"} {
		if !slices.Contains(m.OAuthConfig.Scopes.Bot, s) {
			t.Errorf("scope %s missing", s)
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
