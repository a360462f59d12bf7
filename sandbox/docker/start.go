package docker

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/sandbox"
)

// Start runs spec.Command in a new hardened container and returns once it
// runs with its stdio attached.
//
// Before creating the container it checks the spec (an invalid one is an
// error, never a panic), that the image is present (else an error wrapping
// sandbox.ErrImageMissing that says how to build it), and, unless
// spec.Network.None, that the agent's network and egress sidecar run with
// spec's policy. ctx bounds the start only; the process lives until it
// exits or is signalled. The container is removed once the process has
// exited and its output has been read to the end.
//
// Start uses no Docker-only options; With(Options).Start does.
func (b *Backend) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Process, error) {
	return b.startWith(ctx, spec, Options{})
}

func (b *Backend) startWith(ctx context.Context, spec sandbox.Spec, o Options) (sandbox.Process, error) {
	p, err := b.start(ctx, &spec, o)
	if err != nil {
		return nil, fmt.Errorf("docker start %s: %w", spec.Agent, b.engineLost(ctx, err))
	}
	return p, nil
}

func (b *Backend) start(ctx context.Context, spec *sandbox.Spec, o Options) (*process, error) {
	pl, err := b.makePlan(spec, o)
	if err != nil {
		return nil, err
	}
	if err := b.requireImage(ctx, spec.Image); err != nil {
		return nil, err
	}
	if b.cfg.Remote {
		if err := b.prepareVolumes(ctx, spec, pl.ws, pl.user); err != nil {
			return nil, err
		}
	}
	netMode := "none"
	if !spec.Network.None {
		n, err := b.ensureNetworking(ctx, spec)
		if err != nil {
			return nil, err
		}
		netMode = n.id
	}
	pl.base.NetworkMode = container.NetworkMode(netMode)
	hc, err := o.hostConfig(pl.base)
	if err != nil {
		return nil, err
	}
	if b.cfg.Remote {
		if err := checkNoBinds(hc); err != nil {
			return nil, err
		}
	}

	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, errors.New("docker backend is closed")
	}
	cctx, cancel := b.callCtx(ctx)
	res, err := b.cli.ContainerCreate(cctx, client.ContainerCreateOptions{Name: pl.name, Config: pl.config, HostConfig: hc})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("create container: %w", b.imageGone(spec.Image, err))
	}
	b.track(res.ID)
	if err := b.checkWarnings(res.Warnings, pl.name); err != nil {
		return nil, errors.Join(err, b.removeContainer(context.WithoutCancel(ctx), res.ID))
	}
	p, err := b.attachAndStart(ctx, res.ID, pl.name, spec.Agent)
	if err != nil {
		return nil, errors.Join(err, b.removeContainer(context.WithoutCancel(ctx), res.ID))
	}
	return p, nil
}

// attachAndStart attaches to the created container and registers for its
// exit before starting it, so that no output and no exit is missed.
func (b *Backend) attachAndStart(ctx context.Context, id, name, agent string) (*process, error) {
	// The attach call is bounded; the connection it returns is not tied
	// to its ctx. The wait stream lives as long as the process.
	actx, acancel := b.callCtx(ctx)
	att, err := b.cli.ContainerAttach(actx, id, client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	acancel()
	if err != nil {
		return nil, fmt.Errorf("attach %s: %w", name, err)
	}
	life, stop := context.WithCancel(context.WithoutCancel(ctx))
	wait := b.cli.ContainerWait(life, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	cctx, cancel := b.callCtx(ctx)
	_, err = b.cli.ContainerStart(cctx, id, client.ContainerStartOptions{})
	cancel()
	if err != nil {
		att.Close()
		stop()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := newProcess(b, id, name, agent, att.HijackedResponse, stop)
	b.mu.Lock()
	if b.closed {
		// Close ran meanwhile and did not see this process.
		b.mu.Unlock()
		att.Close()
		stop()
		return nil, errors.New("docker backend is closed")
	}
	b.procs[p] = struct{}{}
	b.wg.Add(1) // under b.mu: Close waits only after setting closed
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		p.monitor(wait)
	}()
	return p, nil
}
