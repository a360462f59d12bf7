package native

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/herdbot/herdbot/sandbox"
)

// drainGrace is how long stdout and stderr stay open after the process has
// exited, so a reader can take what is still buffered in the pipes. A pipe
// still held by a tool the process left running is closed after it, so
// readers always end.
const drainGrace = 5 * time.Second

// process is a running local child.
type process struct {
	cmd    *exec.Cmd
	stdin  *os.File
	stdout *eofCloser
	stderr *eofCloser

	done   chan struct{} // closed once the child is reaped
	status sandbox.ExitStatus
	err    error
}

var _ sandbox.Process = (*process)(nil)

// start launches prog with its stdio on fresh pipes.
func start(prog string, spec sandbox.Spec, env []string) (*process, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("native start: stdin pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW)
		return nil, fmt.Errorf("native start: stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW, outR, outW)
		return nil, fmt.Errorf("native start: stderr pipe: %w", err)
	}
	cmd := &exec.Cmd{
		Path:   prog,
		Args:   append([]string{spec.Command[0]}, spec.Command[1:]...),
		Env:    env,
		Dir:    spec.Workspace,
		Stdin:  inR,
		Stdout: outW,
		Stderr: errW,
		// Pdeathsig: the agent dies with herdbot (kill -9 leaves no orphan).
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	if err := cmd.Start(); err != nil {
		closeAll(inR, inW, outR, outW, errR, errW)
		return nil, fmt.Errorf("native start %s: %w", spec.Command[0], err)
	}
	// The child holds its own copies now.
	closeAll(inR, outW, errW)
	p := &process{
		cmd:    cmd,
		stdin:  inW,
		stdout: &eofCloser{f: outR},
		stderr: &eofCloser{f: errR},
		done:   make(chan struct{}),
	}
	go p.reap()
	return p, nil
}

// reap waits for the child, records how it ended and schedules the closing
// of the output pipes.
func (p *process) reap() {
	err := p.cmd.Wait()
	st := sandbox.ExitStatus{Code: -1}
	if ps := p.cmd.ProcessState; ps != nil {
		st.Code = ps.ExitCode() // -1 when killed by a signal
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		p.err = fmt.Errorf("native wait: %w", err)
	}
	p.status = st
	_ = p.stdin.Close()
	time.AfterFunc(drainGrace, func() {
		p.stdout.close()
		p.stderr.close()
	})
	close(p.done)
}

func (p *process) Stdin() io.WriteCloser { return p.stdin }
func (p *process) Stdout() io.Reader     { return p.stdout }
func (p *process) Stderr() io.Reader     { return p.stderr }

// Wait blocks until the child exits or ctx is done.
func (p *process) Wait(ctx context.Context) (sandbox.ExitStatus, error) {
	select {
	case <-p.done:
		return p.status, p.err
	case <-ctx.Done():
		return sandbox.ExitStatus{Code: -1}, fmt.Errorf("native wait: %w", ctx.Err())
	}
}

// Signal sends sig to the child's whole process group. A group that no
// longer exists is not an error.
func (p *process) Signal(_ context.Context, sig syscall.Signal) error {
	err := syscall.Kill(-p.cmd.Process.Pid, sig)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("native signal %v: %w", sig, err)
	}
	return nil
}

// eofCloser is a pipe read end that closes itself at EOF (or on any read
// error), and can be closed from outside to unblock a reader.
type eofCloser struct {
	f    *os.File
	once sync.Once
}

func (e *eofCloser) Read(b []byte) (int, error) {
	n, err := e.f.Read(b)
	if err != nil {
		e.close()
		if errors.Is(err, os.ErrClosed) {
			err = io.EOF
		}
	}
	return n, err
}

func (e *eofCloser) close() { e.once.Do(func() { _ = e.f.Close() }) }

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		_ = f.Close()
	}
}
