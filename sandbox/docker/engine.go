package docker

import (
	"context"
	"errors"
	"time"

	"github.com/moby/moby/client"

	"github.com/herdbot/herdbot/sandbox"
)

// lostPingTimeout bounds the ping that tells a failed call from a lost
// engine.
const lostPingTimeout = 5 * time.Second

// engineLost returns err as a *sandbox.EngineLostError when the engine no
// longer answers a ping, else err as it is. A lost engine also makes the
// backend forget what it knew of the engine's networks, sidecars and
// images: the engine may come back without them, and the next Start looks
// them up again and recreates what is missing.
func (b *Backend) engineLost(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, sandbox.ErrEngineLost) {
		return err
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lostPingTimeout)
	defer cancel()
	_, perr := b.cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true})
	if perr == nil {
		return err
	}
	b.forgetEngine()
	b.log.Error("container engine lost", "err", perr)
	return &sandbox.EngineLostError{Cause: perr}
}

// forgetEngine drops every cached fact about the engine's state.
func (b *Backend) forgetEngine() {
	b.mu.Lock()
	b.egressNet = netInfo{}
	b.images = make(map[string]bool)
	b.lostGen++
	b.mu.Unlock()
	b.egressMu.Lock()
	b.egressImage = ""
	b.egressMu.Unlock()
}
