package main

import (
	"slices"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/bot/discord"
	"github.com/herdbot/herdbot/bot/slack"
	"github.com/herdbot/herdbot/config"
)

// chatEntries are the Discord and Slack connections an agent's config asks
// for and has tokens for; a configured platform without tokens is logged.
func (svc *service) chatEntries(a *config.Agent) []chatEntry {
	var out []chatEntry
	if s := a.Chat.Slack; s.Connected() {
		cfg := slackConfig(a)
		out = append(out, chatEntry{agent: a.Name, platform: bot.Slack, fingerprint: fingerprintOf(cfg),
			make: func() (bot.Adapter, error) { return slack.New(cfg, svc.log) }})
	} else if s != nil {
		svc.chatLog()("slack configured but not connected: token variables are not set", "agent", a.Name,
			"bot_token_env", s.BotTokenEnv, "app_token_env", s.AppTokenEnv)
	}
	if d := a.Chat.Discord; d.Connected() {
		cfg := discordConfig(a)
		out = append(out, chatEntry{agent: a.Name, platform: bot.Discord, fingerprint: fingerprintOf(cfg),
			make: func() (bot.Adapter, error) { return discord.New(cfg, svc.log) }})
	} else if d != nil {
		svc.chatLog()("discord configured but not connected: token variable is not set", "agent", a.Name,
			"bot_token_env", d.BotTokenEnv)
	}
	return out
}

// chatLog logs a chat platform left unconnected: a warning, but not in the
// demo, where no tokens is the point.
func (svc *service) chatLog() func(msg string, args ...any) {
	if svc.demo {
		return svc.log.Info
	}
	return svc.log.Warn
}

// wantChat sets the chat connections of every agent of cfg, and the
// console for each.
func (svc *service) wantChat(cfg *config.Fleet) {
	var all []chatEntry
	for _, a := range cfg.Agents {
		svc.hub.Register(a.Name, svc.fleet)
		svc.mux.Register(a.Name, bot.Console, svc.hub.For(a.Name))
		all = append(all, svc.chatEntries(a)...)
	}
	svc.chat.Set(all)
}

// dmAllowed is the DM allowlist less the blocklist (DMs are deny-by-default,
// so the blocklist only ever removes).
func dmAllowed(dm config.DM) []string {
	var out []string
	for _, u := range dm.Allowlist {
		if !slices.Contains(dm.Blocklist, u) {
			out = append(out, u)
		}
	}
	return out
}
