package claude

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/herdbot/herdbot/agents"
	"github.com/herdbot/herdbot/sandbox"
)

// errStdinClosed is returned by writes after Close.
var errStdinClosed = errors.New("stdin already closed")

// Conn is a live Claude Code CLI process (an agents.Conn).
//
// Events are delivered in order on a channel with a small buffer: a caller
// that stops reading stalls the CLI, as a full pipe would. Once Close has begun,
// events nobody receives are dropped so Close never hangs on the caller.
// Send, Decide and Interrupt are safe for concurrent use; their writes to
// stdin are serialized.
type Conn struct {
	cfg    Config
	log    *slog.Logger
	p      sandbox.Process
	events chan agents.Event

	closing    chan struct{} // closed when Close begins
	readDone   chan struct{} // stdout ended
	stderrDone chan struct{} // stderr drained
	stderr     *tailBuffer
	reqSeq     atomic.Uint64

	wmu         sync.Mutex // serializes writes to stdin
	stdinClosed bool

	mu        sync.Mutex
	pending   map[string]*agents.PermissionRequest
	openTurns int   // user lines sent without a result yet
	sawResult bool  // any result seen
	lastErr   error // Err of the last result
	sessionID string

	closeOnce sync.Once
	closeErr  error
}

var (
	_ agents.Conn        = (*Conn)(nil)
	_ agents.ImageSender = (*Conn)(nil)
)

func attach(r *Runtime, p sandbox.Process) *Conn {
	c := &Conn{
		cfg:        r.cfg,
		log:        r.log,
		p:          p,
		events:     make(chan agents.Event, 16),
		closing:    make(chan struct{}),
		readDone:   make(chan struct{}),
		stderrDone: make(chan struct{}),
		stderr:     &tailBuffer{max: r.cfg.StderrTail},
		pending:    make(map[string]*agents.PermissionRequest),
	}
	go c.readStdout()
	go c.drainStderr()
	return c
}

// Events returns the event stream; it is closed when stdout ends.
func (c *Conn) Events() <-chan agents.Event { return c.events }

// SessionID returns the CLI's session id, known from the first init or
// result line ("" before that).
func (c *Conn) SessionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionID
}

func (c *Conn) readStdout() {
	defer close(c.readDone)
	defer close(c.events)
	br := bufio.NewReaderSize(c.p.Stdout(), 64<<10)
	var dec decoder
	for {
		// ReadBytes has no line-length limit; each line is its own
		// allocation, so Event.Raw stays valid.
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			c.handle(&dec, line)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.log.Debug("stdout read ended", "err", err)
			}
			return
		}
	}
}

func (c *Conn) handle(dec *decoder, line []byte) {
	out, err := dec.decode(line)
	if err != nil {
		// Contents are not logged: they may hold secrets.
		c.log.Warn("skipping stdout line that is not a JSON object", "bytes", len(line))
		return
	}
	if out.unsupported != "" {
		c.log.Debug("answering unsupported control request with an error", "request_id", out.unsupported)
		err := c.writeJSON(map[string]any{"type": "control_response", "response": map[string]any{
			"subtype": "error", "request_id": out.unsupported, "error": "not supported by herdbot",
		}})
		if err != nil {
			c.log.Debug("control error reply", "err", err)
		}
	}
	for _, ev := range out.events {
		c.track(ev)
		c.deliver(ev)
	}
}

// track updates the connection's state before ev is delivered, so that a
// Decide for a just-delivered request finds it.
func (c *Conn) track(ev agents.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ev.SessionID != "" && (ev.Kind == agents.EventInit || ev.Kind == agents.EventResult) {
		c.sessionID = ev.SessionID
	}
	switch ev.Kind {
	case agents.EventPermission:
		c.pending[ev.Permission.RequestID] = ev.Permission
	case agents.EventPermissionCancel:
		delete(c.pending, ev.Permission.RequestID)
	case agents.EventResult:
		if c.openTurns > 0 {
			c.openTurns--
		}
		c.sawResult = true
		c.lastErr = ev.Err
	}
}

