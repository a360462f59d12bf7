package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/sandbox"
)

// process is one agent process in its container.
type process struct {
	b     *Backend
	id    string
	name  string
	agent string

	att    client.HijackedResponse
	stdin  *stdinWriter
	stdout *bufPipe
	stderr *bufPipe
	stop   context.CancelFunc // ends the wait stream

	exited chan struct{} // closed once the container has exited
	done   chan struct{} // closed once status is set and the container removed
	killed atomic.Bool   // herdbot sent SIGKILL (so a 137 exit is not the kernel's)
	status sandbox.ExitStatus
	err    error
}

var _ sandbox.Process = (*process)(nil)

func newProcess(b *Backend, id, name, agent string, att client.HijackedResponse, stop context.CancelFunc) *process {
	return &process{
		b: b, id: id, name: name, agent: agent,
		att:    att,
		stdin:  &stdinWriter{att: att},
		stdout: newBufPipe(pipeBuffer),
		stderr: newBufPipe(pipeBuffer),
		stop:   stop,
		exited: make(chan struct{}),
		done:   make(chan struct{}),
	}
}

func (p *process) Stdin() io.WriteCloser { return p.stdin }
func (p *process) Stdout() io.Reader     { return p.stdout }
func (p *process) Stderr() io.Reader     { return p.stderr }

// Wait blocks until the process has exited, its output has been read to the
// end and its container removed, or ctx is done. It returns the same status
// every time.
func (p *process) Wait(ctx context.Context) (sandbox.ExitStatus, error) {
	select {
	case <-p.done:
		return p.status, p.err
	case <-ctx.Done():
		return sandbox.ExitStatus{}, fmt.Errorf("wait for %s: %w", p.name, ctx.Err())
	}
}

// Signal delivers sig to the process (through the container's init, which
// forwards it). Signalling a process that has exited is not an error (as
// in sandbox/native).
func (p *process) Signal(ctx context.Context, sig syscall.Signal) error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	if sig == syscall.SIGKILL {
		p.killed.Store(true)
	}
	cctx, cancel := p.b.callCtx(ctx)
	defer cancel()
	_, err := p.b.cli.ContainerKill(cctx, p.id, client.ContainerKillOptions{Signal: strconv.Itoa(int(sig))})
	if err != nil {
		if isConflict(err) || isNotFound(err) {
			return nil // exited meanwhile
		}
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	return nil
}

// monitor copies the output, waits for the exit, records the status
// (OOMKilled from inspect) and removes the container.
func (p *process) monitor(wait client.ContainerWaitResult) {
	defer p.stop()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, err := stdcopy.StdCopy(p.stdout, p.stderr, p.att.Reader)
		p.stdout.closeWrite(err)
		p.stderr.closeWrite(err)
	}()

	var werr error
	code := -1
	select {
	case r := <-wait.Result:
		code = int(r.StatusCode)
		if r.Error != nil && r.Error.Message != "" {
			werr = errors.New(r.Error.Message)
		}
	case err := <-wait.Error:
		werr = err
	}
	close(p.exited)
	<-copied // the attach stream ends after the exit, once all output is read
	p.att.Close()

	ctx := context.Background()
	st := sandbox.ExitStatus{Code: code}
	ins, err := p.inspectExit(ctx, code)
	if err == nil && ins.Container.State != nil {
		st.OOMKilled = ins.Container.State.OOMKilled
		if !ins.Container.State.Running {
			st.Code = ins.Container.State.ExitCode
			werr = nil // the container did exit; the wait stream may have been cut
		}
	} else if werr == nil {
		werr = err
	}
	if err != nil {
		// Neither the wait stream nor an inspection says how it ended:
		// when the engine itself is gone, that is the outcome.
		werr = p.b.engineLost(ctx, werr)
	}
	rerr := p.b.removeContainer(ctx, p.id)

	p.status = st
	if werr != nil {
		p.err = fmt.Errorf("wait for %s: %w", p.name, werr)
	} else if rerr != nil {
		p.b.log.Warn("remove exited container", "container", p.name, "err", rerr)
	}
	p.b.mu.Lock()
	delete(p.b.procs, p)
	p.b.mu.Unlock()
	close(p.done)
}

// inspectExit inspects the exited container. An exit by SIGKILL that
// herdbot did not send is likely the OOM killer, but Engine 20.10 on cgroup
// v1 can set State.OOMKilled late or not at all: the container's memory
// cgroup (still there: the container is not removed yet) has the kernel's
// own count, and failing that (the cgroup is already gone) the inspection is
// retried for up to 5 s: on a busy engine the OOM event lands late.
func (p *process) inspectExit(ctx context.Context, code int) (client.ContainerInspectResult, error) {
	for try := 0; ; try++ {
		cctx, cancel := p.b.callCtx(ctx)
		ins, err := p.b.cli.ContainerInspect(cctx, p.id, client.ContainerInspectOptions{})
		cancel()
		if err != nil || ins.Container.State == nil || ins.Container.State.OOMKilled || code != 137 || p.killed.Load() {
			return ins, err
		}
		if n, known := cgroupOOMKills(cgroupRoot, ins.Container.ID); known {
			ins.Container.State.OOMKilled = n > 0
			return ins, nil
		}
		if try == 50 {
			return ins, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// abort kills the container and discards unread output, so that the
// monitor finishes (Close).
func (p *process) abort(ctx context.Context) {
	select {
	case <-p.done:
		return
	default:
	}
	p.killed.Store(true) // a forced remove kills it
	if err := p.b.removeContainer(ctx, p.id); err != nil {
		p.b.log.Warn("remove container on close", "container", p.name, "err", err)
	}
	p.stdout.closeRead()
	p.stderr.closeRead()
	p.att.Close()
}

// stdinWriter writes to the container's stdin; Close sends EOF.
type stdinWriter struct {
	att  client.HijackedResponse
	once sync.Once
	err  error
}

func (w *stdinWriter) Write(b []byte) (int, error) { return w.att.Conn.Write(b) }

func (w *stdinWriter) Close() error {
	w.once.Do(func() { w.err = w.att.CloseWrite() })
	return w.err
}
