package agents

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/herdbot/herdbot/bot"
)

// convState is a conversation with work waiting or running: one run at a
// time. It is dropped when idle. Guarded by Fleet.mu.
type convState struct {
	key     string
	active  bool      // an item was dispatched (set before the run exists)
	run     *runState // the running job, once registered
	waiting int       // chat messages waiting
	items   int       // everything waiting (chat messages and run requests)
}

// conv returns agent's conversation key, creating it. Callers hold f.mu.
func (f *Fleet) conv(key, agent string) *convState {
	k := agent + "|" + key
	c, ok := f.convs[k]
	if !ok {
		c = &convState{key: key}
		f.convs[k] = c
	}
	return c
}

// dropConvIfIdleLocked forgets c when nothing runs or waits there.
func (f *Fleet) dropConvIfIdleLocked(agent string, c *convState) {
	if !c.active && c.items == 0 {
		if f.convs[agent+"|"+c.key] == c {
			delete(f.convs, agent+"|"+c.key)
		}
	}
}

// executeConv runs p as the conversation's current run.
func (f *Fleet) executeConv(ctx context.Context, a *agentState, c *convState, p runParams) (RunResult, error) {
	p.registered = func(rs *runState) {
		f.mu.Lock()
		c.run = rs
		f.mu.Unlock()
	}
	defer func() {
		f.mu.Lock()
		c.run = nil
		f.mu.Unlock()
	}()
	return f.execute(ctx, a, p)
}

// Run runs one job outside chat (schedules, webhooks, the CLI) and blocks
// until it ends. It implements the scheduler's Runner.
func (f *Fleet) Run(ctx context.Context, req RunRequest) (RunResult, error) {
	a, err := f.agent(req.Agent)
	if err != nil {
		return RunResult{}, err
	}
	if strings.TrimSpace(req.Prompt) == "" {
		req.Prompt = a.spec.Description
		if req.Prompt == "" {
			return RunResult{}, errors.New("empty prompt")
		}
	}
	trigger := req.Trigger
	if trigger == "" {
		trigger = TriggerCLI
	}
	p := runParams{prompt: req.Prompt, trigger: trigger, schedule: req.Schedule, target: req.Target, silent: req.Silent,
		jobID: req.JobID, stored: req.Stored}
	if req.Resume && req.Target != (bot.Target{}) {
		// Resuming the conversation's session: wait in its queue, so it
		// never runs beside a chat message of the same session.
		p.convKey = req.Target.Key()
		start := make(chan *convState, 1)
		user := "run:" + trigger
		f.mu.Lock()
		if f.closing {
			f.mu.Unlock()
			return RunResult{}, ErrShuttingDown
		}
		it := f.intakeOf(a.spec.Name)
		u := it.user(user, Rate{N: -1}, f.now(), a.spec.NoticeEvery)
		it.seq++
		q := &queued{user: user, conv: p.convKey, seq: it.seq, start: start}
		u.queue = append(u.queue, q)
		f.conv(p.convKey, a.spec.Name).items++
		f.dispatchLocked(a.spec.Name)
		f.mu.Unlock()
		var c *convState
		select {
		case c = <-start:
		case <-ctx.Done():
			f.mu.Lock()
			gone := f.unqueueLocked(a.spec.Name, it, u, q)
			f.mu.Unlock()
			if gone {
				return RunResult{}, ctx.Err()
			}
			c = <-start // dispatched (the run sees the cancelled ctx) or drained
		}
		return f.runDispatched(ctx, a, c, p)
	}
	return f.execute(ctx, a, p)
}

// NewJobID returns a fresh job id for RunRequest.JobID.
func NewJobID() string { return newID("j-") }

