package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/herdbot/herdbot/bot"
)

// Chat commands beyond a conversation's basics (conversation.go): /model,
// /cost and /approvals.

// chosenModel is the model chosen for conversation key with /model, while
// it is still on the agent's list of models ("" otherwise: the agent's
// own model). A choice the fleet file no longer allows is ignored.
//
// A thread without a choice of its own takes its channel's: Slack sends a
// slash command typed in a thread as the channel's, so on Slack /model
// sets the model of the channel's threads.
func (f *Fleet) chosenModel(ctx context.Context, a *agentState, key string) string {
	if key == "" || len(a.spec.Models) == 0 {
		return ""
	}
	keys := []string{key}
	if t, err := bot.ParseKey(key); err == nil && t.Thread != "" {
		t.Thread = ""
		keys = append(keys, t.Key())
	}
	for _, k := range keys {
		m, err := f.models.ConversationModel(ctx, a.spec.Name, k)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			f.log.Warn("read the conversation's model; using the agent's", "agent", a.spec.Name, "conversation", k, "err", err)
			return ""
		}
		if !slices.Contains(a.spec.Models, m.Model) {
			return ""
		}
		return m.Model
	}
	return ""
}

// channelWide reports whether t is a chat channel whose threads are
// conversations of their own (Discord and Slack channels; not a thread,
// a DM or the console).
func channelWide(t bot.Target) bool {
	return t.Thread == "" && t.User == "" && t.Space != "" && (t.Platform == bot.Discord || t.Platform == bot.Slack)
}

// where names what a command's choice applies to.
func where(t bot.Target) string {
	switch {
	case t.Thread != "":
		return "this thread"
	case channelWide(t):
		return "this channel and its threads"
	}
	return "this conversation"
}

// modelName is how the agent's own model is shown.
func modelName(s AgentSpec) string {
	if s.Options.Model == "" {
		return "the CLI's default"
	}
	return s.Options.Model
}

// modelCommand shows the conversation's model or, for an approver, switches
// it to one on the agent's list ("default" goes back to the agent's).
// The switch applies from the conversation's next run: a new process is
// started with --model (a warm one with another model is not reused).
func (f *Fleet) modelCommand(ctx context.Context, a *agentState, c bot.Command) bot.Reply {
	key := c.Target.Key()
	want := strings.TrimSpace(c.Args)
	current := f.chosenModel(ctx, a, key)
	if want == "" {
		var b strings.Builder
		if current != "" {
			fmt.Fprintf(&b, "Model here: **%s** (chosen with /model; the agent's own is %s)", current, modelName(a.spec))
		} else {
			fmt.Fprintf(&b, "Model here: **%s** (the agent's)", modelName(a.spec))
		}
		if len(a.spec.Models) == 0 {
			b.WriteString("\nNo models to switch to: the fleet file lists none for this agent (`models`).")
		} else {
			fmt.Fprintf(&b, "\nApprovers can switch %s with `model NAME`: %s, or `model default`.", where(c.Target), strings.Join(a.spec.Models, ", "))
		}
		return bot.Reply{Message: bot.Message{Text: b.String()}, Ephemeral: true}
	}
	if !f.IsApprover(a.spec.Name, c.Target.Platform, c.User) {
		return bot.Reply{Message: bot.Message{Text: "Only " + a.spec.Name + "'s approvers may switch its model."}, Ephemeral: true}
	}
	choice := ModelChoice{Model: want, SetBy: displayName(c.User), SetAt: f.now()}
	switch {
	case strings.EqualFold(want, "default"):
		choice.Model = ""
	case !slices.Contains(a.spec.Models, want):
		list := "none"
		if len(a.spec.Models) > 0 {
			list = strings.Join(a.spec.Models, ", ")
		}
		return bot.Reply{Message: bot.Message{Text: fmt.Sprintf("%s is not on %s's list of models (%s); the fleet file's `models` sets it.",
			truncate(want, 60), a.spec.Name, list)}, Ephemeral: true}
	}
	if err := f.models.SetConversationModel(ctx, a.spec.Name, key, choice); err != nil {
		f.log.Error("record the conversation's model", "agent", a.spec.Name, "conversation", key, "err", err)
		return bot.Reply{Message: bot.Message{Text: "⚠️ The model could not be switched (herdbot's store did not take it); try again in a moment."}, Ephemeral: true}
	}
	detail, _ := json.Marshal(map[string]string{"conversation": key, "model": choice.Model, "previous": current})
	f.audit(ctx, AuditEntry{Time: f.now(), Agent: a.spec.Name, Actor: c.Target.Platform + ":" + c.User.ID, Action: "model.switched",
		Subject: key, Detail: string(detail)})
	// The warm process, if any, runs the old model: the next run starts
	// one with the new (acquire compares the models).
	f.dropWarm(ctx, a, key)
	shown := choice.Model
	if shown == "" {
		shown = modelName(a.spec) + " (the agent's)"
	}
	return bot.Reply{Message: bot.Message{Text: fmt.Sprintf("🔀 %s switched %s to **%s**, from the next message on.", displayName(c.User), where(c.Target), shown)}}
}

