package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herdbot/herdbot/bot"
	"github.com/herdbot/herdbot/sandbox"
)

// runParams describe one run, from chat or from a RunRequest.
type runParams struct {
	prompt   string
	images   []Image // sent with the prompt (files people attached)
	trigger  string
	schedule string
	target   bot.Target // where cards (and, unless silent, output) go
	convKey  string     // conversation whose session is used; "" = fresh session
	silent   bool
	user     bot.User
	jobID    string     // preset job id, or ""
	slotHeld bool       // dispatch took one of the agent's slots for this run; the run releases it
	stored   chan<- Job // told once the job row is written (RunRequest.Stored)
	// registered, if set, is called with the run once it is registered
	// (cancellable, in the fleet's running set): a conversation notes its
	// current run.
	registered func(*runState)
}

// runState is one job while it runs.
type runState struct {
	f      *Fleet
	a      *agentState
	p      runParams
	job    Job
	cancel context.CancelCauseFunc
	// Guarded by the fleet's mu: diskChecked, the run passed the disk
	// check before it (runs that have not are the check's to refuse);
	// diskStopped, the disk watcher stopped it.
	diskChecked, diskStopped bool

	flushMu sync.Mutex // one write of buf at a time (flush, recordEnd)

	mu          sync.Mutex
	conn        Conn
	stream      *bot.Stream
	seq         int
	buf         []JobEvent // recorded, not yet written
	flushed     time.Time
	flushFailed bool // a write of buf failed (logged once)
	dropped     int  // events dropped while the store could not write
	denied      []string
	tools       int
	tool        string            // the tool running now ("" between tools)
	model       string            // the conversation's /model choice ("" = the agent's model); set before the process starts
	interim     string            // assistant text not yet shown (shown before the next tool row)
	files       []bot.File        // long tool outputs, attached to the answer
	names       map[string]string // tool_use id -> tool name
	plans       map[string]string // ExitPlanMode tool_use id -> the plan the model wrote
	pending     map[string]string // CLI request id -> approval id

	interrupting atomic.Bool // a steer interrupt is on its way
}

// execute runs one job to its end and returns its result. It waits for a
// slot under the agent's concurrency cap first.
func (f *Fleet) execute(ctx context.Context, a *agentState, p runParams) (RunResult, error) {
	held := p.slotHeld // one of a.slots is ours: released when the run ends
	defer func() {
		if held {
			f.releaseSlot(a)
		}
	}()
	f.mu.Lock()
	if f.closing {
		f.mu.Unlock()
		return RunResult{}, ErrShuttingDown
	}
	// Every run, from chat, schedules, webhooks or the CLI, is one that
	// Serve gives the grace period to on shutdown.
	f.runs.Add(1)
	f.mu.Unlock()
	defer f.runs.Done()

	if p.jobID == "" {
		p.jobID = newID("j-")
	}
	job := Job{ID: p.jobID, Agent: a.spec.Name, Trigger: p.trigger, Schedule: p.schedule,
		Conversation: p.target.Key(), Prompt: f.red.String(p.prompt), Status: JobQueued, Started: f.now()}
	if p.target == (bot.Target{}) {
		job.Conversation = ""
	}
	// Take a free slot at once when there is one: the job row is then
	// written once, as running; otherwise it waits, recorded as queued.
	if !held {
		select {
		case a.slots <- struct{}{}:
			held = true
		default:
		}
	}
	if held {
		job.Status = JobRunning
	}
	if err := f.jobs.CreateJob(ctx, job); err != nil {
		err = fmt.Errorf("create job: %w", err)
		f.notRecorded(ctx, a, p, err)
		return RunResult{}, err
	}
	if p.stored != nil {
		select {
		case p.stored <- job:
		default:
		}
	}
	runCtx, cancel, release := f.untilStopped(ctx)
	defer release()
	defer cancel(nil)
	stopOuter := context.AfterFunc(ctx, func() { cancel(ErrCancelled) })
	defer stopOuter()
	rs := &runState{f: f, a: a, p: p, job: job, cancel: cancel, pending: map[string]string{}, flushed: f.now()}
	f.mu.Lock()
	f.running[job.ID] = rs
	f.mu.Unlock()
	if p.registered != nil {
		p.registered(rs)
	}
	defer func() {
		f.mu.Lock()
		delete(f.running, job.ID)
		f.mu.Unlock()
	}()

	if !held {
		select {
		case a.slots <- struct{}{}:
			held = true
		case <-runCtx.Done():
			return f.finish(context.WithoutCancel(ctx), rs, "", nil, causeOf(runCtx))
		}
		rs.job.Status, rs.job.Started = JobRunning, f.now()
		if err := f.jobs.UpdateJob(runCtx, rs.job); err != nil {
			f.log.Error("mark job running", "job", job.ID, "err", err)
		}
	}

	timer := f.timers.after(a.spec.RunTimeout, func() { cancel(ErrTimeout) })
	defer timer.Stop()

	// Over its budget the agent gets no new run.
	if be := f.checkBudget(runCtx, rs.a); be != nil {
		f.refuseOverBudget(context.WithoutCancel(ctx), rs, be)
		res, err := f.finish(context.WithoutCancel(ctx), rs, "", nil, be)
		if !p.silent {
			f.say(context.WithoutCancel(ctx), a, p.target, be.chatText())
		}
		return res, be.wrap(res.Job, err)
	}

	// Over its disk limit the agent gets no new run.
	if a.disk != nil {
		if err := f.checkDisk(runCtx, rs); err != nil {
			var de *DiskError
			if !errors.As(err, &de) {
				err = causeOf(runCtx)
			}
			res, err := f.finish(context.WithoutCancel(ctx), rs, "", nil, err)
			if de != nil && !p.silent {
				f.say(context.WithoutCancel(ctx), a, p.target, de.chatText())
			}
			return res, de.wrap(res.Job, err)
		}
		f.mu.Lock()
		rs.diskChecked = true
		f.mu.Unlock()
	}

	if !p.silent {
		if out, ok := f.outbox(a.spec.Name, p.target); ok {
			rs.stream = bot.NewStream(runCtx, out, p.target, "⏳ Working…", f.cfg.Stream)
		}
	}
	rs.record("prompt", map[string]any{"text": rs.job.Prompt, "user": p.user.ID})

	text, res, err := f.turn(runCtx, rs, true)
	var de *DiskError
	if err != nil && errors.As(context.Cause(runCtx), &de) {
		err = de // stopped by the disk watcher, wherever the run was
	}
	// The agent's process is done with this run: the slot is free before
	// the answer goes to chat, so a channel the platform is rate-limiting
	// holds up only its own conversation.
	if held {
		held = false
		f.releaseSlot(a)
	}
	out, err := f.finish(context.WithoutCancel(ctx), rs, text, res, err)
	return out, de.wrap(out.Job, err)
}

