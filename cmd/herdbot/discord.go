package main

import (
	"github.com/herdbot/herdbot/bot/discord"
	"github.com/herdbot/herdbot/config"
)

func discordConfig(a *config.Agent) discord.Config {
	d := a.Chat.Discord
	guilds := make([]discord.Guild, 0, len(d.Guilds))
	for _, g := range d.Guilds {
		chans := make([]discord.Channel, 0, len(g.Channels))
		for _, c := range g.Channels {
			chans = append(chans, discord.Channel{ID: c.ID, Mode: discord.Mode(c.Mode)})
		}
		guilds = append(guilds, discord.Guild{ID: g.ID, DefaultMode: discord.Mode(g.DefaultChannelMode), Channels: chans})
	}
	return discord.Config{Agent: a.Name, Token: d.Token, Guilds: guilds,
		DM: discord.DM{Enabled: d.DM.Enabled, Allowlist: dmAllowed(d.DM)}, AllowedUsers: d.AllowedUsers,
		AllowedRoles: d.AllowedRoles, CommandScope: d.CommandScope}
}

func setupDiscord(e stdio, a *config.Agent) error {
	token, envVar := "", "DISCORD_BOT_TOKEN"
	if d := a.Chat.Discord; d != nil {
		token, envVar = d.Token, d.BotTokenEnv
	}
	return discord.SetupHelp(e.stdout, a.Name, token, envVar)
}