// costCommand shows what this conversation and its session cost, and the
// agent's spend today and this month against its budget.
func (f *Fleet) costCommand(ctx context.Context, a *agentState, t bot.Target) bot.Reply {
	var b strings.Builder
	key := t.Key()
	q := SpendQuery{Agent: a.spec.Name, Conversation: key, WithThreads: channelWide(t)}
	conv, err := f.spend.Spend(ctx, q)
	if err != nil {
		f.log.Warn("read spend", "agent", a.spec.Name, "err", err)
		return bot.Reply{Message: bot.Message{Text: "The spend could not be read; try again in a moment."}, Ephemeral: true}
	}
	what := "This conversation"
	if q.WithThreads {
		what = "This channel (its threads included)"
	}
	fmt.Fprintf(&b, "%s: %s", what, bot.USD(conv))
	if c, err := f.conversations.Conversation(ctx, a.spec.Name, key); err == nil && c.SessionID != "" {
		if s, err := f.spend.Spend(ctx, SpendQuery{Agent: a.spec.Name, Conversation: key, SessionID: c.SessionID}); err == nil {
			fmt.Fprintf(&b, " · its current session: %s", bot.USD(s))
		}
	}
	fmt.Fprintf(&b, "\n%s: %s", a.spec.Name, f.spendLine(ctx, a))
	return bot.Reply{Message: bot.Message{Text: b.String()}, Ephemeral: true}
}

// approvalsCommand lists the approvals pending in the command's channel
// (its threads included), with where their cards are.
func (f *Fleet) approvalsCommand(ctx context.Context, a *agentState, t bot.Target) bot.Reply {
	rows, err := f.approvalRows.Approvals(ctx, a.spec.Name, true, 0)
	if err != nil {
		f.log.Warn("list approvals", "agent", a.spec.Name, "err", err)
		return bot.Reply{Message: bot.Message{Text: "The approvals could not be read; try again in a moment."}, Ephemeral: true}
	}
	var b strings.Builder
	n := 0
	for _, r := range rows {
		at, err := bot.ParseKey(r.Conversation)
		if err != nil || at.Platform != t.Platform || at.Space != t.Space || at.Channel != t.Channel {
			continue
		}
		n++
		if n > 10 {
			continue
		}
		fmt.Fprintf(&b, "\n• **%s** `%s` · `%s` · expires %s", r.Tool, truncate(summarize(r.Input, 60), 60), r.ID,
			expiresIn(r.Expires.Sub(f.now())))
		if r.RequestedBy != "" {
			fmt.Fprintf(&b, " · for %s", r.RequestedBy)
		}
		var refs []bot.MessageRef
		_ = json.Unmarshal([]byte(r.Refs), &refs)
		for _, ref := range refs {
			if l := messageLink(ref); l != "" {
				b.WriteString(" · " + l)
			}
		}
	}
	switch {
	case n == 0:
		return bot.Reply{Message: bot.Message{Text: "No approvals are pending in this channel."}, Ephemeral: true}
	case n > 10:
		fmt.Fprintf(&b, "\n… and %d more (`herdbot approvals --pending` lists them all)", n-10)
	}
	return bot.Reply{Message: bot.Message{Text: fmt.Sprintf("%d approval(s) pending here:%s", n, b.String())}, Ephemeral: true}
}

func expiresIn(d time.Duration) string {
	if d <= 0 {
		return "now"
	}
	return "in " + d.Round(time.Second).String()
}

// messageLink is a link to a chat message, where the platform has one
// that can be built from the ref alone (Discord's jump links).
func messageLink(r bot.MessageRef) string {
	if r.Target.Platform != bot.Discord || r.ID == "" {
		return ""
	}
	space := r.Target.Space
	if space == "" {
		space = "@me"
	}
	ch := r.Target.Channel
	if r.Target.Thread != "" {
		ch = r.Target.Thread
	}
	return "https://discord.com/channels/" + space + "/" + ch + "/" + r.ID
}