// notRecorded says that a run did not start because its job row could
// not be written: logged as an error, and told in chat for a run that
// posts there (a chat message), so nobody waits for an answer that will
// never come. Silent runs (schedules, webhooks) report it themselves.
func (f *Fleet) notRecorded(ctx context.Context, a *agentState, p runParams, err error) {
	f.log.Error("run not started: its job could not be recorded", "agent", a.spec.Name, "trigger", p.trigger,
		"conversation", p.target.Key(), "err", err)
	if p.silent {
		return
	}
	f.say(context.WithoutCancel(ctx), a, p.target, "⚠️ herdbot could not record this request, so it did not run it ("+
		truncate(f.red.String(err.Error()), 300)+"). Please send it again in a few minutes; the operator has been told (herdbot's log and /healthz).")
}

func causeOf(ctx context.Context) error {
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
		return c
	}
	return ErrInterrupted
}

// turn sends the prompt and reads events until the turn's result. On an
// unknown session it starts fresh once.
func (f *Fleet) turn(ctx context.Context, rs *runState, retry bool) (string, *Result, error) {
	a, p := rs.a, rs.p
	session := ""
	if p.convKey != "" {
		c, err := f.conversations.Conversation(ctx, a.spec.Name, p.convKey)
		if err == nil && c.SessionID != "" && f.now().Sub(c.LastActive) < a.spec.SessionTimeout {
			session = c.SessionID
		}
	}
	if m := f.chosenModel(ctx, a, p.convKey); m != "" {
		rs.mu.Lock()
		rs.model = m
		rs.mu.Unlock()
		rs.record("model", map[string]any{"model": m})
	}
	conn, warm, err := f.acquire(ctx, rs, session)
	if err != nil {
		return "", nil, err
	}
	rs.mu.Lock()
	rs.conn = conn
	rs.mu.Unlock()
	if err := sendPrompt(ctx, conn, p); err != nil {
		f.release(rs, conn, false)
		if !warm || ctx.Err() != nil {
			return "", nil, fmt.Errorf("send prompt: %w", err)
		}
		// The warm process died while idle (its container or the
		// engine went away): a new one resumes the session.
		f.log.Info("warm agent process gone; starting a new one", "agent", a.spec.Name, "err", err)
		if conn, _, err = f.acquire(ctx, rs, session); err != nil {
			return "", nil, err
		}
		rs.mu.Lock()
		rs.conn = conn
		rs.mu.Unlock()
		if err := sendPrompt(ctx, conn, p); err != nil {
			f.release(rs, conn, false)
			return "", nil, fmt.Errorf("send prompt: %w", err)
		}
	}
	text, res, healthy, err := f.readTurn(ctx, rs, conn)
	if res != nil && res.Subtype == "" && rs.job.SessionID == "" {
		rs.job.SessionID = session
	}
	f.release(rs, conn, healthy && err == nil)
	if errors.Is(err, ErrSessionNotFound) && session != "" && retry {
		if err := f.conversations.DeleteConversation(ctx, a.spec.Name, p.convKey); err != nil {
			f.lost("conversation_reset", err, "agent", a.spec.Name, "conversation", p.convKey)
		}
		if rs.stream != nil {
			rs.stream.Row("↻ the previous session could not be found; starting a new one")
		}
		rs.record("session_reset", map[string]any{"old_session": session})
		return f.turn(ctx, rs, false)
	}
	return text, res, err
}

