package discord

import (
	"errors"
	"fmt"
	"strings"
)

// Mode says which messages in a channel reach the agent.
type Mode string

// Channel modes.
const (
	// ModeMention serves messages that mention the bot (or a role it holds).
	ModeMention Mode = "mention"
	// ModeAuto serves every message in the channel.
	ModeAuto Mode = "auto"
)

// Command registration scopes.
const (
	ScopeGuild  = "guild"
	ScopeGlobal = "global"
)

// Config is one agent's Discord bot.
type Config struct {
	// Agent is the agent's name (it appears in Inbound, Command, Action).
	Agent string
	// Token is the bot token from the agent's .env (with or without the
	// "Bot " prefix). It is never logged.
	Token string
	// Guilds the bot serves. Empty: every guild it is in, in mention mode.
	Guilds []Guild
	// DM says who may talk to the bot in direct messages (deny by default).
	DM DM
	// AllowedUsers and AllowedRoles (Discord ids) restrict who may talk to
	// the agent in guilds. Both empty: everyone who can see the channel.
	AllowedUsers []string
	AllowedRoles []string
	// CommandScope is where slash commands are registered: "guild" (each
	// configured guild; the default when Guilds is set) or "global".
	CommandScope string
}

// Guild is a guild (server) the bot serves.
type Guild struct {
	ID string
	// DefaultMode applies to channels not listed (default mention).
	DefaultMode Mode
	Channels    []Channel
}

// Channel sets the mode of one channel; threads follow their parent.
type Channel struct {
	ID   string
	Mode Mode // empty: the guild's DefaultMode
}

// DM controls direct messages: off unless Enabled, then only for the user
// ids in Allowlist.
type DM struct {
	Enabled   bool
	Allowlist []string
}

// validate checks c and fills defaults.
func (c *Config) validate() error {
	var errs []error
	if c.Agent == "" {
		errs = append(errs, errors.New("agent name is empty"))
	}
	c.Token = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(c.Token), "Bot "))
	if c.Token == "" {
		errs = append(errs, errors.New("bot token is empty (set it in the agent's .env)"))
	} else if strings.ContainsAny(c.Token, " \t\r\n") {
		errs = append(errs, errors.New("bot token contains whitespace"))
	}
	seen := map[string]bool{}
	for i := range c.Guilds {
		g := &c.Guilds[i]
		if !snowflake(g.ID) {
			errs = append(errs, fmt.Errorf("guilds[%d].id %q is not a Discord id", i, g.ID))
		}
		if seen[g.ID] {
			errs = append(errs, fmt.Errorf("guilds[%d].id %s is listed twice", i, g.ID))
		}
		seen[g.ID] = true
		if g.DefaultMode == "" {
			g.DefaultMode = ModeMention
		}
		if !g.DefaultMode.valid() {
			errs = append(errs, fmt.Errorf("guilds[%d].default_mode %q: want mention or auto", i, g.DefaultMode))
		}
		for j := range g.Channels {
			ch := &g.Channels[j]
			if !snowflake(ch.ID) {
				errs = append(errs, fmt.Errorf("guilds[%d].channels[%d].id %q is not a Discord id", i, j, ch.ID))
			}
			if ch.Mode == "" {
				ch.Mode = g.DefaultMode
			}
			if !ch.Mode.valid() {
				errs = append(errs, fmt.Errorf("guilds[%d].channels[%d].mode %q: want mention or auto", i, j, ch.Mode))
			}
		}
	}
	for _, ids := range []struct {
		name string
		ids  []string
	}{{"allowed_users", c.AllowedUsers}, {"allowed_roles", c.AllowedRoles}, {"dm.allowlist", c.DM.Allowlist}} {
		for _, id := range ids.ids {
			if !snowflake(id) {
				errs = append(errs, fmt.Errorf("%s: %q is not a Discord id", ids.name, id))
			}
		}
	}
	switch c.CommandScope {
	case "":
		c.CommandScope = ScopeGlobal
		if len(c.Guilds) > 0 {
			c.CommandScope = ScopeGuild
		}
	case ScopeGlobal:
	case ScopeGuild:
		if len(c.Guilds) == 0 {
			errs = append(errs, errors.New("command_scope guild needs at least one guild"))
		}
	default:
		errs = append(errs, fmt.Errorf("command_scope %q: want guild or global", c.CommandScope))
	}
	return errors.Join(errs...)
}

func (m Mode) valid() bool { return m == ModeMention || m == ModeAuto }

// snowflake reports whether s looks like a Discord id (digits only).
func snowflake(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
