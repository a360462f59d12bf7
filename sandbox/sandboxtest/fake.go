package sandboxtest

import (
	"context"
	"io"
	"sync"
	"syscall"

	"github.com/herdbot/herdbot/sandbox"
)

// Fake is a sandbox.Backend that starts no program: each Start records
// its Spec and returns a FakeProcess, which runs until its stdin is closed
// (exit 0) or it is signalled (exit -1). For tests of what drives a
// process (agents' fleet with agentstest.Runtime), not of a backend.
type Fake struct {
	// StartFunc, when set, is called first; an error fails the Start.
	StartFunc func(ctx context.Context, spec sandbox.Spec) error

	mu    sync.Mutex
	specs []sandbox.Spec
	live  int
}

var _ sandbox.Backend = (*Fake)(nil)

// Start implements sandbox.Backend.
func (b *Fake) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Process, error) {
	if b.StartFunc != nil {
		if err := b.StartFunc(ctx, spec); err != nil {
			return nil, err
		}
	}
	b.mu.Lock()
	b.specs = append(b.specs, spec)
	b.live++
	b.mu.Unlock()
	p := &FakeProcess{spec: spec, done: make(chan struct{})}
	p.stdoutR, p.stdoutW = io.Pipe()
	p.stderrR, p.stderrW = io.Pipe()
	p.onEnd = func() {
		b.mu.Lock()
		b.live--
		b.mu.Unlock()
	}
	return p, nil
}

// Specs returns the Spec of every Start so far, in order.
func (b *Fake) Specs() []sandbox.Spec {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]sandbox.Spec(nil), b.specs...)
}

// Live is how many started processes have not ended.
func (b *Fake) Live() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.live
}

// FakeProcess is a process of Fake. Its stdout and stderr carry nothing
// and end when it does.
type FakeProcess struct {
	spec             sandbox.Spec
	stdoutR, stderrR *io.PipeReader
	stdoutW, stderrW *io.PipeWriter
	onEnd            func()

	once   sync.Once
	done   chan struct{}
	status sandbox.ExitStatus
}

var _ sandbox.Process = (*FakeProcess)(nil)

// Spec is the Spec the process was started with.
func (p *FakeProcess) Spec() sandbox.Spec { return p.spec }

// Stdin returns a writer that discards what is written; closing it ends
// the process with exit code 0.
func (p *FakeProcess) Stdin() io.WriteCloser { return fakeStdin{p} }

// Stdout implements sandbox.Process.
func (p *FakeProcess) Stdout() io.Reader { return p.stdoutR }

// Stderr implements sandbox.Process.
func (p *FakeProcess) Stderr() io.Reader { return p.stderrR }

// Wait implements sandbox.Process.
func (p *FakeProcess) Wait(ctx context.Context) (sandbox.ExitStatus, error) {
	select {
	case <-p.done:
		return p.status, nil
	case <-ctx.Done():
		return sandbox.ExitStatus{Code: -1}, ctx.Err()
	}
}

// Signal ends the process with exit code -1, whatever the signal.
func (p *FakeProcess) Signal(context.Context, syscall.Signal) error {
	p.end(-1)
	return nil
}

func (p *FakeProcess) end(code int) {
	p.once.Do(func() {
		p.status = sandbox.ExitStatus{Code: code}
		p.stdoutW.Close()
		p.stderrW.Close()
		close(p.done)
		p.onEnd()
	})
}

type fakeStdin struct{ p *FakeProcess }

func (w fakeStdin) Write(b []byte) (int, error) {
	select {
	case <-w.p.done:
		return 0, io.ErrClosedPipe
	default:
		return len(b), nil
	}
}

func (w fakeStdin) Close() error {
	w.p.end(0)
	return nil
}