// sendPrompt writes the run's user turn: its text, and its images when
// there are any.
func sendPrompt(ctx context.Context, conn Conn, p runParams) error {
	if len(p.images) == 0 {
		return conn.Send(ctx, p.prompt)
	}
	is, ok := conn.(ImageSender)
	if !ok {
		return errors.New("this agent's runtime cannot take images")
	}
	return is.SendImages(ctx, p.prompt, p.images)
}

// readTurn consumes events until a result (healthy: the process can take
// another turn) or the end of the process.
func (f *Fleet) readTurn(ctx context.Context, rs *runState, conn Conn) (text string, res *Result, healthy bool, err error) {
	events := conn.Events()
	var last string
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				cerr := conn.Close(context.WithoutCancel(ctx))
				if cerr == nil {
					cerr = &RunError{Kind: ErrCrashed, ExitCode: -1, Message: "the agent process ended without a result"}
				}
				return last, nil, false, cerr
			}
			if ev.SessionID != "" {
				rs.job.SessionID = ev.SessionID
			}
			switch ev.Kind {
			case EventText:
				last = ev.Text
				rs.mu.Lock()
				rs.interim = ev.Text
				rs.mu.Unlock()
			case EventResult:
				rs.recordEvent(ev) // written with the job's end (recordEnd)
				if ev.Result != nil && ev.Result.Text != "" {
					last = ev.Result.Text
				}
				return last, ev.Result, true, ev.Err
			}
			f.onEvent(ctx, rs, ev)
		case <-ctx.Done():
			cause := causeOf(ctx)
			if de := (*DiskError)(nil); errors.As(cause, &de) {
				// Over the disk limit every second counts: end the
				// process now (SIGKILL), no polite interrupt.
				now, kill := context.WithCancel(context.WithoutCancel(ctx))
				kill()
				_ = conn.Close(now)
				return last, nil, false, cause
			}
			// Interrupt politely, give the CLI a moment to end the turn,
			// then end the process.
			ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = conn.Interrupt(ictx)
			for draining := true; draining; {
				select {
				case ev, ok := <-events:
					if !ok || ev.Kind == EventResult {
						draining = false
					} else {
						rs.recordEvent(ev)
					}
				case <-ictx.Done():
					draining = false
				}
			}
			cancel()
			return last, nil, false, cause
		}
	}
}

