package config

import (
	"fmt"
	"strings"
)

// chat resolves chat.discord and chat.slack. A token whose variable is not
// set leaves the platform configured but not connected (Summary says so);
// that is not an error, so a fresh clone of an example validates.
func (r *agentRes) chat(s *chatSpec) Chat {
	var c Chat
	if s.Discord != nil {
		c.Discord = r.discord(s.Discord)
	}
	if s.Slack != nil {
		c.Slack = r.slack(s.Slack)
	}
	return c
}

func (r *agentRes) token(p, name string) string {
	if name == "" {
		r.errf(p, "required: the variable in the agent's .env that holds the token")
		return ""
	}
	if !isVarName(name) {
		r.errf(p, "%q is not a variable name", name)
		return ""
	}
	v, _ := r.lookupName(p, name)
	return v
}

func (r *agentRes) discord(s *discordSpec) *Discord {
	const p = "chat.discord"
	d := &Discord{
		BotTokenEnv:    s.BotTokenEnv,
		AllowedUsers:   s.AllowedUsers,
		AllowedRoles:   s.AllowedRoles,
		CommandScope:   defaultStr(s.CommandRegistration.Scope, "guild"),
		CommandGuildID: s.CommandRegistration.GuildID,
	}
	d.Token = r.token(p+".bot_token_env", s.BotTokenEnv)
	d.SessionExpiryHours = r.positive(p+".session_expiry_hours", s.SessionExpiryHours, DefaultSessionExpiry)
	seenGuild := map[string]bool{}
	seenChan := map[string]bool{}
	for i, g := range s.Guilds {
		gp := fmt.Sprintf("%s.guilds[%d]", p, i)
		if g.ID == "" {
			r.errf(gp+".id", "required: the guild (server) id")
		} else if err := validSnowflake(g.ID); err != nil {
			r.errf(gp+".id", "%v", err)
		} else if seenGuild[g.ID] {
			r.errf(gp+".id", "guild %s is listed twice", g.ID)
		}
		seenGuild[g.ID] = true
		guild := Guild{ID: g.ID, DefaultChannelMode: defaultStr(g.DefaultChannelMode, "mention")}
		if err := oneOf(guild.DefaultChannelMode, ChannelModes); err != nil {
			r.errf(gp+".default_channel_mode", "%v", err)
		}
		for j, ch := range g.Channels {
			cp := fmt.Sprintf("%s.channels[%d]", gp, j)
			c := Channel{ID: ch.ID, Name: ch.Name, Mode: defaultStr(ch.Mode, guild.DefaultChannelMode)}
			if c.ID == "" {
				r.errf(cp+".id", "required: the channel id")
			} else if err := validSnowflake(c.ID); err != nil {
				r.errf(cp+".id", "%v", err)
			} else if seenChan[c.ID] {
				r.errf(cp+".id", "channel %s is listed twice", c.ID)
			}
			seenChan[c.ID] = true
			if err := oneOf(c.Mode, ChannelModes); err != nil {
				r.errf(cp+".mode", "%v", err)
			}
			guild.Channels = append(guild.Channels, c)
		}
		d.Guilds = append(d.Guilds, guild)
	}
	d.DM = r.dm(p+".dm", s.DM, validSnowflake)
	r.ids(p+".allowed_users", s.AllowedUsers, validSnowflake)
	r.ids(p+".allowed_roles", s.AllowedRoles, validSnowflake)
	if err := oneOf(d.CommandScope, []string{"guild", "global"}); err != nil {
		r.errf(p+".command_registration.scope", "%v", err)
	}
	if d.CommandGuildID != "" {
		if err := validSnowflake(d.CommandGuildID); err != nil {
			r.errf(p+".command_registration.guild_id", "%v", err)
		} else {
			r.warnf(p+".command_registration.guild_id", "not used: herdbot registers slash commands in every guild listed under chat.discord.guilds (globally when none is listed)")
		}
	}
	return d
}

func (r *agentRes) slack(s *slackSpec) *Slack {
	const p = "chat.slack"
	// herdctl's defaults for the token variables.
	s.BotTokenEnv = defaultStr(s.BotTokenEnv, "SLACK_BOT_TOKEN")
	s.AppTokenEnv = defaultStr(s.AppTokenEnv, "SLACK_APP_TOKEN")
	sl := &Slack{
		BotTokenEnv:  s.BotTokenEnv,
		AppTokenEnv:  s.AppTokenEnv,
		AllowedUsers: s.AllowedUsers,
		SlashCommand: s.SlashCommand,
	}
	sl.BotToken = r.token(p+".bot_token_env", s.BotTokenEnv)
	sl.AppToken = r.token(p+".app_token_env", s.AppTokenEnv)
	sl.SessionExpiryHours = r.positive(p+".session_expiry_hours", s.SessionExpiryHours, DefaultSessionExpiry)
	seen := map[string]bool{}
	for i, ch := range s.Channels {
		cp := fmt.Sprintf("%s.channels[%d]", p, i)
		c := Channel{ID: ch.ID, Name: ch.Name, Mode: defaultStr(ch.Mode, "mention")}
		if c.ID == "" {
			r.errf(cp+".id", "required: the channel id")
		} else if err := validSlackChannel(c.ID); err != nil {
			r.errf(cp+".id", "%v", err)
		} else if seen[c.ID] {
			r.errf(cp+".id", "channel %s is listed twice", c.ID)
		}
		seen[c.ID] = true
		if err := oneOf(c.Mode, ChannelModes); err != nil {
			r.errf(cp+".mode", "%v", err)
		}
		sl.Channels = append(sl.Channels, c)
	}
	sl.DM = r.dm(p+".dm", s.DM, validSlackUser)
	r.ids(p+".allowed_users", s.AllowedUsers, validSlackUser)
	if sl.SlashCommand == "" && r.out != nil {
		// The agent's own name, without its sub-fleet's.
		name := r.out.Name[strings.LastIndexByte(r.out.Name, '.')+1:]
		sl.SlashCommand = "/" + strings.ToLower(name)
	}
	if !slashRe.MatchString(sl.SlashCommand) {
		r.errf(p+".slash_command", "%q is not a slash command (/ then up to 31 lower-case letters, digits, _ or -)", sl.SlashCommand)
	}
	return sl
}

func (r *agentRes) dm(p string, s dmSpec, valid func(string) error) DM {
	d := DM{Enabled: boolOr(s.Enabled, false), Allowlist: s.Allowlist, Blocklist: s.Blocklist}
	if s.Enabled == nil && r.written(p) {
		// herdctl turns DMs on when dm: is written.
		r.warnf(p, "DMs stay off: herdbot takes DMs only with dm.enabled: true, and then only from the allowlist (herdctl turns them on, from anyone, when dm: is written)")
	}
	r.ids(p+".allowlist", s.Allowlist, valid)
	r.ids(p+".blocklist", s.Blocklist, valid)
	if d.Enabled && len(d.Allowlist) == 0 {
		r.warnf(p+".enabled", "DMs are enabled but the allowlist is empty, so every DM is refused; list the user ids under allowlist")
	}
	return d
}

func (r *agentRes) ids(p string, ids []string, valid func(string) error) {
	for i, id := range ids {
		if err := valid(id); err != nil {
			r.errf(fmt.Sprintf("%s[%d]", p, i), "%v", err)
		}
	}
}
