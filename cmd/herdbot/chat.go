package main

import (
	"context"
	"fmt"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/config"
)

// addChat connects an agent's own Slack app and Discord bot, where its
// config names tokens that are set.
func (svc *service) addChat(a *config.Agent) error {
	if s := a.Chat.Slack; s.Connected() {
		ad, err := slack.New(slackConfig(a), svc.log)
		if err != nil {
			return fmt.Errorf("agent %s: slack: %w", a.Name, err)
		}
		svc.register(a.Name, bot.Slack, ad)
	} else if s != nil {
		svc.log.Warn("slack configured but not connected: token variables are not set", "agent", a.Name,
			"bot_token_env", s.BotTokenEnv, "app_token_env", s.AppTokenEnv)
	}
	if d := a.Chat.Discord; d.Connected() {
		ad, err := newDiscord(a, svc)
		if err != nil {
			return fmt.Errorf("agent %s: discord: %w", a.Name, err)
		}
		svc.register(a.Name, bot.Discord, ad)
	} else if d != nil {
		svc.log.Warn("discord configured but not connected: token variable is not set", "agent", a.Name,
			"bot_token_env", d.BotTokenEnv)
	}
	return nil
}

func (svc *service) register(agent, platform string, ad bot.Adapter) {
	svc.mux.Register(agent, platform, ad)
	svc.runs = append(svc.runs, func(ctx context.Context) error {
		if err := ad.Run(ctx, svc.fleet); err != nil {
			return fmt.Errorf("agent %s: %s: %w", agent, platform, err)
		}
		return nil
	})
}

func slackConfig(a *config.Agent) slack.Config {
	s := a.Chat.Slack
	chans := make([]slack.Channel, 0, len(s.Channels))
	for _, c := range s.Channels {
		chans = append(chans, slack.Channel{ID: c.ID, Mode: c.Mode})
	}
	return slack.Config{Agent: a.Name, BotToken: s.BotToken, AppToken: s.AppToken, Channels: chans,
		DM: slack.DM{Enabled: s.DM.Enabled, Allowlist: s.DM.Allowlist}, AllowedUsers: s.AllowedUsers,
		SlashCommand: s.SlashCommand}
}

func setupSlack(e env, a *config.Agent) error {
	cmd := "/" + a.Name
	if a.Chat.Slack != nil && a.Chat.Slack.SlashCommand != "" {
		cmd = a.Chat.Slack.SlashCommand
	}
	desc := a.Description
	if desc == "" {
		desc = "herdbot agent " + a.Name
	}
	return slack.Manifest(e.stdout, a.Name, cmd, desc)
}
