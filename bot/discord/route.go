package discord

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/herdbot/herdbot/bot"
)

// verdict is what to do with an inbound message.
type verdict int

const (
	ignore verdict = iota // not for us: say nothing
	serve                 // hand it to the agent
	refuse                // addressed to us by someone not allowed: say so briefly
)

// Refusal texts (short; they never say who is allowed).
const (
	refuseGuild = "Sorry, you are not allowed to talk to this agent."
	refuseDM    = "Sorry, this agent does not take direct messages from you."
	refuseHere  = "Sorry, this agent is not available here."
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

// policy is the routing and access part of Config.
type policy struct {
	guilds       map[string]*Guild // nil: every guild
	allowUsers   map[string]bool
	allowRoles   map[string]bool
	dmEnabled    bool
	dmAllow      map[string]bool
	selfID       func() string
	refusalEvery time.Duration

	mu       sync.Mutex
	refusals map[string]time.Time // user → last refusal, to stay quiet after one
}

func newPolicy(c *Config, self func() string) *policy {
	p := &policy{allowUsers: set(c.AllowedUsers), allowRoles: set(c.AllowedRoles), dmEnabled: c.DM.Enabled,
		dmAllow: set(c.DM.Allowlist), selfID: self, refusalEvery: 10 * time.Minute, refusals: map[string]time.Time{}}
	if len(c.Guilds) > 0 {
		p.guilds = map[string]*Guild{}
		for i := range c.Guilds {
			p.guilds[c.Guilds[i].ID] = &c.Guilds[i]
		}
	}
	return p
}

func set(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
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

// allowed reports whether a guild member may talk to the agent.
func (p *policy) allowed(userID string, roles []string) bool {
	if len(p.allowUsers) == 0 && len(p.allowRoles) == 0 {
		return true
	}
	return p.allowUsers[userID] || slices.ContainsFunc(roles, func(r string) bool { return p.allowRoles[r] })
}

// allowedDM reports whether a user may talk to the agent in DMs.
func (p *policy) allowedDM(userID string) bool {
	return p.dmEnabled && p.dmAllow[userID]
}

// route decides what to do with a message and where the reply goes.
func (p *policy) route(m inbound) (verdict, bot.Target, string) {
	if m.authorBot || m.authorID == "" || m.authorID == p.selfID() {
		return ignore, bot.Target{}, ""
	}
	if m.guildID == "" {
		t := bot.Target{Platform: bot.Discord, Channel: m.channelID, User: m.authorID}
		if !p.allowedDM(m.authorID) {
			return refuse, t, refuseDM
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
	if !p.allowed(m.authorID, m.roles) {
		if !m.mentioned {
			return ignore, t, "" // auto channel chatter: stay silent
		}
		return refuse, t, refuseGuild
	}
	return serve, t, ""
}

// shouldRefuse reports whether to answer a refusal to this user now: once
// per refusalEvery, so nobody can make the bot spam a channel.
func (p *policy) shouldRefuse(userID string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if last, ok := p.refusals[userID]; ok && now.Sub(last) < p.refusalEvery {
		return false
	}
	if len(p.refusals) > 10000 {
		for k, t := range p.refusals {
			if now.Sub(t) >= p.refusalEvery {
				delete(p.refusals, k)
			}
		}
	}
	p.refusals[userID] = now
	return true
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
