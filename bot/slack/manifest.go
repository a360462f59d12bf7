package slack

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// BotScopes are the bot token scopes the manifest asks for.
var BotScopes = []string{
	"app_mentions:read", "chat:write", "im:history", "im:read", "im:write",
	"channels:history", "groups:history", "commands", "reactions:write", "files:write",
	"files:read", // to download the files people share with a message (url_private)
}

// BotEvents are the events the manifest subscribes to.
var BotEvents = []string{"app_mention", "message.im", "message.channels", "message.groups"}

var reCommand = regexp.MustCompile(`^/[a-z0-9][a-z0-9_-]{0,30}$`)

// EnvNames returns the .env variable names that hold agent's bot and app
// tokens: GARDEN_SLACK_BOT_TOKEN, GARDEN_SLACK_APP_TOKEN.
func EnvNames(agent string) (botToken, appToken string) {
	up := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, agent)
	return up + "_SLACK_BOT_TOKEN", up + "_SLACK_APP_TOKEN"
}

type manifest struct {
	DisplayInformation struct {
		Name        string `yaml:"name"`
		Description string `yaml:"description,omitempty"`
	} `yaml:"display_information"`
	Features struct {
		AppHome struct {
			MessagesTab         bool `yaml:"messages_tab_enabled"`
			MessagesTabReadOnly bool `yaml:"messages_tab_read_only_enabled"`
		} `yaml:"app_home"`
		BotUser struct {
			DisplayName  string `yaml:"display_name"`
			AlwaysOnline bool   `yaml:"always_online"`
		} `yaml:"bot_user"`
		SlashCommands []slashCommand `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		EventSubscriptions struct {
			BotEvents []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			IsEnabled bool `yaml:"is_enabled"`
		} `yaml:"interactivity"`
		OrgDeployEnabled     bool `yaml:"org_deploy_enabled"`
		SocketModeEnabled    bool `yaml:"socket_mode_enabled"`
		TokenRotationEnabled bool `yaml:"token_rotation_enabled"`
	} `yaml:"settings"`
}

type slashCommand struct {
	Command      string `yaml:"command"`
	Description  string `yaml:"description"`
	UsageHint    string `yaml:"usage_hint"`
	ShouldEscape bool   `yaml:"should_escape"`
}

// Manifest writes a ready Slack app manifest (YAML) for agent: Socket Mode
// on, the bot scopes and events herdbot needs, interactivity on, and the
// slash command (e.g. "/garden"). After it, as YAML comments, come the
// steps and the .env lines for the agent's directory. The whole output
// parses as YAML.
func Manifest(w io.Writer, agent, command, description string) error {
	if strings.TrimSpace(agent) == "" {
		return errors.New("slack manifest: agent name is empty")
	}
	if !reCommand.MatchString(command) {
		return fmt.Errorf("slack manifest: command %q: want / and up to 31 lowercase letters, digits, - or _", command)
	}
	if description == "" {
		description = "herdbot agent " + agent
	}
	name := clip(agent, 35)
	var m manifest
	m.DisplayInformation.Name = strings.TrimSuffix(name, "…")
	m.DisplayInformation.Description = strings.TrimSuffix(clip(description, 139), "…")
	m.Features.AppHome.MessagesTab = true
	m.Features.BotUser.DisplayName = m.DisplayInformation.Name
	m.Features.BotUser.AlwaysOnline = true
	m.Features.SlashCommands = []slashCommand{{
		Command:     command,
		Description: strings.TrimSuffix(clip("Ask "+agent+", or reset, status, stop, sessions, help", 99), "…"),
		UsageHint:   "[prompt] | reset | status | stop | sessions | help",
	}}
	m.OAuthConfig.Scopes.Bot = BotScopes
	m.Settings.EventSubscriptions.BotEvents = BotEvents
	m.Settings.Interactivity.IsEnabled = true
	m.Settings.SocketModeEnabled = true

	botEnv, appEnv := EnvNames(agent)
	var b strings.Builder
	fmt.Fprintf(&b, "# Slack app manifest for herdbot agent %q.\n", agent)
	b.WriteString("# 1. https://api.slack.com/apps → Create New App → From a manifest → paste this YAML.\n")
	b.WriteString("# 2. Basic Information → App-Level Tokens → Generate, scope connections:write (xapp-…).\n")
	b.WriteString("# 3. Install App → copy the Bot User OAuth Token (xoxb-…).\n")
	b.WriteString("# 4. Put both in the agent's own .env (lines at the end), invite the bot to its channels.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&m); err != nil {
		return fmt.Errorf("slack manifest: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("slack manifest: %w", err)
	}
	fmt.Fprintf(&b, "# --- %s/.env ---\n", agent)
	fmt.Fprintf(&b, "# %s=xoxb-…   (Bot User OAuth Token)\n", botEnv)
	fmt.Fprintf(&b, "# %s=xapp-…   (App-Level Token with connections:write)\n", appEnv)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("slack manifest: %w", err)
	}
	return nil
}