// onEvent records an event and shows it.
func (f *Fleet) onEvent(ctx context.Context, rs *runState, ev Event) {
	rs.recordEvent(ev)
	switch ev.Kind {
	case EventToolUse:
		if ev.Tool != nil {
			rs.mu.Lock()
			rs.tools++
			rs.tool = ev.Tool.Name
			if rs.names == nil {
				rs.names = map[string]string{}
			}
			rs.names[ev.Tool.ID] = ev.Tool.Name
			if ev.Tool.Name == ToolExitPlanMode {
				if rs.plans == nil {
					rs.plans = map[string]string{}
				}
				rs.plans[ev.Tool.ID] = planText(ev.Tool.Input)
			}
			said := rs.interim
			rs.interim = ""
			rs.mu.Unlock()
			if rs.stream != nil && strings.TrimSpace(said) != "" {
				// What the agent said before using a tool is shown, not lost.
				rs.stream.Row("💬 " + f.red.String(truncate(strings.Join(strings.Fields(said), " "), 300)))
			}
			if rs.stream != nil {
				rs.stream.Row("🔧 " + ev.Tool.Name + ": " + f.red.String(summarize(ev.Tool.Input, 80)))
			}
		}
	case EventToolResult:
		if ev.ToolResult != nil {
			rs.mu.Lock()
			rs.tool = ""
			rs.mu.Unlock()
			rs.attach(f, *ev.ToolResult)
		}
	case EventPermission:
		if ev.Permission != nil {
			rs.mu.Lock()
			rs.tool = ev.Permission.ToolName // the tool it asks for is the one about to run
			rs.mu.Unlock()
			rs.flush(ctx)
			if rs.stream != nil {
				// What the agent said and the tool it asks for are shown
				// before the card that asks.
				rs.stream.Flush(ctx)
			}
			f.approvals.request(ctx, rs, *ev.Permission)
			// The run now waits for a person: its transcript, the
			// request included, is in the store for the job page.
			rs.flush(ctx)
		}
	case EventPermissionCancel:
		if ev.Permission != nil {
			f.approvals.withdraw(ctx, rs, ev.Permission.RequestID)
		}
	}
	rs.maybeFlush(ctx)
}

// activity is what the run does now, for /status: the tool it runs, and
// how many approvals it waits for.
func (rs *runState) activity() (tool string, waiting int) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.tool, len(rs.pending)
}

// finish records the job's end, updates the conversation and tells chat.
func (f *Fleet) finish(ctx context.Context, rs *runState, text string, res *Result, err error) (RunResult, error) {
	j := &rs.job
	j.Finished = f.now()
	if res != nil {
		j.CostUSD, j.Turns = bot.RoundUSD(res.CostUSD), res.Turns
	}
	switch {
	case err == nil && res != nil && !res.IsError:
		j.Status = JobSucceeded
	case errors.Is(err, ErrEngineLost):
		// Its own outcome, not a timeout: the run did not fail, the
		// engine under it did.
		j.Status, j.Error = JobFailed, f.red.String(engineLostText(err))
	case errors.Is(err, ErrTimeout):
		j.Status, j.Error = JobTimedOut, fmt.Sprintf("timed out after %s", rs.a.spec.RunTimeout)
	case errors.Is(err, ErrCancelled):
		j.Status, j.Error = JobCancelled, "cancelled"
	case errors.Is(err, ErrInterrupted), errors.Is(err, ErrShuttingDown):
		j.Status, j.Error = JobInterrupted, "interrupted (herdbot stopping)"
	default:
		j.Status = JobFailed
		if err != nil {
			j.Error = f.red.String(err.Error())
		} else if res != nil {
			j.Error = f.red.String(firstNonEmpty(strings.Join(res.Errors, "; "), res.Text, res.Subtype))
		}
	}
	f.approvals.endRun(ctx, rs)
	text = f.red.String(text)
	if j.Error != "" {
		rs.record("error", map[string]any{"error": j.Error})
	}
	rs.mu.Lock()
	dropped := rs.dropped
	rs.mu.Unlock()
	if dropped > 0 {
		f.log.Error("transcript incomplete: events dropped while the store could not write", "job", j.ID, "events", dropped)
		rs.record("events_dropped", map[string]any{"count": dropped, "reason": "the store could not write"})
	}
	var conv *Conversation
	if rs.p.convKey != "" && j.SessionID != "" && j.Status != JobInterrupted {
		conv = &Conversation{Agent: j.Agent, Key: rs.p.convKey, SessionID: j.SessionID, LastActive: f.now()}
	}
	f.recordEnd(ctx, rs, conv)
	if f.cfg.Metrics != nil {
		f.cfg.Metrics.RunFinished(j.Agent, j.Trigger, string(j.Status), j.Finished.Sub(j.Started))
	}
	f.log.Info("job finished", "agent", j.Agent, "job", j.ID, "status", j.Status, "cost_usd", bot.RoundUSD(j.CostUSD),
		"turns", j.Turns, "error", j.Error)
	if rs.stream != nil {
		if j.Status == JobSucceeded {
			footer := fmt.Sprintf("✅ Done · %d tool call(s) · %s · job %s", rs.tools, bot.USD(j.CostUSD), j.ID)
			rs.mu.Lock()
			files := rs.files
			rs.mu.Unlock()
			if err := rs.stream.Finish(ctx, footer, text, files); err != nil {
				f.log.Warn("send answer", "job", j.ID, "err", err)
			}
		} else {
			rs.stream.Fail(ctx, fmt.Sprintf("❌ %s (job %s)", statusText(*j), j.ID))
		}
	}
	rs.mu.Lock()
	denied := append([]string(nil), rs.denied...)
	rs.mu.Unlock()
	out := RunResult{Job: *j, Text: text, Denied: denied}
	if j.Status != JobSucceeded {
		return out, fmt.Errorf("job %s %s: %s", j.ID, j.Status, j.Error)
	}
	return out, nil
}