// Cancel stops a running job: interrupt, then end its process. It
// returns ErrNotRunning when no such job runs here.
func (f *Fleet) Cancel(jobID string) error {
	f.mu.Lock()
	rs, ok := f.running[jobID]
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotRunning, jobID)
	}
	rs.cancel(ErrCancelled)
	f.audit(context.Background(), AuditEntry{Time: f.now(), Agent: rs.job.Agent, Actor: "herdbot",
		Action: "job.cancelled", Subject: jobID})
	return nil
}

// interrupt asks the CLI to end the current turn (steer mode).
func (rs *runState) interrupt() {
	defer rs.interrupting.Store(false)
	rs.mu.Lock()
	c := rs.conn
	rs.mu.Unlock()
	if c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Interrupt(ctx)
	}
}

// say posts a short notice to a target, logging failures.
func (f *Fleet) say(ctx context.Context, a *agentState, to bot.Target, text string) {
	out, ok := f.outbox(a.spec.Name, to)
	if !ok {
		return
	}
	if _, err := out.Send(ctx, to, bot.Message{Text: text}); err != nil {
		f.log.Warn("send notice", "agent", a.spec.Name, "err", err)
	}
}

// HandleCommand answers slash commands. It implements bot.Handler.
func (f *Fleet) HandleCommand(ctx context.Context, c bot.Command) bot.Reply {
	a, err := f.agent(c.Agent)
	if err != nil {
		return bot.Reply{Message: bot.Message{Text: "Unknown agent."}, Ephemeral: true}
	}
	key := c.Target.Key()
	switch c.Name {
	case "ask":
		if strings.TrimSpace(c.Args) == "" {
			return bot.Reply{Message: bot.Message{Text: "Usage: ask <prompt>"}, Ephemeral: true}
		}
		f.HandleMessage(ctx, bot.Inbound{Agent: c.Agent, Target: c.Target, User: c.User, Text: c.Args})
		return bot.Reply{Message: bot.Message{Text: "📨 " + truncate(c.Args, 200)}}
	case "reset":
		if err := f.conversations.DeleteConversation(ctx, a.spec.Name, key); err != nil {
			f.lost("conversation_reset", err, "agent", a.spec.Name, "conversation", key)
			return bot.Reply{Message: bot.Message{Text: "⚠️ The session could not be reset (herdbot's store did not take it); the next message still resumes it. Try again in a moment."}, Ephemeral: true}
		}
		f.dropWarm(ctx, a, key)
		return bot.Reply{Message: bot.Message{Text: "🆕 Session reset: the next message starts a new conversation."}}
	case "stop":
		f.mu.Lock()
		cs := f.convs[a.spec.Name+"|"+key]
		var rs *runState
		if cs != nil {
			rs = cs.run
		}
		f.mu.Unlock()
		if rs == nil {
			return bot.Reply{Message: bot.Message{Text: "Nothing is running here."}, Ephemeral: true}
		}
		_ = f.Cancel(rs.job.ID)
		return bot.Reply{Message: bot.Message{Text: "⏹ Stopping job " + rs.job.ID + "."}}
	case "status":
		return bot.Reply{Message: bot.Message{Text: f.status(ctx, a, key)}, Ephemeral: true}
	case "sessions":
		return bot.Reply{Message: bot.Message{Text: f.sessions(ctx, a)}, Ephemeral: true}
	case "model":
		return f.modelCommand(ctx, a, c)
	case "cost":
		return f.costCommand(ctx, a, c.Target)
	case "approvals":
		return f.approvalsCommand(ctx, a, c.Target)
	case "help", "":
		return bot.Reply{Message: bot.Message{Text: helpText(a.spec)}, Ephemeral: true}
	}
	return bot.Reply{Message: bot.Message{Text: "Unknown command " + c.Name + ". " + helpText(a.spec)}, Ephemeral: true}
}

