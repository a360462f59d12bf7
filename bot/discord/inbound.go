package discord

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/herdbot/herdbot/bot"
)

// onMessage routes one MESSAGE_CREATE.
func (a *Adapter) onMessage(ctx context.Context, h bot.Handler, m *discordgo.Message) {
	if m == nil || m.Author == nil || m.WebhookID != "" {
		return
	}
	me := a.self()
	in := inbound{authorID: m.Author.ID, authorBot: m.Author.Bot, guildID: m.GuildID, channelID: m.ChannelID}
	if in.authorBot || in.authorID == me {
		return // cheap exit before any lookup
	}
	var botRoles []string
	if m.GuildID != "" {
		if m.Member != nil {
			in.roles = m.Member.Roles
		}
		parent, err := a.threadParent(ctx, m.ChannelID)
		if err != nil {
			a.log.Warn("discord channel lookup", logChannel, m.ChannelID, logErr, err)
			return
		}
		in.parentID = parent
		for _, u := range m.Mentions {
			in.mentioned = in.mentioned || u.ID == me
		}
		if !in.mentioned && len(m.MentionRoles) > 0 {
			botRoles = a.botRoles(ctx, m.GuildID)
			in.mentioned = slices.ContainsFunc(m.MentionRoles, func(r string) bool { return slices.Contains(botRoles, r) })
		}
	}
	v, target, why := a.policy.route(in)
	if v == serve && in.guildID != "" && !in.mentioned && emptyMessage(m) {
		// Without the Message Content intent Discord empties every guild
		// message that does not mention the bot: nothing to answer.
		a.mu.Lock()
		noContent := a.noContent
		a.mu.Unlock()
		if noContent {
			a.log.Debug("discord message without content skipped (Message Content intent not enabled)", logChannel, m.ChannelID)
		}
		return
	}
	switch v {
	case ignore:
		return
	case refuse:
		a.log.Info("discord message refused", logUser, m.Author.ID, logChannel, m.ChannelID)
		if a.policy.gate.Tell(m.Author.ID, time.Now()) {
			// Not on the inbound queue: the channel may be rate-limited.
			a.notices.Post("discord refusal", func(ctx context.Context) error {
				_, err := a.Send(ctx, target, bot.Message{Text: why})
				return err
			})
		}
		return
	}
	if len(m.MentionRoles) > 0 && botRoles == nil && m.GuildID != "" {
		botRoles = a.botRoles(ctx, m.GuildID)
	}
	h.HandleMessage(ctx, bot.Inbound{
		Agent:       a.cfg.Agent,
		Target:      target,
		User:        user(m.Author, m.Member),
		Text:        stripMentions(m.Content, me, botRoles),
		MessageID:   m.ID,
		Attachments: a.attachments(m.Attachments),
	})
}

// emptyMessage reports whether m carries nothing a person wrote: no text,
// embeds, attachments or components (a guild message Discord emptied for a
// bot without the Message Content intent looks like this).
func emptyMessage(m *discordgo.Message) bool {
	return strings.TrimSpace(m.Content) == "" && len(m.Embeds) == 0 && len(m.Attachments) == 0 && len(m.Components) == 0
}

func user(u *discordgo.User, mem *discordgo.Member) bot.User {
	out := bot.User{ID: u.ID, Name: u.Username}
	if u.GlobalName != "" {
		out.Name = u.GlobalName
	}
	if mem != nil {
		out.Roles = append([]string(nil), mem.Roles...)
	}
	return out
}

// threadParent returns the parent channel id when channelID is a thread, ""
// otherwise. It asks the session state (filled by GUILD_CREATE and
// THREAD_CREATE) and falls back to GET /channels/{id}.
func (a *Adapter) threadParent(ctx context.Context, channelID string) (string, error) {
	ch, err := a.s.State.Channel(channelID)
	if err != nil {
		ch, err = a.s.Channel(channelID, discordgo.WithContext(ctx))
		if err != nil {
			return "", fmt.Errorf("get channel %s: %w", channelID, err)
		}
		_ = a.s.State.ChannelAdd(ch) // best effort cache
	}
	if ch.IsThread() {
		return ch.ParentID, nil
	}
	return "", nil
}

// botRoles returns the roles the bot holds in a guild (state, then REST).
func (a *Adapter) botRoles(ctx context.Context, guildID string) []string {
	me := a.self()
	if mem, err := a.s.State.Member(guildID, me); err == nil {
		return mem.Roles
	}
	mem, err := a.s.GuildMember(guildID, me, discordgo.WithContext(ctx))
	if err != nil {
		a.log.Warn("discord own roles lookup", "guild", guildID, logErr, err)
		return []string{}
	}
	return mem.Roles
}
