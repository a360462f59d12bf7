package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/herdbot/herdbot/bot"
)

// chatEntry is one wanted chat connection: an agent's bot on a platform.
type chatEntry struct {
	agent, platform string
	fingerprint     string // changes when the connection's config changes
	make            func() (bot.Adapter, error)
}

func (e chatEntry) key() string { return e.agent + "/" + e.platform }

// chatSup owns the Discord and Slack connections: it starts and stops them
// to match the wanted set (at start and on reload) and restarts one that
// fails, with capped backoff, without taking the rest of herdbot down.
// Every (re)start uses a fresh adapter from the entry's make: an adapter
// is single-use (bot.Adapter).
type chatSup struct {
	log  *slog.Logger
	h    bot.Handler
	mux  *bot.Mux
	want chan []chatEntry
	// Backoff between attempts: from minBackoff, doubling, at most
	// maxBackoff; a connection that stayed up for maxBackoff starts over
	// from minBackoff when it fails.
	minBackoff, maxBackoff time.Duration
}

func newChatSup(log *slog.Logger, h bot.Handler, mux *bot.Mux) *chatSup {
	return &chatSup{log: log, h: h, mux: mux, want: make(chan []chatEntry, 1),
		minBackoff: 5 * time.Second, maxBackoff: 5 * time.Minute}
}

// Set replaces the wanted connections.
func (c *chatSup) Set(entries []chatEntry) {
	select {
	case <-c.want: // drop a set not yet applied
	default:
	}
	c.want <- entries
}

type chatRun struct {
	fingerprint string
	cancel      context.CancelFunc
	done        chan struct{}
}

// Run applies wanted sets until ctx is done, then stops every connection.
func (c *chatSup) Run(ctx context.Context) error {
	running := map[string]*chatRun{}
	stop := func(k string) {
		r := running[k]
		r.cancel()
		<-r.done
		delete(running, k)
	}
	defer func() {
		for k := range running {
			stop(k)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case entries := <-c.want:
			wanted := map[string]chatEntry{}
			for _, e := range entries {
				wanted[e.key()] = e
			}
			for k, r := range running {
				if e, ok := wanted[k]; !ok || e.fingerprint != r.fingerprint {
					stop(k)
					if !ok {
						agent, platform := splitKey(k)
						c.mux.Remove(agent, platform)
						c.log.Info("chat connection stopped", "agent", agent, "platform", platform)
					}
				}
			}
			for k, e := range wanted {
				if _, ok := running[k]; ok {
					continue
				}
				rctx, cancel := context.WithCancel(ctx)
				r := &chatRun{fingerprint: e.fingerprint, cancel: cancel, done: make(chan struct{})}
				running[k] = r
				go c.keep(rctx, e, r.done)
			}
		}
	}
}

// keep runs the entry's connection until ctx is done: a fresh adapter
// each time, registered in the mux (so replies go through the live one),
// restarted after a failure with capped backoff.
func (c *chatSup) keep(ctx context.Context, e chatEntry, done chan struct{}) {
	defer close(done)
	backoff := c.minBackoff
	for attempt := 1; ; attempt++ {
		ad, err := e.make()
		if err != nil {
			// A config the adapter refuses does not get better by
			// retrying; reload brings a new one.
			c.log.Error("chat connection not started", "agent", e.agent, "platform", e.platform, "err", err)
			return
		}
		c.mux.Register(e.agent, e.platform, ad)
		if attempt > 1 {
			c.log.Info("chat connection: connecting again", "agent", e.agent, "platform", e.platform, "attempt", attempt)
		}
		began := time.Now()
		err = ad.Run(ctx, c.h)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) >= c.maxBackoff {
			backoff = c.minBackoff // it was up for a good while: a new failure
		}
		c.log.Error("chat connection failed; retrying with a new connection", "agent", e.agent, "platform", e.platform,
			"in", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, c.maxBackoff)
	}
}

func splitKey(k string) (agent, platform string) {
	for i := len(k) - 1; i >= 0; i-- {
		if k[i] == '/' {
			return k[:i], k[i+1:]
		}
	}
	return k, ""
}

// fingerprintOf renders a chat config for change detection (never logged:
// it holds tokens).
func fingerprintOf(v any) string { return fmt.Sprintf("%+v", v) }
