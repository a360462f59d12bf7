package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/herdbot/herdbot/bot"
)

// Texts shown for interactions the adapter answers itself.
const (
	unknownButton = "This button is not recognised (it may be from an older version); nothing was done."
	lookupFailed  = "Sorry, something went wrong reading this channel; please try again."
	emptyReply    = "Done."
)

// slashCommands are the commands registered for every agent.
func slashCommands(agent string) []*discordgo.ApplicationCommand {
	d := func(s string) string {
		if len(s) > 100 {
			return s[:100]
		}
		return s
	}
	return []*discordgo.ApplicationCommand{
		{Name: "ask", Description: d("Ask " + agent + " something"), Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionString, Name: "prompt", Description: "What to ask", Required: true}}},
		{Name: "reset", Description: d("Start a new " + agent + " session in this conversation")},
		{Name: "status", Description: d(agent + ": session, running job and queue")},
		{Name: "stop", Description: d("Stop " + agent + "'s current run")},
		{Name: "sessions", Description: d(agent + "'s sessions")},
		{Name: "model", Description: d(agent + "'s model here; approvers can switch it"), Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionString, Name: "name", Description: "Model to switch this conversation to (or default)"}}},
		{Name: "cost", Description: d("What " + agent + " cost here, today and this month")},
		{Name: "approvals", Description: d(agent + "'s approvals pending in this channel")},
		{Name: "help", Description: d("What " + agent + " does and how to talk to it")},
	}
}

// registerCommands bulk-overwrites the slash commands, in each configured
// guild or globally.
func (a *Adapter) registerCommands(ctx context.Context) error {
	_, app := a.ids()
	if app == "" {
		return errors.New("no application id from READY")
	}
	guilds := []string{""}
	if a.cfg.CommandScope == ScopeGuild {
		guilds = guilds[:0]
		for _, g := range a.cfg.Guilds {
			guilds = append(guilds, g.ID)
		}
	}
	var errs []error
	for _, g := range guilds {
		if _, err := a.s.ApplicationCommandBulkOverwrite(app, g, slashCommands(a.cfg.Agent), discordgo.WithContext(ctx)); err != nil {
			errs = append(errs, fmt.Errorf("register commands (guild %q): %w", g, err))
		}
	}
	return errors.Join(errs...)
}

// onInteraction answers one INTERACTION_CREATE. Every interaction is
// acknowledged (deferred) before anything else, inside Discord's 3 s.
func (a *Adapter) onInteraction(ctx context.Context, h bot.Handler, i *discordgo.Interaction) {
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		a.onCommand(ctx, h, i)
	case discordgo.InteractionMessageComponent:
		a.onButton(ctx, h, i)
	}
}

func (a *Adapter) onCommand(ctx context.Context, h bot.Handler, i *discordgo.Interaction) {
	data := i.ApplicationCommandData()
	ephemeral := data.Name != "ask" // only the question and its answer are for everyone
	err := a.s.InteractionRespond(i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: flags(ephemeral)},
	}, discordgo.WithContext(ctx))
	if err != nil {
		a.log.Warn("discord command not acknowledged", "command", data.Name, logErr, err)
		return
	}
	u := interactionUser(i)
	target, err := a.interactionTarget(ctx, i, u.ID)
	if err != nil {
		a.log.Warn("discord channel lookup", logChannel, i.ChannelID, logErr, err)
		a.answer(ctx, i, ephemeral, bot.Reply{Message: bot.Message{Text: lookupFailed}, Ephemeral: true})
		return
	}
	if why := a.commandRefusal(target, u); why != "" {
		a.log.Info("discord command refused", "command", data.Name, logUser, u.ID, logChannel, i.ChannelID)
		a.answer(ctx, i, ephemeral, bot.Reply{Message: bot.Message{Text: why}, Ephemeral: true})
		return
	}
	var args string
	for _, o := range data.Options {
		if (o.Name == "prompt" || o.Name == "name") && o.Type == discordgo.ApplicationCommandOptionString {
			args = o.StringValue()
		}
	}
	reply := h.HandleCommand(ctx, bot.Command{Agent: a.cfg.Agent, Name: data.Name, Args: args, Target: target, User: u})
	a.answer(ctx, i, ephemeral, reply)
}

