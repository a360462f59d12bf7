package slack

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode"

	yaml "go.yaml.in/yaml/v3"
)

// BotScopes are the bot token scopes the manifest asks for: exactly what
// the adapter's calls and event subscriptions need.
//   - app_mentions:read: the app_mention event.
//   - im:history, channels:history, groups:history: the message.im,
//     message.channels and message.groups events.
//   - chat:write: chat.postMessage, chat.update, chat.postEphemeral.
//   - commands: the slash command.
//   - reactions:write: reactions.add/remove (the typing reaction).
//   - files:write: files.getUploadURLExternal, files.completeUploadExternal.
//   - files:read: downloading the files people share with a message
//     (their url_private_download).
//
// Not im:read or im:write: replies go to the DM channel the event came from,
// so herdbot never lists or opens conversations (conversations.*).
var BotScopes = []string{
	"app_mentions:read", "chat:write", "im:history",
	"channels:history", "groups:history", "commands", "reactions:write", "files:write", "files:read",
}

// BotEvents are the events the manifest subscribes to.
var BotEvents = []string{"app_mention", "message.im", "message.channels", "message.groups"}

var reCommand = regexp.MustCompile(`^/[a-z0-9][a-z0-9_-]{0,30}$`)

// maxDisplayName is the manifest schema's limit for bot_user.display_name.
const maxDisplayName = 80

// DisplayName turns an agent name into a bot display name Slack accepts:
// letters, digits, spaces, dots, hyphens, underscores and apostrophes (anything else, such as
// '@', '<', ':' or a control character, becomes a space), runs of spaces
// collapsed, at most 80 characters; "herdbot" when nothing is left.
func DisplayName(agent string) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), strings.ContainsRune(".-_'", r):
			return r
		}
		return ' '
	}, agent)
	name := strings.Join(strings.Fields(clean), " ")
	if r := []rune(name); len(r) > maxDisplayName {
		name = strings.TrimSpace(string(r[:maxDisplayName]))
	}
	if name == "" {
		return "herdbot"
	}
	return name
}

// DefaultCommand is the slash command for an agent: "/" and its name (the
// part after the last '.', for agents of a sub-fleet) in lower case, as
// herdbot's config assumes when chat.slack.slash_command is not set. ok is
// false when that is not a valid Slack command (too long, or characters
// Slack does not take); cmd is then a valid one made from the name, to be
// set as chat.slack.slash_command.
func DefaultCommand(agent string) (cmd string, ok bool) {
	name := strings.ToLower(agent[strings.LastIndexByte(agent, '.')+1:])
	cmd = "/" + name
	if reCommand.MatchString(cmd) {
		return cmd, true
	}
	fixed := strings.Trim(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, name), "-_")
	if len(fixed) > 31 {
		fixed = strings.TrimRight(fixed[:31], "-_")
	}
	if fixed == "" {
		fixed = "agent"
	}
	return "/" + fixed, false
}

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
// slash command (e.g. "/garden"; "" for the agent's default, see
// DefaultCommand). After it, as YAML comments, come the steps and the .env
// lines for the agent's directory, and, when the agent's name is not a valid
// command, how to set chat.slack.slash_command. The whole output parses as
// YAML.
func Manifest(w io.Writer, agent, command, description string) error {
	if strings.TrimSpace(agent) == "" {
		return errors.New("slack manifest: agent name is empty")
	}
	var badName bool
	if command == "" {
		var ok bool
		command, ok = DefaultCommand(agent)
		badName = !ok
	}
	if !reCommand.MatchString(command) {
		return fmt.Errorf("slack manifest: command %q: want / and up to 31 lowercase letters, digits, - or _", command)
	}
	if description == "" {
		description = "herdbot agent " + agent
	}
	name := clip(DisplayName(agent), 35)
	var m manifest
	m.DisplayInformation.Name = strings.TrimSuffix(name, "…")
	m.DisplayInformation.Description = strings.TrimSuffix(clip(description, 139), "…")
	m.Features.AppHome.MessagesTab = true
	m.Features.BotUser.DisplayName = DisplayName(agent)
	m.Features.BotUser.AlwaysOnline = true
	m.Features.SlashCommands = []slashCommand{{
		Command:     command,
		Description: strings.TrimSuffix(clip("Ask "+agent+", or reset, status, stop, sessions, model, cost, approvals, help", 99), "…"),
		UsageHint:   "[prompt] | reset | status | stop | sessions | model [name] | cost | approvals | help",
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
	if badName {
		def := "/" + strings.ToLower(agent[strings.LastIndexByte(agent, '.')+1:])
		fmt.Fprintf(&b, "# 5. %q is not a valid Slack command (/ then up to 31 lower-case letters, digits, _ or -),\n", def)
		fmt.Fprintf(&b, "#    so this manifest uses %s. Set the same in the agent's agent.yaml, or herdbot refuses the config:\n", command)
		fmt.Fprintf(&b, "#      chat: {slack: {slash_command: %s}}\n", command)
	}
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