func (c *Conn) deliver(ev agents.Event) {
	select {
	case c.events <- ev:
		return
	default:
	}
	select {
	case c.events <- ev:
	case <-c.closing:
	}
}

func (c *Conn) drainStderr() {
	defer close(c.stderrDone)
	if _, err := io.Copy(c.stderr, c.p.Stderr()); err != nil {
		c.log.Debug("stderr read ended", "err", err)
	}
}

// writeJSON writes v as one line to stdin.
func (c *Conn) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	b = append(b, '\n')
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.stdinClosed {
		return errStdinClosed
	}
	if _, err := c.p.Stdin().Write(b); err != nil {
		return fmt.Errorf("write stdin: %w", err)
	}
	return nil
}

// Send writes one user turn.
func (c *Conn) Send(ctx context.Context, text string) error {
	return c.sendUser(ctx, text)
}

// SendImages writes one user turn whose content is text followed by the
// images as base64 image blocks (agents.ImageSender).
func (c *Conn) SendImages(ctx context.Context, text string, images []agents.Image) error {
	blocks := []map[string]any{{"type": "text", "text": text}}
	for _, im := range images {
		blocks = append(blocks, map[string]any{"type": "image", "source": map[string]any{
			"type": "base64", "media_type": im.MediaType, "data": base64.StdEncoding.EncodeToString(im.Data),
		}})
	}
	return c.sendUser(ctx, blocks)
}

func (c *Conn) sendUser(ctx context.Context, content any) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	c.mu.Lock()
	c.openTurns++
	c.mu.Unlock()
	err := c.writeJSON(map[string]any{
		"type":               "user",
		"session_id":         "",
		"message":            map[string]any{"role": "user", "content": content},
		"parent_tool_use_id": nil,
	})
	if err != nil {
		c.mu.Lock()
		c.openTurns--
		c.mu.Unlock()
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

// Decide answers a pending permission request. It returns an error
// wrapping ErrUnknownRequest when requestID is not pending (already
// answered, or withdrawn by an EventPermissionCancel).
func (c *Conn) Decide(ctx context.Context, requestID string, d agents.Decision) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("decide: %w", err)
	}
	c.mu.Lock()
	req, ok := c.pending[requestID]
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("decide %q: %w", requestID, ErrUnknownRequest)
	}
	resp, err := decisionResponse(req, d)
	if err != nil {
		return fmt.Errorf("decide %q: %w", requestID, err)
	}
	c.mu.Lock()
	if _, still := c.pending[requestID]; !still {
		c.mu.Unlock()
		return fmt.Errorf("decide %q: %w", requestID, ErrUnknownRequest)
	}
	delete(c.pending, requestID)
	c.mu.Unlock()
	err = c.writeJSON(map[string]any{"type": "control_response", "response": map[string]any{
		"subtype": "success", "request_id": requestID, "response": resp,
	}})
	if err != nil {
		return fmt.Errorf("decide %q: %w", requestID, err)
	}
	return nil
}

// Interrupt asks the CLI to stop the current turn. It does not wait: the
// turn ends with an EventResult whose Err matches agents.ErrInterrupted,
// after an EventPermissionCancel for any pending request.
func (c *Conn) Interrupt(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupt: %w", err)
	}
	err := c.writeJSON(map[string]any{"type": "control_request", "request_id": c.newRequestID(),
		"request": map[string]any{"subtype": "interrupt"}})
	if err != nil {
		return fmt.Errorf("interrupt: %w", err)
	}
	return nil
}

func (c *Conn) newRequestID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("req_%d_%s", c.reqSeq.Add(1), hex.EncodeToString(b[:]))
}

// Close ends the process: it closes stdin (the CLI finishes the running
// turn and exits), waits up to Config.CloseTimeout, then sends SIGTERM,
// waits up to Config.KillTimeout, then SIGKILL. If ctx ends first the
// process is killed at once. It returns nil for a clean exit, else a
// *agents.RunError: ErrOutOfMemory, ErrTimeout (had to be signalled),
// ErrCrashed (exited without a result for a running turn, or non-zero
// before any result), or the last turn's error (with exit code and stderr)
// when the CLI exited non-zero after an error result. Close may be called
// more than once; it returns the same error. An exit after an interrupted
// last turn is clean.
func (c *Conn) Close(ctx context.Context) error {
	c.closeOnce.Do(func() { c.closeErr = c.shutdown(ctx) })
	return c.closeErr
}