// commandRefusal applies the message access rules to a slash command: ""
// when allowed, else the short refusal to show.
func (a *Adapter) commandRefusal(t bot.Target, u bot.User) string {
	if t.Space == "" {
		if !a.policy.gate.AllowsDM(u.ID) {
			return bot.RefusedDM
		}
		return ""
	}
	if _, ok := a.policy.mode(t.Space, t.Channel); !ok {
		return bot.RefusedHere
	}
	if !a.policy.gate.Allows(u.ID, u.Roles) {
		return bot.RefusedUser
	}
	return ""
}

// answer shows a command's reply: it replaces the deferred "thinking…"
// message when the visibility matches, else posts follow-ups with the
// requested visibility and deletes the placeholder. Long text is split.
func (a *Adapter) answer(ctx context.Context, i *discordgo.Interaction, deferredEphemeral bool, r bot.Reply) {
	m := r.Message
	if m.Text == "" && len(m.Buttons) == 0 && len(m.Files) == 0 {
		m.Text = emptyReply
	}
	rows, err := components(m.Buttons)
	if err != nil {
		a.log.Error("discord reply buttons dropped", logErr, err)
		rows = []discordgo.MessageComponent{}
	}
	chunks := bot.Split(m.Text, MaxText)
	if len(chunks) == 0 {
		chunks = []string{""}
	}
	last := len(chunks) - 1
	start := 0
	if r.Ephemeral == deferredEphemeral {
		e := &discordgo.WebhookEdit{Content: &chunks[0], AllowedMentions: noMentions()}
		if last == 0 {
			e.Components, e.Files = &rows, files(m.Files)
		}
		if _, err := a.s.InteractionResponseEdit(i, e, discordgo.WithContext(ctx)); err != nil {
			if tokenExpired(err) {
				a.answerExpired(ctx, i, r)
				return
			}
			a.log.Warn("discord command reply not shown", logErr, err)
			return
		}
		start = 1
	}
	for k := start; k <= last; k++ {
		p := &discordgo.WebhookParams{Content: chunks[k], Flags: flags(r.Ephemeral), AllowedMentions: noMentions()}
		if k == last {
			p.Components, p.Files = rows, files(m.Files)
		}
		if _, err := a.s.FollowupMessageCreate(i, true, p, discordgo.WithContext(ctx)); err != nil {
			if tokenExpired(err) && k == start {
				a.answerExpired(ctx, i, r)
				return
			}
			a.log.Warn("discord command follow-up not sent", logErr, err)
			return
		}
	}
	if r.Ephemeral != deferredEphemeral {
		if err := a.s.InteractionResponseDelete(i, discordgo.WithContext(ctx)); err != nil {
			a.log.Warn("discord placeholder not deleted", logErr, err)
		}
	}
}

// InteractionTokenLifetime is how long an interaction's token can edit its
// response and send follow-ups (Discord: 15 minutes).
const InteractionTokenLifetime = 15 * time.Minute

// tokenExpired reports whether err is Discord refusing an interaction
// webhook because the token expired (401, code 50027 Invalid Webhook Token).
func tokenExpired(err error) bool {
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		return false
	}
	return (re.Message != nil && re.Message.Code == discordgo.ErrCodeInvalidWebhookTokenProvided) ||
		(re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized)
}

// answerExpired shows a command's reply after its interaction token
// expired: a public reply as a normal message in the channel, a private one
// in a DM to the person who ran the command (never in the channel).
func (a *Adapter) answerExpired(ctx context.Context, i *discordgo.Interaction, r bot.Reply) {
	to := bot.Target{Platform: bot.Discord, Channel: i.ChannelID}
	if r.Ephemeral {
		to = bot.Target{Platform: bot.Discord, User: interactionUser(i).ID}
	}
	a.log.Info("discord interaction token expired: replying with a normal message", "dm", r.Ephemeral)
	if r.Message.Text == "" && len(r.Message.Buttons) == 0 && len(r.Message.Files) == 0 {
		r.Message.Text = emptyReply
	}
	if _, err := a.Send(ctx, to, r.Message); err != nil {
		a.log.Warn("discord command reply not shown", logErr, err)
	}
}