func (f *Fleet) status(ctx context.Context, a *agentState, key string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**", a.spec.Name)
	if a.spec.Description != "" {
		fmt.Fprintf(&b, " — %s", a.spec.Description)
	}
	if c, err := f.conversations.Conversation(ctx, a.spec.Name, key); err == nil && c.SessionID != "" {
		fmt.Fprintf(&b, "\nSession: `%s` (last active %s)", c.SessionID, c.LastActive.Format(time.RFC3339))
	} else {
		b.WriteString("\nSession: none yet")
	}
	if m := f.chosenModel(ctx, a, key); m != "" {
		fmt.Fprintf(&b, "\nModel: %s (chosen with /model)", m)
	} else {
		fmt.Fprintf(&b, "\nModel: %s", modelName(a.spec))
	}
	f.mu.Lock()
	cs := f.convs[a.spec.Name+"|"+key]
	var rs *runState
	waiting, all, elsewhere := 0, 0, 0
	if cs != nil {
		rs = cs.run
		waiting = cs.waiting
	}
	if it := f.intakes[a.spec.Name]; it != nil {
		all = it.waiting
	}
	for _, r := range f.running {
		if r.a.spec.Name == a.spec.Name && r != rs {
			elsewhere++
		}
	}
	f.mu.Unlock()
	if rs != nil {
		fmt.Fprintf(&b, "\nRunning: job `%s`", rs.job.ID)
		tool, asks := rs.activity()
		if tool != "" {
			fmt.Fprintf(&b, " · tool %s", tool)
		}
		if asks > 0 {
			fmt.Fprintf(&b, " · waiting for %d approval(s)", asks)
		}
	} else {
		b.WriteString("\nRunning: nothing here")
	}
	if elsewhere > 0 {
		fmt.Fprintf(&b, " (%d run(s) elsewhere)", elsewhere)
	}
	fmt.Fprintf(&b, "\nQueue: %d waiting here, %d in all · processes %d/%d", waiting, all, f.LiveProcesses(a.spec.Name), a.spec.MaxProcesses)
	b.WriteString("\nSpend: " + f.spendLine(ctx, a))
	return b.String()
}

// spendLine is the agent's spend today and this month against its budget.
func (f *Fleet) spendLine(ctx context.Context, a *agentState) string {
	s, err := f.spending(ctx, a)
	if err != nil {
		f.log.Warn("read spend", "agent", a.spec.Name, "err", err)
		return "could not be read"
	}
	return SpendText(s)
}

// SpendText writes s on one line: "$0.12 today of $5.00 · $1.50 this
// month (no cap)".
func SpendText(s Spending) string {
	capText := func(v float64) string {
		if v > 0 {
			return " of " + bot.USD(v)
		}
		return " (no cap)"
	}
	return bot.USD(s.Today) + " today" + capText(s.Budget.DailyUSD) + " · " + bot.USD(s.Month) + " this month" + capText(s.Budget.MonthlyUSD)
}

func (f *Fleet) sessions(ctx context.Context, a *agentState) string {
	cs, err := f.conversations.Conversations(ctx, a.spec.Name)
	if err != nil {
		return "Could not list sessions."
	}
	if len(cs) == 0 {
		return "No sessions yet."
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].LastActive.After(cs[j].LastActive) })
	var b strings.Builder
	for i, c := range cs {
		if i == 10 {
			fmt.Fprintf(&b, "… and %d more", len(cs)-10)
			break
		}
		fmt.Fprintf(&b, "• `%s` %s (last active %s)\n", c.SessionID, c.Key, c.LastActive.Format(time.RFC3339))
	}
	return b.String()
}

func helpText(s AgentSpec) string {
	return fmt.Sprintf("I'm **%s**. Mention me or message me to ask something. Commands: "+
		"`ask <prompt>`, `reset` (new session), `status`, `stop` (interrupt the current run), `sessions`, "+
		"`model [NAME]` (show or, for approvers, switch this conversation's model), `cost`, `approvals` (pending here), `help`. "+
		"When I want to use a tool that isn't pre-approved, approvers get buttons: Allow once, Allow for this session, Deny.", s.Name)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
