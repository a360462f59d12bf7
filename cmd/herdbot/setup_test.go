package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/herdbot/herdbot/config"
)

// TestSetupOutput: `herdbot setup` prints the least the platforms need.
// Slack: no im:read / im:write, a display name Slack takes, and for an agent
// whose name is no valid command, a valid one with the agent.yaml line to
// set it. Discord: an invite without Embed Links or Use Application
// Commands.
func TestSetupOutput(t *testing.T) {
	var out bytes.Buffer
	long := "Greenhouse-Controller-For-The-North-Field" // 41 characters: too long for a command
	if err := setupSlack(stdio{stdout: &out}, &config.Agent{Name: long}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	cmd := "/" + strings.ToLower(long)[:31]
	for _, want := range []string{"command: " + cmd, "chat: {slack: {slash_command: " + cmd + "}}", "display_name: " + long} {
		if !strings.Contains(s, want) {
			t.Errorf("slack setup lacks %q:\n%s", want, s)
		}
	}
	for _, unwanted := range []string{"im:read", "im:write"} {
		if strings.Contains(s, unwanted) {
			t.Errorf("slack manifest asks for %s", unwanted)
		}
	}

	out.Reset()
	if err := setupSlack(stdio{stdout: &out}, &config.Agent{Name: "garden", Chat: config.Chat{Slack: &config.Slack{SlashCommand: "/tend"}}}); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "command: /tend") || strings.Contains(s, "slash_command:") {
		t.Errorf("a configured command is used as it is, with no hint:\n%s", s)
	}

	out.Reset()
	if err := setupDiscord(stdio{stdout: &out}, &config.Agent{Name: "garden"}); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "permissions=274878008384") || strings.Contains(s, "Embed Links") {
		t.Errorf("discord setup:\n%s", s)
	}
}
