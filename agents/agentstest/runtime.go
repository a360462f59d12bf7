package agentstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/sandbox"
)

// Runtime is a fake agents.Runtime for the fleet's logic tests: no CLI, no
// model, no process of its own (run it with sandboxtest.Fake). Each Attach
// makes a Conn; every user turn sent on it is played by TurnFunc on a
// goroutine the Conn owns, so a test scripts what the agent does (text,
// tools, permission requests, errors, hangs) and the fleet's queues,
// approvals, grants, redaction and timeouts run for real.
type Runtime struct {
	// TurnFunc plays one turn (default Echo). It returns the turn's
	// result, or an error for an abnormal end (an *agents.RunError, say);
	// ErrCrash ends the process's output without a result. When the turn
	// was interrupted (t.Ctx is done) and TurnFunc returns no error, the
	// turn ends as the CLI ends an interrupted one.
	TurnFunc func(t *Turn) (agents.Result, error)
	// CommandFunc, when set, is told the options of every process the
	// fleet starts.
	CommandFunc func(opts agents.RunOptions)

	mu       sync.Mutex
	opts     map[string]agents.RunOptions // by the id in argv
	conns    []*Conn
	sessions int
}

var _ agents.Runtime = (*Runtime)(nil)

// ErrCrash, returned by a TurnFunc, ends the process's output without a
// result, as a CLI that crashed mid-turn.
var ErrCrash = errors.New("agentstest: crash")

// Echo is the default turn: it answers "echo: " and the prompt.
func Echo(t *Turn) (agents.Result, error) {
	t.Text("echo: " + t.Prompt)
	return agents.Result{Subtype: "success", Text: "echo: " + t.Prompt, Turns: 1}, nil
}

// fakeArg carries the process's options id in its argv.
const fakeArg = "--agentstest-id="

// Command implements agents.Runtime: argv names the options it was given.
func (r *Runtime) Command(opts agents.RunOptions) []string {
	if r.CommandFunc != nil {
		r.CommandFunc(opts)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.opts == nil {
		r.opts = map[string]agents.RunOptions{}
	}
	id := strconv.Itoa(len(r.opts) + 1)
	r.opts[id] = opts
	return []string{"agentstest-agent", fakeArg + id}
}

// Attach implements agents.Runtime.
func (r *Runtime) Attach(p sandbox.Process) agents.Conn {
	var opts agents.RunOptions
	if sp, ok := p.(interface{ Spec() sandbox.Spec }); ok {
		for _, a := range sp.Spec().Command {
			if id, ok := strings.CutPrefix(a, fakeArg); ok {
				r.mu.Lock()
				opts = r.opts[id]
				r.mu.Unlock()
			}
		}
	}
	r.mu.Lock()
	session := opts.Resume
	if session == "" {
		r.sessions++
		session = fmt.Sprintf("session-%d", r.sessions)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{rt: r, Opts: opts, Session: session, proc: p, ctx: ctx, stop: cancel,
		events: make(chan agents.Event), asks: map[string]chan agents.Decision{}}
	r.conns = append(r.conns, c)
	r.mu.Unlock()
	return c
}

// Conns returns every Conn attached so far, in order.
func (r *Runtime) Conns() []*Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Conn(nil), r.conns...)
}

// Conn is one fake agent process (an agents.Conn).
type Conn struct {
	// Opts are the options the process was started with.
	Opts agents.RunOptions
	// Session is its session id: Opts.Resume, or a new "session-N".
	Session string

	rt   *Runtime
	proc sandbox.Process
	ctx  context.Context // the process's life: done once Close is called
	stop context.CancelFunc

	events chan agents.Event
	wg     sync.WaitGroup // the turn goroutine

	mu         sync.Mutex
	closed     bool
	ended      bool               // the event stream was closed
	cancelTurn context.CancelFunc // the running turn's
	asks       map[string]chan agents.Decision
	reqs       int
	prompts    []string
	decisions  []Decision
	interrupts int
}

var _ agents.Conn = (*Conn)(nil)

// Decision is a decision the fleet sent for one permission request.
type Decision struct {
	RequestID string
	agents.Decision
}

// Events implements agents.Conn.
func (c *Conn) Events() <-chan agents.Event { return c.events }

// Send implements agents.Conn: it starts the turn.
func (c *Conn) Send(ctx context.Context, text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.ended {
		return errors.New("agentstest: process ended")
	}
	if c.cancelTurn != nil {
		return errors.New("agentstest: a turn is running")
	}
	tctx, cancel := context.WithCancel(c.ctx)
	c.cancelTurn = cancel
	c.prompts = append(c.prompts, text)
	t := &Turn{Ctx: tctx, Prompt: text, Conn: c}
	c.wg.Go(func() { c.play(t, cancel) })
	return nil
}

