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

// convState is one conversation's queue: one run at a time, FIFO.
type convState struct {
	a      *agentState
	key    string
	queue  []queued
	worker bool
	active bool      // a popped message is being run (set at pop, before run exists)
	run    *runState // the running job, once registered
}

// queued is a waiting message, or a RunRequest that resumes the
// conversation's session (p set; its outcome goes to done).
type queued struct {
	in   bot.Inbound
	p    *runParams
	ctx  context.Context // the requester's, for p
	done chan runOutcome // for p
}

type runOutcome struct {
	res RunResult
	err error
}

func (f *Fleet) conv(a *agentState, key string) *convState {
	k := a.spec.Name + "|" + key
	c, ok := f.convs[k]
	if !ok {
		c = &convState{a: a, key: key}
		f.convs[k] = c
	}
	if c.a != a && !c.worker {
		c.a = a // the agent was reloaded; an idle conversation takes the new spec
	}
	return c
}

// HandleMessage queues a chat message for its conversation's agent. It
// returns at once; the run's output goes to in.Target. It implements
// bot.Handler.
func (f *Fleet) HandleMessage(ctx context.Context, in bot.Inbound) {
	a, err := f.agent(in.Agent)
	if err != nil {
		f.log.Warn("message for unknown agent", "agent", in.Agent)
		return
	}
	if strings.TrimSpace(in.Text) == "" {
		return
	}
	key := in.Target.Key()
	f.mu.Lock()
	if f.closing {
		f.mu.Unlock()
		f.say(ctx, a, in.Target, "herdbot is restarting; please send that again in a minute.")
		return
	}
	c := f.conv(a, key)
	if len(c.queue) >= a.spec.QueueMax {
		n := len(c.queue)
		f.mu.Unlock()
		f.say(ctx, a, in.Target, fmt.Sprintf("⏸ %d messages are already waiting here; try again when the agent has caught up.", n))
		return
	}
	c.queue = append(c.queue, queued{in: in})
	// Messages ahead of this one: those queued before it, and the run in
	// progress (a worker that has not popped its first message yet counts
	// that message as queued).
	pos := len(c.queue) - 1
	if c.active {
		pos++
	}
	busy := pos > 0
	start := !c.worker
	c.worker = true
	running := c.run
	depth := f.depth(a)
	f.mu.Unlock()
	if f.cfg.Metrics != nil {
		f.cfg.Metrics.QueueDepth(a.spec.Name, depth)
	}

	if start {
		f.wg.Add(1)
		go f.work(c)
	}
	if busy {
		if a.spec.Steer && running != nil {
			running.interrupt()
			f.say(ctx, a, in.Target, "↪ Interrupting the current turn to take your new message.")
		} else {
			f.say(ctx, a, in.Target, fmt.Sprintf("⏳ Queued — position %d. I'll get to it after the current run.", pos))
		}
	}
}

func (f *Fleet) depth(a *agentState) int {
	n := 0
	for _, c := range f.convs {
		if c.a == a {
			n += len(c.queue)
		}
	}
	return n
}

// work runs a conversation's queue until it is empty.
func (f *Fleet) work(c *convState) {
	defer f.wg.Done()
	for {
		f.mu.Lock()
		c.active = false
		if len(c.queue) == 0 || f.life.Err() != nil {
			dropped := c.queue
			c.queue, c.worker, c.run = nil, false, nil
			f.mu.Unlock()
			for _, q := range dropped {
				if q.p != nil {
					q.done <- runOutcome{err: ErrShuttingDown}
					continue
				}
				f.say(context.Background(), c.a, q.in.Target, "herdbot stopped before this message ran; please send it again.")
			}
			return
		}
		q := c.queue[0]
		c.queue = c.queue[1:]
		c.active = true
		f.mu.Unlock()

		if q.p != nil {
			if q.ctx.Err() != nil {
				q.done <- runOutcome{err: q.ctx.Err()}
				continue
			}
			res, err := f.executeConv(q.ctx, c, *q.p)
			q.done <- runOutcome{res, err}
			continue
		}
		p := runParams{prompt: q.in.Text, trigger: TriggerChat, target: q.in.Target, convKey: c.key, user: q.in.User}
		_, err := f.executeConv(context.Background(), c, p)
		if err != nil && !errors.Is(err, ErrShuttingDown) {
			f.log.Debug("chat run ended", "agent", c.a.spec.Name, "conversation", c.key, "err", err)
		}
	}
}

// executeConv runs p as the conversation's current run.
func (f *Fleet) executeConv(ctx context.Context, c *convState, p runParams) (RunResult, error) {
	hook := func(rs *runState) {
		f.mu.Lock()
		c.run = rs
		f.mu.Unlock()
	}
	defer func() {
		f.mu.Lock()
		c.run = nil
		f.mu.Unlock()
	}()
	return f.executeHooked(ctx, c.a, p, hook)
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
		done := make(chan runOutcome, 1)
		f.mu.Lock()
		if f.closing {
			f.mu.Unlock()
			return RunResult{}, ErrShuttingDown
		}
		c := f.conv(a, p.convKey)
		c.queue = append(c.queue, queued{p: &p, ctx: ctx, done: done})
		start := !c.worker
		c.worker = true
		f.mu.Unlock()
		if start {
			f.wg.Add(1)
			go f.work(c)
		}
		select {
		case o := <-done:
			return o.res, o.err
		case <-ctx.Done():
			// The worker sees the cancelled ctx and skips or stops it.
			o := <-done
			return o.res, o.err
		}
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
	_ = f.cfg.Store.Audit(context.Background(), AuditEntry{Time: f.now(), Agent: rs.job.Agent, Actor: "herdbot",
		Action: "job.cancelled", Subject: jobID})
	return nil
}

// interrupt asks the CLI to end the current turn (steer mode).
func (rs *runState) interrupt() {
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
		_ = f.cfg.Store.DeleteConversation(ctx, a.spec.Name, key)
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
	if c, err := f.cfg.Store.Conversation(ctx, a.spec.Name, key); err == nil && c.SessionID != "" {
		fmt.Fprintf(&b, "\nSession: `%s` (last active %s)", c.SessionID, c.LastActive.Format(time.RFC3339))
	} else {
		b.WriteString("\nSession: none yet")
	}
	f.mu.Lock()
	cs := f.convs[a.spec.Name+"|"+key]
	running, waiting := "", 0
	if cs != nil {
		if cs.run != nil {
			running = cs.run.job.ID
		}
		waiting = len(cs.queue)
	}
	f.mu.Unlock()
	if running != "" {
		fmt.Fprintf(&b, "\nRunning: job `%s`", running)
	} else {
		b.WriteString("\nRunning: nothing")
	}
	fmt.Fprintf(&b, "\nQueue: %d waiting · processes %d/%d", waiting, f.LiveProcesses(a.spec.Name), a.spec.MaxProcesses)
	return b.String()
}

func (f *Fleet) sessions(ctx context.Context, a *agentState) string {
	cs, err := f.cfg.Store.Conversations(ctx, a.spec.Name)
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
		"`ask <prompt>`, `reset` (new session), `status`, `stop` (interrupt the current run), `sessions`, `help`. "+
		"When I want to use a tool that isn't pre-approved, approvers get buttons: Allow once, Allow for this session, Deny.", s.Name)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
