package main

import (
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/config"
)

func slackConfig(a *config.Agent) slack.Config {
	s := a.Chat.Slack
	chans := make([]slack.Channel, 0, len(s.Channels))
	for _, c := range s.Channels {
		chans = append(chans, slack.Channel{ID: c.ID, Mode: c.Mode})
	}
	return slack.Config{Agent: a.Name, BotToken: s.BotToken, AppToken: s.AppToken, Channels: chans,
		DM: slack.DM{Enabled: s.DM.Enabled, Allowlist: dmAllowed(s.DM)}, AllowedUsers: s.AllowedUsers,
		SlashCommand: s.SlashCommand}
}

func setupSlack(e stdio, a *config.Agent) error {
	cmd := "" // the agent's default; Manifest says how to set one when the name is not a command
	if a.Chat.Slack != nil && a.Chat.Slack.SlashCommand != "" {
		cmd = a.Chat.Slack.SlashCommand
	}
	desc := a.Description
	if desc == "" {
		desc = "herdbot agent " + a.Name
	}
	return slack.Manifest(e.stdout, a.Name, cmd, desc)
}