func (c *Conn) shutdown(ctx context.Context) error {
	close(c.closing)
	c.wmu.Lock()
	if !c.stdinClosed {
		c.stdinClosed = true
		if err := c.p.Stdin().Close(); err != nil {
			c.log.Debug("close stdin", "err", err)
		}
	}
	c.wmu.Unlock()

	escalated := ""
	st, err := c.waitExit(ctx, c.cfg.CloseTimeout)
	if errors.Is(err, sandbox.ErrEngineLost) {
		// The engine is gone: there is nobody to signal, and the
		// process's fate is unknown.
		c.waitDrained(c.cfg.KillTimeout)
		return engineLost(err, c.stderr.String())
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			sig = syscall.SIGKILL
		}
		escalated = sig.String()
		c.log.Info("agent process did not exit; signalling", "signal", escalated)
		if serr := c.p.Signal(context.WithoutCancel(ctx), sig); serr != nil {
			c.log.Warn("signal agent process", "signal", escalated, "err", serr)
		}
		st, err = c.waitExit(context.WithoutCancel(ctx), c.cfg.KillTimeout)
		if sig == syscall.SIGKILL {
			break
		}
	}
	c.waitDrained(c.cfg.KillTimeout)
	tail := c.stderr.String()
	if err != nil {
		return exitError(agents.ErrTimeout, -1, tail, "agent process did not exit after %s: %v", escalated, err)
	}

	c.mu.Lock()
	open, saw, lastErr := c.openTurns, c.sawResult, c.lastErr
	c.mu.Unlock()
	switch {
	case st.OOMKilled:
		return exitError(agents.ErrOutOfMemory, st.Code, tail, "agent process was killed for exceeding its memory limit")
	case escalated != "":
		return exitError(agents.ErrTimeout, st.Code, tail, "agent process did not exit within %s of stdin closing; sent %s", c.cfg.CloseTimeout, escalated)
	case errors.Is(lastErr, agents.ErrSessionNotFound):
		// A startup failure: the result may have come before a Send.
		var re *agents.RunError
		if errors.As(lastErr, &re) {
			cp := *re
			cp.ExitCode, cp.Stderr = st.Code, tail
			return &cp
		}
		return lastErr
	case open > 0:
		return exitError(agents.ErrCrashed, st.Code, tail, "agent process exited (code %d) without a result for the running turn", st.Code)
	case st.Code != 0 && errors.Is(lastErr, agents.ErrInterrupted):
		// The CLI exits 1 when its last turn was interrupted: asked for,
		// not a failure of the process.
		return nil
	case st.Code != 0 && lastErr != nil:
		var re *agents.RunError
		if errors.As(lastErr, &re) {
			cp := *re
			cp.ExitCode, cp.Stderr = st.Code, tail
			return &cp
		}
		return exitError(agents.ErrCrashed, st.Code, tail, "%v", lastErr)
	case st.Code != 0 && !saw:
		return exitError(agents.ErrCrashed, st.Code, tail, "agent process exited with code %d before any result", st.Code)
	case st.Code != 0:
		return exitError(agents.ErrCrashed, st.Code, tail, "agent process exited with code %d", st.Code)
	}
	return nil
}

// waitExit waits up to d for the process to exit.
func (c *Conn) waitExit(ctx context.Context, d time.Duration) (sandbox.ExitStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return c.p.Wait(ctx)
}

// waitDrained waits up to d for stdout and stderr to end. A pipe still
// held by a left-over tool is the backend's to close.
func (c *Conn) waitDrained(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for _, ch := range []chan struct{}{c.readDone, c.stderrDone} {
		select {
		case <-ch:
		case <-t.C:
			c.log.Warn("agent output did not end after exit")
			return
		}
	}
}