// engineLostText is "container engine lost: <cause>" for an error
// matching ErrEngineLost.
func engineLostText(err error) string {
	var re *RunError
	if errors.As(err, &re) && errors.Is(re.Kind, ErrEngineLost) && re.Message != "" {
		return ErrEngineLost.Error() + ": " + re.Message
	}
	var el *sandbox.EngineLostError
	if errors.As(err, &el) {
		return el.Error()
	}
	return ErrEngineLost.Error() + ": " + err.Error()
}

func statusText(j Job) string {
	switch j.Status {
	case JobTimedOut, JobCancelled, JobInterrupted:
		return j.Error
	}
	return "failed: " + j.Error
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// summarize renders a tool input on one line, at most n runes.
func summarize(input json.RawMessage, n int) string {
	var m map[string]any
	s := string(input)
	if json.Unmarshal(input, &m) == nil {
		for _, k := range []string{"command", "file_path", "path", "url", "pattern", "description"} {
			if v, ok := m[k].(string); ok {
				s = v
				break
			}
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

func (f *Fleet) outbox(agent string, to bot.Target) (bot.Outbox, bool) {
	if f.cfg.Chat == nil || to.Platform == "" {
		return nil, false
	}
	return f.cfg.Chat.Outbox(agent, to.Platform)
}

// recordEnd writes the rest of the transcript, the final job row and the
// conversation's session. A store that cannot write (a full disk) is
// retried, with backoff up to recordRetryMax, until it takes the end or
// the fleet gives up at the end of shutdown; a job left "running" then is
// settled (interrupted) by the next start's Recover.
func (f *Fleet) recordEnd(ctx context.Context, rs *runState, conv *Conversation) {
	j := rs.job
	write := func() error {
		rs.flushMu.Lock()
		defer rs.flushMu.Unlock()
		rs.mu.Lock()
		buf := rs.buf
		rs.mu.Unlock()
		if err := f.jobs.FinishJob(ctx, j, buf, conv); err != nil {
			return err
		}
		rs.mu.Lock()
		rs.buf = rs.buf[len(buf):]
		rs.mu.Unlock()
		return nil
	}
	wait := recordRetryMin
	for try := 1; ; try++ {
		err := write()
		if err == nil {
			if try > 1 {
				f.log.Info("job end recorded after the store recovered", "job", j.ID, "attempts", try)
			}
			return
		}
		if f.jobs.Closed() || errors.Is(err, ErrNotFound) {
			// No retry can succeed: the store was closed (a crash in
			// tests) or the job row is gone. Recover settles it.
			f.log.Error("record job end", "job", j.ID, "status", j.Status, "err", err)
			return
		}
		if try == 1 || try%10 == 0 {
			f.log.Error("record job end; retrying until the store takes it", "job", j.ID, "status", j.Status, "attempt", try, "err", err)
		}
		select {
		case <-f.clock.After(wait):
		case <-f.giveUp:
			f.log.Error("job end not recorded before shutdown; the next start marks it interrupted", "job", j.ID, "status", j.Status, "err", err)
			return
		}
		wait = min(2*wait, recordRetryMax)
	}
}

// Retry pacing of recordEnd.
const (
	recordRetryMin = 100 * time.Millisecond
	recordRetryMax = 10 * time.Second
)

// Long tool output goes to chat as a file attached to the answer, not as
// message text.
const (
	attachOver = 1500    // characters of output before it is attached
	maxFiles   = 5       // attachments per answer
	maxFile    = 1 << 20 // bytes per attachment (the rest is cut)
)

// attach keeps a long tool result, redacted, for the answer.
func (rs *runState) attach(f *Fleet, tr ToolResult) {
	if len(tr.Content) <= attachOver {
		return
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if len(rs.files) >= maxFiles {
		return
	}
	body := f.red.String(tr.Content)
	if len(body) > maxFile {
		body = body[:maxFile] + "\n… (cut at 1 MiB)\n"
	}
	name := rs.names[tr.ToolUseID]
	if name == "" {
		name = "tool"
	}
	rs.files = append(rs.files, bot.File{Name: fmt.Sprintf("%s-output-%d.txt", strings.ToLower(name), len(rs.files)+1), Data: []byte(body)})
}
