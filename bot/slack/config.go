package slack

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Channel modes.
const (
	// ModeMention answers only messages that mention the bot (and replies
	// in threads the bot is already part of).
	ModeMention = "mention"
	// ModeAuto answers every message in the channel.
	ModeAuto = "auto"
)

// DefaultAPIURL is Slack's Web API base.
const DefaultAPIURL = "https://slack.com/api/"

// Channel is a channel the agent listens in.
type Channel struct {
	ID   string // C… or G…
	Mode string // ModeMention (default) or ModeAuto
}

// DM says who may talk to the agent in direct messages. DMs are denied
// unless Enabled and the user is in Allowlist.
type DM struct {
	Enabled   bool
	Allowlist []string // Slack user ids
}

// Config configures one agent's Slack app.
type Config struct {
	Agent    string // agent name, passed to the Handler
	BotToken string // xoxb-…, from the agent's .env
	AppToken string // xapp-… with connections:write, from the agent's .env
	// Channels the agent listens in. With none, the agent answers mentions
	// in any channel it has been invited to.
	Channels []Channel
	DM       DM
	// AllowedUsers, when not empty, are the only users the agent answers
	// (in channels and slash commands; DMs use DM.Allowlist).
	AllowedUsers []string
	// SlashCommand is the agent's command, e.g. "/garden"; "" accepts none.
	SlashCommand string
	// APIURL is the Web API base (tests); default DefaultAPIURL.
	APIURL string
	// HTTPClient is used for Web API calls; default a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// PingTimeout is how long the socket may go without a server ping
	// before it is reopened; default slack-go's 30 s.
	PingTimeout time.Duration
	// CommandWait is how long a slash command's reply is awaited to go in
	// the ack (Slack wants the ack within 3 s); later replies go to the
	// response_url. Default 2 s.
	CommandWait time.Duration
	// TypingEmoji is the reaction Typing puts on the message being
	// answered; default "eyes".
	TypingEmoji string
}

func (c *Config) validate() error {
	var errs []error
	if c.Agent == "" {
		errs = append(errs, errors.New("agent name is empty"))
	}
	if !strings.HasPrefix(c.BotToken, "xoxb-") {
		errs = append(errs, errors.New("bot token must be a bot token (xoxb-…)"))
	}
	if !strings.HasPrefix(c.AppToken, "xapp-") {
		errs = append(errs, errors.New("app token must be an app-level token (xapp-…) with connections:write"))
	}
	seen := map[string]bool{}
	for i, ch := range c.Channels {
		switch {
		case ch.ID == "":
			errs = append(errs, fmt.Errorf("channels[%d]: empty id", i))
		case seen[ch.ID]:
			errs = append(errs, fmt.Errorf("channels[%d]: %s listed twice", i, ch.ID))
		}
		seen[ch.ID] = true
		if ch.Mode != "" && ch.Mode != ModeMention && ch.Mode != ModeAuto {
			errs = append(errs, fmt.Errorf("channels[%d]: mode %q: want %s or %s", i, ch.Mode, ModeMention, ModeAuto))
		}
	}
	if c.SlashCommand != "" && (!strings.HasPrefix(c.SlashCommand, "/") || len(c.SlashCommand) < 2 || strings.ContainsAny(c.SlashCommand, " \t\n")) {
		errs = append(errs, fmt.Errorf("slash command %q: want /name", c.SlashCommand))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("slack config for agent %q: %w", c.Agent, err)
	}
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/"
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.CommandWait <= 0 {
		c.CommandWait = 2 * time.Second
	}
	if c.TypingEmoji == "" {
		c.TypingEmoji = "eyes"
	}
	return nil
}