// play runs one turn and ends it with its result.
func (c *Conn) play(t *Turn, cancel context.CancelFunc) {
	defer cancel()
	t.emit(agents.Event{Kind: agents.EventInit})
	turn := c.rt.TurnFunc
	if turn == nil {
		turn = Echo
	}
	res, err := turn(t)
	c.mu.Lock()
	c.cancelTurn = nil
	c.mu.Unlock()
	switch {
	case errors.Is(err, ErrCrash):
		c.end()
		return
	case err == nil && t.Ctx.Err() != nil:
		res = agents.Result{Subtype: "error_during_execution", IsError: true}
		err = &agents.RunError{Kind: agents.ErrInterrupted, ExitCode: -1, Message: "the turn was stopped"}
	case err != nil && res.Subtype == "":
		res = agents.Result{Subtype: "error_during_execution", IsError: true, Errors: []string{err.Error()}}
	}
	t.emit(agents.Event{Kind: agents.EventResult, Result: &res, Err: err})
}

// end closes the event stream (the process's output ended).
func (c *Conn) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ended {
		c.ended = true
		close(c.events)
	}
}

// Decide implements agents.Conn: it answers a Turn waiting in Ask.
func (c *Conn) Decide(_ context.Context, requestID string, d agents.Decision) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.decisions = append(c.decisions, Decision{requestID, d})
	ch, ok := c.asks[requestID]
	if !ok {
		return fmt.Errorf("agentstest: no pending permission request %q", requestID)
	}
	delete(c.asks, requestID)
	ch <- d
	return nil
}

// Interrupt implements agents.Conn: the running turn's Ctx is done.
func (c *Conn) Interrupt(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.interrupts++
	if c.cancelTurn != nil {
		c.cancelTurn()
	}
	return nil
}

// Close implements agents.Conn: the turn (if any) is stopped and waited
// for, the event stream ends, and the process is ended and waited for.
func (c *Conn) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.stop()
	// A turn blocked on an event nobody reads any more gives up on the
	// process's end (c.ctx), so this wait ends.
	c.wg.Wait()
	c.end()
	if err := c.proc.Stdin().Close(); err != nil {
		return err
	}
	if _, err := c.proc.Wait(ctx); err != nil {
		return err
	}
	return nil
}

// Closed reports whether Close was called.
func (c *Conn) Closed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Prompts returns the turns sent so far.
func (c *Conn) Prompts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.prompts...)
}

// Decisions returns the decisions the fleet sent, in order.
func (c *Conn) Decisions() []Decision {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Decision(nil), c.decisions...)
}

// Interrupts is how many times the fleet interrupted a turn.
func (c *Conn) Interrupts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.interrupts
}

// Turn is one user turn being played.
type Turn struct {
	// Ctx is done when the turn is interrupted or the process closed.
	Ctx    context.Context
	Prompt string
	Conn   *Conn
}

// emit delivers ev (with the session id) unless the process was closed.
func (t *Turn) emit(ev agents.Event) bool {
	ev.SessionID = t.Conn.Session
	select {
	case t.Conn.events <- ev:
		return true
	case <-t.Conn.ctx.Done():
		return false
	}
}

// Text says s (an assistant text block).
func (t *Turn) Text(s string) {
	raw, _ := json.Marshal(map[string]any{"type": "assistant", "text": s})
	t.emit(agents.Event{Kind: agents.EventText, Text: s, Raw: raw})
}

// ToolUse shows a tool call with input (JSON) and then its result.
func (t *Turn) ToolUse(name, input, result string) {
	t.Conn.mu.Lock()
	t.Conn.reqs++
	id := fmt.Sprintf("toolu_%d", t.Conn.reqs)
	t.Conn.mu.Unlock()
	t.emit(agents.Event{Kind: agents.EventToolUse, Tool: &agents.ToolCall{ID: id, Name: name, Input: json.RawMessage(input)}})
	t.emit(agents.Event{Kind: agents.EventToolResult, ToolResult: &agents.ToolResult{ToolUseID: id, Content: result}})
}

// Ask asks permission to run tool with input (JSON), as can_use_tool
// does, and waits for the fleet's decision. It returns an error when the
// turn is interrupted or the process closed first; the request is then
// withdrawn (permission_cancel), as the CLI does.
func (t *Turn) Ask(tool, input string) (agents.Decision, error) {
	c := t.Conn
	ch := make(chan agents.Decision, 1)
	c.mu.Lock()
	c.reqs++
	id := fmt.Sprintf("req_%d", c.reqs)
	c.asks[id] = ch
	c.mu.Unlock()
	req := &agents.PermissionRequest{RequestID: id, ToolName: tool, ToolUseID: "toolu_" + id, Input: json.RawMessage(input)}
	if !t.emit(agents.Event{Kind: agents.EventPermission, Permission: req}) {
		return agents.Decision{}, c.ctx.Err()
	}
	select {
	case d := <-ch:
		return d, nil
	case <-t.Ctx.Done():
		c.mu.Lock()
		_, pending := c.asks[id]
		delete(c.asks, id)
		c.mu.Unlock()
		if pending {
			t.emit(agents.Event{Kind: agents.EventPermissionCancel, Permission: &agents.PermissionRequest{RequestID: id}})
		}
		return agents.Decision{}, t.Ctx.Err()
	}
}
