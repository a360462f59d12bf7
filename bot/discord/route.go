package discord

import (
	"strings"

	"github.com/herdbot/herdbot/bot"
)

// verdict is what to do with an inbound message.
type verdict int

const (
	ignore verdict = iota // not for us: say nothing
	serve                 // hand it to the agent
	refuse                // addressed to us by someone not allowed: say so briefly
)

// inbound is what routing needs to know about a message, already decoded
// from discordgo's types.
type inbound struct {
	authorID  string
	authorBot bool
	guildID   string // "" in DMs
	channelID string // where it was posted (a thread id for threads)
	parentID  string // the thread's parent channel, "" otherwise
	roles     []string
	mentioned bool // the bot, or a role it holds, is mentioned
}

// policy is the routing part of Config, with the agent's access gate
// (bot.Gate: the same rules as every adapter's).
type policy struct {
	guilds map[string]*Guild // nil: every guild
	gate   *bot.Gate
	selfID func() string
}

func newPolicy(c *Config, self func() string) *policy {
	p := &policy{gate: bot.NewGate(bot.Access{Users: c.AllowedUsers, Roles: c.AllowedRoles, DMs: c.DM.Enabled,
		DMUsers: c.DM.Allowlist}), selfID: self}
	if len(c.Guilds) > 0 {
		p.guilds = map[string]*Guild{}
		for i := range c.Guilds {
			p.guilds[c.Guilds[i].ID] = &c.Guilds[i]
		}
	}
	return p
}

// mode returns the mode of a guild channel (threads follow their parent) and
// whether the guild is served at all.
func (p *policy) mode(guildID, channelID string) (Mode, bool) {
	if p.guilds == nil {
		return ModeMention, true
	}
	g, ok := p.guilds[guildID]
	if !ok {
		return "", false
	}
	for _, c := range g.Channels {
		if c.ID == channelID {
			return c.Mode, true
		}
	}
	return g.DefaultMode, true
}

// route decides what to do with a message and where the reply goes.
func (p *policy) route(m inbound) (verdict, bot.Target, string) {
	if m.authorBot || m.authorID == "" || m.authorID == p.selfID() {
		return ignore, bot.Target{}, ""
	}
	if m.guildID == "" {
		t := bot.Target{Platform: bot.Discord, Channel: m.channelID, User: m.authorID}
		if !p.gate.AllowsDM(m.authorID) {
			return refuse, t, bot.RefusedDM
		}
		return serve, t, ""
	}
	t := bot.Target{Platform: bot.Discord, Space: m.guildID, Channel: m.channelID}
	home := m.channelID
	if m.parentID != "" {
		t.Channel, t.Thread, home = m.parentID, m.channelID, m.parentID
	}
	mode, ok := p.mode(m.guildID, home)
	if !ok || (mode == ModeMention && !m.mentioned) {
		return ignore, t, ""
	}
	if !p.gate.Allows(m.authorID, m.roles) {
		if !m.mentioned {
			return ignore, t, "" // auto channel chatter: stay silent
		}
		return refuse, t, bot.RefusedUser
	}
	return serve, t, ""
}

// stripMentions removes mentions of the bot (and of roles it holds) from
// text: "<@ID>", "<@!ID>", "<@&ROLE>".
func stripMentions(text, self string, roles []string) string {
	pats := []string{"<@" + self + ">", "<@!" + self + ">"}
	for _, r := range roles {
		pats = append(pats, "<@&"+r+">")
	}
	for _, p := range pats {
		text = strings.ReplaceAll(text, p+" ", "")
		text = strings.ReplaceAll(text, p, "")
	}
	return strings.TrimSpace(text)
}