func (a *Adapter) onButton(ctx context.Context, h bot.Handler, i *discordgo.Interaction) {
	err := a.s.InteractionRespond(i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredMessageUpdate,
	}, discordgo.WithContext(ctx))
	if err != nil {
		a.log.Warn("discord click not acknowledged", logErr, err)
		return
	}
	cid := i.MessageComponentData().CustomID
	approval, choice, err := bot.ParseButtonID(cid)
	if err != nil || i.Message == nil {
		a.log.Warn("discord unknown button", "custom_id", cid, logErr, err)
		a.notice(ctx, i, unknownButton)
		return
	}
	u := interactionUser(i)
	target, err := a.interactionTarget(ctx, i, u.ID)
	if err != nil {
		a.log.Warn("discord channel lookup", logChannel, i.ChannelID, logErr, err)
		a.notice(ctx, i, lookupFailed)
		return
	}
	res := h.HandleAction(ctx, bot.Action{
		Agent: a.cfg.Agent, ApprovalID: approval, Choice: choice, User: u,
		Ref:     bot.MessageRef{Target: target, ID: i.Message.ID},
		Refusal: a.clickRefusal(target),
	})
	if res.Card != nil {
		rows, err := components(res.Card.Buttons)
		if err != nil {
			a.log.Error("discord card buttons dropped", logErr, err)
			rows = []discordgo.MessageComponent{}
		}
		text := fit(res.Card.Text)
		e := &discordgo.WebhookEdit{Content: &text, Components: &rows, AllowedMentions: noMentions()}
		if _, err := a.s.InteractionResponseEdit(i, e, discordgo.WithContext(ctx)); tokenExpired(err) {
			// The click's token is gone: the card is the bot's own message.
			if err := a.Edit(ctx, bot.MessageRef{Target: target, ID: i.Message.ID}, *res.Card); err != nil {
				a.log.Warn("discord card not updated", logErr, err)
			}
		} else if err != nil {
			a.log.Warn("discord card not updated", logErr, err)
		}
	}
	if res.Notice != "" {
		a.notice(ctx, i, res.Notice)
	}
}

// clickRefusal says why a click at t may not decide anything ("" if it
// may): it must come from a guild the agent serves (or a DM, when DMs are
// on). The handler audits a refused click and answers it privately.
func (a *Adapter) clickRefusal(t bot.Target) string {
	if t.Space == "" {
		if !a.cfg.DM.Enabled {
			return "this agent takes no direct messages"
		}
		return ""
	}
	if _, ok := a.policy.mode(t.Space, t.Channel); !ok {
		return "this server is not one " + a.cfg.Agent + " serves"
	}
	return ""
}

// notice shows text to the clicker only.
func (a *Adapter) notice(ctx context.Context, i *discordgo.Interaction, text string) {
	p := &discordgo.WebhookParams{Content: fit(text), Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: noMentions()}
	if _, err := a.s.FollowupMessageCreate(i, true, p, discordgo.WithContext(ctx)); err != nil {
		a.log.Warn("discord notice not sent", logErr, err)
	}
}

func flags(ephemeral bool) discordgo.MessageFlags {
	if ephemeral {
		return discordgo.MessageFlagsEphemeral
	}
	return 0
}

// interactionUser is the member (guilds, with roles) or user (DMs).
func interactionUser(i *discordgo.Interaction) bot.User {
	if i.Member != nil && i.Member.User != nil {
		return user(i.Member.User, i.Member)
	}
	if i.User != nil {
		return user(i.User, nil)
	}
	return bot.User{}
}

// interactionTarget is where the interaction happened, as a Target.
func (a *Adapter) interactionTarget(ctx context.Context, i *discordgo.Interaction, userID string) (bot.Target, error) {
	if i.GuildID == "" {
		return bot.Target{Platform: bot.Discord, Channel: i.ChannelID, User: userID}, nil
	}
	t := bot.Target{Platform: bot.Discord, Space: i.GuildID, Channel: i.ChannelID}
	parent, err := a.threadParent(ctx, i.ChannelID)
	if err != nil {
		return t, err
	}
	if parent != "" {
		t.Channel, t.Thread = parent, i.ChannelID
	}
	return t, nil
}
